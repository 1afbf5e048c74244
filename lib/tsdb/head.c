/* Head: the series map (striped by label hash), the lock-free id table,
 * series creation and truncation. Sample appends and query marks are in
 * head_series.c. Locking is described in head.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"

#define SERIES_OVERHEAD 160 /* index, map and allocator bytes per series beyond the struct (measured) */

int tsdb_head_init(head *h, int64_t chunk_range, int64_t ooo_window, size_t max_series, size_t max_bytes)
{
    memset(h, 0, sizeof(*h));
    h->stripes = aligned_alloc(64, HEAD_STRIPES * sizeof(head_stripe));
    if (!h->stripes)
        return -ENOMEM;
    memset(h->stripes, 0, HEAD_STRIPES * sizeof(head_stripe));
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlock_init(&h->idx_lock, &ra);
    /* queriers registering a snapshot must not starve behind overlapping
     * commits; nobody takes iso recursively */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&h->iso, &ra);
    pthread_rwlockattr_destroy(&ra);
    tsdb_gclock_init(&h->gc);
    for (size_t i = 0; i < HEAD_STRIPES; i++)
        pthread_mutex_init(&h->stripes[i].mu, NULL);
    pthread_mutex_init(&h->sorted_mu, NULL);
    atomic_store(&h->series_gen, 1);
    atomic_store(&h->commit_seq, 1);
    atomic_store(&h->next_id, 1);
    atomic_store(&h->mint, INT64_MAX);
    atomic_store(&h->maxt, INT64_MIN);
    atomic_store(&h->min_valid, INT64_MIN);
    h->chunk_range = chunk_range > 0 ? chunk_range : 7200000;
    h->ooo_window = ooo_window;
    h->max_series = max_series;
    h->max_bytes = max_bytes;
    return 0;
}

static void series_free(head_series *s)
{
    for (uint32_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i].data);
    free(s->chunks);
    tsdb_xor_enc_free(&s->enc);
    free(s->ooo);
    free(s);
}

void tsdb_head_destroy(head *h)
{
    if (!h->stripes)
        return;
    for (size_t i = 0; i < HEAD_ID_SEGS; i++) {
        head_series **seg = atomic_load(&h->segs[i]);
        if (!seg)
            continue;
        for (size_t j = 0; j < (1u << HEAD_ID_SEG_BITS); j++)
            if (seg[j])
                series_free(seg[j]);
        free(seg);
    }
    for (size_t i = 0; i < HEAD_STRIPES; i++) {
        free(h->stripes[i].buckets);
        pthread_mutex_destroy(&h->stripes[i].mu);
    }
    free(h->stripes);
    free(h->sorted);
    pthread_mutex_destroy(&h->sorted_mu);
    tsdb_postings_free(&h->post);
    tsdb_intern_free(&h->strs);
    tsdb_gclock_destroy(&h->gc);
    pthread_rwlock_destroy(&h->iso);
    pthread_rwlock_destroy(&h->idx_lock);
    h->stripes = NULL;
}

head_series *tsdb_head_by_ref(head *h, uint64_t ref)
{
    if (ref == 0 || ref >= ((uint64_t)HEAD_ID_SEGS << HEAD_ID_SEG_BITS))
        return NULL;
    head_series **seg = atomic_load_explicit(&h->segs[ref >> HEAD_ID_SEG_BITS], memory_order_acquire);
    if (!seg)
        return NULL;
    return __atomic_load_n(&seg[ref & ((1u << HEAD_ID_SEG_BITS) - 1)], __ATOMIC_ACQUIRE);
}

static int id_slot_set(head *h, uint64_t ref, head_series *s)
{
    _Atomic(head_series **) *sp = &h->segs[ref >> HEAD_ID_SEG_BITS];
    head_series **seg = atomic_load(sp);
    if (!seg) {
        head_series **nseg = calloc(1u << HEAD_ID_SEG_BITS, sizeof(*nseg));
        if (!nseg)
            return -ENOMEM;
        if (atomic_compare_exchange_strong(sp, &seg, nseg))
            seg = nseg;
        else
            free(nseg);
    }
    head_series **slot = &seg[ref & ((1u << HEAD_ID_SEG_BITS) - 1)];
    if (s && __atomic_load_n(slot, __ATOMIC_ACQUIRE))
        return -EEXIST;
    __atomic_store_n(slot, s, __ATOMIC_RELEASE);
    return 0;
}

