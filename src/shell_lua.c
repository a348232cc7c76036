/* shell_lua.c — shell.run / shell.sh: child processes spawned with libuv, each the
 * leader of its own process group (so a timeout or a cancel reaches its
 * grandchildren too), with stdout/stderr captured in growing buffers. */
#include "shell_lua.h"

#include "buf.h"
#include "redact.h"
#include "task.h"
#include "util.h"

#include <assert.h>
#include <lauxlib.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

extern char **environ;

#define SHELL_DEFAULT_TIMEOUT 30.0
#define SHELL_DEFAULT_GRACE 2.0
/* After the child exits, how long a grandchild may keep stdout/stderr open
 * before we stop reading and report anyway (runbooks may start daemons). */
#define SHELL_DRAIN_MS 200
#define SHELL_READ_MIN 65536
#define SHELL_LABEL_MAX 200
/* Arguments shown of a command line (dry-run action); the rest is "...". */
#define SHELL_CMDLINE_MAX (1 << 20)
#define SHELL_ARGS_MAX (1 << 20) /* more than execve accepts (ARG_MAX) */

typedef struct shell_buf {
    char *data;
    size_t len, cap;
    size_t max;             /* bytes kept; the rest is read and dropped */
    unsigned truncated : 1; /* something was dropped */
} shell_buf;

/* Output past max_output is still read (so the child is not blocked on a full
 * pipe) but lands here. The buffers live outside the Lua state's memory cap,
 * so this bound is what keeps a chatty child from eating the machine. */
#define SHELL_DEFAULT_MAX_OUTPUT ((size_t)128 << 20)
static char shell_discard[SHELL_READ_MIN];

/* What the one timer is currently counting down to. */
enum shell_phase { SHELL_RUN, SHELL_GRACE, SHELL_DRAIN, SHELL_DONE };

typedef struct shell_proc {
    uv_process_t proc;
    uv_pipe_t out, err, in;
    uv_timer_t timer;
    uv_write_t wreq;
    tn_task *task;
    shell_buf obuf, ebuf;
    char *stdin_data;
    size_t stdin_len;
    char *label; /* the command, quoted, redacted and cut, for messages */
    char *prog;  /* argv[0], redacted: the target tn_run_call reports */
    uint64_t timeout_ms, grace_ms;
    uint64_t start_ns, end_ns;
    int pid;
    int open_handles; /* handles not yet through their close callback */
    int64_t exit_status;
    int term_signal;
    enum shell_phase phase;
    unsigned has_in : 1, out_open : 1, err_open : 1, in_open : 1;
    unsigned exited : 1, timed_out : 1, killed : 1, nomem : 1;
    unsigned canceled : 1, done : 1, pending_push : 1, listed : 1;
    struct shell_proc *prev, *next; /* live list, for shell_lua_shutdown */
} shell_proc;

static shell_proc *shell_live;

static void shell_live_add(shell_proc *p)
{
    p->prev = NULL;
    p->next = shell_live;
    if (shell_live)
        shell_live->prev = p;
    shell_live = p;
    p->listed = 1;
}

static void shell_live_remove(shell_proc *p)
{
    if (!p->listed)
        return;
    if (p->prev)
        p->prev->next = p->next;
    else
        shell_live = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->listed = 0;
}

/* Signals the child's whole process group (its pid is the group id: the
 * child ran setsid() through UV_PROCESS_DETACHED). */
static void shell_kill_group(shell_proc *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig);
    if (sig == SIGKILL)
        p->killed = 1;
}

/* The op is freed once every handle went through its close callback and the
 * scheduler no longer owes us a push call. */
static void shell_maybe_free(shell_proc *p)
{
    if (p->open_handles > 0 || p->pending_push)
        return;
    shell_live_remove(p);
    free(p->obuf.data);
    free(p->ebuf.data);
    free(p->stdin_data);
    free(p->label);
    free(p->prog);
    free(p);
}

static void shell_on_close(uv_handle_t *h)
{
    shell_proc *p = h->data;
    p->open_handles--;
    shell_maybe_free(p);
}

static void shell_close(shell_proc *p, uv_handle_t *h)
{
    (void)p;
    if (!uv_is_closing(h))
        uv_close(h, shell_on_close);
}

