/* dl_libs.c — libcurl and libpq, loaded on first use (dlopen), not at start.
 *
 * Linked the usual way, libcurl and libpq make every process map some 25
 * libraries before main() (GnuTLS, OpenSSL, Kerberos, LDAP, SASL, SSH, RTMP,
 * nettle, gmp, p11-kit, ...) and run their relocations and constructors:
 * measured 6.0 MB of RSS in an empty program, 8.1 MB once curl_global_init
 * ran. An idle daemon, or a run that never makes an HTTP call nor opens a
 * database, needs none of it (issue 9: idle daemon under 10 MiB).
 *
 * So the binary does not link them. Each function Tocsin calls is defined
 * here with the header's own prototype (the compiler checks every one against
 * curl.h / libpq-fe.h) and forwards to the library's symbol, loaded with
 * dlopen the first time any of them is called, on whichever thread (e-mail is
 * sent from the libuv pool). If the library cannot be loaded, each function
 * returns its failure value (NULL, CURLE_FAILED_INIT, CONNECTION_BAD, ...) and
 * dl_libs_error() says why, so callers report "libcurl.so.4: cannot open
 * shared object file" rather than crash. A function used by Tocsin but missing
 * from these lists is an undefined reference at link time, not at run time. */
#define CURL_DISABLE_TYPECHECK /* the setopt wrappers below are real functions */
#include "dl_libs.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef TN_LIBCURL_SONAME
#define TN_LIBCURL_SONAME "libcurl.so.4"
#endif
#ifndef TN_LIBPQ_SONAME
#define TN_LIBPQ_SONAME "libpq.so.5"
#endif

/* X(return type, name, (parameters), (arguments), value on failure);
 * V(name, (parameters), (arguments)) for functions returning void. */
#define CURL_FUNCS(X, V)                                                                           \
    X(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)                        \
    V(curl_global_cleanup, (void), ())                                                             \
    X(CURL *, curl_easy_init, (void), (), NULL)                                                    \
    V(curl_easy_cleanup, (CURL * c), (c))                                                          \
    X(CURLcode, curl_easy_perform, (CURL * c), (c), CURLE_FAILED_INIT)                             \
    X(const char *, curl_easy_strerror, (CURLcode code), (code), "libcurl could not be loaded")    \
    X(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),      \
      NULL)                                                                                        \
    V(curl_slist_free_all, (struct curl_slist * l), (l))                                           \
    X(curl_version_info_data *, curl_version_info, (CURLversion v), (v), NULL)                     \
    X(CURLM *, curl_multi_init, (void), (), NULL)                                                  \
    X(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_BAD_HANDLE)                           \
    X(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL * c), (m, c), CURLM_BAD_HANDLE)           \
    X(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL * c), (m, c), CURLM_BAD_HANDLE)        \
    X(CURLMcode, curl_multi_assign, (CURLM * m, curl_socket_t s, void *p), (m, s, p),              \
      CURLM_BAD_HANDLE)                                                                            \
    X(CURLMcode, curl_multi_socket_action, (CURLM * m, curl_socket_t s, int ev, int *running),     \
      (m, s, ev, running), CURLM_BAD_HANDLE)                                                       \
    X(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)

/* The variadic ones: pointers and loading from this list, wrappers by hand. */
#define CURL_VARIADIC(F)                                                                           \
    F(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...))                                       \
    F(CURLMcode, curl_multi_setopt, (CURLM *, CURLMoption, ...))                                   \
    F(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...))

