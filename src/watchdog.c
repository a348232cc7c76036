/* watchdog.c — the loop thread's deadline, watched from a helper thread that
 * signals the loop thread when it passes (see watchdog.h). */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* SIGURG, as Go's runtime does for the same purpose (preempting a thread
 * that runs without yielding): nothing here or in our libraries uses it, its
 * default action is to ignore it, and debuggers pass it through. */
#define WATCHDOG_SIGNAL SIGURG

#define TICK_NS 10000000ull /* how often a set deadline is looked at: 10 ms */
#define IDLE_TICKS 100      /* ticks without a deadline before sleeping: 1 s */

static _Atomic uint64_t deadline; /* 0: nothing to watch */
static atomic_int sleeping;       /* the helper waits on cond for a set */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int wake; /* under mu */
static pthread_t loop_thread, helper;
static void (*due_fn)(void);
static volatile sig_atomic_t *interrupt_flag;
static int start_rc = 1; /* 1: not started yet */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock uv_hrtime reads */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void on_signal(int signo)
{
    (void)signo;
    int saved = errno;
    if (due_fn)
        due_fn();
    errno = saved;
}

static void *helper_main(void *arg)
{
    (void)arg;
    int idle = 0;
    for (;;) {
        uint64_t d = atomic_load(&deadline);
        if (!d) {
            if (++idle < IDLE_TICKS) {
                nap(TICK_NS);
                continue;
            }
            /* Sleep until a set. The loop thread stores the deadline, then
             * reads sleeping; we store sleeping, then read the deadline: one
             * of us sees the other (both sequentially consistent). */
            pthread_mutex_lock(&mu);
            atomic_store(&sleeping, 1);
            while (!wake && !atomic_load(&deadline))
                pthread_cond_wait(&cond, &mu);
            wake = 0;
            atomic_store(&sleeping, 0);
            pthread_mutex_unlock(&mu);
            idle = 0;
            continue;
        }
        idle = 0;
        uint64_t now = now_ns();
        if (now >= d || *interrupt_flag) {
            pthread_kill(loop_thread, WATCHDOG_SIGNAL);
            nap(TICK_NS);
        } else {
            nap(d - now < TICK_NS ? d - now : TICK_NS);
        }
    }
    return NULL;
}

int watchdog_start(void (*on_due)(void), volatile sig_atomic_t *interrupt)
{
    if (start_rc != 1)
        return start_rc;
    due_fn = on_due;
    interrupt_flag = interrupt;
    loop_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* the loop thread's system calls go on */
    int rc = pthread_cond_init(&cond, NULL);
    if (rc) {
        start_rc = -rc;
        return start_rc;
    }
    if (sigaction(WATCHDOG_SIGNAL, &sa, NULL) < 0) {
        start_rc = -errno;
        return start_rc;
    }
    /* The helper blocks every signal, so SIGINT and the like still reach
     * the loop thread (or libuv's), never this one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* it needs little; ASan some more */
    rc = pthread_create(&helper, &attr, helper_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    start_rc = -rc;
    return start_rc;
}

void watchdog_set(uint64_t d)
{
    atomic_store(&deadline, d);
    if (atomic_load(&sleeping)) {
        pthread_mutex_lock(&mu);
        wake = 1;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&mu);
    }
}

void watchdog_clear(void)
{
    atomic_store_explicit(&deadline, 0, memory_order_release);
}
