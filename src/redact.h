/* redact.h — the process-wide set of secret values and the filter every
 * writer (output, logs, errors, notifications, state) passes text through. */
#ifndef TOCSIN_REDACT_H
#define TOCSIN_REDACT_H

#include <stddef.h>

/* Marks a value secret: from now on it is written as "***". Values shorter
 * than 3 bytes are ignored (they would blank out ordinary text). */
void redact_add(const char *s, size_t n);
/* Returns a malloc'd copy of s with every secret replaced (NUL-terminated,
 * length in *outn when not NULL). Never returns NULL except on OOM. */
char *redact_dup(const char *s, size_t n, size_t *outn);
/* Non-zero when s contains a secret. */
int redact_needed(const char *s, size_t n);

#endif