static void shell_close_out(shell_proc *p)
{
    if (!p->out_open)
        return;
    p->out_open = 0;
    uv_read_stop((uv_stream_t *)&p->out);
    shell_close(p, (uv_handle_t *)&p->out);
}

static void shell_close_err(shell_proc *p)
{
    if (!p->err_open)
        return;
    p->err_open = 0;
    uv_read_stop((uv_stream_t *)&p->err);
    shell_close(p, (uv_handle_t *)&p->err);
}

static void shell_close_in(shell_proc *p)
{
    if (!p->in_open)
        return;
    p->in_open = 0;
    shell_close(p, (uv_handle_t *)&p->in);
}

static int shell_push(lua_State *L, void *op);

/* Everything we wait for has happened: release the handles and queue the
 * task.  Runs inside libuv callbacks, so it only queues (tn_task_wake). */
static void shell_complete(shell_proc *p)
{
    /* Once: the child exited (or the drain gave up on the pipes), nothing was
     * cancelled, and the task has not been woken yet. */
    assert(!p->done && !p->canceled && !p->pending_push);
    assert(p->exited && !p->out_open && !p->err_open);
    p->done = 1;
    p->phase = SHELL_DONE;
    if (!p->end_ns)
        p->end_ns = uv_hrtime();
    /* A timed-out group whose leader died of SIGTERM may still hold members
     * that ignored it; the group id stays reserved while they live. */
    if (p->timed_out && !p->killed)
        shell_kill_group(p, SIGKILL);
    uv_timer_stop(&p->timer);
    shell_close(p, (uv_handle_t *)&p->timer);
    shell_close_out(p);
    shell_close_err(p);
    shell_close_in(p); /* a pending stdin write ends with UV_ECANCELED */
    shell_live_remove(p);
    p->pending_push = 1;
    tn_task_wake(p->task, shell_push, p);
}

static void shell_maybe_complete(shell_proc *p)
{
    if (p->done || p->canceled)
        return;
    if (p->exited && !p->out_open && !p->err_open)
        shell_complete(p);
}

static void shell_on_timer(uv_timer_t *tm)
{
    shell_proc *p = tm->data;
    if (p->done || p->canceled)
        return;
    switch (p->phase) {
    case SHELL_RUN:
        assert(!p->timed_out && !p->exited);
        p->timed_out = 1;
        shell_kill_group(p, SIGTERM);
        p->phase = SHELL_GRACE;
        uv_timer_start(&p->timer, shell_on_timer, p->grace_ms, 0);
        break;
    case SHELL_GRACE:
        assert(p->timed_out);
        shell_kill_group(p, SIGKILL);
        p->phase = SHELL_DRAIN;
        uv_timer_start(&p->timer, shell_on_timer, SHELL_DRAIN_MS, 0);
        break;
    case SHELL_DRAIN:
        /* Something outside the group (or a daemon the child started) still
         * holds the pipes: stop reading and report what we have. */
        shell_close_out(p);
        shell_close_err(p);
        shell_maybe_complete(p);
        break;
    case SHELL_DONE:
        break;
    }
}

static void shell_on_exit(uv_process_t *proc, int64_t status, int sig)
{
    shell_proc *p = proc->data;
    assert(!p->exited && p->phase != SHELL_DONE);
    p->exited = 1;
    p->exit_status = status;
    p->term_signal = sig;
    p->end_ns = uv_hrtime();
    /* Only now may the process handle be closed: closing it earlier would
     * leave the child unreaped. */
    shell_close(p, (uv_handle_t *)&p->proc);
    if (p->canceled || p->done) {
        shell_live_remove(p);
        return;
    }
    if (p->phase == SHELL_GRACE) {
        /* Keep counting to the SIGKILL: grandchildren may ignore SIGTERM. */
    } else if (p->out_open || p->err_open) {
        p->phase = SHELL_DRAIN;
        uv_timer_start(&p->timer, shell_on_timer, SHELL_DRAIN_MS, 0);
    } else {
        uv_timer_stop(&p->timer);
    }
    shell_maybe_complete(p);
}