static bool series_has_labels(const head_series *s, const labels_label *ls, size_t n)
{
    if (s->nlabels != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        const istr *a = s->lbl[2 * i], *b = s->lbl[2 * i + 1];
        if (a->len != ls[i].name_len || b->len != ls[i].value_len ||
            memcmp(a->s, ls[i].name, a->len) != 0 || memcmp(b->s, ls[i].value, b->len) != 0)
            return false;
    }
    return true;
}

static size_t bucket_of(uint64_t hash, uint32_t nb)
{
    return (size_t)((hash >> 12) & (nb - 1)); /* the low 12 bits chose the stripe */
}

static int stripe_insert(head_stripe *st, head_series *s)
{
    if (st->n + 1 > st->nbuckets) {
        uint32_t nb = st->nbuckets ? st->nbuckets * 2 : 16;
        head_series **b = calloc(nb, sizeof(*b));
        if (!b)
            return -ENOMEM;
        for (uint32_t i = 0; i < st->nbuckets; i++) {
            for (head_series *e = st->buckets[i], *nx; e; e = nx) {
                nx = e->hnext;
                size_t j = bucket_of(e->hash, nb);
                e->hnext = b[j];
                b[j] = e;
            }
        }
        free(st->buckets);
        st->buckets = b;
        st->nbuckets = nb;
    }
    size_t j = bucket_of(s->hash, st->nbuckets);
    s->hnext = st->buckets[j];
    st->buckets[j] = s;
    st->n++;
    return 0;
}

static void stripe_remove(head_stripe *st, head_series *s)
{
    head_series **pp = &st->buckets[bucket_of(s->hash, st->nbuckets)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = s->hnext;
        st->n--;
    }
}

static void bump_next_id(head *h, uint64_t ref)
{
    uint64_t cur = atomic_load(&h->next_id);
    while (cur <= ref && !atomic_compare_exchange_weak(&h->next_id, &cur, ref + 1))
        ;
}

/* Interns labels and indexes the series; caller holds idx_lock (write). */
static int index_series(head *h, head_series *s, const labels_label *ls, size_t n, size_t *strbytes)
{
    size_t i;
    for (i = 0; i < n; i++) {
        istr *a = tsdb_intern_get(&h->strs, ls[i].name, ls[i].name_len);
        istr *b = a ? tsdb_intern_get(&h->strs, ls[i].value, ls[i].value_len) : NULL;
        if (!b) {
            if (a)
                tsdb_intern_put(&h->strs, a);
            goto fail;
        }
        if (b->refs == 1)
            *strbytes += sizeof(istr) + b->len + 1;
        s->lbl[2 * i] = a;
        s->lbl[2 * i + 1] = b;
    }
    for (i = 0; i < n; i++)
        if (tsdb_postings_add(&h->post, s->lbl[2 * i], s->lbl[2 * i + 1], s->ref) < 0)
            goto fail_post;
    if (tsdb_postings_add_all(&h->post, s->ref) < 0)
        goto fail_post;
    return 0;
fail_post:
    for (size_t j = 0; j < i; j++)
        tsdb_postings_del_batch(&h->post, s->lbl[2 * j], s->lbl[2 * j + 1], &s->ref, 1);
    i = n;
fail:
    for (size_t j = 0; j < i; j++) {
        tsdb_intern_put(&h->strs, s->lbl[2 * j]);
        tsdb_intern_put(&h->strs, s->lbl[2 * j + 1]);
    }
    return -ENOMEM;
}

