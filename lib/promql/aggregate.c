/* Aggregation operators, as Prometheus 2.42 engine.go aggregation(). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval_internal.h"

typedef struct group {
    const pq_lset *m;
    uint64_t stamp; /* step+1 when active in the current step */
    double value, mean;
    int64_t count;
    pq_sample *heap; /* topk/bottomk */
    size_t nheap, capheap;
    double *vals;    /* quantile */
    size_t nvals, capvals;
} group;

typedef struct aggctx {
    const promql_node *n;
    promql_aggop op;
    char **grouping; /* sorted copy (pointers borrowed from the AST) */
    size_t ngrouping;
    bool without;
    bool has_param;
    const char *vlabel; /* count_values */
    size_t vlabel_len;
    pq_map in2gid;   /* input lset -> gid */
    uint32_t *srcgid; /* input series index -> gid + 1 (0: not yet known) */
    size_t nsrc;
    pq_map g2gid;    /* group lset -> gid */
    pq_map vstr;     /* count_values: value bits -> formatted string (arena) */
    group *groups;
    size_t ngroups, capgroups;
    size_t *order;
    size_t norder, caporder;
    pq_lb lb;
    char **cvgrouping; /* count_values: grouping + value label */
    size_t ncvgrouping;
} aggctx;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const pq_lset *group_lset(pq_query *q, aggctx *c, const pq_lset *m, char **grouping, size_t ng)
{
    if (c->without) {
        if (pq_lb_reset(&c->lb, m) < 0)
            return NULL;
        for (size_t i = 0; i < ng; i++)
            pq_lb_del(&c->lb, grouping[i], strlen(grouping[i]));
        pq_lb_del(&c->lb, "__name__", 8);
        return pq_lb_intern(q, &c->lb);
    }
    if (ng == 0)
        return q->empty;
    if (pq_lb_reset(&c->lb, m) < 0)
        return NULL;
    pq_lb_keep(&c->lb, grouping, ng);
    return pq_lb_intern(q, &c->lb);
}

static int gid_for_group(pq_query *q, aggctx *c, const pq_lset *g, size_t *gid)
{
    bool isnew;
    uint64_t *slot = pq_map_put(&c->g2gid, pq_ptrkey(g), &isnew);
    if (!slot)
        return pq_oom(q);
    if (isnew) {
        if (c->ngroups == c->capgroups) {
            size_t nc = c->capgroups ? c->capgroups * 2 : 16;
            group *ng = realloc(c->groups, nc * sizeof *ng);
            size_t *no = realloc(c->order, nc * sizeof *no);
            if (no)
                c->order = no;
            if (!ng || !no) {
                if (ng)
                    c->groups = ng;
                return pq_oom(q);
            }
            c->groups = ng;
            c->capgroups = nc;
        }
        memset(&c->groups[c->ngroups], 0, sizeof(group));
        c->groups[c->ngroups].m = g;
        *slot = c->ngroups++;
    }
    *gid = *slot;
    return 0;
}

/* Go container/heap over h[0..n) with topk's or bottomk's Less. */
static bool hless(const pq_sample *h, size_t i, size_t j, bool bottom)
{
    if (isnan(h[i].v))
        return true;
    return bottom ? h[i].v > h[j].v : h[i].v < h[j].v;
}

static void hswap(pq_sample *h, size_t i, size_t j)
{
    pq_sample t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(pq_sample *h, size_t j, bool bottom)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!hless(h, j, i, bottom))
            break;
        hswap(h, i, j);
        j = i;
    }
}

static void heap_down(pq_sample *h, size_t i, size_t n, bool bottom)
{
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n)
            break;
        size_t j = j1;
        if (j1 + 1 < n && hless(h, j1 + 1, j1, bottom))
            j = j1 + 1;
        if (!hless(h, j, i, bottom))
            break;
        hswap(h, i, j);
        i = j;
    }
}

/* sort.Sort(sort.Reverse(heap)): insertion sort as Go does for short
 * inputs; a stable merge for longer ones. */
