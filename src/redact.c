/* redact.c — the process-wide set of secret values and the filter every
 * writer passes text through.  A handful of secrets per process: a linear
 * scan with memmem is fast enough and obviously correct. */
#include "redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct secret {
    char *s;
    size_t n;
};

static struct secret *secrets;
static size_t nsecrets, capsecrets;

static int add_one(const char *s, size_t n);

/* A secret may be written encoded: as a JSON string (lua-cjson's spelling:
 * short escapes, '/' and DEL escaped too; or the plain one) or
 * percent-encoded in a URL.  Those spellings are secrets too. */
static int add_variants(const char *s, size_t n)
{
    int rc = 0;
    char *v = malloc(6 * n + 1);
    if (!v)
        return -1;
    for (int cjson = 0; cjson < 2; cjson++) {
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            const char *sh = NULL;
            if (c == '\n')
                sh = "n";
            else if (cjson && c == '\t')
                sh = "t";
            else if (cjson && c == '\r')
                sh = "r";
            else if (cjson && c == '\b')
                sh = "b";
            else if (cjson && c == '\f')
                sh = "f";
            if (c == '"' || c == '\\' || (cjson && c == '/')) {
                v[o++] = '\\';
                v[o++] = (char)c;
            } else if (sh) {
                v[o++] = '\\';
                v[o++] = *sh;
            } else if (c < 0x20 || (cjson && c == 0x7f)) {
                o += (size_t)snprintf(v + o, 7, "\\u%04x", c);
            } else {
                v[o++] = (char)c;
            }
        }
        if ((o != n || memcmp(v, s, n)) && add_one(v, o) < 0)
            rc = -1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            v[o++] = (char)c;
        else
            o += (size_t)snprintf(v + o, 4, "%%%02X", c);
    }
    if ((o != n || memcmp(v, s, n)) && add_one(v, o) < 0)
        rc = -1;
    free(v);
    return rc;
}

int redact_add(const char *s, size_t n)
{
    if (!s || n < REDACT_MIN_LEN)
        return 0;
    if (add_one(s, n) < 0 || add_variants(s, n) < 0)
        return -1;
    return 0;
}

static int add_one(const char *s, size_t n)
{
    for (size_t i = 0; i < nsecrets; i++)
        if (secrets[i].n == n && !memcmp(secrets[i].s, s, n))
            return 0;
    if (nsecrets == capsecrets) {
        size_t cap = capsecrets ? capsecrets * 2 : 8;
        struct secret *p = realloc(secrets, cap * sizeof *p);
        if (!p)
            return -1;
        secrets = p;
        capsecrets = cap;
    }
    char *copy = malloc(n);
    if (!copy)
        return -1;
    memcpy(copy, s, n);
    /* Longest first, so a secret containing another is replaced whole. */
    size_t i = nsecrets++;
    while (i > 0 && secrets[i - 1].n < n) {
        secrets[i] = secrets[i - 1];
        i--;
    }
    secrets[i].s = copy;
    secrets[i].n = n;
    return 0;
}

int redact_needed(const char *s, size_t n)
{
    for (size_t i = 0; i < nsecrets; i++)
        if (memmem(s, n, secrets[i].s, secrets[i].n))
            return 1;
    return 0;
}

char *redact_dup(const char *s, size_t n, size_t *outn)
{
    /* The result is never longer than the input plus 3 bytes per match, and a
     * match is at least 3 bytes long, so 2n+1 always suffices. */
    char *out = malloc(2 * n + 4);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    while (i < n) {
        size_t j = 0;
        for (; j < nsecrets; j++)
            if (secrets[j].n <= n - i && !memcmp(s + i, secrets[j].s, secrets[j].n))
                break;
        if (j < nsecrets) {
            memcpy(out + o, "***", 3);
            o += 3;
            i += secrets[j].n;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = 0;
    if (outn)
        *outn = o;
    return out;
}
