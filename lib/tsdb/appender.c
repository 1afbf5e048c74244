/* Appenders: batch samples, then commit = WAL first (series records for
 * series not yet logged, then samples), then apply to the head under the
 * isolation read lock. See head.h for the locks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

typedef struct pending {
    head_series *s;
    int64_t t;
    double v;
} pending;

struct tsdb_appender {
    tsdb_db *db;
    bool locked;              /* holds head.gc for reading */
    pending *p;
    size_t n, cap;
    int64_t mint, maxt;
    tsdb_buf *recs;           /* samples records */
    size_t nrecs, caprecs;
    tsdb_buf *srecs;          /* series records (built under the WAL lock) */
    size_t nsrecs, capsrecs;
    head_series **flipped;    /* series this commit marked as logged */
    size_t nflipped, capflipped;
};

tsdb_appender *tsdb_appender_new(tsdb_db *db)
{
    tsdb_appender *a = calloc(1, sizeof(*a));
    if (a)
        a->db = db;
    return a;
}

static void release(tsdb_appender *a)
{
    a->n = 0;
    a->mint = INT64_MAX;
    a->maxt = INT64_MIN;
    if (a->locked) {
        tsdb_gclock_rdunlock(&a->db->head.gc);
        a->locked = false;
    }
}

void tsdb_appender_free(tsdb_appender *a)
{
    if (!a)
        return;
    release(a);
    for (size_t i = 0; i < a->caprecs; i++)
        tsdb_buf_free(&a->recs[i]);
    for (size_t i = 0; i < a->capsrecs; i++)
        tsdb_buf_free(&a->srecs[i]);
    free(a->recs);
    free(a->srecs);
    free(a->flipped);
    free(a->p);
    free(a);
}

void tsdb_rollback(tsdb_appender *a)
{
    release(a);
}

static int begin(tsdb_appender *a)
{
    if (atomic_load(&a->db->closing))
        return TSDB_ERR_CLOSED;
    if (!a->locked) {
        tsdb_gclock_rdlock(&a->db->head.gc);
        a->locked = true;
        a->mint = INT64_MAX;
        a->maxt = INT64_MIN;
    }
    return 0;
}

static int add(tsdb_appender *a, head_series *s, int64_t t, double v)
{
    head *h = &a->db->head;
    head_stripe *st = head_stripe_of(h, s->hash);
    pthread_mutex_lock(&st->mu);
    int rc = tsdb_head_series_check(h, s, t, v);
    pthread_mutex_unlock(&st->mu);
    if (rc < 0)
        return rc;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        pending *p = realloc(a->p, nc * sizeof(*p));
        if (!p)
            return -ENOMEM;
        a->p = p;
        a->cap = nc;
    }
    a->p[a->n++] = (pending){s, t, v};
    if (t < a->mint)
        a->mint = t;
    if (t > a->maxt)
        a->maxt = t;
    return 0;
}

int tsdb_append(tsdb_appender *a, const labels_label *ls, size_t n, int64_t t, double v, tsdb_ref *ref)
{
    int rc = begin(a);
    if (rc < 0)
        return rc;
    head_series *s;
    bool created;
    /* check the time bound before creating a series that would stay empty */
    if (t < atomic_load_explicit(&a->db->head.min_valid, memory_order_relaxed))
        return TSDB_ERR_TOO_OLD;
    if ((rc = tsdb_head_get_or_create(&a->db->head, ls, n, 0, &s, &created)) < 0)
        return rc;
    if (ref)
        *ref = s->ref;
    return add(a, s, t, v);
}

int tsdb_append_ref(tsdb_appender *a, tsdb_ref ref, int64_t t, double v)
{
    int rc = begin(a);
    if (rc < 0)
        return rc;
    head_series *s = tsdb_head_by_ref(&a->db->head, ref);
    if (!s)
        return TSDB_ERR_NOT_FOUND;
    return add(a, s, t, v);
}

static tsdb_buf *next_buf(tsdb_buf **arr, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        tsdb_buf *v = realloc(*arr, nc * sizeof(*v));
        if (!v)
            return NULL;
        memset(v + *cap, 0, (nc - *cap) * sizeof(*v));
        *arr = v;
        *cap = nc;
    }
    tsdb_buf *b = &(*arr)[(*n)++];
    b->n = 0;
    b->err = 0;
    return b;
}

/* Under the WAL lock: takes back the logged marks of a failed write. */
static void undo_series(void *ctx)
{
    tsdb_appender *a = ctx;
    for (size_t i = 0; i < a->nflipped; i++)
        atomic_store_explicit(&a->flipped[i]->logged, 0, memory_order_relaxed);
    a->nflipped = 0;
}

