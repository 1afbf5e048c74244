/* Head postings: label name -> value -> sorted series ids, and the
 * evaluation of matchers over them (Prometheus' PostingsForMatchers).
 * Callers hold head.idx_lock (write to change, read to look up). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"

/* ---- plist ------------------------------------------------------------------ */

static int plist_add(plist *l, uint64_t id)
{
    if (l->n == 0 && l->cap <= 1) {
        l->cap = 1;
        l->u.one = id;
        l->n = 1;
        return 0;
    }
    if (l->cap <= 1) { /* leave the inline form */
        uint64_t one = l->u.one;
        uint64_t *v = malloc(4 * sizeof(*v));
        if (!v)
            return -ENOMEM;
        v[0] = one;
        l->u.ids = v;
        l->cap = 4;
    } else if (l->n == l->cap) {
        uint64_t *v = realloc(l->u.ids, (size_t)l->cap * 2 * sizeof(*v));
        if (!v)
            return -ENOMEM;
        l->u.ids = v;
        l->cap *= 2;
    }
    /* ids are nearly always appended in order; insert if a racing creator won */
    uint64_t *v = l->u.ids;
    uint32_t i = l->n;
    while (i > 0 && v[i - 1] > id) {
        v[i] = v[i - 1];
        i--;
    }
    v[i] = id;
    l->n++;
    return 0;
}

static bool sorted_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == x;
}

static void plist_del_batch(plist *l, const uint64_t *dead, size_t ndead)
{
    uint64_t *v = l->cap <= 1 ? &l->u.one : l->u.ids;
    uint32_t k = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (!sorted_has(dead, ndead, v[i]))
            v[k++] = v[i];
    l->n = k;
    if (l->cap > 1 && k <= 1) {
        uint64_t one = k ? v[0] : 0;
        free(l->u.ids);
        l->u.one = one;
        l->cap = 1;
    }
}

static void plist_free(plist *l)
{
    if (l->cap > 1)
        free(l->u.ids);
    memset(l, 0, sizeof(*l));
}

/* ---- tables ----------------------------------------------------------------- */

static pname *name_find(const postings *p, const char *s, size_t len, uint32_t h, size_t *slot)
{
    if (!p->cap) {
        *slot = 0;
        return NULL;
    }
    size_t j = h & (p->cap - 1);
    for (pname *e; (e = p->names[j]); j = (j + 1) & (p->cap - 1))
        if (e->name->hash == h && e->name->len == len && memcmp(e->name->s, s, len) == 0)
            return e;
    *slot = j;
    return NULL;
}

static int names_grow(postings *p)
{
    size_t ncap = p->cap ? p->cap * 2 : 64;
    pname **nn = calloc(ncap, sizeof(*nn));
    if (!nn)
        return -ENOMEM;
    for (size_t i = 0; i < p->cap; i++) {
        pname *e = p->names[i];
        if (!e)
            continue;
        size_t j = e->name->hash & (ncap - 1);
        while (nn[j])
            j = (j + 1) & (ncap - 1);
        nn[j] = e;
    }
    free(p->names);
    p->names = nn;
    p->cap = ncap;
    return 0;
}

static pval *val_find(const pname *pn, const char *s, size_t len, uint32_t h, size_t *slot)
{
    if (!pn->cap) {
        *slot = 0;
        return NULL;
    }
    size_t j = h & (pn->cap - 1);
    for (; pn->vals[j].val; j = (j + 1) & (pn->cap - 1)) {
        const istr *v = pn->vals[j].val;
        if (v->hash == h && v->len == len && memcmp(v->s, s, len) == 0)
            return &pn->vals[j];
    }
    *slot = j;
    return NULL;
}