static void shell_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *ub)
{
    shell_proc *p = h->data;
    shell_buf *b = (h == (uv_handle_t *)&p->out) ? &p->obuf : &p->ebuf;
    (void)suggested;
    if (b->len >= b->max) {
        *ub = uv_buf_init(shell_discard, sizeof shell_discard);
        return;
    }
    if (b->cap - b->len < SHELL_READ_MIN && b->cap < b->max) {
        size_t ncap = b->cap ? b->cap * 2 : SHELL_READ_MIN * 2;
        char *nd;
        while (ncap - b->len < SHELL_READ_MIN)
            ncap *= 2;
        if (ncap > b->max)
            ncap = b->max;
        nd = realloc(b->data, ncap);
        if (!nd) {
            *ub = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        b->data = nd;
        b->cap = ncap;
    }
    /* Offer all the free space: big outputs then take few read calls. */
    size_t room = (b->cap < b->max ? b->cap : b->max) - b->len;
    *ub = uv_buf_init(b->data + b->len, (unsigned)(room > UINT32_MAX ? UINT32_MAX : room));
}

static void shell_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *ub)
{
    shell_proc *p = s->data;
    int is_out = (s == (uv_stream_t *)&p->out);
    if (n > 0) {
        shell_buf *b = is_out ? &p->obuf : &p->ebuf;
        if (ub->base == shell_discard)
            b->truncated = 1;
        else
            b->len += (size_t)n;
        return;
    }
    if (n == 0)
        return; /* EAGAIN */
    if (n == UV_ENOBUFS) {
        p->nomem = 1;
        shell_kill_group(p, SIGKILL);
    }
    /* EOF, or an error that ends this stream either way. */
    if (is_out)
        shell_close_out(p);
    else
        shell_close_err(p);
    shell_maybe_complete(p);
}

static void shell_on_write(uv_write_t *req, int status)
{
    shell_proc *p = req->data;
    (void)status; /* EPIPE: the child did not read it all, which is its call */
    shell_close_in(p);
}

/* ---- results ---- */

static void shell_push_status(lua_State *L, shell_proc *p)
{
    if (!p->exited)
        return;
    if (p->term_signal) {
        const char *name = sigabbrev_np(p->term_signal);
        lua_pushinteger(L, 128 + p->term_signal);
        lua_setfield(L, -2, "code");
        lua_pushinteger(L, p->term_signal);
        lua_setfield(L, -2, "signal");
        if (name) {
            lua_pushstring(L, name);
            lua_setfield(L, -2, "signame");
        }
    } else {
        lua_pushinteger(L, (lua_Integer)p->exit_status);
        lua_setfield(L, -2, "code");
    }
}

static void shell_push_output(lua_State *L, shell_proc *p)
{
    lua_pushlstring(L, p->obuf.data ? p->obuf.data : "", p->obuf.len);
    lua_setfield(L, -2, "stdout");
    lua_pushlstring(L, p->ebuf.data ? p->ebuf.data : "", p->ebuf.len);
    lua_setfield(L, -2, "stderr");
    lua_pushnumber(L, (double)(p->end_ns - p->start_ns) / 1e9);
    lua_setfield(L, -2, "time");
    if (p->obuf.truncated || p->ebuf.truncated) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "truncated");
    }
}

static int shell_push(lua_State *L, void *op)
{
    shell_proc *p = op;
    int nret = 1;
    p->pending_push = 0;
    if (!L)
        goto out;
    /* Any exit status is a result ("ok"); only what returns nil, err is not. */
    tn_run_call(tn_task_run(p->task), "shell", p->prog, (double)(p->end_ns - p->start_ns) / 1e9,
                p->timed_out ? "timeout"
                : p->nomem   ? "limit"
                             : "ok");
    if (p->timed_out) {
        lua_pushnil(L);
        tn_err_push(L, "timeout", "command timed out after %gs: %s", (double)p->timeout_ms / 1000.0,
                    p->label);
        shell_push_status(L, p);
        shell_push_output(L, p);
        nret = 2;
    } else if (p->nomem) {
        lua_pushnil(L);
        tn_err_push(L, "limit", "out of memory capturing the output of %s", p->label);
        shell_push_status(L, p);
        nret = 2;
    } else {
        lua_createtable(L, 0, 9);
        shell_push_status(L, p);
        shell_push_output(L, p);
        lua_pushboolean(L, p->exit_status == 0 && p->term_signal == 0);
        lua_setfield(L, -2, "ok");
        lua_pushinteger(L, p->pid);
        lua_setfield(L, -2, "pid");
    }
out:
    shell_maybe_free(p);
    return nret;
}