/* Under the WAL lock: series records for series no commit has logged yet. */
static int pre_series(void *ctx, tsdb_buf **recs, size_t *nrecs)
{
    tsdb_appender *a = ctx;
    size_t limit = tsdb_wal_max_record(&a->db->wal) / 2;
    labels_label lbuf[64], *ls = lbuf;
    size_t lcap = 64;
    tsdb_buf *b = NULL;
    int rc = 0;
    a->nsrecs = 0;
    a->nflipped = 0;
    for (size_t i = 0; i < a->n; i++) {
        head_series *s = a->p[i].s;
        if (atomic_load_explicit(&s->logged, memory_order_relaxed))
            continue;
        if (s->nlabels > lcap) {
            labels_label *nl = malloc(s->nlabels * sizeof(*nl));
            if (!nl) {
                rc = -ENOMEM;
                break;
            }
            if (ls != lbuf)
                free(ls);
            ls = nl;
            lcap = s->nlabels;
        }
        if (!b || b->n > limit) {
            if (!(b = next_buf(&a->srecs, &a->nsrecs, &a->capsrecs))) {
                rc = -ENOMEM;
                break;
            }
        }
        if (a->nflipped == a->capflipped) {
            size_t nc = a->capflipped ? a->capflipped * 2 : 64;
            head_series **v = realloc(a->flipped, nc * sizeof(*v));
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            a->flipped = v;
            a->capflipped = nc;
        }
        tsdb_head_series_labels(s, ls);
        tsdb_wal_enc_series(b, s->ref, ls, s->nlabels);
        if (b->err) {
            rc = -ENOMEM;
            break;
        }
        atomic_store_explicit(&s->logged, 1, memory_order_relaxed);
        a->flipped[a->nflipped++] = s;
    }
    if (ls != lbuf)
        free(ls);
    if (rc < 0) { /* nothing written: let a later commit log them */
        undo_series(a);
        return rc;
    }
    *recs = a->srecs;
    *nrecs = a->nsrecs;
    return 0;
}

static int write_wal(tsdb_appender *a)
{
    size_t per = tsdb_wal_max_record(&a->db->wal) / 32;
    if (per > 20000)
        per = 20000;
    if (per < 1)
        per = 1;
    a->nrecs = 0;
    tsdb_buf *b = NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (i % per == 0 && !(b = next_buf(&a->recs, &a->nrecs, &a->caprecs)))
            return -ENOMEM;
        tsdb_wal_enc_sample(b, a->p[i].s->ref, a->p[i].t, a->p[i].v);
        if (b->err)
            return -ENOMEM;
    }
    return tsdb_wal_log(&a->db->wal, pre_series, undo_series, a, a->recs, a->nrecs);
}

int tsdb_commit(tsdb_appender *a, char *err, size_t errlen)
{
    if (a->n == 0) {
        release(a);
        return 0;
    }
    tsdb_db *db = a->db;
    head *h = &db->head;
    int rc = 0;
    if (db->has_wal && (rc = write_wal(a)) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "WAL write failed: %s",
                     rc == TSDB_ERR_IO ? "I/O error" : strerror(-rc));
        release(a);
        return rc == -ENOMEM ? rc : TSDB_ERR_IO;
    }
    pthread_rwlock_rdlock(&h->iso);
    uint64_t seq = atomic_fetch_add(&h->commit_seq, 1);
    bool snaps = h->snaps != NULL; /* queriers to keep the old state for */
    head_stripe *cur = NULL;
    uint64_t ok = 0;
    for (size_t i = 0; i < a->n; i++) {
        /* Batches touch many series in no useful order, each a few cache
         * misses (series, its stripe lock, the open chunk's tail): start
         * them early so they overlap. Two stages, since the stripe and the
         * chunk are found from the series. */
        if (i + 12 < a->n) {
            __builtin_prefetch(a->p[i + 12].s, 1);
            __builtin_prefetch((const char *)a->p[i + 12].s + 64, 1);
        }
        if (i + 6 < a->n) {
            const head_series *ps = a->p[i + 6].s;
            __builtin_prefetch(head_stripe_of(h, ps->hash), 1);
            if (ps->enc.buf)
                __builtin_prefetch(ps->enc.buf + (ps->enc.nbits >> 3), 1);
        }
        head_series *s = a->p[i].s;
        head_stripe *st = head_stripe_of(h, s->hash);
        if (st != cur) {
            if (cur)
                pthread_mutex_unlock(&cur->mu);
            pthread_mutex_lock(&st->mu);
            cur = st;
        }
        if (s->cseq != seq) {
            if (snaps)
                tsdb_head_cow(h, s, seq); /* on ENOMEM a querier may see this commit */
            s->cseq = seq;
        }
        /* rejections here (same series twice out of order in one batch)
         * are dropped, exactly as replay will drop them */
        if (tsdb_head_series_append(h, a->p[i].s, a->p[i].t, a->p[i].v) == 0)
            ok++;
    }
    if (cur)
        pthread_mutex_unlock(&cur->mu);
    pthread_rwlock_unlock(&h->iso);
    tsdb_head_note_range(h, a->mint, a->maxt);
    atomic_fetch_add_explicit(&h->samples, ok, memory_order_relaxed);
    release(a);
    return 0;
}
