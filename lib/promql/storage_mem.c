/* In-memory queryable: series in a hash table, samples in sorted arrays.
 * For tests, the conformance runner and benchmarks; not for production data
 * sizes (select scans every series). */
#include <stdlib.h>

#include "eval_internal.h"

typedef struct mseries {
    labels_label *ls; /* labels_copy block */
    size_t n;
    uint64_t hash;
    promql_point *p;
    size_t np, cap;
} mseries;

struct promql_memstore {
    mseries *s;
    size_t ns, cap;
    pq_map idx; /* hash -> index (collisions chained by linear search below) */
};

promql_memstore *promql_memstore_new(void)
{
    return calloc(1, sizeof(promql_memstore));
}

void promql_memstore_clear(promql_memstore *m)
{
    for (size_t i = 0; i < m->ns; i++) {
        free(m->s[i].ls);
        free(m->s[i].p);
    }
    m->ns = 0;
    pq_map_clear(&m->idx);
}

void promql_memstore_free(promql_memstore *m)
{
    if (!m)
        return;
    promql_memstore_clear(m);
    free(m->s);
    pq_map_free(&m->idx);
    free(m);
}

size_t promql_memstore_n_series(const promql_memstore *m)
{
    return m->ns;
}

static int normalize(const labels_label *ls, size_t n, labels_label *out, size_t *on)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ls[i].value_len)
            out[k++] = ls[i];
    if (!k)
        return -EINVAL;
    labels_sort(out, k);
    *on = k;
    return 0;
}

static mseries *find(promql_memstore *m, const labels_label *ls, size_t n, uint64_t h)
{
    /* idx maps hash -> index; on a (rare) collision scan linearly */
    uint64_t *slot = pq_map_get(&m->idx, h);
    if (slot && labels_equal(m->s[*slot].ls, m->s[*slot].n, ls, n))
        return &m->s[*slot];
    if (slot)
        for (size_t i = 0; i < m->ns; i++)
            if (m->s[i].hash == h && labels_equal(m->s[i].ls, m->s[i].n, ls, n))
                return &m->s[i];
    return NULL;
}

int promql_memstore_add(promql_memstore *m, const labels_label *ls, size_t n, int64_t t, double v)
{
    labels_label tmp[n ? n : 1];
    size_t k;
    if (normalize(ls, n, tmp, &k) < 0)
        return -EINVAL;
    uint64_t h = labels_hash(tmp, k);
    mseries *s = find(m, tmp, k, h);
    if (!s) {
        if (m->ns == m->cap) {
            size_t nc = m->cap ? m->cap * 2 : 64;
            mseries *ns = realloc(m->s, nc * sizeof *ns);
            if (!ns)
                return -ENOMEM;
            m->s = ns;
            m->cap = nc;
        }
        s = &m->s[m->ns];
        memset(s, 0, sizeof *s);
        s->ls = labels_copy(tmp, k);
        if (!s->ls)
            return -ENOMEM;
        s->n = k;
        s->hash = h;
        bool isnew;
        uint64_t *slot = pq_map_put(&m->idx, h, &isnew);
        if (!slot) {
            free(s->ls);
            return -ENOMEM;
        }
        if (isnew)
            *slot = m->ns;
        m->ns++;
    }
    if (s->np && s->p[s->np - 1].t >= t) {
        size_t lo = 0, hi = s->np;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s->p[mid].t < t)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (s->p[lo].t == t) {
            s->p[lo].v = v;
            return 0;
        }
        if (s->np == s->cap) {
            size_t nc = s->cap * 2;
            promql_point *np = realloc(s->p, nc * sizeof *np);
            if (!np)
                return -ENOMEM;
            s->p = np;
            s->cap = nc;
        }
        memmove(&s->p[lo + 1], &s->p[lo], (s->np - lo) * sizeof *s->p);
        s->p[lo] = (promql_point){t, v};
        s->np++;
        return 0;
    }
    if (s->np == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        promql_point *np = realloc(s->p, nc * sizeof *np);
        if (!np)
            return -ENOMEM;
        s->p = np;
        s->cap = nc;
    }
    s->p[s->np++] = (promql_point){t, v};
    return 0;
}

void promql_memstore_remove(promql_memstore *m, const labels_label *ls, size_t n)
{
    labels_label tmp[n ? n : 1];
    size_t k;
    if (normalize(ls, n, tmp, &k) < 0)
        return;
    mseries *s = find(m, tmp, k, labels_hash(tmp, k));
    if (!s)
        return;
    free(s->ls);
    free(s->p);
    *s = m->s[--m->ns];
    /* rebuild the index (rare operation) */
    pq_map_clear(&m->idx);
    for (size_t i = 0; i < m->ns; i++) {
        bool isnew;
        uint64_t *slot = pq_map_put(&m->idx, m->s[i].hash, &isnew);
        if (slot && isnew)
            *slot = i;
    }
}

static int mem_select(void *ctx, const labels_matcher *const *ms, size_t nm, int64_t mint, int64_t maxt,
                      const promql_select_hints *hints, promql_series_set *out, char *err, size_t errlen)
{
    promql_memstore *m = ctx;
    size_t cap = 16, n = 0;
    promql_series *res = malloc(cap * sizeof *res);
    if (!res)
        return -ENOMEM;
    for (size_t i = 0; i < m->ns; i++) {
        mseries *s = &m->s[i];
        if (!labels_matches(ms, nm, s->ls, s->n))
            continue;
        size_t lo = 0, hi = s->np;
        while (lo < hi) { /* first point >= mint */
            size_t mid = (lo + hi) / 2;
            if (s->p[mid].t < mint)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t a = lo;
        hi = s->np;
        while (lo < hi) { /* first point > maxt */
            size_t mid = (lo + hi) / 2;
            if (s->p[mid].t <= maxt)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == a)
            continue;
        if (n == cap) {
            cap *= 2;
            promql_series *nr = realloc(res, cap * sizeof *nr);
            if (!nr) {
                free(res);
                return -ENOMEM;
            }
            res = nr;
        }
        res[n++] = (promql_series){s->ls, s->n, s->p + a, lo - a};
    }
    out->series = res;
    out->n_series = n;
    out->priv = NULL;
    return 0;
}

static void mem_release(void *ctx, promql_series_set *set)
{
    free(set->series);
    set->series = NULL;
    set->n_series = 0;
}

promql_queryable promql_memstore_queryable(promql_memstore *m)
{
    return (promql_queryable){.ctx = m, .select = mem_select, .release = mem_release};
}
