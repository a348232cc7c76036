/* buf.c — the growable, size-limited byte buffer (see buf.h). */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

int buf_reserve(buf_t *b, size_t n)
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
    return 0;
}

int buf_add(buf_t *b, const void *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

int buf_addstr(buf_t *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(buf_t *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vfmt(buf_t *b, const char *fmt, va_list ap)
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

int buf_fmt(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vfmt(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const buf_t *b)
{
    return b->p ? b->p : "";
}

char *buf_take(buf_t *b, size_t *n)
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

void buf_reset(buf_t *b)
{
    b->n = 0;
    b->failed = 0;
    if (b->p)
        b->p[0] = 0;
}

void buf_shrink(buf_t *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    buf_reset(b);
}

void buf_free(buf_t *b)
{
    free(b->p);
    size_t max = b->max;
    buf_init(b, max);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int buf_add_json(buf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    buf_addc(b, '"');
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
            i++;
            continue;
        }
        size_t len = c >= 0x80 ? utf8_len(u + i, n - i) : 0;
        if (len) {
            i += len;
            continue;
        }
        buf_add(b, s + start, i - start);
        switch (c) {
        case '"':
            buf_add(b, "\\\"", 2);
            break;
        case '\\':
            buf_add(b, "\\\\", 2);
            break;
        case '\n':
            buf_add(b, "\\n", 2);
            break;
        case '\r':
            buf_add(b, "\\r", 2);
            break;
        case '\t':
            buf_add(b, "\\t", 2);
            break;
        default:
            if (c < 0x80)
                buf_fmt(b, "\\u%04x", c);
            else
                buf_add(b, "\\ufffd", 6);
            break;
        }
        i++;
        start = i;
    }
    buf_add(b, s + start, n - start);
    return buf_addc(b, '"');
}

int buf_add_safe(buf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        /* C0 controls but \n and \t, DEL, and the C1 controls' UTF-8 form
         * (0xc2 0x80-0x9f), which terminals also obey. */
        int c1 = c == 0xc2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f;
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c1) {
            buf_add(b, s + start, i - start);
            if (c1)
                buf_fmt(b, "\\x%02x", u[++i]);
            else
                buf_fmt(b, "\\x%02x", c);
            start = i + 1;
        }
    }
    return buf_add(b, s + start, n - start);
}
