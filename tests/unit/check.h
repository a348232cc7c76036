/* check.h — the unit tests' one assertion: counts checks, reports each
 * failure as file:line: expression, and ends with "N passed, M failed". */
#ifndef TOCSIN_TESTS_CHECK_H
#define TOCSIN_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

/* main's return: prints the summary line. */
static inline int check_report(void)
{
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}

#endif
