/* buf.c — the growable, size-limited byte buffer (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

int buf_add(buf *b, const void *s, size_t n)
{
    if (b->failed)
        return -1;
    size_t max = b->max ? b->max : BUF_DEFAULT_MAX;
    if (n > max - b->n) {
        b->failed = 1;
        return -1;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int buf_addstr(buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vfmt(buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc;
    if (n < 0) {
        b->failed = 1;
        rc = -1;
    } else if ((size_t)n < sizeof small) {
        rc = buf_add(b, small, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);
        if (!big) {
            b->failed = 1;
            rc = -1;
        } else {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            rc = buf_add(b, big, (size_t)n);
            free(big);
        }
    }
    va_end(ap2);
    return rc;
}

int buf_fmt(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vfmt(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const buf *b)
{
    return b->p ? b->p : "";
}

char *buf_take(buf *b, size_t *n)
{
    char *p = b->failed ? NULL : b->p;
    if (!p && !b->failed)
        p = calloc(1, 1);
    if (n)
        *n = p ? b->n : 0;
    if (!p)
        free(b->p);
    size_t max = b->max;
    buf_init(b, max);
    return p;
}

void buf_reset(buf *b)
{
    b->n = 0;
    b->failed = 0;
    if (b->p)
        b->p[0] = 0;
}

void buf_free(buf *b)
{
    free(b->p);
    size_t max = b->max;
    buf_init(b, max);
}