/* Called once if the task is cancelled while the child runs: kill the group,
 * close what can be closed now; the exit callback closes the process handle
 * later and the last close callback frees.  No tn_task_wake from here on. */
static void shell_cancel(void *op)
{
    shell_proc *p = op;
    p->canceled = 1;
    p->done = 1;
    if (!p->exited || p->timed_out)
        shell_kill_group(p, SIGKILL);
    uv_timer_stop(&p->timer);
    shell_close(p, (uv_handle_t *)&p->timer);
    shell_close_out(p);
    shell_close_err(p);
    shell_close_in(p);
    if (p->exited)
        shell_live_remove(p);
}

/* ---- arguments ---- */

static int shell_is_plain(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr("_@%+=:,./-", c))))
            return 0;
    }
    return 1;
}

/* Appends s, shell-quoted where needed, after redacting it: quoting rewrites
 * a ' inside a secret as '\'', which the writers' filter would no longer see. */
static void shell_add_quoted(buf_t *b, const char *s)
{
    size_t n;
    char *r = redact_dup(s, strlen(s), &n);
    if (!r) {
        b->failed = 1; /* reported by the caller, as buf.h's own failures */
        return;
    }
    if (shell_is_plain(r, n)) {
        buf_add(b, r, n);
    } else {
        buf_addc(b, '\'');
        for (size_t k = 0; k < n; k++) {
            if (r[k] == '\'')
                buf_addstr(b, "'\\''");
            else
                buf_addc(b, r[k]);
        }
        buf_addc(b, '\'');
    }
    free(r);
}

/* Pushes argv joined with spaces, shell-quoted where needed ("cd DIR && "
 * first when a cwd is given), secrets redacted: the form dry runs print and
 * errors quote (and cut).  Raises on out of memory. */
static void shell_push_cmdline(lua_State *L, const char **argv, const char *cwd)
{
    buf_t b = BUF_INIT;
    if (cwd) {
        buf_addstr(&b, "cd ");
        shell_add_quoted(&b, cwd);
        buf_addstr(&b, " && ");
    }
    for (int i = 0; argv[i]; i++) {
        if (b.n > SHELL_CMDLINE_MAX) { /* a display, not what runs: enough is enough */
            buf_addstr(&b, " ...");
            break;
        }
        if (i)
            buf_addc(&b, ' ');
        shell_add_quoted(&b, argv[i]);
    }
    size_t n;
    char *line = buf_take(&b, &n);
    /* Once more whole: a secret may span arguments ("a b" given as a, b). */
    char *r = line ? redact_dup(line, n, &n) : NULL;
    free(line);
    if (!r)
        luaL_error(L, "shell: out of memory");
    lua_pushlstring(L, r, n);
    free(r);
}

typedef struct shell_opts {
    double timeout, grace;
    size_t max_output;
    const char *cwd;
    const char *stdin_data;
    size_t stdin_len;
    int has_stdin, readonly;
    char **env; /* NULL: all of ours (inherit_env, no env); else anchored in scratch */
} shell_opts;

/* Names a child gets from our environment unless the runbook says otherwise:
 * what programs need to run and to format output, nothing that usually holds
 * a credential (DATABASE_URL, *_TOKEN, cloud keys stay behind). */
static int shell_env_is_base(const char *name, size_t n)
{
    static const char *const base[] = {"PATH", "HOME",    "LANG",  "TZ",     "TERM",
                                       "USER", "LOGNAME", "SHELL", "TMPDIR", NULL};
    if (n > 3 && !memcmp(name, "LC_", 3))
        return 1;
    for (int i = 0; base[i]; i++)
        if (strlen(base[i]) == n && !memcmp(base[i], name, n))
            return 1;
    return 0;
}

/* Builds the child's environment: our base names (or all of ours with
 * inherit_env), minus names set to false, plus names set to true (our value)
 * and the values given.  envt: the env table's index, or 0 for none.  The
 * new strings and the array are anchored in the scratch table. */