#define PQ_FUNCS(X, V)                                                                             \
    X(int, PQlibVersion, (void), (), 0)                                                            \
    X(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),                  \
      (conninfo, errmsg), NULL)                                                                    \
    V(PQconninfoFree, (PQconninfoOption * o), (o))                                                 \
    X(PGconn *, PQconnectStartParams,                                                              \
      (const char *const *keywords, const char *const *values, int expand),                        \
      (keywords, values, expand), NULL)                                                            \
    X(PostgresPollingStatusType, PQconnectPoll, (PGconn * c), (c), PGRES_POLLING_FAILED)           \
    X(ConnStatusType, PQstatus, (const PGconn *c), (c), CONNECTION_BAD)                            \
    X(PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c), PQTRANS_UNKNOWN)       \
    X(char *, PQerrorMessage, (const PGconn *c), (c), NULL)                                        \
    X(int, PQsocket, (const PGconn *c), (c), -1)                                                   \
    X(int, PQsetnonblocking, (PGconn * c, int arg), (c, arg), -1)                                  \
    V(PQfinish, (PGconn * c), (c))                                                                 \
    X(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn * c, PQnoticeReceiver fn, void *arg),         \
      (c, fn, arg), NULL)                                                                          \
    X(PGcancel *, PQgetCancel, (PGconn * c), (c), NULL)                                            \
    X(int, PQcancel, (PGcancel * c, char *errbuf, int size), (c, errbuf, size), 0)                 \
    V(PQfreeCancel, (PGcancel * c), (c))                                                           \
    X(int, PQsendQuery, (PGconn * c, const char *q), (c, q), 0)                                    \
    X(int, PQsendQueryParams,                                                                      \
      (PGconn * c, const char *q, int n, const Oid *types, const char *const *values,              \
       const int *lengths, const int *formats, int result_format),                                 \
      (c, q, n, types, values, lengths, formats, result_format), 0)                                \
    X(int, PQsendPrepare, (PGconn * c, const char *name, const char *q, int n, const Oid *types),  \
      (c, name, q, n, types), 0)                                                                   \
    X(int, PQsendQueryPrepared,                                                                    \
      (PGconn * c, const char *name, int n, const char *const *values, const int *lengths,         \
       const int *formats, int result_format),                                                     \
      (c, name, n, values, lengths, formats, result_format), 0)                                    \
    X(int, PQsetSingleRowMode, (PGconn * c), (c), 0)                                               \
    X(int, PQflush, (PGconn * c), (c), -1)                                                         \
    X(int, PQconsumeInput, (PGconn * c), (c), 0)                                                   \
    X(int, PQisBusy, (PGconn * c), (c), 0)                                                         \
    X(PGresult *, PQgetResult, (PGconn * c), (c), NULL)                                            \
    X(PGnotify *, PQnotifies, (PGconn * c), (c), NULL)                                             \
    V(PQclear, (PGresult * r), (r))                                                                \
    V(PQfreemem, (void *p), (p))                                                                   \
    X(ExecStatusType, PQresultStatus, (const PGresult *r), (r), PGRES_FATAL_ERROR)                 \
    X(char *, PQresultErrorMessage, (const PGresult *r), (r), NULL)                                \
    X(char *, PQresultErrorField, (const PGresult *r, int code), (r, code), NULL)                  \
    X(char *, PQcmdTuples, (PGresult * r), (r), NULL)                                              \
    X(char *, PQcmdStatus, (PGresult * r), (r), NULL)                                              \
    X(int, PQntuples, (const PGresult *r), (r), 0)                                                 \
    X(int, PQnfields, (const PGresult *r), (r), 0)                                                 \
    X(char *, PQfname, (const PGresult *r, int col), (r, col), NULL)                               \
    X(Oid, PQftype, (const PGresult *r, int col), (r, col), 0)                                     \
    X(char *, PQgetvalue, (const PGresult *r, int row, int col), (r, row, col), NULL)              \
    X(int, PQgetlength, (const PGresult *r, int row, int col), (r, row, col), 0)                   \
    X(int, PQgetisnull, (const PGresult *r, int row, int col), (r, row, col), 1)

/* One loaded library: its handle, why it failed, and the once guard. */
typedef struct {
    const char *soname;
    pthread_once_t once;
    int ok;
    char error[256];
} dl_lib;

static dl_lib curl_lib = {TN_LIBCURL_SONAME, PTHREAD_ONCE_INIT, 0, ""};
static dl_lib pq_lib = {TN_LIBPQ_SONAME, PTHREAD_ONCE_INIT, 0, ""};

#define FIELD(ret, name, params, args, fail) ret(*name) params;
#define VFIELD(name, params, args) void(*name) params;
#define VAFIELD(ret, name, params) ret(*name) params;
static struct {
    CURL_FUNCS(FIELD, VFIELD)
    CURL_VARIADIC(VAFIELD)
} curl_fn;
static struct {
    PQ_FUNCS(FIELD, VFIELD)
} pq_fn;

static void *open_lib(dl_lib *lib)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(lib->error, sizeof lib->error, "%s", dlerror());
    return h;
}

static void *sym(dl_lib *lib, void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p && !lib->error[0])
        snprintf(lib->error, sizeof lib->error, "%s: no symbol %s", lib->soname, name);
    return p;
}

