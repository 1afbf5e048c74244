/* The head's gc lock: a readers-writer lock that prefers the writer (so
 * head truncation is not starved by a steady stream of overlapping append
 * batches and queriers) yet lets a thread that already holds it for reading
 * take it again (a thread with an open querier may append; with a plain
 * writer-preferring rwlock that would deadlock against a waiting writer).
 * Per-thread hold counts live in a small thread-local table. */
#include <errno.h>
#include <time.h>

#include "head.h"

#define GC_TLS_SLOTS 16

static __thread struct {
    const gclock *l;
    int n;
} tls_holds[GC_TLS_SLOTS];

static int *hold_count(const gclock *l, bool create)
{
    int *free_slot = NULL;
    for (int i = 0; i < GC_TLS_SLOTS; i++) {
        if (tls_holds[i].l == l && tls_holds[i].n > 0)
            return &tls_holds[i].n;
        if (!free_slot && tls_holds[i].n == 0)
            free_slot = &tls_holds[i].n, tls_holds[i].l = l;
    }
    return create ? free_slot : NULL;
}

void tsdb_gclock_init(gclock *l)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->readers = l->writer = l->waiting = 0;
}

void tsdb_gclock_destroy(gclock *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

void tsdb_gclock_rdlock(gclock *l)
{
    int *held = hold_count(l, true);
    pthread_mutex_lock(&l->mu);
    /* a nested hold does not queue behind a waiting writer (that writer
     * waits for this thread's first hold anyway); nobody enters while a
     * writer holds the lock (an appender committed from another thread
     * than it started in leaves a stale count behind) */
    bool nested = held && *held > 0;
    while (l->writer || (l->waiting && !nested))
        pthread_cond_wait(&l->cv, &l->mu);
    l->readers++;
    pthread_mutex_unlock(&l->mu);
    if (held)
        (*held)++;
}

void tsdb_gclock_rdunlock(gclock *l)
{
    int *held = hold_count(l, false);
    if (held)
        (*held)--;
    pthread_mutex_lock(&l->mu);
    if (--l->readers == 0 && l->waiting)
        pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* The writer blocks new readers while it waits, but only for a while at a
 * time: if a reader it blocks is one that a current reader waits for (in
 * another thread), stepping aside briefly lets that reader in instead of
 * deadlocking. */
void tsdb_gclock_wrlock(gclock *l)
{
    pthread_mutex_lock(&l->mu);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        l->waiting++;
        int rc = 0;
        while ((l->writer || l->readers) && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&l->cv, &l->mu, &until);
        l->waiting--;
        if (!l->writer && !l->readers)
            break;
        /* step aside for 5 ms */
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        struct timespec pause = {0, 5 * 1000000L};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&l->mu);
    }
    l->writer = 1;
    pthread_mutex_unlock(&l->mu);
}

void tsdb_gclock_wrunlock(gclock *l)
{
    pthread_mutex_lock(&l->mu);
    l->writer = 0;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}