static char **shell_build_env(lua_State *L, int envt, int inherit, int scratch)
{
    size_t nenv = 0, nover = 0, k = 0;
    char **envp;
    int strs;
    for (char **e = environ; *e; e++)
        nenv++;
    lua_newtable(L);
    strs = lua_gettop(L);
    if (envt) {
        lua_pushnil(L);
        while (lua_next(L, envt)) {
            size_t kl;
            const char *key;
            int ty = lua_type(L, -1);
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "shell: env keys must be strings");
            key = lua_tolstring(L, -2, &kl);
            if (kl == 0 || memchr(key, '=', kl) || strlen(key) != kl)
                luaL_error(L, "shell: bad env name '%s'", key);
            if (ty == LUA_TSTRING || ty == LUA_TNUMBER) {
                size_t vl;
                const char *v =
                    lua_tolstring(L, -1, &vl); /* converts the value slot, not the key */
                if (strlen(v) != vl)
                    luaL_error(L, "shell: env value of '%s' contains a NUL byte", key);
                lua_pushfstring(L, "%s=%s", key, v);
                lua_rawseti(L, strs, (lua_Integer)++nover);
            } else if (ty != LUA_TBOOLEAN) {
                luaL_error(L, "shell: env value of '%s' must be a string, a number, true or false",
                           key);
            }
            lua_pop(L, 1);
        }
    }
    envp = lua_newuserdatauv(L, (nenv + nover + 1) * sizeof(char *), 0);
    lua_rawseti(L, strs, 0);
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        int pass = inherit || shell_env_is_base(*e, (size_t)(eq - *e));
        if (envt) {
            lua_pushlstring(L, *e, (size_t)(eq - *e));
            switch (lua_rawget(L, envt)) {
            case LUA_TNIL:
                break;
            case LUA_TBOOLEAN: /* true: pass ours through; false: withhold it */
                pass = lua_toboolean(L, -1);
                break;
            default: /* a value given: added below */
                pass = 0;
            }
            lua_pop(L, 1);
        }
        if (pass)
            envp[k++] = *e;
    }
    for (size_t i = 1; i <= nover; i++) {
        lua_rawgeti(L, strs, (lua_Integer)i);
        envp[k++] = (char *)lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    envp[k] = NULL;
    lua_rawseti(L, scratch, (lua_Integer)luaL_len(L, scratch) + 1);
    return envp;
}

static void shell_read_opts(lua_State *L, int opts, int scratch, shell_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout = tn_opt_duration(L, opts, "timeout", SHELL_DEFAULT_TIMEOUT);
    o->grace = tn_opt_duration(L, opts, "grace", SHELL_DEFAULT_GRACE);
    o->max_output = SHELL_DEFAULT_MAX_OUTPUT;
    switch (lua_getfield(L, opts, "max_output")) {
    case LUA_TNIL:
        break;
    case LUA_TNUMBER:
        if (lua_tonumber(L, -1) >= 1)
            o->max_output = (size_t)lua_tonumber(L, -1);
        else
            luaL_error(L, "shell: option 'max_output' must be a positive number of bytes");
        break;
    case LUA_TSTRING:
        if (!(o->max_output = (size_t)tn_parse_size(lua_tostring(L, -1))))
            luaL_error(L, "shell: option 'max_output' must be a size such as \"16MiB\"");
        break;
    default:
        luaL_error(L, "shell: option 'max_output' must be a size");
    }
    lua_pop(L, 1);
    switch (lua_getfield(L, opts, "cwd")) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        /* Anchored: an __index metamethod may have made it for us alone. */
        o->cwd = lua_tostring(L, -1);
        lua_rawseti(L, scratch, (lua_Integer)luaL_len(L, scratch) + 1);
        lua_pushnil(L);
        break;
    default:
        luaL_error(L, "shell: option 'cwd' must be a string");
    }
    lua_pop(L, 1);
    switch (lua_getfield(L, opts, "stdin")) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
    case LUA_TNUMBER:
        o->stdin_data = lua_tolstring(L, -1, &o->stdin_len);
        o->has_stdin = 1;
        lua_rawseti(L, scratch, (lua_Integer)luaL_len(L, scratch) + 1);
        lua_pushnil(L);
        break;
    default:
        luaL_error(L, "shell: option 'stdin' must be a string");
    }
    lua_pop(L, 1);
    lua_getfield(L, opts, "readonly");
    o->readonly = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, opts, "inherit_env");
    int inherit = lua_toboolean(L, -1);
    lua_pop(L, 1);
    switch (lua_getfield(L, opts, "env")) {
    case LUA_TNIL:
        lua_pop(L, 1);
        /* Everything inherited and nothing changed: libuv passes ours. */
        o->env = inherit ? NULL : shell_build_env(L, 0, 0, scratch);
        break;
    case LUA_TTABLE:
        o->env = shell_build_env(L, lua_gettop(L), inherit, scratch);
        lua_pop(L, 1);
        break;
    default:
        luaL_error(L, "shell: option 'env' must be a table");
    }
}

