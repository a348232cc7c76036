/* The per-host cap's key (http_multi_host_key): one key for every way of
 * writing a host's URL that reaches the same connections (case, default
 * port, user info, path), distinct keys for distinct scheme, host or port,
 * and no key (no cap) for a URL too odd to tell. */
#include "check.h"
#include "http_multi.h"

#include <string.h>

static int key_is(const char *url, const char *want)
{
    char k[300];
    size_t n = http_multi_host_key(url, k, sizeof k);
    if (!want)
        return n == 0;
    if (n != strlen(want) || strcmp(k, want) != 0) {
        fprintf(stderr, "  %s -> '%s' (%zu), wanted '%s'\n", url, n ? k : "", n, want);
        return 0;
    }
    return 1;
}

int main(void)
{
    CHECK(key_is("http://127.0.0.1:8080/json", "http://127.0.0.1:8080"));
    CHECK(key_is("HTTP://Example.COM/a?b#c", "http://example.com:80"));
    CHECK(key_is("http://example.com", "http://example.com:80"));
    CHECK(key_is("http://example.com:80/x", "http://example.com:80"));
    CHECK(key_is("http://example.com:/x", "http://example.com:80"));
    CHECK(key_is("https://example.com/x", "https://example.com:443"));
    CHECK(key_is("https://example.com:8443", "https://example.com:8443"));
    CHECK(key_is("http://user:pa:ss@example.com:81/p@th", "http://example.com:81"));
    CHECK(key_is("http://example.com?q=http://other:9/", "http://example.com:80"));
    CHECK(key_is("http://example.com#frag:9", "http://example.com:80"));
    CHECK(key_is("http://[::1]:9000/x", "http://[::1]:9000"));
    CHECK(key_is("http://[::1]/x", "http://[::1]:80"));
    CHECK(key_is("example.com/x", "http://example.com:80")); /* curl's guess: http */
    CHECK(key_is("http://a:65535", "http://a:65535"));
    /* too odd to tell: no key, no cap (curl reports the error) */
    CHECK(key_is("http://a:65536/", NULL));
    CHECK(key_is("http://a:12x/", NULL));
    CHECK(key_is("http://[::1/", NULL));
    CHECK(key_is("http://[::1]x/", NULL));
    CHECK(key_is("http:///path", NULL));
    CHECK(key_is("", NULL));
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "http://", 7);
    CHECK(key_is(big, NULL)); /* does not fit: no key rather than a cut one */
    char small[8];
    CHECK(http_multi_host_key("http://example.com/", small, sizeof small) == 0);
    return check_report();
}
