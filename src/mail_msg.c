/* mail_msg.c — an RFC 5322 message from a sender, recipients, a subject and
 * a UTF-8 text: RFC 2047 encoded-words where a header needs them, a
 * quoted-printable body, CRLF line endings, and no way for any input to add
 * a header.  Pure (no Lua, no I/O but the clock and random bytes). */
#include "mail_msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "dev"
#endif

/* A line holding encoded-words is at most 76 characters (RFC 2047 2); each
 * word spends 12 on "=?UTF-8?B?" and "?=". */
#define MAIL_EW_LINE 76
/* An ASCII subject longer than this is encoded too: encoded-words fold, so
 * no header line gets near the 998-character limit (RFC 5322 2.1.1). */
#define MAIL_PLAIN_SUBJECT_MAX 900

/* ---- addresses ----------------------------------------------------------- */

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* A plain addr-spec: printable ASCII without the specials that would need
 * quoting (so nothing a header or an SMTP command could be split on), one
 * '@' with something on each side. */
static int addr_ok(const char *a, size_t n)
{
    if (n < 3 || n > MAIL_MSG_MAX_ADDR)
        return 0;
    size_t at = n, nat = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
            return 0;
        if (c == '@') {
            at = i;
            nat++;
        }
    }
    return nat == 1 && at > 0 && at < n - 1;
}

/* "a@x" or "Display Name <a@x>".  0, or -1 with the reason in err.  Control
 * characters (CR and LF above all) are refused, never repaired: an address
 * that carries them is an injection attempt or a broken config. */
int mail_msg_mailbox(const char *s, size_t n, mail_mailbox *m, const char *what, char *err,
                     size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "%s has a control character (CR and LF are refused)", what);
            return -1;
        }
    }
    while (n && is_wsp(*s))
        s++, n--;
    while (n && is_wsp(s[n - 1]))
        n--;
    m->name = NULL;
    m->namen = 0;
    m->addr = s;
    m->addrn = n;
    if (n && s[n - 1] == '>') {
        const char *lt = NULL;
        for (size_t i = n - 1; i-- > 0;)
            if (s[i] == '<') {
                lt = s + i;
                break;
            }
        if (lt) {
            m->addr = lt + 1;
            m->addrn = (size_t)(s + n - 1 - m->addr);
            const char *ne = lt;
            while (ne > s && is_wsp(ne[-1]))
                ne--;
            if (ne - s >= 2 && s[0] == '"' && ne[-1] == '"')
                s++, ne--;
            m->name = s;
            m->namen = (size_t)(ne - s);
        }
    }
    if (!addr_ok(m->addr, m->addrn)) {
        snprintf(err, errlen,
                 "%s is not a mail address (want a@example.com or Name <a@example.com>)", what);
        return -1;
    }
    return 0;
}

/* ---- header encoding ----------------------------------------------------- */

static void add_base64(buf_t *b, const unsigned char *s, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (buf_reserve(b, (n + 2) / 3 * 4) < 0)
        return;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        buf_add(b, q, 4);
    }
}

/* s as RFC 2047 "B" encoded-words in UTF-8, starting at column col of the
 * header line and folded onto continuation lines ("\r\n "): each word holds
 * whole characters, as RFC 2047 5 requires. */
static void add_encoded_words(buf_t *b, const char *s, size_t n, size_t col)
{
    const unsigned char *p = (const unsigned char *)s;
    int first = 1;
    if (col + 12 + 8 > MAIL_EW_LINE) { /* no room for a word of 4 bytes */
        buf_add(b, "\r\n ", 3);
        col = 1;
    }
    do {
        if (!first)
            col = 1; /* after the fold's space */
        size_t room = (MAIL_EW_LINE - col - 12) / 4 * 3;
        size_t k = n < room ? n : room;
        if (k < n) {
            size_t back = k;
            while (back > k - 4 && back > 0 && (p[back] & 0xC0) == 0x80)
                back--;
            if (back > 0)
                k = back; /* else not UTF-8: cut anywhere */
        }
        if (!first)
            buf_add(b, "\r\n ", 3);
        buf_addstr(b, "=?UTF-8?B?");
        add_base64(b, p, k);
        buf_addstr(b, "?=");
        first = 0;
        p += k;
        n -= k;
    } while (n > 0);
}

static int needs_encoding(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x7f || c < 0x20)
            return 1;
        if (c == '=' && i + 1 < n && s[i + 1] == '?')
            return 1; /* would be read as an encoded-word */
    }
    return 0;
}

