/* json.c — JSON encoding and decoding for runbooks (json.encode/decode/null)
 * and the primitives (tn_json_encode/decode). It replaced lua-cjson 2.1.0,
 * which wrote every number with 14 significant digits (123456789012345
 * became 1.2345678901234e+14) and decoded every number as a float (integers
 * past 2^53 lost their last digits). Here a Lua integer is written as one
 * and an integer token decodes to an integer; a float is written with the
 * fewest digits (15 to 17) that read back to the same double, and always
 * looks like a float ("1.0"), so it decodes to a float again.
 *
 * The rest follows lua-cjson as tocsin configured it: a table whose keys are
 * all positive integers is an array (holes become null) unless it is
 * excessively sparse (largest index > 10 and > twice the count: then an
 * object); an empty table is {}; strings are escaped the same way (including
 * "\/" and \u007f, which redact.c knows); json.null is a NULL light userdata;
 * nesting deeper than 128 is an error (a cycle is one). Unlike lua-cjson,
 * bytes that are not UTF-8 (and escaped lone surrogates) become U+FFFD, when
 * encoding and when decoding alike, so the output is always valid JSON and a
 * decoded string always valid UTF-8; and only JSON is accepted (no NaN,
 * Infinity or hex). Both directions count their work against the CPU budget. */
#include "json.h"

#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static const char module_key = 'j';

/* ---- CPU budget -------------------------------------------------------- */

/* Steps (values, or 64-byte runs of a string) between two looks at the clock. */
#define CHECK_STEPS 20000

static void check_cpu(lua_State *L, int *steps)
{
    *steps = CHECK_STEPS;
    /* A plain Lua state (the fuzz target, a unit test: its extra space must
     * then be set to NULL, lua_newstate leaves it unset) has no budget. */
    if (engine_state_of(L) && engine_cpu_exceeded(L))
        engine_cpu_raise(L);
}

#define COUNT(L, steps, n)                                                                         \
    do {                                                                                           \
        if ((*(steps) -= (n)) < 0)                                                                 \
            check_cpu(L, steps);                                                                   \
    } while (0)

/* ---- UTF-8 ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0: shortest
 * form only, no surrogates, nothing past U+10FFFF. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* ---- encoding ---------------------------------------------------------- */

/* The output lives in a full userdata at stack slot `slot`, replaced by a
 * bigger one as it grows: the Lua allocator counts it against the memory
 * limit, and an error anywhere leaves nothing to free. */
typedef struct {
    lua_State *L;
    char *p;
    size_t len, cap;
    int slot;
    int steps;
} encoder;

static void enc_grow(encoder *e, size_t need)
{
    if (need <= e->cap - e->len)
        return;
    if (e->len + need < e->len)
        luaL_error(e->L, "json.encode: result too large");
    size_t cap = e->cap ? e->cap : 256;
    while (cap - e->len < need) {
        if (cap > SIZE_MAX / 2)
            luaL_error(e->L, "json.encode: result too large");
        cap *= 2;
    }
    char *p = lua_newuserdatauv(e->L, cap, 0);
    if (e->len)
        memcpy(p, e->p, e->len);
    lua_replace(e->L, e->slot);
    e->p = p;
    e->cap = cap;
}

static void enc_add(encoder *e, const char *s, size_t n)
{
    enc_grow(e, n);
    memcpy(e->p + e->len, s, n);
    e->len += n;
}

#define enc_lit(e, s) enc_add(e, s, sizeof(s) - 1)

/* lua-cjson's escapes: short ones where JSON has them, '/' and DEL too. */
static const char *escape_of(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '/':
        return "\\/";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    }
}

static void enc_string(encoder *e, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    enc_grow(e, n + 2);
    e->p[e->len++] = '"';
    size_t i = 0;
    while (i < n) {
        if ((i & 63) == 0)
            COUNT(e->L, &e->steps, 1);
        /* copy the longest run that needs nothing */
        size_t j = i;
        while (j < n && u[j] >= 0x20 && u[j] < 0x7f && u[j] != '"' && u[j] != '\\' && u[j] != '/')
            j++;
        if (j > i) {
            enc_add(e, s + i, j - i);
            i = j;
            continue;
        }
        char tmp[8];
        const char *esc = escape_of(u[i], tmp);
        if (esc) {
            enc_add(e, esc, strlen(esc));
            i++;
            continue;
        }
        size_t len = utf8_valid(u + i, n - i);
        if (len) {
            enc_add(e, s + i, len);
            i += len;
        } else {
            enc_lit(e, REPLACEMENT);
            i++;
        }
    }
    enc_lit(e, "\"");
}

