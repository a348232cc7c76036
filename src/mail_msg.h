/* mail_msg.h — building one mail (RFC 5322 + MIME): what smtp_lua.c sends. */
#ifndef TOCSIN_MAIL_MSG_H
#define TOCSIN_MAIL_MSG_H

#include <stddef.h>

#include "buf.h"

#define MAIL_MSG_MAX_ADDR 254 /* RFC 5321 4.5.3.1.3, a path less its brackets */

/* A mailbox: points into the string it was parsed from. */
typedef struct mail_mailbox {
    const char *name; /* display name; namen 0: none */
    size_t namen;
    const char *addr; /* a plain addr-spec: printable ASCII, one '@' */
    size_t addrn;
} mail_mailbox;

/* "a@x" or "Display Name <a@x>" (the name may be quoted).  0, or -1 with
 * the reason in err ("WHAT is not a mail address").  Control characters (CR
 * and LF above all) are refused, never repaired. */
int mail_msg_mailbox(const char *s, size_t n, mail_mailbox *m, const char *what, char *err,
                     size_t errlen);

/* The subject on one line: every run of control characters becomes one
 * space.  Malloc'd (length in *outn); NULL when out of memory. */
char *mail_msg_subject_line(const char *s, size_t n, size_t *outn);

/* Appends the message to b: Date, From, To, Subject (one line, as
 * mail_msg_subject_line gives), Message-ID, MIME headers, then body as
 * quoted-printable UTF-8 text.  b->failed tells of a failure (memory, or
 * b's limit). */
void mail_msg_build(buf_t *b, const mail_mailbox *from, const mail_mailbox *to, int nto,
                    const char *subject, size_t subjectn, const char *body, size_t bodyn);

#endif
