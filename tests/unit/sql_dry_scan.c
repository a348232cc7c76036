/* sql_dry_scan.c — the dry run's reading of a server parse tree (sql_dry.c):
 * what counts as a plain read, which OIDs are collected, and that text a
 * statement controls cannot hide a field of its tree. */
#include <stdio.h>
#include <string.h>

#include "sql_dry.h"

#include "check.h"

static const char *scan(const char *tree, const char *sql, char *funcs, char *objs)
{
    buf_t f = BUF_INIT, o = BUF_INIT;
    const char *why = sql_dry_scan(tree, strlen(tree), sql, &f, &o);
    snprintf(funcs, 256, "%s", buf_str(&f));
    snprintf(objs, 256, "%s", buf_str(&o));
    buf_free(&f);
    buf_free(&o);
    return why;
}

int main(void)
{
    char f[256], o[256];
    /* a SELECT calling a user function (16390) and pg_terminate_backend (2096) */
    const char *sel =
        "({QUERY :commandType 1 :querySource 0 :utilityStmt <> :hasModifyingCTE false "
        ":hasForUpdate false :rtable ({RANGETBLENTRY :relid 16384 :relkind r}) "
        ":targetList ({TARGETENTRY :expr {FUNCEXPR :funcid 16390 :funcresulttype 23 "
        ":args <> :location 7} :resno 1} {TARGETENTRY :expr {FUNCEXPR :funcid 2096 "
        ":args ({CONST :consttype 23 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]})}} "
        "{TARGETENTRY :expr {OPEXPR :opno 96 :opfuncid 65}} {TARGETENTRY :expr "
        "{AGGREF :aggfnoid 2803} {WINDOWFUNC :winfnoid 3100}}) :stmt_len 40})";
    CHECK(scan(sel, "SELECT f()", f, o) == NULL);
    CHECK(!strcmp(f, "{23,65,2096,2803,3100,16390}"));
    CHECK(!strcmp(o, "{16384,16390}"));

    /* a data-modifying CTE, FOR UPDATE, an INSERT, a nested INSERT */
    CHECK(scan("({QUERY :commandType 1 :hasModifyingCTE true :hasForUpdate false})", "x", f, o));
    CHECK(scan("({QUERY :commandType 1 :hasModifyingCTE false :hasForUpdate true})", "x", f, o));
    CHECK(scan("({QUERY :commandType 3 :hasModifyingCTE false})", "INSERT", f, o));
    CHECK(scan("({QUERY :commandType 1 :cteList ({COMMONTABLEEXPR :ctequery {QUERY "
               ":commandType 2}})})",
               "WITH", f, o));
    CHECK(scan("({QUERY :commandType 10 })", "x", f, o));

    /* utility statements: only SHOW name */
    const char *util = "({QUERY :commandType 6 :querySource 0 :utilityStmt ? :stmt_len 20})";
    CHECK(scan(util, "SHOW max_connections", f, o) == NULL);
    CHECK(scan(util, "  show ALL ;  ", f, o) == NULL);
    CHECK(scan(util, "COPY (SELECT 1) TO PROGRAM 'touch x'", f, o));
    CHECK(scan(util, "SHOW max_connections; COPY x TO PROGRAM 'y'", f, o));
    CHECK(scan(util, "DO $$ BEGIN END $$", f, o));
    CHECK(scan(util, "SHOWx", f, o));

    /* no tree at all, or no query in it */
    CHECK(scan("", "SELECT 1", f, o));
    CHECK(scan("(garbage)", "SELECT 1", f, o));

    /* text from the statement is escaped by the server (outToken): an alias
     * cannot add a field, and its digits only add candidate OIDs */
    const char *alias = "({QUERY :commandType 3 :rtable ({RANGETBLENTRY :eref {ALIAS :aliasname "
                        "x\\ :commandType\\ 1 :colnames (\"99999\")}})})";
    CHECK(scan(alias, "INSERT", f, o));
    const char *alias2 = "({QUERY :commandType 1 :rtable ({RANGETBLENTRY :eref {ALIAS :aliasname "
                         "t\\ :funcid\\ 5 :colnames (\"99999\")}})})";
    CHECK(scan(alias2, "SELECT", f, o) == NULL);
    CHECK(!strcmp(f, "{}"));
    CHECK(!strcmp(o, "{99999}"));

    /* numbers glued to words or past 32 bits are not OIDs */
    CHECK(scan("({QUERY :commandType 1 :x a16390 16390b 99999999999 -20000 1.17000})", "S", f, o) ==
          NULL);
    CHECK(!strcmp(o, "{}"));

    return check_report();
}
