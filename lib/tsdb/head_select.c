/* The head's series set: postings -> series sorted by labels -> one mark per
 * series taken under the isolation write lock (so a select sees whole
 * commits), chunks materialised lazily per next(). */
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
        int n = head_mark_chunks(m, s->mint, s->maxt, &s->chunks, &s->ccap, &s->scratch, &s->scap);
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
        head_series_labels(m->s, s->lbl);
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
    return head_series_cmp(*(head_series *const *)x, *(head_series *const *)y);
}

/* Does the series hold anything in [mint, maxt]? Caller holds its stripe. */
static bool has_range(const head_series *s, int64_t mint, int64_t maxt)
{
    if (s->nchunks && s->chunks[0].mint <= maxt && (s->enc.count ? s->enc.t : s->chunks[s->nchunks - 1].maxt) >= mint)
        return true;
    if (s->enc.count && s->open_mint <= maxt && s->enc.t >= mint)
        return true;
    return s->ooo && s->ooo->n && s->ooo->s[0].t <= maxt && s->ooo->s[s->ooo->n - 1].t >= mint;
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
        if (head_all_series_sorted(h, &all, &n) == 0) {
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

int head_select(head *h, int64_t mint, int64_t maxt, const labels_matcher *const *ms, size_t nm,
                tsdb_series_set **out)
{
    idvec ids;
    pthread_rwlock_rdlock(&h->idx_lock);
    int rc = postings_for_matchers(&h->post, ms, nm, &ids);
    pthread_rwlock_unlock(&h->idx_lock);
    if (rc < 0)
        return rc;
    head_ss *s = calloc(1, sizeof(*s));
    head_series **sv = malloc((ids.n ? ids.n : 1) * sizeof(*sv));
    if (!s || !sv || (ids.n && !(s->marks = malloc(ids.n * sizeof(head_mark))))) {
        free(s);
        free(sv);
        idvec_free(&ids);
        return -ENOMEM;
    }
    s->base.ops = &hs_ops;
    s->h = h;
    s->mint = mint;
    s->maxt = maxt;
    size_t nsv = 0;
    for (size_t i = 0; i < ids.n; i++) {
        head_series *hs = head_by_ref(h, ids.v[i]);
        if (hs)
            sv[nsv++] = hs;
    }
    /* sort pointers, not the (larger) marks */
    if (nsv > 1 && !(nsv >= 4096 && nsv * 32 >= atomic_load(&h->nseries) && from_sorted_cache(h, &ids, nsv, sv)))
        qsort(sv, nsv, sizeof(*sv), cmp_series);
    idvec_free(&ids);
    size_t k = 0;
    pthread_rwlock_wrlock(&h->iso);
    for (size_t i = 0; i < nsv && rc == 0; i++) {
        head_series *hs = sv[i];
        head_stripe *st = head_stripe_of(h, hs->hash);
        pthread_mutex_lock(&st->mu);
        if (has_range(hs, mint, maxt))
            rc = head_mark_take(hs, mint, maxt, &s->marks[k++]);
        pthread_mutex_unlock(&st->mu);
    }
    pthread_rwlock_unlock(&h->iso);
    free(sv);
    s->n = k;
    if (rc < 0) {
        hs_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
