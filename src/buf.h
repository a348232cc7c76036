/* buf.h — one growable byte buffer with a size limit (as curl's dynbuf):
 * every line the engine builds goes through it.  An allocation failure or an
 * append past the limit marks the buffer failed; later appends are ignored and
 * the owner reports the failure instead of writing a partial line. */
#ifndef TOCSIN_BUF_H
#define TOCSIN_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf_t {
    char *p;    /* NUL-terminated when n > 0 or after buf_add of nothing */
    size_t n;   /* bytes used */
    size_t cap; /* bytes allocated */
    size_t max; /* limit on n; 0: BUF_DEFAULT_MAX */
    int failed; /* out of memory or over max: contents are incomplete */
} buf_t;

#define BUF_DEFAULT_MAX ((size_t)1 << 30)
#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0, 0                                                                           \
    }

void buf_init(buf_t *b, size_t max);
/* 0, or -1 when the buffer is (now) failed. */
int buf_add(buf_t *b, const void *s, size_t n);
int buf_addstr(buf_t *b, const char *s);
int buf_addc(buf_t *b, char c);
/* Room for extra more bytes (and the NUL) without a reallocation. */
int buf_reserve(buf_t *b, size_t extra);
int buf_fmt(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vfmt(buf_t *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal (quotes included): control characters
 * escaped, invalid UTF-8 replaced by U+FFFD, so the result is always valid
 * JSON whatever bytes s holds. */
int buf_add_json(buf_t *b, const char *s, size_t n);
/* Appends s for a terminal: control characters (ESC and the C0/C1 sets but
 * newline and tab) shown as \xNN, so remote data cannot move the cursor,
 * recolour or retitle the operator's terminal. */
int buf_add_safe(buf_t *b, const char *s, size_t n);
/* The contents (never NULL: "" when empty). */
const char *buf_str(const buf_t *b);
/* Hands the malloc'd contents to the caller (NULL when failed) and resets b. */
char *buf_take(buf_t *b, size_t *n);
void buf_reset(buf_t *b);
/* Empties b for reuse, freeing its memory when it grew past keep bytes. */
void buf_shrink(buf_t *b, size_t keep);
void buf_free(buf_t *b);

#endif
