/* The head's series set: postings -> series sorted by labels -> one mark per
 * series (its state when the querier was created: the current state if no
 * commit changed it since, else the state a commit saved into the querier's
 * snapshot before changing it), chunks materialised lazily per next(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

typedef struct head_ss {
    struct tsdb_series_set base;
    head *h;
    int64_t mint, maxt;
    head_mark *marks;
    size_t n, i;
    labels_label *lbl;
    size_t lcap, nl;
    tsdb_chunk *chunks;
    size_t ccap, nch;
    uint8_t *scratch;
    size_t scap;
} head_ss;

static int hs_next(tsdb_series_set *ss)
{
    head_ss *s = (head_ss *)ss;
    while (s->i < s->n) {
        head_mark *m = &s->marks[s->i++];
        head_stripe *st = head_stripe_of(s->h, m->s->hash);
        pthread_mutex_lock(&st->mu);
        int n = tsdb_head_mark_chunks(m, s->mint, s->maxt, &s->chunks, &s->ccap, &s->scratch, &s->scap);
        pthread_mutex_unlock(&st->mu);
        if (n < 0)
            return n;
        if (n == 0)
            continue;
        s->nch = (size_t)n;
        if (m->s->nlabels > s->lcap) {
            labels_label *l = realloc(s->lbl, m->s->nlabels * sizeof(*l));
            if (!l)
                return -ENOMEM;
            s->lbl = l;
            s->lcap = m->s->nlabels;
        }
        tsdb_head_series_labels(m->s, s->lbl);
        s->nl = m->s->nlabels;
        return 1;
    }
    s->nch = s->nl = 0;
    return 0;
}

static const labels_label *hs_labels(tsdb_series_set *ss, size_t *n)
{
    head_ss *s = (head_ss *)ss;
    *n = s->nl;
    return s->lbl;
}

static const tsdb_chunk *hs_chunks(tsdb_series_set *ss, size_t *n)
{
    head_ss *s = (head_ss *)ss;
    *n = s->nch;
    return s->chunks;
}

static void hs_free(tsdb_series_set *ss)
{
    head_ss *s = (head_ss *)ss;
    for (size_t i = 0; i < s->n; i++)
        if (!s->marks[i].borrowed)
            free(s->marks[i].ooo_chunk);
    free(s->marks);
    free(s->lbl);
    free(s->chunks);
    free(s->scratch);
    free(s);
}

static const struct tsdb_series_set_ops hs_ops = {
    .next = hs_next, .labels = hs_labels, .chunks = hs_chunks, .free = hs_free,
};

static int cmp_series(const void *x, const void *y)
{
    return tsdb_head_series_cmp(*(head_series *const *)x, *(head_series *const *)y);
}

/* ---- snapshots ------------------------------------------------------------------ */

head_snapshot *tsdb_head_snapshot_new(head *h, int64_t mint, int64_t maxt)
{
    head_snapshot *sn = calloc(1, sizeof(*sn));
    if (!sn)
        return NULL;
    pthread_mutex_init(&sn->mu, NULL);
    sn->mint = mint;
    sn->maxt = maxt;
    pthread_rwlock_wrlock(&h->iso); /* no commit is half applied now */
    sn->seq = atomic_load(&h->commit_seq);
    sn->next = h->snaps;
    h->snaps = sn;
    pthread_rwlock_unlock(&h->iso);
    return sn;
}

void tsdb_head_snapshot_free(head *h, head_snapshot *sn)
{
    if (!sn)
        return;
    pthread_rwlock_wrlock(&h->iso);
    for (head_snapshot **pp = &h->snaps; *pp; pp = &(*pp)->next) {
        if (*pp == sn) {
            *pp = sn->next;
            break;
        }
    }
    pthread_rwlock_unlock(&h->iso);
    for (size_t i = 0; i < sn->cap; i++)
        if (sn->saved[i].s)
            free(sn->saved[i].ooo_chunk);
    free(sn->saved);
    pthread_mutex_destroy(&sn->mu);
    free(sn);
}