void pq_sort_reverse(pq_sample *h, size_t n, bool bottom)
{
    if (n <= 12) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && hless(h, j - 1, j, bottom); j--)
                hswap(h, j, j - 1);
        return;
    }
    pq_sample *tmp = malloc(n * sizeof *tmp);
    if (!tmp) { /* fall back to insertion sort */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && hless(h, j - 1, j, bottom); j--)
                hswap(h, j, j - 1);
        return;
    }
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                /* take from b only when b sorts strictly before a */
                pq_sample pair[2] = {h[a], h[b]};
                if (hless(pair, 0, 1, bottom))
                    tmp[k++] = h[b++];
                else
                    tmp[k++] = h[a++];
            }
            while (a < mid)
                tmp[k++] = h[a++];
            while (b < hi)
                tmp[k++] = h[b++];
        }
        memcpy(h, tmp, n * sizeof *h);
    }
    free(tmp);
}

static int step_agg(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step, pq_vec *out)
{
    aggctx *c = ctx;
    pq_query *q = ev->q;
    pq_vec *vec = &in[nin - 1];
    double param = c->has_param && nin == 2 && in[0].n ? in[0].s[0].v : 0;
    int64_t k = 0;
    if (c->op == PROMQL_AGG_TOPK || c->op == PROMQL_AGG_BOTTOMK) {
        if (!(param <= 9.2233720368547758e18 && param >= -9.2233720368547758e18)) {
            char b[64];
            pq_format_float_g(param, b, sizeof b);
            return pq_errorf(q, -EINVAL, "Scalar value %s overflows int64", b);
        }
        /* 2^63 passes Go's check and converts to MinInt64 on amd64 */
        k = param >= 9223372036854775808.0 ? INT64_MIN : (int64_t)param;
        if (k < 1)
            return 0;
    }
    bool bottom = c->op == PROMQL_AGG_BOTTOMK;
    uint64_t stamp = step + 1;
    c->norder = 0;
    char vbuf[400];
    for (size_t i = 0; i < vec->n; i++) {
        pq_sample *s = &vec->s[i];
        size_t gid;
        if (c->op == PROMQL_AGG_COUNT_VALUES) {
            /* one formatted string per distinct value for the whole query */
            uint64_t bits;
            memcpy(&bits, &s->v, sizeof bits);
            bool isnew;
            uint64_t *vslot = pq_map_put(&c->vstr, bits, &isnew);
            if (!vslot)
                return pq_oom(q);
            if (isnew) {
                pq_format_float(s->v, vbuf, sizeof vbuf);
                char *dup = pq_arena_strdup(&q->arena, vbuf, strlen(vbuf));
                if (!dup)
                    return pq_oom(q);
                *vslot = pq_ptrkey(dup);
            }
            const char *vs = (const char *)(uintptr_t)*vslot;
            if (pq_lb_reset(&c->lb, s->m) < 0 ||
                pq_lb_set(&c->lb, c->vlabel, c->vlabel_len, vs, strlen(vs)) < 0)
                return pq_oom(q);
            const pq_lset *metric = pq_lb_intern(q, &c->lb);
            const pq_lset *g = metric ? group_lset(q, c, metric, c->cvgrouping, c->ncvgrouping) : NULL;
            if (!g)
                return pq_oom(q);
            PQ_TRY(gid_for_group(q, c, g, &gid));
        } else if (s->src < c->nsrc && c->srcgid[s->src]) {
            gid = c->srcgid[s->src] - 1;
        } else {
            uint64_t *slot = pq_map_get(&c->in2gid, pq_ptrkey(s->m));
            if (slot) {
                gid = *slot;
            } else {
                const pq_lset *g = group_lset(q, c, s->m, c->grouping, c->ngrouping);
                if (!g)
                    return pq_oom(q);
                PQ_TRY(gid_for_group(q, c, g, &gid));
                bool isnew;
                slot = pq_map_put(&c->in2gid, pq_ptrkey(s->m), &isnew);
                if (!slot)
                    return pq_oom(q);
                *slot = gid;
            }
            if (s->src < c->nsrc)
                c->srcgid[s->src] = (uint32_t)gid + 1;
        }
        group *g = &c->groups[gid];
        if (g->stamp != stamp) {
            g->stamp = stamp;
            c->order[c->norder++] = gid;
            g->value = s->v;
            g->mean = s->v;
            g->count = 1;
            g->nheap = 0;
            g->nvals = 0;
            switch (c->op) {
            case PROMQL_AGG_STDDEV:
            case PROMQL_AGG_STDVAR: g->value = 0; break;
            case PROMQL_AGG_GROUP: g->value = 1; break;
            case PROMQL_AGG_TOPK:
            case PROMQL_AGG_BOTTOMK: {
                size_t want = (size_t)k < vec->n ? (size_t)k : vec->n;
                if (g->capheap < want) {
                    pq_sample *nh = realloc(g->heap, want * sizeof *nh);
                    if (!nh)
                        return pq_oom(q);
                    g->heap = nh;
                    g->capheap = want;
                }
                g->heap[0] = *s;
                g->nheap = 1;
                break;
            }
            case PROMQL_AGG_QUANTILE:
                if (g->capvals < 16) {
                    double *nv = realloc(g->vals, 16 * sizeof *nv);
                    if (!nv)
                        return pq_oom(q);
                    g->vals = nv;
                    g->capvals = 16;
                }
                g->vals[0] = s->v;
                g->nvals = 1;
                break;
            default: break;
            }
            continue;
        }
        switch (c->op) {
        case PROMQL_AGG_SUM: g->value += s->v; break;
        case PROMQL_AGG_AVG:
            g->count++;
            if (isinf(g->mean)) {
                if (isinf(s->v) && (g->mean > 0) == (s->v > 0))
                    break;
                if (!isinf(s->v) && !isnan(s->v))
                    break;
            }
            g->mean += s->v / (double)g->count - g->mean / (double)g->count;
            break;
        case PROMQL_AGG_GROUP: break;
        case PROMQL_AGG_MAX:
            if (g->value < s->v || isnan(g->value))
                g->value = s->v;
            break;
        case PROMQL_AGG_MIN:
            if (g->value > s->v || isnan(g->value))
                g->value = s->v;
            break;
        case PROMQL_AGG_COUNT:
        case PROMQL_AGG_COUNT_VALUES: g->count++; break;
        case PROMQL_AGG_STDDEV:
        case PROMQL_AGG_STDVAR: {
            g->count++;
            double delta = s->v - g->mean;
            g->mean += delta / (double)g->count;
            g->value += delta * (s->v - g->mean);
            break;
        }
        case PROMQL_AGG_TOPK:
        case PROMQL_AGG_BOTTOMK: {
            bool better = bottom ? g->heap[0].v > s->v : g->heap[0].v < s->v;
            if ((int64_t)g->nheap < k || better || isnan(g->heap[0].v)) {
                if ((int64_t)g->nheap == k) {
                    if (k == 1) {
                        g->heap[0] = *s;
                        break;
                    }
                    /* heap.Pop */
                    hswap(g->heap, 0, g->nheap - 1);
                    heap_down(g->heap, 0, g->nheap - 1, bottom);
                    g->nheap--;
                }
                if (g->nheap == g->capheap) {
                    size_t nc = g->capheap ? g->capheap * 2 : 4;
                    pq_sample *nh = realloc(g->heap, nc * sizeof *nh);
                    if (!nh)
                        return pq_oom(q);
                    g->heap = nh;
                    g->capheap = nc;
                }
                g->heap[g->nheap++] = *s;
                heap_up(g->heap, g->nheap - 1, bottom);
            }
            break;
        }
        case PROMQL_AGG_QUANTILE:
            if (g->nvals == g->capvals) {
                size_t nc = g->capvals * 2;
                double *nv = realloc(g->vals, nc * sizeof *nv);
                if (!nv)
                    return pq_oom(q);
                g->vals = nv;
                g->capvals = nc;
            }
            g->vals[g->nvals++] = s->v;
            break;
        }
    }
    for (size_t oi = 0; oi < c->norder; oi++) {
        group *g = &c->groups[c->order[oi]];
        double v = g->value;
        switch (c->op) {
        case PROMQL_AGG_AVG: v = g->mean; break;
        case PROMQL_AGG_COUNT:
        case PROMQL_AGG_COUNT_VALUES: v = (double)g->count; break;
        case PROMQL_AGG_STDVAR: v = g->value / (double)g->count; break;
        case PROMQL_AGG_STDDEV: v = sqrt(g->value / (double)g->count); break;
        case PROMQL_AGG_TOPK:
        case PROMQL_AGG_BOTTOMK:
            if (g->nheap > 1)
                pq_sort_reverse(g->heap, g->nheap, bottom);
            for (size_t j = 0; j < g->nheap; j++)
                if (pq_vec_push(out, g->heap[j].m, g->heap[j].v, ts) < 0)
                    return pq_oom(q);
            continue;
        case PROMQL_AGG_QUANTILE: v = pq_quantile(param, g->vals, g->nvals); break;
        default: break;
        }
        if (pq_vec_push(out, g->m, v, ts) < 0)
            return pq_oom(q);
    }
    return 0;
}