/* A display name: a quoted-string when ASCII, else encoded-words. */
static void add_phrase(buf_t *b, const char *s, size_t n, size_t col)
{
    if (needs_encoding(s, n) || n > 200) { /* encoded-words fold; a quoted-string cannot */
        add_encoded_words(b, s, n, col);
        return;
    }
    buf_addc(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            buf_addc(b, '\\');
        buf_addc(b, s[i]);
    }
    buf_addc(b, '"');
}

static void add_mailbox(buf_t *b, const mail_mailbox *m, size_t col)
{
    if (m->namen) {
        add_phrase(b, m->name, m->namen, col);
        buf_addc(b, ' ');
        buf_addc(b, '<');
        buf_add(b, m->addr, m->addrn);
        buf_addc(b, '>');
    } else {
        buf_add(b, m->addr, m->addrn);
    }
}

/* The subject on one line: every run of control characters (a multi-line
 * text's CR and LF included) becomes one space, so no input can end the
 * header early.  Malloc'd; NULL when out of memory. */
char *mail_msg_subject_line(const char *s, size_t n, size_t *outn)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    int gap = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            gap = 1;
            continue;
        }
        if (gap && k > 0)
            o[k++] = ' ';
        gap = 0;
        o[k++] = (char)c;
    }
    while (k && o[k - 1] == ' ')
        k--;
    o[k] = '\0';
    *outn = k;
    return o;
}

/* ---- the body ------------------------------------------------------------ */

/* Quoted-printable (RFC 2045 6.7): 8-bit text passes any relay, lines stay
 * under 76 characters, and every line break of the text (LF, CRLF or CR)
 * becomes CRLF.  A '.' opening a line is encoded as well, so no line of the
 * body can look like the end of the data whatever the sender does. */
static void add_quoted_printable(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
                i++;
            buf_add(b, "\r\n", 2);
            col = 0;
            continue;
        }
        int at_eol = i + 1 == n || s[i + 1] == '\r' || s[i + 1] == '\n';
        int enc = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') || (c == '.' && col == 0) ||
                  ((c == ' ' || c == '\t') && at_eol);
        size_t w = enc ? 3 : 1;
        if (col + w > 75) {
            buf_add(b, "=\r\n", 3); /* a soft line break */
            col = 0;
            if (c == '.')
                enc = 1, w = 3;
        }
        if (enc) {
            char q[3] = {'=', hex[c >> 4], hex[c & 15]};
            buf_add(b, q, 3);
        } else {
            buf_addc(b, (char)c);
        }
        col += w;
    }
    if (col)
        buf_add(b, "\r\n", 2);
}

/* ---- the message --------------------------------------------------------- */

static uint64_t random64(void)
{
    uint64_t v = 0;
    if (uv_random(NULL, NULL, &v, sizeof v, 0, NULL) == 0)
        return v;
    static unsigned seq;
    return ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL) ^ ((uint64_t)++seq << 48);
}

static void add_date(buf_t *b)
{
    /* English names whatever the locale: RFC 5322 3.3. */
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    buf_fmt(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", wd[tm.tm_wday % 7], tm.tm_mday,
            mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void mail_msg_build(buf_t *b, const mail_mailbox *from, const mail_mailbox *to, int nto,
                    const char *subject, size_t subjectn, const char *body, size_t bodyn)
{
    add_date(b);
    buf_addstr(b, "From: ");
    add_mailbox(b, from, 6);
    buf_addstr(b, "\r\nTo: ");
    for (int i = 0; i < nto; i++) {
        if (i)
            buf_add(b, ",\r\n ", 4); /* one recipient a line: never too long */
        add_mailbox(b, &to[i], i ? 1 : 4);
    }
    buf_addstr(b, "\r\nSubject: ");
    if (needs_encoding(subject, subjectn) || subjectn > MAIL_PLAIN_SUBJECT_MAX)
        add_encoded_words(b, subject, subjectn, 9);
    else
        buf_add(b, subject, subjectn);
    const char *dom = (const char *)memchr(from->addr, '@', from->addrn) + 1;
    uv_timeval64_t tv;
    uint64_t us = uv_gettimeofday(&tv) == 0 ? (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec
                                            : (uint64_t)time(NULL) * 1000000;
    buf_fmt(b, "\r\nMessage-ID: <%llx.%016llx@%.*s>\r\n", (unsigned long long)us,
            (unsigned long long)random64(), (int)(from->addr + from->addrn - dom), dom);
    buf_addstr(b, "MIME-Version: 1.0\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n"
                  /* RFC 3834: no vacation replies to an alert */
                  "Auto-Submitted: auto-generated\r\n"
                  "X-Mailer: tocsin/" TOCSIN_VERSION "\r\n"
                  "\r\n");
    add_quoted_printable(b, body, bodyn);
}
