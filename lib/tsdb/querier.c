/* Queriers over the head and blocks: per-source series sets merged by
 * labels (k-way), label names/values merged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#include "block_read.h"

struct tsdb_querier {
    tsdb_db *db;              /* NULL for tsdb_querier_new_blocks */
    int64_t mint, maxt;
    db_block **dbb;           /* refs held (db queriers) */
    size_t ndbb;
    tsdb_block **blocks;      /* the blocks queried, in time order */
    size_t nblocks;
    bool head;                /* holds head.gc (read) */
    head_snapshot *snap;      /* the head as of creation */
};

/* ---- merging series set ----------------------------------------------------- */

typedef struct merge_ss {
    struct tsdb_series_set base;
    tsdb_series_set **subs;   /* owned */
    size_t n;
    signed char *has;         /* sub positioned on a series */
    bool *adv;                /* sub to advance on the next call */
    bool started;
    const labels_label *lbl;
    size_t nl;
    tsdb_chunk *chunks;
    size_t nch, ccap;
} merge_ss;

static int mg_next(tsdb_series_set *ss)
{
    merge_ss *m = (merge_ss *)ss;
    for (size_t i = 0; i < m->n; i++) {
        if (!m->started || m->adv[i]) {
            int rc = tsdb_series_set_next(m->subs[i]);
            if (rc < 0)
                return rc;
            m->has[i] = (signed char)rc;
            m->adv[i] = false;
        }
    }
    m->started = true;
    const labels_label *best = NULL;
    size_t bn = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (!m->has[i])
            continue;
        size_t n;
        const labels_label *l = tsdb_series_set_labels(m->subs[i], &n);
        if (!best || labels_cmp(l, n, best, bn) < 0) {
            best = l;
            bn = n;
        }
    }
    m->nch = 0;
    if (!best) {
        m->lbl = NULL;
        m->nl = 0;
        return 0;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (!m->has[i])
            continue;
        size_t n, nc;
        const labels_label *l = tsdb_series_set_labels(m->subs[i], &n);
        if (!labels_equal(l, n, best, bn))
            continue;
        m->adv[i] = true;
        const tsdb_chunk *c = tsdb_series_set_chunks(m->subs[i], &nc);
        if (m->nch + nc > m->ccap) {
            size_t cap = (m->nch + nc) * 2;
            tsdb_chunk *v = realloc(m->chunks, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            m->chunks = v;
            m->ccap = cap;
        }
        /* sources come in time order (blocks, then head): a stable insertion
         * by mint keeps later sources after earlier ones at equal mint */
        for (size_t k = 0; k < nc; k++) {
            size_t j = m->nch++;
            while (j > 0 && m->chunks[j - 1].mint > c[k].mint) {
                m->chunks[j] = m->chunks[j - 1];
                j--;
            }
            m->chunks[j] = c[k];
        }
    }
    m->lbl = best;
    m->nl = bn;
    return 1;
}

static const labels_label *mg_labels(tsdb_series_set *ss, size_t *n)
{
    merge_ss *m = (merge_ss *)ss;
    *n = m->nl;
    return m->lbl;
}

static const tsdb_chunk *mg_chunks(tsdb_series_set *ss, size_t *n)
{
    merge_ss *m = (merge_ss *)ss;
    *n = m->nch;
    return m->chunks;
}

static void mg_free(tsdb_series_set *ss)
{
    merge_ss *m = (merge_ss *)ss;
    for (size_t i = 0; i < m->n; i++)
        tsdb_series_set_free(m->subs[i]);
    free(m->subs);
    free(m->has);
    free(m->adv);
    free(m->chunks);
    free(m);
}

static const struct tsdb_series_set_ops mg_ops = {
    .next = mg_next, .labels = mg_labels, .chunks = mg_chunks, .free = mg_free,
};

/* ---- querier ---------------------------------------------------------------- */

static bool block_overlaps(const tsdb_block *b, int64_t mint, int64_t maxt)
{
    const tsdb_block_meta *m = tsdb_block_get_meta(b);
    return m->mint <= maxt && m->maxt > mint;
}

