/* When libcurl or libpq cannot be loaded (they are loaded on first use, see
 * src/dl_libs.c), every function returns its failure value and
 * dl_libs_error() says why, naming the library: no crash, no NULL call.
 * Built against sonames that do not exist. */
#define TN_LIBCURL_SONAME "libcurl-tocsin-missing.so.4"
#define TN_LIBPQ_SONAME "libpq-tocsin-missing.so.5"
#include "../../src/dl_libs.c"

#include "check.h"

int main(void)
{
    CHECK(!dl_libs_loaded(DL_LIBCURL));
    /* Cleanup functions never load the library, and are harmless unloaded. */
    curl_global_cleanup();
    curl_easy_cleanup(NULL);
    PQfinish(NULL);
    CHECK(!dl_libs_loaded(DL_LIBCURL));

    CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_FAILED_INIT);
    CHECK(curl_easy_init() == NULL);
    CHECK(curl_easy_setopt(NULL, CURLOPT_TIMEOUT_MS, 5L) == CURLE_FAILED_INIT);
    CHECK(curl_multi_init() == NULL);
    const char *why = dl_libs_error(DL_LIBCURL);
    CHECK(why && strstr(why, "libcurl-tocsin-missing.so.4"));

    char *err = NULL;
    CHECK(PQconninfoParse("host=x", &err) == NULL);
    CHECK(PQconnectStartParams(NULL, NULL, 0) == NULL);
    CHECK(PQstatus(NULL) == CONNECTION_BAD);
    why = dl_libs_error(DL_LIBPQ);
    CHECK(why && strstr(why, "libpq-tocsin-missing.so.5"));
    return check_report();
}