static size_t snap_slot(const head_snapshot *sn, uint64_t ref)
{
    return (size_t)((ref * 0x9E3779B97F4A7C15ULL) >> 17) & (sn->cap - 1);
}

/* Caller holds sn->mu. */
static head_mark *snap_find(head_snapshot *sn, uint64_t ref)
{
    if (!sn->n)
        return NULL;
    for (size_t j = snap_slot(sn, ref); sn->saved[j].s; j = (j + 1) & (sn->cap - 1))
        if (sn->saved[j].s->ref == ref)
            return &sn->saved[j];
    return NULL;
}

static int snap_grow(head_snapshot *sn)
{
    size_t ncap = sn->cap ? sn->cap * 2 : 64, ocap = sn->cap;
    head_mark *old = sn->saved, *nv = calloc(ncap, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    sn->saved = nv;
    sn->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].s)
            continue;
        size_t j = snap_slot(sn, old[i].s->ref);
        while (nv[j].s)
            j = (j + 1) & (ncap - 1);
        nv[j] = old[i];
    }
    free(old);
    return 0;
}

int tsdb_head_cow(head *h, head_series *s, uint64_t seq)
{
    int rc = 0;
    for (head_snapshot *sn = h->snaps; sn; sn = sn->next) {
        /* the snapshot sees s as it is now unless a commit after the
         * snapshot already changed it (then its state was saved then) */
        if (seq < sn->seq || s->cseq >= sn->seq)
            continue;
        pthread_mutex_lock(&sn->mu);
        if (!snap_find(sn, s->ref)) {
            if ((sn->n + 1) * 2 > sn->cap && snap_grow(sn) < 0) {
                rc = -ENOMEM;
            } else {
                size_t j = snap_slot(sn, s->ref);
                while (sn->saved[j].s)
                    j = (j + 1) & (sn->cap - 1);
                head_mark m;
                if (tsdb_head_mark_take(s, sn->mint, sn->maxt, &m) == 0) {
                    sn->saved[j] = m;
                    sn->n++;
                } else {
                    rc = -ENOMEM;
                }
            }
        }
        pthread_mutex_unlock(&sn->mu);
    }
    return rc;
}

/* The mark of s for the snapshot; false when the snapshot must not see s
 * at all (created or first filled after it). Caller holds s's stripe lock. */
static int snap_mark(head_snapshot *sn, const head_series *s, int64_t mint, int64_t maxt, head_mark *m,
                     bool *visible)
{
    memset(m, 0, sizeof(*m));
    *visible = true;
    if (!sn || s->cseq < sn->seq)
        return tsdb_head_mark_take(s, mint, maxt, m);
    pthread_mutex_lock(&sn->mu);
    head_mark *saved = snap_find(sn, s->ref);
    if (saved) {
        *m = *saved;
        m->borrowed = true;
    } else {
        *visible = false;
    }
    pthread_mutex_unlock(&sn->mu);
    return 0;
}

/* Does the mark hold anything in [mint, maxt]? Caller holds the stripe lock. */
static bool mark_has_range(const head_mark *m, int64_t mint, int64_t maxt)
{
    const head_series *s = m->s;
    for (uint32_t i = 0; i < m->nchunks && i < s->nchunks; i++)
        if (s->chunks[i].maxt >= mint && s->chunks[i].mint <= maxt)
            return true;
    if (m->open_count && m->open_mint <= maxt && m->open_maxt >= mint)
        return true;
    return m->ooo_chunk != NULL; /* only taken for samples within the range */
}

/* Broad selects: filter the cached sorted list of all series by the ids
 * instead of sorting the selection. Fills sv in label order and returns 1,
 * or 0 when the cache cannot be used (the caller sorts). */