int tsdb_querier_new(tsdb_db *db, int64_t mint, int64_t maxt, tsdb_querier **out)
{
    if (atomic_load(&db->closing))
        return TSDB_ERR_CLOSED;
    tsdb_querier *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->db = db;
    q->mint = mint;
    q->maxt = maxt;
    int rc = tsdb_db_blocks_ref(db, &q->dbb, &q->ndbb);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->blocks = malloc((q->ndbb ? q->ndbb : 1) * sizeof(*q->blocks));
    if (!q->blocks) {
        tsdb_querier_free(q);
        return -ENOMEM;
    }
    for (size_t i = 0; i < q->ndbb; i++)
        if (block_overlaps(q->dbb[i]->b, mint, maxt))
            q->blocks[q->nblocks++] = q->dbb[i]->b;
    tsdb_gclock_rdlock(&db->head.gc);
    q->head = true;
    if (!(q->snap = tsdb_head_snapshot_new(&db->head, mint, maxt))) {
        tsdb_querier_free(q);
        return -ENOMEM;
    }
    *out = q;
    return 0;
}

int tsdb_querier_new_blocks(tsdb_block *const *blocks, size_t n, int64_t mint, int64_t maxt,
                            tsdb_querier **out)
{
    tsdb_querier *q = calloc(1, sizeof(*q));
    if (!q || !(q->blocks = malloc((n ? n : 1) * sizeof(*q->blocks)))) {
        free(q);
        return -ENOMEM;
    }
    q->mint = mint;
    q->maxt = maxt;
    for (size_t i = 0; i < n; i++)
        if (block_overlaps(blocks[i], mint, maxt))
            q->blocks[q->nblocks++] = blocks[i];
    /* time order, so the merge puts later blocks' chunks last */
    for (size_t i = 1; i < q->nblocks; i++) {
        tsdb_block *b = q->blocks[i];
        size_t j = i;
        while (j > 0 && tsdb_block_get_meta(q->blocks[j - 1])->mint > tsdb_block_get_meta(b)->mint) {
            q->blocks[j] = q->blocks[j - 1];
            j--;
        }
        q->blocks[j] = b;
    }
    *out = q;
    return 0;
}

void tsdb_querier_free(tsdb_querier *q)
{
    if (!q)
        return;
    if (q->head) {
        tsdb_head_snapshot_free(&q->db->head, q->snap);
        tsdb_gclock_rdunlock(&q->db->head.gc);
    }
    for (size_t i = 0; i < q->ndbb; i++)
        tsdb_db_block_unref(q->dbb[i]);
    free(q->dbb);
    free(q->blocks);
    free(q);
}

static bool head_overlaps(tsdb_querier *q)
{
    head *h = &q->db->head;
    int64_t hmin = atomic_load(&h->mint), hmax = atomic_load(&h->maxt);
    return hmin <= hmax && hmin <= q->maxt && hmax >= q->mint;
}

int tsdb_select(tsdb_querier *q, const labels_matcher *const *ms, size_t nm, tsdb_series_set **out,
                char *err, size_t errlen)
{
    if (nm == 0) {
        snprintf(err, errlen, "select needs at least one matcher");
        return -EINVAL;
    }
    size_t cap = q->nblocks + 1, n = 0;
    tsdb_series_set **subs = calloc(cap, sizeof(*subs));
    if (!subs)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < q->nblocks && rc == 0; i++) {
        tsdb_series_set *s = NULL;
        rc = tsdb_block_select(q->blocks[i], q->mint, q->maxt, ms, nm, &s, err, errlen);
        if (rc == 0 && s)
            subs[n++] = s;
    }
    if (rc == 0 && q->head && head_overlaps(q)) {
        tsdb_series_set *s = NULL;
        rc = tsdb_head_select(&q->db->head, q->snap, q->mint, q->maxt, ms, nm, &s);
        if (rc < 0)
            snprintf(err, errlen, "head select: %s", tsdb_strerror(rc));
        else
            subs[n++] = s;
    }
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            tsdb_series_set_free(subs[i]);
        free(subs);
        return rc;
    }
    if (n <= 1) {
        *out = n ? subs[0] : tsdb_series_set_empty();
        free(subs);
        return 0;
    }
    merge_ss *m = calloc(1, sizeof(*m));
    if (!m || !(m->has = calloc(n, 1)) || !(m->adv = calloc(n, sizeof(bool)))) {
        if (m)
            free(m->has);
        free(m);
        for (size_t i = 0; i < n; i++)
            tsdb_series_set_free(subs[i]);
        free(subs);
        return -ENOMEM;
    }
    m->base.ops = &mg_ops;
    m->subs = subs;
    m->n = n;
    *out = &m->base;
    return 0;
}

/* ---- label names / values ------------------------------------------------------ */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int sv_push(strvec *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = nc;
    }
    char *c = strndup(p, len);
    if (!c)
        return -ENOMEM;
    s->v[s->n++] = c;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sv_sort_unique(strvec *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, s->n, sizeof(char *), cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[k - 1]) == 0)
            free(s->v[i]);
        else
            s->v[k++] = s->v[i];
    }
    s->n = k;
}