static int vals_grow(pname *pn)
{
    size_t ncap = pn->cap ? pn->cap * 2 : 8;
    pval *nv = calloc(ncap, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    for (size_t i = 0; i < pn->cap; i++) {
        pval *e = &pn->vals[i];
        if (!e->val)
            continue;
        size_t j = e->val->hash & (ncap - 1);
        while (nv[j].val)
            j = (j + 1) & (ncap - 1);
        nv[j] = *e;
    }
    free(pn->vals);
    pn->vals = nv;
    pn->cap = ncap;
    return 0;
}

static void vals_remove(pname *pn, pval *e)
{
    size_t mask = pn->cap - 1, i = (size_t)(e - pn->vals);
    for (;;) {
        memset(&pn->vals[i], 0, sizeof(pval));
        size_t k = i;
        for (;;) {
            k = (k + 1) & mask;
            if (!pn->vals[k].val)
                goto done;
            size_t home = pn->vals[k].val->hash & mask;
            if ((k > i && (home <= i || home > k)) || (k < i && (home <= i && home > k))) {
                pn->vals[i] = pn->vals[k];
                i = k;
                break;
            }
        }
    }
done:
    pn->n--;
}

const pname *tsdb_postings_name(const postings *p, const char *name, size_t len)
{
    size_t slot;
    return name_find(p, name, len, tsdb_intern_hash(name, len), &slot);
}

const plist *tsdb_postings_get(const pname *pn, const char *val, size_t len)
{
    size_t slot;
    if (!pn)
        return NULL;
    const pval *e = val_find(pn, val, len, tsdb_intern_hash(val, len), &slot);
    return e ? &e->pl : NULL;
}

int tsdb_postings_add(postings *p, istr *name, istr *val, uint64_t id)
{
    size_t slot;
    if ((p->n + 1) * 2 > p->cap && names_grow(p) < 0)
        return -ENOMEM;
    pname *pn = name_find(p, name->s, name->len, name->hash, &slot);
    if (!pn) {
        pn = calloc(1, sizeof(*pn));
        if (!pn)
            return -ENOMEM;
        pn->name = name; /* the first series' reference keeps it; see tsdb_postings_free */
        name->refs++;
        p->names[slot] = pn;
        p->n++;
    }
    if ((pn->n + 1) * 4 > pn->cap * 3 && vals_grow(pn) < 0)
        return -ENOMEM;
    pval *e = val_find(pn, val->s, val->len, val->hash, &slot);
    if (!e) {
        e = &pn->vals[slot];
        e->val = val;
        pn->n++;
    }
    int rc = plist_add(&e->pl, id);
    if (rc < 0 && e->pl.n == 0)
        vals_remove(pn, e);
    return rc;
}

void tsdb_postings_del_batch(postings *p, istr *name, istr *val, const uint64_t *dead, size_t ndead)
{
    size_t slot;
    pname *pn = name_find(p, name->s, name->len, name->hash, &slot);
    if (!pn)
        return;
    pval *e = val_find(pn, val->s, val->len, val->hash, &slot);
    if (!e)
        return;
    plist_del_batch(&e->pl, dead, ndead);
    if (e->pl.n == 0) {
        plist_free(&e->pl);
        vals_remove(pn, e);
    }
}

int tsdb_postings_add_all(postings *p, uint64_t id)
{
    return plist_add(&p->all, id);
}

void tsdb_postings_del_all_batch(postings *p, const uint64_t *dead, size_t ndead)
{
    plist_del_batch(&p->all, dead, ndead);
}

void tsdb_postings_free(postings *p)
{
    for (size_t i = 0; i < p->cap; i++) {
        pname *pn = p->names[i];
        if (!pn)
            continue;
        for (size_t j = 0; j < pn->cap; j++)
            if (pn->vals[j].val)
                plist_free(&pn->vals[j].pl);
        free(pn->vals);
        /* the name's extra ref is dropped by tsdb_head_destroy freeing the table */
        free(pn);
    }
    free(p->names);
    plist_free(&p->all);
    memset(p, 0, sizeof(*p));
}

/* ---- id vectors and matcher evaluation -------------------------------------- */

int tsdb_idvec_push(idvec *a, uint64_t id)
{
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        uint64_t *v = realloc(a->v, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = nc;
    }
    a->v[a->n++] = id;
    return 0;
}

void tsdb_idvec_free(idvec *a)
{
    free(a->v);
    memset(a, 0, sizeof(*a));
}

static int idvec_append_list(idvec *a, const plist *l)
{
    const uint64_t *ids = plist_ids(l);
    for (uint32_t i = 0; i < l->n; i++)
        if (tsdb_idvec_push(a, ids[i]) < 0)
            return -ENOMEM;
    return 0;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void idvec_sort_unique(idvec *a)
{
    if (a->n < 2)
        return;
    qsort(a->v, a->n, sizeof(uint64_t), cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i] != a->v[k - 1])
            a->v[k++] = a->v[i];
    a->n = k;
}

/* Union of the postings of values of pn for which the matcher's verdict
 * equals `want`. */
/* Merges the sorted runs of a (boundaries in ends[0..nruns), ascending)
 * into one sorted unique run: bottom-up pairwise merges, O(n log runs),
 * much cheaper than sorting when a regex selects many values. */
static int merge_runs(idvec *a, size_t *ends, size_t nruns)
{
    if (nruns < 2)
        return 0;
    uint64_t *tmp = malloc(a->n * sizeof(*tmp));
    if (!tmp) {
        idvec_sort_unique(a);
        return 0;
    }
    uint64_t *src = a->v, *dst = tmp;
    while (nruns > 1) {
        size_t k = 0, start = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t mid = ends[r], end = r + 1 < nruns ? ends[r + 1] : mid;
            size_t i = start, j = mid, o = start;
            while (i < mid && j < end)
                dst[o++] = src[i] <= src[j] ? src[i++] : src[j++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < end)
                dst[o++] = src[j++];
            ends[k++] = end;
            start = end;
        }
        nruns = k;
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a->v)
        memcpy(a->v, src, a->n * sizeof(uint64_t));
    free(tmp);
    size_t k = a->n ? 1 : 0;
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i] != a->v[k - 1])
            a->v[k++] = a->v[i];
    a->n = k;
    return 0;
}