static uint64_t shell_ms(double s)
{
    double ms = ceil(s * 1000.0);
    return ms > 1e15 ? (uint64_t)1e15 : (uint64_t)ms;
}

/* ---- spawning ---- */

static void shell_ignore_sigpipe(void)
{
    /* Writing stdin to a child that exited must give EPIPE, not kill us.
     * Children get default dispositions back (libuv resets them). */
    static int done;
    struct sigaction sa;
    if (done)
        return;
    done = 1;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

/* Runs argv (NULL-terminated) with the options of the table at `opts`. */
static int shell_start(lua_State *L, const char **argv, int opts, int scratch)
{
    tn_task *t = tn_task_current(L);
    shell_opts o;
    shell_proc *p;
    uv_process_options_t po;
    uv_stdio_container_t stdio[3];
    uv_loop_t *loop = tn_loop();
    const char *label;
    size_t label_len;
    int r;

    shell_read_opts(L, opts, scratch, &o);
    shell_push_cmdline(L, argv, o.cwd);
    label = lua_tolstring(L, -1, &label_len);

    if (tn_run_is_dry(tn_task_run(t)) && !o.readonly) {
        tn_run_action(tn_task_run(t), "shell", label);
        lua_createtable(L, 0, 7);
        lua_pushinteger(L, 0);
        lua_setfield(L, -2, "code");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ok");
        lua_pushliteral(L, "");
        lua_setfield(L, -2, "stdout");
        lua_pushliteral(L, "");
        lua_setfield(L, -2, "stderr");
        lua_pushnumber(L, 0);
        lua_setfield(L, -2, "time");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "dry_run");
        return 1;
    }

    p = calloc(1, sizeof *p);
    if (!p)
        return tn_err_fail(L, "spawn", "out of memory starting %s", label);
    if (label_len > SHELL_LABEL_MAX)
        label_len = SHELL_LABEL_MAX;
    p->label = malloc(label_len + 4);
    p->prog = redact_dup(argv[0], strlen(argv[0]), NULL);
    if (o.has_stdin && o.stdin_len)
        p->stdin_data = malloc(o.stdin_len);
    if (!p->label || !p->prog || (o.has_stdin && o.stdin_len && !p->stdin_data)) {
        free(p->label);
        free(p->prog);
        free(p->stdin_data);
        free(p);
        return tn_err_fail(L, "spawn", "out of memory starting %s", label);
    }
    /* Cut after redaction (shell_push_cmdline): a cut cannot split a secret. */
    memcpy(p->label, label, label_len);
    if (lua_rawlen(L, -1) > label_len)
        memcpy(p->label + label_len, "...", 3), label_len += 3;
    p->label[label_len] = 0;
    if (p->stdin_data)
        memcpy(p->stdin_data, o.stdin_data, o.stdin_len);
    p->stdin_len = o.stdin_len;
    p->task = t;
    p->timeout_ms = shell_ms(o.timeout);
    p->grace_ms = shell_ms(o.grace);
    p->obuf.max = p->ebuf.max = o.max_output;
    p->has_in = (unsigned)o.has_stdin;
    p->proc.data = p->out.data = p->err.data = p->in.data = p->timer.data = p->wreq.data = p;

    uv_timer_init(loop, &p->timer);
    uv_pipe_init(loop, &p->out, 0);
    uv_pipe_init(loop, &p->err, 0);
    p->open_handles = 3;
    p->out_open = p->err_open = 1;
    if (p->has_in) {
        uv_pipe_init(loop, &p->in, 0);
        p->open_handles++;
        p->in_open = 1;
        shell_ignore_sigpipe();
    }

    memset(&po, 0, sizeof po);
    po.exit_cb = shell_on_exit;
    po.file = argv[0];
    po.args = (char **)argv;
    po.env = o.env;
    po.cwd = o.cwd;
    po.flags = UV_PROCESS_DETACHED; /* setsid(): the child leads its own group */
    if (p->has_in) {
        stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
        stdio[0].data.stream = (uv_stream_t *)&p->in;
    } else {
        stdio[0].flags = UV_IGNORE; /* libuv gives the child /dev/null */
    }
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&p->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&p->err;
    po.stdio = stdio;
    po.stdio_count = 3;

    p->start_ns = uv_hrtime();
    r = uv_spawn(loop, &p->proc, &po);
    p->open_handles++; /* uv_spawn initialised the process handle either way */
    if (r < 0) {
        /* Nothing ran: close every handle (the last close frees p). */
        p->done = 1;
        tn_run_call(tn_task_run(t), "shell", p->prog, (double)(uv_hrtime() - p->start_ns) / 1e9,
                    "spawn");
        shell_close(p, (uv_handle_t *)&p->proc);
        shell_close(p, (uv_handle_t *)&p->timer);
        shell_close_out(p);
        shell_close_err(p);
        shell_close_in(p);
        if (o.cwd) {
            char *cwd = redact_dup(o.cwd, strlen(o.cwd), NULL);
            lua_pushstring(L, cwd ? cwd : "***"); /* anchored: freed before tn_err_fail */
            free(cwd);
            return tn_err_fail(L, "spawn", "cannot run '%s' in '%s': %s", p->prog,
                               lua_tostring(L, -1), uv_strerror(r));
        }
        return tn_err_fail(L, "spawn", "cannot run '%s': %s", p->prog, uv_strerror(r));
    }
    p->pid = p->proc.pid;
    shell_live_add(p);

    uv_read_start((uv_stream_t *)&p->out, shell_alloc, shell_on_read);
    uv_read_start((uv_stream_t *)&p->err, shell_alloc, shell_on_read);
    if (p->has_in) {
        uv_buf_t b = uv_buf_init(p->stdin_data, (unsigned)p->stdin_len);
        if (p->stdin_len == 0 || p->stdin_len > UINT32_MAX ||
            uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, shell_on_write) < 0)
            shell_close_in(p);
    }
    p->phase = SHELL_RUN;
    if (p->timeout_ms > 0) {
        uv_update_time(loop); /* Lua may have run long since the loop last looked */
        uv_timer_start(&p->timer, shell_on_timer, p->timeout_ms, 0);
    }
    return tn_task_suspend(L, t, shell_cancel, p);
}

