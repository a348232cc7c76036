/* mail_msg.c — the mail builder: which addresses pass (CR/LF never does),
 * the subject kept on one line, RFC 2047 words that each hold whole UTF-8
 * characters and fit in 76 columns, and the quoted-printable body (exact
 * bytes for small cases, a decode round trip for long lines). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail_msg.h"

#include "check.h"

static int parses(const char *s)
{
    mail_mailbox m;
    char err[128];
    return mail_msg_mailbox(s, strlen(s), &m, "x", err, sizeof err) == 0;
}

static void test_mailbox(void)
{
    mail_mailbox m;
    char err[128];
    const char *s = "  \"Silva, Ana\" <ana@example.com> ";
    CHECK(mail_msg_mailbox(s, strlen(s), &m, "'to'", err, sizeof err) == 0);
    CHECK(m.namen == 10 && !memcmp(m.name, "Silva, Ana", 10));
    CHECK(m.addrn == 15 && !memcmp(m.addr, "ana@example.com", 15));
    CHECK(parses("a@b.c") && parses("Ana <a@b.c>") && parses("<a@b.c>") && parses(" a@b.c "));
    CHECK(parses("first.last+tag@sub.example.com"));
    const char *bad[] = {"a@b.c\r\nBcc: x@y.z",
                         "Ana\r\n <a@b.c>",
                         "a@b.c\n",
                         "a",
                         "@b.c",
                         "a@",
                         "a@b@c",
                         "a b@c.d",
                         "Ana <a@b.c",
                         "a,b@c.d",
                         "a@b.c>x",
                         "a\"b@c.d",
                         "a\xc3\xa7@b.c",
                         ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(!parses(bad[i]));
    CHECK(mail_msg_mailbox("a\rb@c.d", 7, &m, "'from'", err, sizeof err) < 0 &&
          strstr(err, "'from' has a control character"));
}

static void test_subject_line(void)
{
    struct {
        const char *in, *out;
    } t[] = {{"a\r\nb", "a b"},      {"\r\nBcc: x", "Bcc: x"}, {"a\t\tb", "a b"},
             {"a \n", "a"},          {"a\r\n\r\n b", "a  b"},  {"", ""},
             {"ação\x7f!", "ação !"}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        size_t n;
        char *o = mail_msg_subject_line(t[i].in, strlen(t[i].in), &n);
        CHECK(o && n == strlen(t[i].out) && !strcmp(o, t[i].out));
        free(o);
    }
}

static int b64val(char c)
{
    const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(tbl, c) : NULL;
    return p ? (int)(p - tbl) : -1;
}

/* Decodes base64 s[0..n) into out; its length, or -1. */
static int b64dec(const char *s, size_t n, unsigned char *out)
{
    int k = 0;
    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++)
            v[j] = s[i + j] == '=' ? 0 : b64val(s[i + j]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
            return -1;
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | v[3];
        out[k++] = (unsigned char)(w >> 16);
        if (s[i + 2] != '=')
            out[k++] = (unsigned char)(w >> 8);
        if (s[i + 3] != '=')
            out[k++] = (unsigned char)w;
    }
    return k;
}