void tsdb_strings_free(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;
    return x < y ? -1 : x > y;
}

/* name == NULL: label names; else values of `name`. */
static int head_labels(tsdb_querier *q, const char *name, const labels_matcher *const *ms, size_t nm,
                       strvec *out)
{
    head *h = &q->db->head;
    int rc = 0;
    pthread_rwlock_rdlock(&h->idx_lock);
    if (nm == 0) {
        const postings *p = &h->post;
        for (size_t i = 0; i < p->cap && rc == 0; i++) {
            const pname *pn = p->names[i];
            if (!pn || pn->n == 0)
                continue;
            if (!name) {
                rc = sv_push(out, pn->name->s, pn->name->len);
                continue;
            }
            if (strcmp(pn->name->s, name) != 0)
                continue;
            for (size_t j = 0; j < pn->cap && rc == 0; j++)
                if (pn->vals[j].val && pn->vals[j].pl.n)
                    rc = sv_push(out, pn->vals[j].val->s, pn->vals[j].val->len);
        }
        pthread_rwlock_unlock(&h->idx_lock);
        return rc;
    }
    idvec ids;
    rc = tsdb_postings_for_matchers(&h->post, ms, nm, &ids);
    pthread_rwlock_unlock(&h->idx_lock);
    if (rc < 0)
        return rc;
    /* interned strings: dedupe by pointer first, copy each distinct one once */
    const istr **v = NULL;
    size_t nv = 0, cap = 0;
    for (size_t i = 0; i < ids.n && rc == 0; i++) {
        const head_series *s = tsdb_head_by_ref(h, ids.v[i]);
        if (!s)
            continue;
        for (size_t l = 0; l < s->nlabels; l++) {
            const istr *n = s->lbl[2 * l], *val = s->lbl[2 * l + 1];
            const istr *pick = !name ? n : strcmp(n->s, name) == 0 ? val : NULL;
            if (!pick)
                continue;
            if (nv == cap) {
                cap = cap ? cap * 2 : 256;
                const istr **nw = realloc(v, cap * sizeof(*nw));
                if (!nw) {
                    rc = -ENOMEM;
                    break;
                }
                v = nw;
            }
            v[nv++] = pick;
        }
    }
    tsdb_idvec_free(&ids);
    if (nv > 1)
        qsort(v, nv, sizeof(*v), cmp_ptr);
    for (size_t i = 0; i < nv && rc == 0; i++)
        if (i == 0 || v[i] != v[i - 1])
            rc = sv_push(out, v[i]->s, v[i]->len);
    free(v);
    return rc;
}

static int labels_common(tsdb_querier *q, const char *name, const labels_matcher *const *ms, size_t nm,
                         char ***out, size_t *n, char *err, size_t errlen)
{
    strvec sv = {0};
    int rc = 0;
    for (size_t i = 0; i < q->nblocks && rc == 0; i++) {
        char **bs = NULL;
        size_t bn = 0;
        rc = name ? tsdb_block_label_values(q->blocks[i], name, ms, nm, &bs, &bn, err, errlen)
                  : tsdb_block_label_names(q->blocks[i], ms, nm, &bs, &bn, err, errlen);
        for (size_t j = 0; j < bn; j++) {
            if (rc == 0)
                rc = sv_push(&sv, bs[j], strlen(bs[j]));
        }
        tsdb_strings_free(bs, bn);
    }
    if (rc == 0 && q->head && head_overlaps(q))
        rc = head_labels(q, name, ms, nm, &sv);
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        tsdb_strings_free(sv.v, sv.n);
        return rc;
    }
    sv_sort_unique(&sv);
    /* a missing label reads as "": never report it as a value */
    if (name && sv.n && sv.v[0][0] == 0) {
        free(sv.v[0]);
        memmove(sv.v, sv.v + 1, (sv.n - 1) * sizeof(char *));
        sv.n--;
    }
    *out = sv.v;
    *n = sv.n;
    return 0;
}

int tsdb_label_names(tsdb_querier *q, const labels_matcher *const *ms, size_t nm, char ***out,
                     size_t *n, char *err, size_t errlen)
{
    return labels_common(q, NULL, ms, nm, out, n, err, errlen);
}

int tsdb_label_values(tsdb_querier *q, const char *name, const labels_matcher *const *ms, size_t nm,
                      char ***out, size_t *n, char *err, size_t errlen)
{
    return labels_common(q, name, ms, nm, out, n, err, errlen);
}