int tsdb_head_get_or_create(head *h, const labels_label *ls, size_t n, uint64_t want_ref,
                       head_series **out, bool *created)
{
    if (n > UINT16_MAX)
        return -EINVAL;
    uint64_t hash = labels_hash(ls, n);
    head_stripe *st = head_stripe_of(h, hash);
    *created = false;
    pthread_mutex_lock(&st->mu);
    if (st->nbuckets) {
        for (head_series *s = st->buckets[bucket_of(hash, st->nbuckets)]; s; s = s->hnext) {
            if (s->hash == hash && series_has_labels(s, ls, n)) {
                pthread_mutex_unlock(&st->mu);
                *out = s;
                return 0;
            }
        }
    }
    /* a new series: its labels must be a valid set (sorted, unique, named) */
    int rc = -EINVAL;
    if (n == 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (ls[i].name_len == 0 ||
            (i > 0 && labels_str_cmp(ls[i - 1].name, ls[i - 1].name_len, ls[i].name, ls[i].name_len) >= 0))
            goto out;
    rc = TSDB_ERR_LIMIT;
    if ((h->max_series && atomic_load(&h->nseries) >= h->max_series) ||
        (h->max_bytes && atomic_load(&h->bytes) >= (int64_t)h->max_bytes))
        goto out;
    uint64_t ref = want_ref ? want_ref : atomic_fetch_add(&h->next_id, 1);
    if (ref >= ((uint64_t)HEAD_ID_SEGS << HEAD_ID_SEG_BITS))
        goto out;
    if (want_ref)
        bump_next_id(h, ref);
    rc = -ENOMEM;
    head_series *s = calloc(1, sizeof(*s) + 2 * n * sizeof(istr *));
    if (!s)
        goto out;
    s->ref = ref;
    s->hash = hash;
    s->nlabels = (uint16_t)n;
    s->maxt = INT64_MIN;
    tsdb_xor_enc_init(&s->enc);
    size_t strbytes = 0;
    atomic_fetch_add(&h->series_gen, 1); /* before it can show up in postings (tsdb_head_select) */
    pthread_rwlock_wrlock(&h->idx_lock);
    rc = index_series(h, s, ls, n, &strbytes);
    pthread_rwlock_unlock(&h->idx_lock);
    if (rc < 0) {
        free(s);
        goto out;
    }
    if ((rc = stripe_insert(st, s)) < 0 || (rc = id_slot_set(h, ref, s)) < 0) {
        stripe_remove(st, s);
        pthread_rwlock_wrlock(&h->idx_lock);
        for (size_t i = 0; i < n; i++) {
            tsdb_postings_del_batch(&h->post, s->lbl[2 * i], s->lbl[2 * i + 1], &s->ref, 1);
            tsdb_intern_put(&h->strs, s->lbl[2 * i]);
            tsdb_intern_put(&h->strs, s->lbl[2 * i + 1]);
        }
        tsdb_postings_del_all_batch(&h->post, &s->ref, 1);
        pthread_rwlock_unlock(&h->idx_lock);
        free(s);
        goto out;
    }
    atomic_fetch_add(&h->nseries, 1);
    atomic_fetch_add(&h->bytes, (int64_t)(sizeof(*s) + 2 * n * sizeof(istr *) + strbytes +
                                          SERIES_OVERHEAD + 8 * n));
    *out = s;
    *created = true;
    rc = 0;
out:
    pthread_mutex_unlock(&st->mu);
    return rc;
}

void tsdb_head_series_labels(const head_series *s, labels_label *out)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        out[i].name = s->lbl[2 * i]->s;
        out[i].name_len = s->lbl[2 * i]->len;
        out[i].value = s->lbl[2 * i + 1]->s;
        out[i].value_len = s->lbl[2 * i + 1]->len;
    }
}

static int istr_cmp(const istr *a, const istr *b)
{
    if (a == b) /* interned: same string iff same pointer */
        return 0;
    return labels_str_cmp(a->s, a->len, b->s, b->len);
}

int tsdb_head_series_cmp(const head_series *a, const head_series *b)
{
    size_t n = a->nlabels < b->nlabels ? a->nlabels : b->nlabels;
    for (size_t i = 0; i < n; i++) {
        int c = istr_cmp(a->lbl[2 * i], b->lbl[2 * i]);
        if (c)
            return c;
        c = istr_cmp(a->lbl[2 * i + 1], b->lbl[2 * i + 1]);
        if (c)
            return c;
    }
    return (int)a->nlabels - (int)b->nlabels;
}

void tsdb_head_note_range(head *h, int64_t mint, int64_t maxt)
{
    int64_t cur = atomic_load(&h->mint);
    while (mint < cur && !atomic_compare_exchange_weak(&h->mint, &cur, mint))
        ;
    cur = atomic_load(&h->maxt);
    while (maxt > cur && !atomic_compare_exchange_weak(&h->maxt, &cur, maxt))
        ;
}

static int cmp_series_ptr(const void *x, const void *y)
{
    return tsdb_head_series_cmp(*(head_series *const *)x, *(head_series *const *)y);
}

