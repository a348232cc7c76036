/* postmortem.c — see postmortem.h.  The rendering is a run of the embedded
 * script in a state of its own, given the incident and its timeline as the
 * store's JSON lines; what it prints is the document. */
#include "postmortem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"
#include "run.h"

typedef struct pm_job {
    tn_state *st;
    tn_run *run;
    buf_t rows, out;
    char *error;
    int failed;
    postmortem_cb cb;
    void *ud;
    uv_timer_t later; /* the run is freed after its on_done returned */
} pm_job;

static void collect(void *ud, const char *json)
{
    buf_t *b = ud;
    buf_addstr(b, json);
    buf_addc(b, '\n');
}

static void push_records(lua_State *L, void *ud)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, ud);
    lua_setfield(L, -2, "records");
}

static void on_event(const tn_event *ev, void *ud)
{
    pm_job *j = ud;
    if (ev->type == TN_EV_PRINT) {
        buf_add(&j->out, ev->text, ev->len);
        buf_addc(&j->out, '\n');
    } else if (ev->type == TN_EV_RUN_END && !ev->ok) {
        j->failed = 1;
        free(j->error);
        j->error = strdup(ev->error ? ev->error : "the post-mortem script failed");
    }
}

static void job_closed(uv_handle_t *h)
{
    pm_job *j = h->data;
    buf_free(&j->rows);
    buf_free(&j->out);
    free(j->error);
    free(j);
}

static void job_finish(uv_timer_t *t)
{
    pm_job *j = t->data;
    int ok = !j->failed && !j->out.failed;
    j->cb(ok, buf_str(&j->out), j->out.n,
          ok         ? NULL
          : j->error ? j->error
                     : "out of memory rendering the post-mortem",
          j->ud);
    tn_run_free(j->run);
    tn_state_free(j->st);
    uv_close((uv_handle_t *)t, job_closed);
}

static void on_done(tn_run *r, void *ud)
{
    (void)r;
    pm_job *j = ud;
    uv_timer_start(&j->later, job_finish, 0, 0);
}

int postmortem_render(const tn_config *cfg, store *db, long long id, postmortem_cb cb, void *ud,
                      char *err, size_t errlen)
{
    pm_job *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->rows = (buf_t)BUF_INIT;
    j->out = (buf_t)BUF_INIT;
    j->cb = cb;
    j->ud = ud;
    int rc = db->be->incident(db, id, collect, &j->rows, err, errlen);
    if (rc == 0 && j->rows.failed) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    if (rc == 0)
        j->st = tn_state_new("embedded:postmortem", &cfg->settings, err, errlen);
    if (rc == 0 && !j->st)
        rc = -1;
    if (rc == 0) {
        tn_run_opts o = {
            .on_event = on_event, .event_ud = j, .on_done = on_done, .ud = j, .trigger = "clock"};
        run_launch_opts lo = {.push_params = push_records,
                              .params_ud = (void *)buf_str(&j->rows),
                              .trigger = "clock"};
        if (run_launch_script(j->st, &lo, &o, &j->run, err, errlen) < 0)
            rc = -1;
    }
    if (rc != 0) {
        tn_state_free(j->st);
        buf_free(&j->rows);
        free(j);
        return rc;
    }
    uv_timer_init(tn_loop(), &j->later);
    j->later.data = j;
    return 0;
}

void postmortem_draft_path(const tn_config *cfg, long long id, buf_t *out)
{
    const char *path = cfg->state && !strncmp(cfg->state, "sqlite:", 7) ? cfg->state + 7 : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (slash)
        buf_fmt(out, "%.*s/postmortems/INC-%lld.md", (int)(slash - path), path, id);
    else
        buf_fmt(out, "postmortems/INC-%lld.md", id);
}

int postmortem_write_draft(const tn_config *cfg, long long id, const char *text, size_t len,
                           buf_t *path, char *err, size_t errlen)
{
    postmortem_draft_path(cfg, id, path);
    if (path->failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *dir = strdup(buf_str(path));
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) {
        *slash = 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
    }
    free(dir);
    /* Written beside, then renamed: a reader never sees half a draft. */
    buf_t tmp = BUF_INIT;
    buf_fmt(&tmp, "%s.tmp", buf_str(path));
    FILE *f = tmp.failed ? NULL : fopen(buf_str(&tmp), "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", buf_str(path), strerror(errno));
        buf_free(&tmp);
        return -1;
    }
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fclose(f) != 0;
    if (bad || rename(buf_str(&tmp), buf_str(path)) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", buf_str(path), strerror(errno));
        remove(buf_str(&tmp));
        buf_free(&tmp);
        return -1;
    }
    buf_free(&tmp);
    return 0;
}