int pq_eval_aggregate(pq_ev *ev, const promql_node *n, pq_val *out)
{
    pq_query *q = ev->q;
    aggctx c = {.n = n, .op = n->aggregate.op, .without = n->aggregate.without,
                .ngrouping = n->aggregate.n_grouping};
    pq_val args[2] = {{0}, {0}};
    size_t nargs = 0;
    int rc = 0;
    c.grouping = malloc((c.ngrouping + 1) * sizeof(char *));
    c.cvgrouping = malloc((c.ngrouping + 2) * sizeof(char *));
    if (!c.grouping || !c.cvgrouping) {
        rc = pq_oom(q);
        goto done;
    }
    for (size_t i = 0; i < c.ngrouping; i++)
        c.grouping[i] = n->aggregate.grouping[i];
    qsort(c.grouping, c.ngrouping, sizeof(char *), cmp_str);
    memcpy(c.cvgrouping, c.grouping, c.ngrouping * sizeof(char *));
    c.ncvgrouping = c.ngrouping;
    if (n->aggregate.param) {
        const promql_node *p = pq_unparen(n->aggregate.param);
        if (p->kind == PROMQL_NODE_STRING) {
            c.vlabel = p->string.value;
            c.vlabel_len = p->string.len;
            if (c.op == PROMQL_AGG_COUNT_VALUES) {
                if (!labels_valid_name(c.vlabel, c.vlabel_len)) {
                    rc = pq_errorf(q, -EINVAL, "invalid label name \"%.*s\"", (int)c.vlabel_len, c.vlabel);
                    goto done;
                }
                if (!c.without)
                    c.cvgrouping[c.ncvgrouping++] = (char *)c.vlabel;
            }
        } else {
            c.has_param = true;
            if ((rc = pq_eval(ev, n->aggregate.param, &args[nargs++])) < 0)
                goto done;
        }
    }
    if ((rc = pq_eval(ev, n->aggregate.expr, &args[nargs++])) < 0)
        goto done;
    if (args[nargs - 1].kind == PQ_VECTOR && args[nargs - 1].ns) {
        c.nsrc = args[nargs - 1].ns;
        c.srcgid = calloc(c.nsrc, sizeof *c.srcgid);
        if (!c.srcgid) {
            rc = pq_oom(q);
            goto done;
        }
    }
    rc = pq_range_eval(ev, args, nargs, step_agg, &c, out);
done:
    pq_val_release(q, &args[0]);
    pq_val_release(q, &args[1]);
    for (size_t i = 0; i < c.ngroups; i++) {
        free(c.groups[i].heap);
        free(c.groups[i].vals);
    }
    free(c.groups);
    free(c.order);
    pq_map_free(&c.in2gid);
    pq_map_free(&c.g2gid);
    pq_map_free(&c.vstr);
    pq_lb_free(&c.lb);
    free(c.grouping);
    free(c.cvgrouping);
    free(c.srcgid);
    return rc;
}
