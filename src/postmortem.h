/* postmortem.h — an incident's post-mortem (the playbook's structure, the
 * post-mortem template) rendered from the store by the embedded
 * postmortem.lua, on the loop: `tocsin postmortem` prints it, the incident
 * clock writes it as the draft when a P0/P1 resolves. */
#ifndef TOCSIN_POSTMORTEM_H
#define TOCSIN_POSTMORTEM_H

#include "buf.h"
#include "config.h"
#include "store.h"

/* ok: text/len is the Markdown; else err says why. */
typedef void (*postmortem_cb)(int ok, const char *text, size_t len, const char *err, void *ud);

/* Starts rendering incident id: 0 (cb follows, from a loop callback), 1 when
 * there is no such incident, -1 (err says why; no cb). */
int postmortem_render(const tn_config *cfg, store *db, long long id, postmortem_cb cb, void *ud,
                      char *err, size_t errlen);

/* The draft's path: <state store's folder>/postmortems/INC-<id>.md. */
void postmortem_draft_path(const tn_config *cfg, long long id, buf_t *out);

/* Writes text to the draft's path (its folder made when missing): 0, or -1
 * with err. */
int postmortem_write_draft(const tn_config *cfg, long long id, const char *text, size_t len,
                           buf_t *path, char *err, size_t errlen);

#endif