static int from_sorted_cache(head *h, const idvec *ids, size_t nresolved, head_series **sv)
{
    uint64_t top = atomic_load(&h->next_id);
    uint64_t *bits = calloc(top / 64 + 1, sizeof(uint64_t));
    head_series **out = malloc(nresolved * sizeof(*out));
    if (!bits || !out) {
        free(bits);
        free(out);
        return 0;
    }
    for (size_t i = 0; i < ids->n; i++)
        if (ids->v[i] < top)
            bits[ids->v[i] / 64] |= 1ULL << (ids->v[i] % 64);
    pthread_mutex_lock(&h->sorted_mu);
    uint64_t gen = atomic_load(&h->series_gen);
    if (!h->sorted || h->sorted_gen != gen) {
        head_series **all;
        size_t n;
        free(h->sorted);
        h->sorted = NULL;
        if (tsdb_head_all_series_sorted(h, &all, &n) == 0) {
            h->sorted = malloc((n ? n : 1) * sizeof(head_sorted));
            for (size_t i = 0; h->sorted && i < n; i++)
                h->sorted[i] = (head_sorted){all[i]->ref, all[i]};
            h->nsorted = n;
            h->sorted_gen = gen;
            free(all);
        }
    }
    size_t k = 0;
    for (size_t i = 0; h->sorted && i < h->nsorted; i++) {
        uint64_t r = h->sorted[i].ref;
        if (r < top && (bits[r / 64] >> (r % 64) & 1)) {
            if (k == nresolved) { /* more than expected: stale cache */
                k = SIZE_MAX;
                break;
            }
            out[k++] = h->sorted[i].s;
        }
    }
    pthread_mutex_unlock(&h->sorted_mu);
    free(bits);
    /* a series indexed while the cache was built may be missing: then sort */
    bool ok = k == nresolved;
    if (ok)
        memcpy(sv, out, nresolved * sizeof(*sv));
    free(out);
    return ok;
}

int tsdb_head_select(head *h, head_snapshot *sn, int64_t mint, int64_t maxt, const labels_matcher *const *ms,
                size_t nm, tsdb_series_set **out)
{
    idvec ids;
    pthread_rwlock_rdlock(&h->idx_lock);
    int rc = tsdb_postings_for_matchers(&h->post, ms, nm, &ids);
    pthread_rwlock_unlock(&h->idx_lock);
    if (rc < 0)
        return rc;
    head_ss *s = calloc(1, sizeof(*s));
    head_series **sv = malloc((ids.n ? ids.n : 1) * sizeof(*sv));
    if (!s || !sv || (ids.n && !(s->marks = malloc(ids.n * sizeof(head_mark))))) {
        free(s);
        free(sv);
        tsdb_idvec_free(&ids);
        return -ENOMEM;
    }
    s->base.ops = &hs_ops;
    s->h = h;
    s->mint = mint;
    s->maxt = maxt;
    size_t nsv = 0;
    for (size_t i = 0; i < ids.n; i++) {
        head_series *hs = tsdb_head_by_ref(h, ids.v[i]);
        if (hs)
            sv[nsv++] = hs;
    }
    /* sort pointers, not the (larger) marks */
    if (nsv > 1 && !(nsv >= 4096 && nsv * 32 >= atomic_load(&h->nseries) && from_sorted_cache(h, &ids, nsv, sv)))
        qsort(sv, nsv, sizeof(*sv), cmp_series);
    tsdb_idvec_free(&ids);
    size_t k = 0;
    for (size_t i = 0; i < nsv && rc == 0; i++) {
        head_series *hs = sv[i];
        head_stripe *st = head_stripe_of(h, hs->hash);
        bool visible;
        pthread_mutex_lock(&st->mu);
        rc = snap_mark(sn, hs, mint, maxt, &s->marks[k], &visible);
        if (rc == 0 && visible && mark_has_range(&s->marks[k], mint, maxt))
            k++;
        else if (rc == 0 && !s->marks[k].borrowed)
            free(s->marks[k].ooo_chunk);
        pthread_mutex_unlock(&st->mu);
    }
    free(sv);
    s->n = k;
    if (rc < 0) {
        hs_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
