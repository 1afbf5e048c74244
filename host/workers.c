/* host/workers.c: the worker pool (bounded ring queue) and the timer thread. */
#include "workers.h"

#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct job {
    aion_work_fn fn;
    aion_work_fn drop;
    void *arg;
} job;

enum { TIMER_IDLE = 0, TIMER_BUSY = 1 };

struct aion_timer {
    int64_t interval_ms;
    int64_t due;            /* monotonic ms of the next run */
    aion_work_fn fn;
    void *arg;
    int state;              /* TIMER_IDLE or TIMER_BUSY (queued or running) */
    bool cancelled;
    bool self_cancel;       /* cancelled from its own callback: freed after it */
    struct aion_timer *next;
};

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t has_work;   /* workers wait here */
    pthread_cond_t drained;    /* stop waits here for an empty queue */
    job *ring;
    size_t cap, head, len;
    bool stopping;             /* submits refused */
    bool quit;                 /* workers exit once the queue is empty */
    unsigned busy;             /* workers running an item */
    aion_metric *m_rejected;   /* submits refused because the queue was full */
    pthread_t *threads;
    unsigned nthreads;

    /* timers: protected by mu too (few and cheap) */
    pthread_t timer_thread;
    bool timer_started;
    bool timers_quit;
    pthread_cond_t timer_wake;     /* timer thread waits here */
    pthread_cond_t timer_done;     /* cancel waits here */
    aion_timer *timers;
} pool;

static pool *g_pool;
static pthread_mutex_t g_pool_mu = PTHREAD_MUTEX_INITIALIZER; /* guards g_pool pointer swaps */
static __thread aion_timer *tl_current_timer;

int64_t host_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void abstime_in(struct timespec *ts, int64_t ms)
{
    /* condvars below use CLOCK_MONOTONIC */
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static int cond_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

static pool *get_pool(void)
{
    pthread_mutex_lock(&g_pool_mu);
    pool *p = g_pool;
    pthread_mutex_unlock(&g_pool_mu);
    return p;
}

static void *worker_main(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->len == 0 && !p->quit)
            pthread_cond_wait(&p->has_work, &p->mu);
        if (p->len == 0 && p->quit)
            break;
        job j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        if (p->len == 0)
            pthread_cond_broadcast(&p->drained);
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&p->mu);
        p->busy--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *timer_main(void *arg);

/* /metrics: read the pool at scrape time (through g_pool: the metric
 * outlives the pool) */
static void collect(aion_metric *m, void *arg)
{
    const char *which = arg;
    pthread_mutex_lock(&g_pool_mu);
    pool *p = g_pool;
    double v = 0;
    if (p) {
        pthread_mutex_lock(&p->mu);
        v = which[0] == 'q' ? (double)p->len : which[0] == 'b' ? (double)p->busy : (double)p->nthreads;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_unlock(&g_pool_mu);
    host_metric_set(m, NULL, v);
}

static void register_metrics(pool *p)
{
    static const struct { const char *name, *help, *which; } g[] = {
        { "aion_workers_queued", "Work items waiting for a worker thread.", "q" },
        { "aion_workers_busy", "Worker threads running a work item.", "b" },
        { "aion_workers_threads", "Worker threads.", "t" },
    };
    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
        aion_metric *m = host_metric_new(AION_METRIC_GAUGE, g[i].name, g[i].help, NULL, NULL, 0);
        if (m)
            host_metric_on_collect(m, collect, (void *)g[i].which);
    }
    p->m_rejected = host_metric_new(AION_METRIC_COUNTER, "aion_workers_rejected_total",
                                    "Work items refused because the queue was full.", NULL, NULL, 0);
}

