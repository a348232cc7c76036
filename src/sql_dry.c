/* sql_dry.c — scanning the server's rewritten parse tree of a statement (see
 * sql_dry.h).  The tree is outfuncs.c's text: `{QUERY :commandType 1 ...}`,
 * fields as `:name value`; identifiers and strings in it are escaped by the
 * server (outToken), so a statement cannot forge a field of its own tree:
 * at worst it adds numbers, which only makes the check stricter. */
#include "sql_dry.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PostgreSQL's FirstNormalObjectId: OIDs below it belong to initdb. */
#define FIRST_USER_OID 16384

typedef struct oid_set {
    uint32_t *v;
    size_t n, cap;
    int failed;
} oid_set;

static void oid_add(oid_set *s, uint32_t oid)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->failed = 1;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = oid;
}

static int oid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The set as '{1,2,3}' (sorted, no duplicates) into out; -1 on OOM. */
static int oid_format(oid_set *s, buf_t *out)
{
    if (s->failed)
        return -1;
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, oid_cmp);
    buf_addc(out, '{');
    for (size_t i = 0; i < s->n; i++) {
        if (i && s->v[i] == s->v[i - 1])
            continue;
        buf_fmt(out, "%s%u", out->n > 1 ? "," : "", (unsigned)s->v[i]);
    }
    buf_addc(out, '}');
    return out->failed ? -1 : 0;
}

/* A number token starting at p (digits bounded by non-word characters);
 * its value in *v and its length, or 0. */
static size_t number_at(const char *tree, const char *p, const char *end, uint64_t *v)
{
    if (p > tree && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.' ||
                     p[-1] == '-' || p[-1] == '\\'))
        return 0;
    size_t len = 0;
    uint64_t x = 0;
    while (p + len < end && isdigit((unsigned char)p[len])) {
        if (len < 12)
            x = x * 10 + (uint64_t)(p[len] - '0');
        len++;
    }
    if (!len ||
        (p + len < end && (isalnum((unsigned char)p[len]) || p[len] == '_' || p[len] == '.')))
        return 0;
    *v = x;
    return len;
}

/* `SHOW name` or `SHOW ALL` and nothing else (a trailing ';' and spaces
 * allowed): the one utility statement a dry run sends. */
static int is_show(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    if (strncasecmp(s, "show", 4) || !isspace((unsigned char)s[4]))
        return 0;
    s += 4;
    while (isspace((unsigned char)*s))
        s++;
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    while (isalnum((unsigned char)*s) || *s == '_' || *s == '.')
        s++;
    while (isspace((unsigned char)*s))
        s++;
    if (*s == ';')
        s++;
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

const char *sql_dry_scan(const char *tree, size_t n, const char *sql, buf_t *funcs, buf_t *objs)
{
    const char *end = tree + n, *why = NULL;
    int queries = 0, non_select = 0;
    oid_set fs = {0}, os = {0};
    if (!n)
        return "the server did not show its analysis of the statement";
    for (const char *p = tree; p < end; p++) {
        if (*p == ':' &&
            (p == tree || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '{' || p[-1] == '(')) {
            /* a field: :name value */
            const char *k = p + 1;
            size_t klen = 0;
            while (k + klen < end && (isalnum((unsigned char)k[klen]) || k[klen] == '_'))
                klen++;
            const char *val = k + klen;
            if (val < end && *val == ' ')
                val++;
            if (klen == 11 && !memcmp(k, "commandType", 11)) {
                queries++;
                if (!(val < end && *val == '1' &&
                      (val + 1 == end || !isdigit((unsigned char)val[1]))))
                    non_select++;
            } else if ((klen == 15 && !memcmp(k, "hasModifyingCTE", 15)) ||
                       (klen == 12 && !memcmp(k, "hasForUpdate", 12))) {
                if ((size_t)(end - val) >= 4 && !memcmp(val, "true", 4))
                    why = "it writes (WITH ... INSERT/UPDATE/DELETE) or locks rows (FOR "
                          "UPDATE/SHARE)";
            } else {
                int fn = 0;
                for (size_t i = 0; i + 4 <= klen && !fn; i++)
                    fn = !strncasecmp(k + i, "func", 4) ||
                         (i + 4 < klen && !strncasecmp(k + i, "fnoid", 5));
                uint64_t v;
                if (fn && number_at(tree, val, end, &v) && v > 0 && v <= UINT32_MAX)
                    oid_add(&fs, (uint32_t)v);
            }
            p = k + klen - 1;
            continue;
        }
        if (isdigit((unsigned char)*p)) {
            uint64_t v;
            size_t len = number_at(tree, p, end, &v);
            if (len && len <= 10 && v >= FIRST_USER_OID && v <= UINT32_MAX)
                oid_add(&os, (uint32_t)v);
            while (p + 1 < end && isalnum((unsigned char)p[1]))
                p++;
        }
    }
    if (!why && !queries)
        why = "the server did not show its analysis of the statement";
    if (!why && non_select && !(queries == 1 && is_show(sql)))
        why = "not a SELECT (only SELECT and SHOW are sent in a dry run)";
    if (!why && (oid_format(&fs, funcs) < 0 || oid_format(&os, objs) < 0))
        why = "out of memory while checking the statement";
    free(fs.v);
    free(os.v);
    return why;
}
