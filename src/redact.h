/* redact.h — the process-wide set of secret values and the filter every
 * writer (output, logs, errors, notifications, state) passes text through. */
#ifndef TOCSIN_REDACT_H
#define TOCSIN_REDACT_H

#include <stddef.h>

/* Secrets shorter than this many bytes are not redacted: they would blank
 * out ordinary text ("a", "on"). Documented for users in docs. */
#define REDACT_MIN_LEN 3

/* Marks a value secret: from now on it is written as "***" (and so are its
 * JSON-escaped and percent-encoded spellings).  0, or -1 when it could not be
 * stored (out of memory): the caller must fail, since the value would leak. */
int redact_add(const char *s, size_t n);
/* Returns a malloc'd copy of s with every secret replaced (NUL-terminated,
 * length in *outn when not NULL). Never returns NULL except on OOM. */
char *redact_dup(const char *s, size_t n, size_t *outn);
/* Non-zero when s contains a secret. */
int redact_needed(const char *s, size_t n);

#endif