/* A float with the fewest significant digits (15 to 17) that read back as
 * the same double; ".0" added when that looks like an integer, so it decodes
 * as a float again. */
static size_t format_float(double d, char *out, size_t size)
{
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (strspn(out, "-0123456789") == (size_t)n && (size_t)n + 2 < size) {
        memcpy(out + n, ".0", 3);
        n += 2;
    }
    return (size_t)n;
}

static size_t format_number(lua_State *L, int idx, char *out, size_t size)
{
    if (lua_isinteger(L, idx))
        return (size_t)snprintf(out, size, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    double d = (double)lua_tonumber(L, idx);
    if (!isfinite(d))
        luaL_error(L, "json.encode: cannot encode %s (JSON has no NaN or infinity)",
                   isnan(d) ? "NaN"
                   : d > 0  ? "math.huge"
                            : "-math.huge");
    return format_float(d, out, size);
}

static void enc_value(encoder *e, int idx, int depth);

/* The array length of the table at idx as lua-cjson judged it: the largest
 * key when every key is a positive integer (integral float keys count) and
 * the array is not excessively sparse; -1 for an object. 0 for {}. */
static lua_Integer array_length(encoder *e, int idx)
{
    lua_State *L = e->L;
    lua_Integer max = 0, items = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        COUNT(L, &e->steps, 1);
        lua_Integer k;
        if (lua_type(L, -2) == LUA_TNUMBER) {
            int isint;
            k = lua_tointegerx(L, -2, &isint);
            if (isint && k >= 1) {
                if (k > max)
                    max = k;
                items++;
                lua_pop(L, 1);
                continue;
            }
        }
        lua_pop(L, 2);
        return -1;
    }
    /* lua-cjson's test (ratio 2, safe 10), sparse ones converted to objects */
    if (max > 10 && items <= LUA_MAXINTEGER / 2 && max > items * 2)
        return -1;
    return max;
}

static void enc_key(encoder *e, int kidx)
{
    lua_State *L = e->L;
    int t = lua_type(L, kidx);
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, kidx, &n);
        enc_string(e, s, n);
    } else if (t == LUA_TNUMBER) {
        char num[64];
        size_t n = format_number(L, kidx, num, sizeof num);
        enc_string(e, num, n);
    } else {
        luaL_error(L, "json.encode: a table key must be a string or a number (got %s)",
                   lua_typename(L, t));
    }
}

static void enc_table(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "json.encode: nesting deeper than %d (a table that contains itself?)",
                   JSON_MAX_DEPTH);
    luaL_checkstack(L, 6, "json.encode: nesting too deep");
    lua_Integer n = array_length(e, idx);
    if (n > 0) {
        enc_lit(e, "[");
        for (lua_Integer i = 1; i <= n; i++) {
            COUNT(L, &e->steps, 1);
            if (i > 1)
                enc_lit(e, ",");
            lua_rawgeti(L, idx, i);
            enc_value(e, lua_gettop(L), depth);
            lua_pop(L, 1);
        }
        enc_lit(e, "]");
        return;
    }
    enc_lit(e, "{");
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        COUNT(L, &e->steps, 1);
        if (!first)
            enc_lit(e, ",");
        first = 0;
        enc_key(e, lua_gettop(L) - 1);
        enc_lit(e, ":");
        enc_value(e, lua_gettop(L), depth);
        lua_pop(L, 1);
    }
    enc_lit(e, "}");
}

static void enc_value(encoder *e, int idx, int depth)
{
    lua_State *L = e->L;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        enc_string(e, s, n);
        break;
    }
    case LUA_TNUMBER: {
        char num[64];
        size_t n = format_number(L, idx, num, sizeof num);
        enc_add(e, num, n);
        break;
    }
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            enc_lit(e, "true");
        else
            enc_lit(e, "false");
        break;
    case LUA_TNIL:
        enc_lit(e, "null");
        break;
    case LUA_TTABLE:
        enc_table(e, idx, depth + 1);
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            enc_lit(e, "null");
            break;
        }
        /* fall through */
    default:
        luaL_error(L, "json.encode: cannot encode a %s", luaL_typename(L, idx));
    }
}

static int l_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    lua_pushnil(L); /* slot 2: the output buffer */
    encoder e = {.L = L, .slot = 2, .steps = CHECK_STEPS};
    enc_value(&e, 1, 0);
    lua_pushlstring(L, e.p, e.len);
    return 1;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
    lua_State *L;
    const char *s, *p, *end;
    int steps;
} decoder;