/* Whole, valid UTF-8 sequences only. */
static int utf8_whole(const unsigned char *p, int n)
{
    for (int i = 0; i < n;) {
        int len = p[i] < 0x80         ? 1
                  : (p[i] >> 5) == 6  ? 2
                  : (p[i] >> 4) == 14 ? 3
                  : (p[i] >> 3) == 30 ? 4
                                      : 0;
        if (!len || i + len > n)
            return 0;
        for (int j = 1; j < len; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
        i += len;
    }
    return 1;
}

static const char *header(const char *msg, const char *name, size_t *n)
{
    const char *h = strstr(msg, name);
    if (!h)
        return NULL;
    const char *e = h;
    while ((e = strstr(e, "\r\n")) && (e[2] == ' ' || e[2] == '\t'))
        e += 2; /* folded: the header goes on */
    *n = (size_t)(e - h);
    return h;
}

static void build(buf_t *b, const char *subject, const char *body)
{
    mail_mailbox from = {"Tocsin Ação", 13, "t@example.com", 13};
    mail_mailbox to[2] = {{NULL, 0, "a@example.com", 13}, {"\"Q\" \\", 5, "b@example.com", 13}};
    buf_reset(b);
    mail_msg_build(b, &from, to, 2, subject, strlen(subject), body, strlen(body));
    CHECK(!b->failed);
}

static void test_encoded_words(void)
{
    /* 2-, 3- and 4-byte characters, so words end at every offset */
    buf_t sub = BUF_INIT, b = BUF_INIT;
    static const char *const chars[] = {"ç", "中", "😀", "x", " =?"};
    unsigned r = 7;
    for (int i = 0; i < 80; i++) {
        r = r * 1103515245u + 12345u;
        buf_addstr(&sub, chars[(r >> 16) % 5]);
    }
    build(&b, buf_str(&sub), "x");
    size_t hn;
    const char *h = header(buf_str(&b), "Subject: ", &hn);
    CHECK(h != NULL);
    buf_t got = BUF_INIT;
    int words = 0;
    for (const char *p = h; p && p < h + hn;) {
        const char *eol = strstr(p, "\r\n");
        CHECK(eol && eol - p <= 76); /* RFC 2047 2: lines with encoded-words */
        const char *w = strstr(p, "=?UTF-8?B?");
        CHECK(w && w < eol);
        const char *end = strstr(w + 10, "?=");
        CHECK(end && end + 2 == eol && end - w + 2 <= 75);
        unsigned char dec[64];
        int k = b64dec(w + 10, (size_t)(end - w - 10), dec);
        CHECK(k > 0 && utf8_whole(dec, k)); /* RFC 2047 5: whole characters */
        buf_add(&got, dec, (size_t)k);
        words++;
        p = eol + 2;
        if (*p != ' ')
            break;
    }
    CHECK(words >= (int)(sub.n / 45) && got.n == sub.n && !memcmp(got.p, sub.p, sub.n));
    /* display names: the ASCII one quoted with escapes, the other encoded */
    CHECK(strstr(buf_str(&b), "\r\nTo: a@example.com,\r\n \"\\\"Q\\\" \\\\\" <b@example.com>\r\n"));
    CHECK(strstr(buf_str(&b), "\r\nFrom: =?UTF-8?B?VG9jc2luIEHDp8Ojbw==?= <t@example.com>\r\n"));
    /* an ASCII subject stays readable */
    build(&b, "[P0] INC-3 Database down (triggered)", "x");
    CHECK(strstr(buf_str(&b), "\r\nSubject: [P0] INC-3 Database down (triggered)\r\n"));
    build(&b, "price =?x?= 3", "x");
    CHECK(strstr(buf_str(&b), "\r\nSubject: =?UTF-8?B?"));
    buf_free(&sub);
    buf_free(&b);
    buf_free(&got);
}

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void test_quoted_printable(void)
{
    buf_t b = BUF_INIT;
    build(&b, "s", "a=b\n.x\nend  \r\nç\rtab\t\nfim");
    const char *body = strstr(buf_str(&b), "\r\n\r\n");
    CHECK(body && !strcmp(body + 4, "a=3Db\r\n=2Ex\r\nend =20\r\n=C3=A7\r\ntab=09\r\nfim\r\n"));
    CHECK(strstr(buf_str(&b), "\r\nContent-Transfer-Encoding: quoted-printable\r\n"));
    /* a long line: soft breaks at 76 columns at most, never inside =XX, and
     * a '.' after a soft break is encoded too; decoding gives it back */
    buf_t in = BUF_INIT;
    for (int i = 0; i < 300; i++)
        buf_addstr(&in, i % 7 == 0 ? "." : i % 5 == 0 ? "ã=" : "ab ");
    build(&b, "s", buf_str(&in));
    body = strstr(buf_str(&b), "\r\n\r\n") + 4;
    buf_t dec = BUF_INIT;
    int bad = 0;
    for (const char *p = body; *p;) {
        const char *eol = strstr(p, "\r\n");
        if (eol - p > 76 || *p == '.')
            bad++;
        for (const char *c = p; c < eol; c++) {
            if (*c != '=') {
                buf_addc(&dec, *c);
            } else if (c + 1 == eol) {
                break; /* soft line break */
            } else {
                int hi = hexv(c[1]), lo = c + 2 < eol ? hexv(c[2]) : -1;
                if (hi < 0 || lo < 0)
                    bad++;
                buf_addc(&dec, (char)(hi * 16 + lo));
                c += 2;
            }
        }
        if (eol[-1] != '=' && eol[2])
            buf_add(&dec, "\n", 1);
        p = eol + 2;
    }
    CHECK(bad == 0);
    CHECK(dec.n == in.n && !memcmp(dec.p, in.p, in.n));
    buf_free(&in);
    buf_free(&dec);
    buf_free(&b);
}

int main(void)
{
    test_mailbox();
    test_subject_line();
    test_encoded_words();
    test_quoted_printable();
    return check_report();
}