/* The POSIX way to store dlsym's answer in a function pointer. */
#define LOADF(ret, name, params, args, fail) *(void **)&fn->name = sym(lib, h, #name);
#define VLOADF(name, params, args) *(void **)&fn->name = sym(lib, h, #name);
#define VALOADF(ret, name, params) *(void **)&fn->name = sym(lib, h, #name);

static void load_curl(void)
{
    dl_lib *lib = &curl_lib;
    __typeof__(curl_fn) *fn = &curl_fn;
    void *h = open_lib(lib);
    if (!h)
        return;
    CURL_FUNCS(LOADF, VLOADF)
    CURL_VARIADIC(VALOADF)
    lib->ok = !lib->error[0];
}

static void load_pq(void)
{
    dl_lib *lib = &pq_lib;
    __typeof__(pq_fn) *fn = &pq_fn;
    void *h = open_lib(lib);
    if (!h)
        return;
    PQ_FUNCS(LOADF, VLOADF)
    lib->ok = !lib->error[0];
}

static int need_curl(void)
{
    pthread_once(&curl_lib.once, load_curl);
    return curl_lib.ok;
}

static int need_pq(void)
{
    pthread_once(&pq_lib.once, load_pq);
    return pq_lib.ok;
}

const char *dl_libs_error(dl_libs_which which)
{
    if (which == DL_LIBCURL)
        return need_curl() ? NULL : curl_lib.error;
    return need_pq() ? NULL : pq_lib.error;
}

int dl_libs_loaded(dl_libs_which which)
{
    return which == DL_LIBCURL ? curl_lib.ok : pq_lib.ok;
}

/* Functions returning a value load the library; those returning void free or
 * reset what only a loaded library can have made, so they never load it
 * (curl_global_cleanup at exit must not pull libcurl in to clean nothing). */
#define WRAP(lib, ret, name, params, args, fail)                                                   \
    ret name params                                                                                \
    {                                                                                              \
        if (!need_##lib())                                                                         \
            return fail;                                                                           \
        return lib##_fn.name args;                                                                 \
    }
#define VWRAP(lib, name, params, args)                                                             \
    void name params                                                                               \
    {                                                                                              \
        if (lib##_lib.ok)                                                                          \
            lib##_fn.name args;                                                                    \
    }
#define CURL_WRAP(ret, name, params, args, fail) WRAP(curl, ret, name, params, args, fail)
#define CURL_VWRAP(name, params, args) VWRAP(curl, name, params, args)
#define PQ_WRAP(ret, name, params, args, fail) WRAP(pq, ret, name, params, args, fail)
#define PQ_VWRAP(name, params, args) VWRAP(pq, name, params, args)

CURL_FUNCS(CURL_WRAP, CURL_VWRAP)
PQ_FUNCS(PQ_WRAP, PQ_VWRAP)

/* The option's number says the type of its one argument, as in libcurl's own
 * curl_easy_setopt: below 10000 a long, then object pointers, function
 * pointers, curl_off_t and blobs (pointers). */
#define VA_FORWARD(fn, h, o)                                                                       \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, o);                                                                           \
        if ((long)(o) < CURLOPTTYPE_OBJECTPOINT) {                                                 \
            long v = va_arg(ap, long);                                                             \
            va_end(ap);                                                                            \
            return fn(h, o, v);                                                                    \
        }                                                                                          \
        if ((long)(o) >= CURLOPTTYPE_OFF_T && (long)(o) < CURLOPTTYPE_BLOB) {                      \
            curl_off_t v = va_arg(ap, curl_off_t);                                                 \
            va_end(ap);                                                                            \
            return fn(h, o, v);                                                                    \
        }                                                                                          \
        void *v = va_arg(ap, void *);                                                              \
        va_end(ap);                                                                                \
        return fn(h, o, v);                                                                        \
    } while (0)

CURLcode curl_easy_setopt(CURL *c, CURLoption o, ...)
{
    if (!need_curl())
        return CURLE_FAILED_INIT;
    VA_FORWARD(curl_fn.curl_easy_setopt, c, o);
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption o, ...)
{
    if (!need_curl())
        return CURLM_BAD_HANDLE;
    VA_FORWARD(curl_fn.curl_multi_setopt, m, o);
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO i, ...)
{
    if (!need_curl())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, i);
    void *p = va_arg(ap, void *);
    va_end(ap);
    return curl_fn.curl_easy_getinfo(c, i, p);
}