static int dec_fail(decoder *d, const char *what)
{
    size_t at = (size_t)(d->p - d->s) + 1;
    char where[64];
    if (d->p >= d->end)
        snprintf(where, sizeof where, "at the end of the input (byte %zu)", at);
    else if ((unsigned char)*d->p > 0x20 && (unsigned char)*d->p < 0x7f)
        snprintf(where, sizeof where, "at byte %zu ('%c')", at, *d->p);
    else
        snprintf(where, sizeof where, "at byte %zu (byte 0x%02x)", at, (unsigned char)*d->p);
    return luaL_error(d->L, "json.decode: %s %s", what, where);
}

static void skip_ws(decoder *d)
{
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], h;
        if (c >= '0' && c <= '9')
            h = c - '0';
        else if (c >= 'a' && c <= 'f')
            h = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            h = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* The string at d->p (just after its opening quote): pushed. */
static void dec_string(decoder *d)
{
    lua_State *L = d->L;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (;;) {
        COUNT(L, &d->steps, 1);
        const char *run = d->p;
        while (d->p < d->end && (unsigned char)*d->p >= 0x20 && (unsigned char)*d->p < 0x80 &&
               *d->p != '"' && *d->p != '\\' && d->p - run < 64)
            d->p++;
        luaL_addlstring(&b, run, (size_t)(d->p - run));
        if (d->p >= d->end)
            dec_fail(d, "unfinished string");
        unsigned char c = (unsigned char)*d->p;
        if (c == '"') {
            d->p++;
            break;
        }
        if (c < 0x20)
            dec_fail(d, "control character in a string (write it as an escape)");
        if (c >= 0x80) {
            size_t len = utf8_valid((const unsigned char *)d->p, (size_t)(d->end - d->p));
            if (len) {
                luaL_addlstring(&b, d->p, len);
                d->p += len;
            } else {
                luaL_addstring(&b, REPLACEMENT);
                d->p++;
            }
            continue;
        }
        if (c != '\\')
            continue; /* a run of 64 ordinary bytes ended */
        d->p++;
        if (d->p >= d->end)
            dec_fail(d, "unfinished string");
        char e = *d->p++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            luaL_addchar(&b, e);
            break;
        case 'b':
            luaL_addchar(&b, '\b');
            break;
        case 'f':
            luaL_addchar(&b, '\f');
            break;
        case 'n':
            luaL_addchar(&b, '\n');
            break;
        case 'r':
            luaL_addchar(&b, '\r');
            break;
        case 't':
            luaL_addchar(&b, '\t');
            break;
        case 'u': {
            int cp = d->end - d->p >= 4 ? hex4(d->p) : -1;
            if (cp < 0) {
                d->p -= 2;
                dec_fail(d, "invalid \\u escape (four hex digits expected)");
            }
            d->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && d->end - d->p >= 6 && d->p[0] == '\\' &&
                d->p[1] == 'u') {
                int lo = hex4(d->p + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    d->p += 6;
                }
            }
            char out[4];
            if (cp >= 0xd800 && cp <= 0xdfff) /* a lone surrogate */
                luaL_addstring(&b, REPLACEMENT);
            else
                luaL_addlstring(&b, out, utf8_put(out, (uint32_t)cp));
            break;
        }
        default:
            d->p -= 2;
            dec_fail(d, "invalid escape in a string");
        }
    }
    luaL_pushresult(&b);
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A number token (JSON's grammar): an integer when it has no fraction or
 * exponent and fits in a Lua integer, else a float. */
static void dec_number(decoder *d)
{
    lua_State *L = d->L;
    const char *start = d->p, *p = d->p;
    int neg = 0, isfloat = 0;
    if (*p == '-')
        neg = 1, p++;
    if (!is_digit(p, d->end)) {
        d->p = p;
        dec_fail(d, "invalid number");
    }
    if (*p == '0') {
        p++;
        if (is_digit(p, d->end)) {
            d->p = p;
            dec_fail(d, "invalid number (leading zero)");
        }
    } else {
        while (is_digit(p, d->end))
            p++;
    }
    if (p < d->end && *p == '.') {
        isfloat = 1;
        p++;
        if (!is_digit(p, d->end)) {
            d->p = p;
            dec_fail(d, "invalid number (digits expected after '.')");
        }
        while (is_digit(p, d->end))
            p++;
    }
    if (p < d->end && (*p == 'e' || *p == 'E')) {
        isfloat = 1;
        p++;
        if (p < d->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, d->end)) {
            d->p = p;
            dec_fail(d, "invalid number (digits expected in the exponent)");
        }
        while (is_digit(p, d->end))
            p++;
    }
    size_t n = (size_t)(p - start);
    COUNT(L, &d->steps, (int)(n / 64));
    if (!isfloat) {
        /* -0 has no integer form: it stays the float -0.0 */
        uint64_t v = 0, lim = neg ? (uint64_t)LUA_MAXINTEGER + 1 : (uint64_t)LUA_MAXINTEGER;
        int over = neg && n == 2 && start[1] == '0';
        for (const char *q = start + neg; q < p && !over; q++) {
            unsigned dig = (unsigned)(*q - '0');
            if (v > (lim - dig) / 10)
                over = 1;
            else
                v = v * 10 + dig;
        }
        if (!over) {
            lua_pushinteger(L, neg ? (lua_Integer)(0 - v) : (lua_Integer)v);
            d->p = p;
            return;
        }
    }
    /* strtod wants a terminated string: a copy, on the stack when short */
    char tmp[64];
    const char *z;
    if (n < sizeof tmp) {
        memcpy(tmp, start, n);
        tmp[n] = 0;
        z = tmp;
    } else {
        z = lua_pushlstring(L, start, n);
    }
    double v = strtod(z, NULL);
    if (n >= sizeof tmp)
        lua_pop(L, 1);
    if (!isfinite(v)) {
        d->p = start;
        dec_fail(d, "number out of range");
    }
    lua_pushnumber(L, (lua_Number)v);
    d->p = p;
}

