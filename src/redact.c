/* redact.c — the process-wide set of secret values and the filter every
 * writer passes text through.  A handful of secrets per process: a linear
 * scan with memmem is fast enough and obviously correct. */
#include "redact.h"

#include <stdlib.h>
#include <string.h>

struct secret {
    char *s;
    size_t n;
};

static struct secret *secrets;
static size_t nsecrets, capsecrets;

void redact_add(const char *s, size_t n)
{
    if (!s || n < 3)
        return;
    for (size_t i = 0; i < nsecrets; i++)
        if (secrets[i].n == n && !memcmp(secrets[i].s, s, n))
            return;
    if (nsecrets == capsecrets) {
        size_t cap = capsecrets ? capsecrets * 2 : 8;
        struct secret *p = realloc(secrets, cap * sizeof *p);
        if (!p)
            return;
        secrets = p;
        capsecrets = cap;
    }
    char *copy = malloc(n);
    if (!copy)
        return;
    memcpy(copy, s, n);
    /* Longest first, so a secret containing another is replaced whole. */
    size_t i = nsecrets++;
    while (i > 0 && secrets[i - 1].n < n) {
        secrets[i] = secrets[i - 1];
        i--;
    }
    secrets[i].s = copy;
    secrets[i].n = n;
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