int host_workers_start(unsigned nthreads, size_t queue_max)
{
    if (get_pool())
        return -EALREADY;
    if (nthreads == 0) {
        /* Two per core, at least 4: handlers block (WAL fsync, disk, S3),
         * and a worker blocked in fdatasync leaves its core idle. Measured
         * with remote write at fsync-per-commit on 2 cores: one per core
         * 3.0-3.4M samples/s, two per core 3.8M. */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (unsigned)n * 2 : 4;
        if (nthreads < 4)
            nthreads = 4;
    }
    if (queue_max == 0)
        queue_max = 4096;
    pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->ring = calloc(queue_max, sizeof(job));
    p->threads = calloc(nthreads, sizeof(pthread_t));
    if (!p->ring || !p->threads) {
        free(p->ring);
        free(p->threads);
        free(p);
        return -ENOMEM;
    }
    p->cap = queue_max;
    register_metrics(p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->has_work, NULL);
    cond_init_mono(&p->drained);
    cond_init_mono(&p->timer_wake);
    pthread_cond_init(&p->timer_done, NULL);
    int rc = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        rc = -pthread_create(&p->threads[i], NULL, worker_main, p);
        if (rc)
            break;
        p->nthreads++;
    }
    if (!rc) {
        rc = -pthread_create(&p->timer_thread, NULL, timer_main, p);
        p->timer_started = rc == 0;
    }
    pthread_mutex_lock(&g_pool_mu);
    g_pool = p;
    pthread_mutex_unlock(&g_pool_mu);
    if (rc) {
        host_workers_free();
        return rc;
    }
    return 0;
}

unsigned host_workers_threads(void)
{
    pool *p = get_pool();
    return p ? p->nthreads : 0;
}

static int submit_locked(pool *p, aion_work_fn fn, aion_work_fn drop, void *arg)
{
    if (p->stopping)
        return -ESHUTDOWN;
    if (p->len == p->cap) {
        if (p->m_rejected)
            host_metric_add(p->m_rejected, NULL, 1);
        return -EAGAIN;
    }
    p->ring[(p->head + p->len) % p->cap] = (job){ fn, drop, arg };
    p->len++;
    pthread_cond_signal(&p->has_work);
    return 0;
}