typedef struct runs {
    size_t *ends;
    size_t n, cap;
} runs;

static int runs_mark(runs *r, size_t end)
{
    if (r->n && r->ends[r->n - 1] == end)
        return 0; /* empty list */
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        size_t *v = realloc(r->ends, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        r->ends = v;
        r->cap = nc;
    }
    r->ends[r->n++] = end;
    return 0;
}

static int collect(const pname *pn, const labels_matcher *m, bool want, idvec *out)
{
    if (!pn)
        return 0;
    const char *const *vals;
    const uint32_t *lens;
    int nv, rc = 0;
    runs r = {0};
    labels_match_type ty = labels_matcher_type(m);
    if (want && (nv = labels_matcher_set_values(m, &vals, &lens)) >= 0) {
        for (int i = 0; i < nv && rc == 0; i++) {
            const plist *l = tsdb_postings_get(pn, vals[i], lens[i]);
            if (l && (rc = idvec_append_list(out, l)) == 0)
                rc = runs_mark(&r, out->n);
        }
    } else if (!want && ty == LABELS_MATCH_NEQ) {
        const char *v = labels_matcher_value(m);
        const plist *l = tsdb_postings_get(pn, v, strlen(v));
        if (l && (rc = idvec_append_list(out, l)) == 0)
            rc = runs_mark(&r, out->n);
    } else {
        for (size_t i = 0; i < pn->cap && rc == 0; i++) {
            const pval *e = &pn->vals[i];
            if (!e->val || e->pl.n == 0)
                continue;
            if (labels_matcher_matches(m, e->val->s, e->val->len) == want &&
                (rc = idvec_append_list(out, &e->pl)) == 0)
                rc = runs_mark(&r, out->n);
        }
    }
    if (rc == 0 && r.n > 1) { /* one postings list is sorted and unique already */
        if (r.n > out->n / 4)
            idvec_sort_unique(out); /* many tiny lists: a sort is as good */
        else
            rc = merge_runs(out, r.ends, r.n);
    }
    free(r.ends);
    return rc;
}

static void intersect(idvec *a, const idvec *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[k++] = a->v[i];
            i++;
            j++;
        }
    }
    a->n = k;
}

static void subtract(idvec *a, const idvec *b)
{
    size_t i = 0, j = 0, k = 0;
    while (i < a->n) {
        while (j < b->n && b->v[j] < a->v[i])
            j++;
        if (j < b->n && b->v[j] == a->v[i]) {
            i++;
            continue;
        }
        a->v[k++] = a->v[i++];
    }
    a->n = k;
}

int tsdb_postings_for_matchers(const postings *p, const labels_matcher *const *ms, size_t nm, idvec *out)
{
    idvec pos = {0}, neg = {0}, tmp = {0};
    bool have_pos = false;
    int rc = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nm && rc == 0; i++) {
        const labels_matcher *m = ms[i];
        const char *name = labels_matcher_name(m);
        const pname *pn = tsdb_postings_name(p, name, strlen(name));
        tmp.n = 0;
        if (labels_matcher_matches_empty(m)) {
            /* series without the label match too: subtract those whose value does not */
            rc = collect(pn, m, false, &tmp);
            for (size_t j = 0; rc == 0 && j < tmp.n; j++)
                rc = tsdb_idvec_push(&neg, tmp.v[j]);
        } else {
            rc = collect(pn, m, true, &tmp);
            if (rc == 0 && !have_pos) {
                idvec t = pos;
                pos = tmp;
                tmp = t;
                have_pos = true;
            } else if (rc == 0) {
                intersect(&pos, &tmp);
            }
        }
        if (have_pos && pos.n == 0)
            break;
    }
    if (rc == 0 && !have_pos)
        rc = idvec_append_list(&pos, &p->all);
    if (rc == 0 && neg.n) {
        idvec_sort_unique(&neg);
        subtract(&pos, &neg);
    }
    tsdb_idvec_free(&neg);
    tsdb_idvec_free(&tmp);
    if (rc < 0) {
        tsdb_idvec_free(&pos);
        return rc;
    }
    *out = pos;
    return 0;
}