static void dec_literal(decoder *d, const char *lit, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        dec_fail(d, "value expected");
    d->p += n;
}

static void dec_value(decoder *d, int depth)
{
    lua_State *L = d->L;
    COUNT(L, &d->steps, 1);
    skip_ws(d);
    if (d->p >= d->end)
        dec_fail(d, "value expected");
    switch (*d->p) {
    case '{':
    case '[': {
        int obj = *d->p == '{';
        if (depth >= JSON_MAX_DEPTH)
            dec_fail(d, "nesting deeper than 128");
        luaL_checkstack(L, 6, "json.decode: nesting too deep");
        d->p++;
        lua_newtable(L);
        skip_ws(d);
        if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
            d->p++;
            return;
        }
        for (lua_Integer i = 1;; i++) {
            if (obj) {
                skip_ws(d);
                if (d->p >= d->end || *d->p != '"')
                    dec_fail(d, "object key (a string) expected");
                d->p++;
                dec_string(d);
                skip_ws(d);
                if (d->p >= d->end || *d->p != ':')
                    dec_fail(d, "':' expected");
                d->p++;
                dec_value(d, depth + 1);
                lua_rawset(L, -3);
            } else {
                dec_value(d, depth + 1);
                lua_rawseti(L, -2, i);
            }
            skip_ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                continue;
            }
            if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
                d->p++;
                return;
            }
            dec_fail(d, obj ? "',' or '}' expected" : "',' or ']' expected");
        }
    }
    case '"':
        d->p++;
        dec_string(d);
        return;
    case 't':
        dec_literal(d, "true", 4);
        lua_pushboolean(L, 1);
        return;
    case 'f':
        dec_literal(d, "false", 5);
        lua_pushboolean(L, 0);
        return;
    case 'n':
        dec_literal(d, "null", 4);
        tn_push_null(L);
        return;
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) {
            dec_number(d);
            return;
        }
        dec_fail(d, "value expected");
    }
}

static int l_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    decoder d = {.L = L, .s = s, .p = s, .end = s + n, .steps = CHECK_STEPS};
    dec_value(&d, 0);
    skip_ws(&d);
    if (d.p < d.end)
        dec_fail(&d, "unexpected data after the value");
    return 1;
}

/* ---- the module -------------------------------------------------------- */

void tn_push_cjson(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &module_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, l_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, l_decode);
    lua_setfield(L, -2, "decode");
    tn_push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &module_key);
}

void tn_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, NULL);
}

int tn_is_null(lua_State *L, int idx)
{
    return lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL;
}

void tn_json_encode(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, l_encode);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
}

int tn_json_decode(lua_State *L, const char *s, size_t n)
{
    lua_pushcfunction(L, l_decode);
    lua_pushlstring(L, s, n);
    return lua_pcall(L, 1, 1, 0) == LUA_OK ? 0 : -1;
}