/* shell.run{"prog", "arg", ..., opts} */
static int shell_run(lua_State *L)
{
    lua_Integer n;
    const char **argv;
    int scratch;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    n = (lua_Integer)luaL_len(L, 1);
    luaL_argcheck(L, n >= 1, 1, "expected {\"program\", args...}");
    /* A __len may claim any length: bound it before sizing argv. */
    luaL_argcheck(L, n <= SHELL_ARGS_MAX, 1, "too many arguments");
    lua_newtable(L);
    scratch = lua_gettop(L);
    argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof(char *), 0);
    lua_rawseti(L, scratch, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        size_t len;
        int ty = lua_geti(L, 1, i);
        if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
            return luaL_error(L, "shell.run: argument %d must be a string (got %s)", (int)i,
                              luaL_typename(L, -1));
        argv[i - 1] = lua_tolstring(L, -1, &len);
        if (strlen(argv[i - 1]) != len)
            return luaL_error(L, "shell.run: argument %d contains a NUL byte", (int)i);
        lua_rawseti(L, scratch,
                    (lua_Integer)luaL_len(L, scratch) + 1); /* anchors converted numbers */
    }
    argv[n] = NULL;
    luaL_argcheck(L, argv[0][0] != '\0', 1, "empty program name");
    return shell_start(L, argv, 1, scratch);
}

/* shell.sh(text [, opts]) */
static int shell_sh(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *argv[4];
    int scratch;
    luaL_argcheck(L, strlen(text) == len, 1, "contains a NUL byte");
    if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_settop(L, 2);
    }
    lua_newtable(L);
    scratch = lua_gettop(L);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = text;
    argv[3] = NULL;
    return shell_start(L, argv, 2, scratch);
}

int shell_lua_open(lua_State *L)
{
    static const luaL_Reg fns[] = {{"run", shell_run}, {"sh", shell_sh}, {NULL, NULL}};
    luaL_newlib(L, fns);
    return 1;
}

void shell_lua_shutdown(void)
{
    for (shell_proc *p = shell_live; p; p = p->next)
        if (!p->exited || p->timed_out)
            shell_kill_group(p, SIGKILL);
}