int host_work_submit_ex(aion_work_fn fn, aion_work_fn drop, void *arg)
{
    pool *p = get_pool();
    if (!p || !fn)
        return p ? -EINVAL : -ESHUTDOWN;
    pthread_mutex_lock(&p->mu);
    int rc = submit_locked(p, fn, drop, arg);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int host_work_submit(aion_work_fn fn, void *arg)
{
    return host_work_submit_ex(fn, NULL, arg);
}

/* ---- timers ---- */

static void timer_finish_locked(pool *p, aion_timer *t, int64_t started)
{
    t->state = TIMER_IDLE;
    if (t->self_cancel) {
        /* unlink and free: nobody else can reference it any more */
        for (aion_timer **pp = &p->timers; *pp; pp = &(*pp)->next) {
            if (*pp == t) {
                *pp = t->next;
                break;
            }
        }
        free(t);
    } else {
        int64_t now = host_mono_ms();
        (void)started;
        /* skip the ticks missed while running */
        while (t->due <= now)
            t->due += t->interval_ms;
        pthread_cond_signal(&p->timer_wake);
    }
    pthread_cond_broadcast(&p->timer_done);
}

static void timer_run(void *arg)
{
    aion_timer *t = arg;
    pool *p = get_pool();
    int64_t started = host_mono_ms();
    pthread_mutex_lock(&p->mu);
    bool skip = t->cancelled; /* cancelled while queued: do not run it */
    pthread_mutex_unlock(&p->mu);
    if (!skip) {
        tl_current_timer = t;
        t->fn(t->arg);
        tl_current_timer = NULL;
    }
    pthread_mutex_lock(&p->mu);
    timer_finish_locked(p, t, started);
    pthread_mutex_unlock(&p->mu);
}

static void timer_dropped(void *arg)
{
    aion_timer *t = arg;
    pool *p = get_pool();
    pthread_mutex_lock(&p->mu);
    timer_finish_locked(p, t, 0);
    pthread_mutex_unlock(&p->mu);
}

static void *timer_main(void *arg)
{
    pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->timers_quit) {
        int64_t now = host_mono_ms();
        int64_t next = now + 1000;
        for (aion_timer *t = p->timers; t; t = t->next) {
            if (t->cancelled || t->state != TIMER_IDLE)
                continue;
            if (t->due <= now) {
                int rc = submit_locked(p, timer_run, timer_dropped, t);
                if (rc == 0) {
                    t->state = TIMER_BUSY;
                    continue;
                }
                /* queue full: try again shortly */
                t->due = now + (t->interval_ms < 50 ? t->interval_ms : 50);
            }
            if (t->due < next)
                next = t->due;
        }
        struct timespec ts;
        abstime_in(&ts, next - now > 0 ? next - now : 1);
        pthread_cond_timedwait(&p->timer_wake, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

aion_timer *host_timer_add(int64_t interval_ms, aion_work_fn fn, void *arg)
{
    pool *p = get_pool();
    if (!p || !fn || interval_ms <= 0)
        return NULL;
    aion_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->interval_ms = interval_ms;
    t->fn = fn;
    t->arg = arg;
    t->due = host_mono_ms() + interval_ms;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(t);
        return NULL;
    }
    t->next = p->timers;
    p->timers = t;
    pthread_cond_signal(&p->timer_wake);
    pthread_mutex_unlock(&p->mu);
    return t;
}

void host_timer_cancel(aion_timer *t)
{
    pool *p = get_pool();
    if (!t || !p)
        return;
    pthread_mutex_lock(&p->mu);
    t->cancelled = true;
    if (tl_current_timer == t) {
        t->self_cancel = true; /* freed by timer_run when the callback returns */
        pthread_mutex_unlock(&p->mu);
        return;
    }
    while (t->state == TIMER_BUSY)
        pthread_cond_wait(&p->timer_done, &p->mu);
    for (aion_timer **pp = &p->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    free(t);
}

/* ---- stop / free ---- */

int host_workers_stop(int64_t deadline_ms)
{
    pool *p = get_pool();
    if (!p)
        return 0;
    pthread_mutex_lock(&p->mu);
    if (p->quit) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    p->stopping = true;
    p->timers_quit = true;
    pthread_cond_signal(&p->timer_wake);
    pthread_mutex_unlock(&p->mu);
    if (p->timer_started) {
        pthread_join(p->timer_thread, NULL);
        p->timer_started = false;
    }

    pthread_mutex_lock(&p->mu);
    struct timespec ts;
    abstime_in(&ts, deadline_ms > 0 ? deadline_ms : 0);
    while (p->len > 0 && p->nthreads > 0) {
        if (pthread_cond_timedwait(&p->drained, &p->mu, &ts) == ETIMEDOUT)
            break;
    }
    /* past the deadline: drop what is still queued, one at a time so drop
     * callbacks run without the lock (they may take it, e.g. timers) */
    int n = 0;
    while (p->len > 0) {
        job j = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->len--;
        pthread_mutex_unlock(&p->mu);
        if (j.drop)
            j.drop(j.arg);
        n++;
        pthread_mutex_lock(&p->mu);
    }
    p->quit = true;
    pthread_cond_broadcast(&p->has_work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    return n;
}

void host_workers_free(void)
{
    pool *p = get_pool();
    if (!p)
        return;
    host_workers_stop(0);
    if (p->timer_started)
        pthread_join(p->timer_thread, NULL);
    pthread_mutex_lock(&g_pool_mu);
    g_pool = NULL;
    pthread_mutex_unlock(&g_pool_mu);
    while (p->timers) {
        aion_timer *t = p->timers;
        p->timers = t->next;
        free(t);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->has_work);
    pthread_cond_destroy(&p->drained);
    pthread_cond_destroy(&p->timer_wake);
    pthread_cond_destroy(&p->timer_done);
    free(p->ring);
    free(p->threads);
    free(p);
}
