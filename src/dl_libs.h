/* dl_libs.h — libcurl and libpq are loaded on first use (see dl_libs.c). */
#ifndef TOCSIN_DL_LIBS_H
#define TOCSIN_DL_LIBS_H

typedef enum { DL_LIBCURL, DL_LIBPQ } dl_libs_which;

/* Loads the library if it is not yet; NULL when it is usable, else why not
 * (dlopen's message, e.g. "libpq.so.5: cannot open shared object file"). */
const char *dl_libs_error(dl_libs_which which);

/* 1 if the library has been loaded (without loading it). */
int dl_libs_loaded(dl_libs_which which);

#endif