int tsdb_head_all_series_sorted(head *h, head_series ***out, size_t *n)
{
    size_t cap = atomic_load(&h->nseries) + 16, k = 0;
    head_series **v = malloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    uint64_t top = atomic_load(&h->next_id);
    for (uint64_t seg = 0; seg <= (top >> HEAD_ID_SEG_BITS) && seg < HEAD_ID_SEGS; seg++) {
        head_series **sg = atomic_load(&h->segs[seg]);
        if (!sg)
            continue;
        for (size_t j = 0; j < (1u << HEAD_ID_SEG_BITS); j++) {
            head_series *s = __atomic_load_n(&sg[j], __ATOMIC_ACQUIRE);
            if (!s)
                continue;
            if (k == cap) {
                head_series **nv = realloc(v, cap * 2 * sizeof(*v));
                if (!nv) {
                    free(v);
                    return -ENOMEM;
                }
                v = nv;
                cap *= 2;
            }
            v[k++] = s;
        }
    }
    qsort(v, k, sizeof(*v), cmp_series_ptr);
    *out = v;
    *n = k;
    return 0;
}

/* ---- truncation ---------------------------------------------------------------- */

typedef struct lpair {
    istr *name, *val;
} lpair;

static int cmp_lpair(const void *x, const void *y)
{
    const lpair *a = x, *b = y;
    if (a->name != b->name)
        return (uintptr_t)a->name < (uintptr_t)b->name ? -1 : 1;
    if (a->val != b->val)
        return (uintptr_t)a->val < (uintptr_t)b->val ? -1 : 1;
    return 0;
}

/* Drops data of s older than mint; returns true when nothing is left.
 * Caller holds gc (write). */
static bool series_truncate(head *h, head_series *s, int64_t mint, int64_t *newmin)
{
    uint32_t k = 0;
    int64_t freed = 0;
    for (uint32_t i = 0; i < s->nchunks; i++) {
        if (s->chunks[i].maxt < mint) {
            freed += s->chunks[i].len + (int64_t)sizeof(head_chunk);
            free(s->chunks[i].data);
        } else {
            s->chunks[k++] = s->chunks[i];
        }
    }
    atomic_fetch_sub(&h->nchunks, s->nchunks - k);
    s->nchunks = k;
    if (k == 0) {
        free(s->chunks);
        s->chunks = NULL;
        s->capchunks = 0;
    }
    if (s->enc.count && s->enc.t < mint) {
        freed += s->enc.cap;
        tsdb_xor_enc_free(&s->enc);
        atomic_fetch_sub(&h->nchunks, 1);
    }
    if (s->ooo) {
        uint32_t j = 0;
        for (uint32_t i = 0; i < s->ooo->n; i++)
            if (s->ooo->s[i].t >= mint)
                s->ooo->s[j++] = s->ooo->s[i];
        s->ooo->n = j;
        if (j == 0) {
            freed += sizeof(ooo_buf) + s->ooo->cap * sizeof(ooo_sample);
            free(s->ooo);
            s->ooo = NULL;
        } else if (s->ooo->s[0].t < *newmin) {
            *newmin = s->ooo->s[0].t;
        }
    }
    atomic_fetch_sub(&h->bytes, freed);
    if (k && s->chunks[0].mint < *newmin)
        *newmin = s->chunks[0].mint;
    else if (!k && s->enc.count && s->open_mint < *newmin)
        *newmin = s->open_mint;
    return k == 0 && s->enc.count == 0 && !s->ooo;
}

