/* modules.h — the one list of what runbooks see from C (as Lua's linit.c
 * stdlibs[]): each module's name, how to open it, how to shut it down. */
#ifndef TOCSIN_MODULES_H
#define TOCSIN_MODULES_H

#include <lua.h>

typedef struct module_reg {
    const char *name;       /* global name; "http.serve" sets a field of module http */
    lua_CFunction open;     /* pushes the module's value (a table or a function) */
    void (*shutdown)(void); /* process exit: release handles, kill children; or NULL */
} module_reg;

extern const module_reg modules_list[]; /* ends with {NULL} */

/* Sets every module into the environment table on top of L. */
void modules_open_all(lua_State *L);

/* The one shutdown path (CLI and daemon): every module releases what it
 * holds, the loop runs until their handles have closed, then closes. */
void modules_shutdown(void);

#endif