void tsdb_head_truncate(head *h, int64_t mint)
{
    tsdb_gclock_wrlock(&h->gc);
    if (mint > atomic_load(&h->min_valid))
        atomic_store(&h->min_valid, mint);
    int64_t newmin = INT64_MAX;
    idvec dead = {0};
    head_series **dv = NULL;
    size_t ndv = 0, cdv = 0;
    uint64_t top = atomic_load(&h->next_id);
    for (uint64_t seg = 0; seg <= (top >> HEAD_ID_SEG_BITS) && seg < HEAD_ID_SEGS; seg++) {
        head_series **sg = atomic_load(&h->segs[seg]);
        if (!sg)
            continue;
        for (size_t j = 0; j < (1u << HEAD_ID_SEG_BITS); j++) {
            head_series *s = sg[j];
            if (!s || !series_truncate(h, s, mint, &newmin))
                continue;
            if (ndv == cdv) {
                size_t nc = cdv ? cdv * 2 : 256;
                head_series **n2 = realloc(dv, nc * sizeof(*n2));
                if (!n2)
                    continue; /* keep it; a later truncation deletes it */
                dv = n2;
                cdv = nc;
            }
            if (tsdb_idvec_push(&dead, s->ref) < 0)
                continue;
            dv[ndv++] = s;
        }
    }
    if (ndv) {
        /* ids were pushed in increasing order: dead.v is sorted */
        size_t np = 0;
        for (size_t i = 0; i < ndv; i++)
            np += dv[i]->nlabels;
        lpair *pairs = malloc((np ? np : 1) * sizeof(*pairs));
        pthread_rwlock_wrlock(&h->idx_lock);
        if (pairs) {
            np = 0;
            for (size_t i = 0; i < ndv; i++)
                for (size_t l = 0; l < dv[i]->nlabels; l++)
                    pairs[np++] = (lpair){dv[i]->lbl[2 * l], dv[i]->lbl[2 * l + 1]};
            qsort(pairs, np, sizeof(*pairs), cmp_lpair);
            for (size_t i = 0; i < np; i++)
                if (i == 0 || cmp_lpair(&pairs[i], &pairs[i - 1]) != 0)
                    tsdb_postings_del_batch(&h->post, pairs[i].name, pairs[i].val, dead.v, dead.n);
            free(pairs);
        } else {
            for (size_t i = 0; i < ndv; i++)
                for (size_t l = 0; l < dv[i]->nlabels; l++)
                    tsdb_postings_del_batch(&h->post, dv[i]->lbl[2 * l], dv[i]->lbl[2 * l + 1], dead.v, dead.n);
        }
        tsdb_postings_del_all_batch(&h->post, dead.v, dead.n);
        for (size_t i = 0; i < ndv; i++) {
            head_series *s = dv[i];
            size_t strbytes = 0;
            for (size_t l = 0; l < 2u * s->nlabels; l++) {
                if (s->lbl[l]->refs == 1 && (l & 1))
                    strbytes += sizeof(istr) + s->lbl[l]->len + 1;
                tsdb_intern_put(&h->strs, s->lbl[l]);
            }
            atomic_fetch_sub(&h->bytes, (int64_t)(sizeof(*s) + 2 * s->nlabels * sizeof(istr *) + strbytes +
                                                  SERIES_OVERHEAD + 8 * s->nlabels));
        }
        pthread_rwlock_unlock(&h->idx_lock);
        for (size_t i = 0; i < ndv; i++) {
            head_series *s = dv[i];
            head_stripe *st = head_stripe_of(h, s->hash);
            pthread_mutex_lock(&st->mu);
            stripe_remove(st, s);
            pthread_mutex_unlock(&st->mu);
            id_slot_set(h, s->ref, NULL);
            series_free(s);
        }
        atomic_fetch_sub(&h->nseries, ndv);
        atomic_fetch_add(&h->series_gen, 1);
        /* release id segments emptied by churn (not the one ids come from);
         * lock-free readers hold gc (read), which we exclude */
        uint64_t cur = atomic_load(&h->next_id) >> HEAD_ID_SEG_BITS;
        for (size_t i = 0; i < dead.n; i++) {
            uint64_t seg = dead.v[i] >> HEAD_ID_SEG_BITS;
            if (i > 0 && seg == dead.v[i - 1] >> HEAD_ID_SEG_BITS)
                continue;
            head_series **sg = atomic_load(&h->segs[seg]);
            if (seg >= cur || !sg)
                continue;
            size_t j = 0;
            while (j < (1u << HEAD_ID_SEG_BITS) && !sg[j])
                j++;
            if (j == (1u << HEAD_ID_SEG_BITS)) {
                atomic_store(&h->segs[seg], NULL);
                free(sg);
            }
        }
    }
    free(dv);
    tsdb_idvec_free(&dead);
    if (newmin == INT64_MAX) { /* empty head */
        atomic_store(&h->mint, INT64_MAX);
        atomic_store(&h->maxt, INT64_MIN);
    } else {
        atomic_store(&h->mint, newmin < mint ? mint : newmin);
    }
    tsdb_gclock_wrunlock(&h->gc);
}
