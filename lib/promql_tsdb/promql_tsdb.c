/* promql_queryable over lib/tsdb: select = tsdb querier + select, every
 * series' samples decoded into points held by the set until release. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql_tsdb/promql_tsdb.h"

/* Labels and points of one set live in a few large blocks (one free each on
 * release) instead of two allocations per series. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_block;

typedef struct pt_set {
    arena_block *blocks;
} pt_set;

#define ARENA_MIN (256u * 1024u)

static void *arena_alloc(pt_set *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_block *b = s->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_MIN ? n : ARENA_MIN;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = s->blocks;
        s->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static void pt_set_free(pt_set *s)
{
    if (!s)
        return;
    for (arena_block *b = s->blocks, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    free(s);
}

/* Copies a label set into the arena (strings NUL-terminated). */
static labels_label *copy_labels(pt_set *s, const labels_label *ls, size_t n)
{
    size_t bytes = n * sizeof(labels_label);
    for (size_t i = 0; i < n; i++)
        bytes += (size_t)ls[i].name_len + ls[i].value_len + 2;
    labels_label *out = arena_alloc(s, bytes ? bytes : 1);
    if (!out)
        return NULL;
    char *p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        out[i].name = p;
        out[i].name_len = ls[i].name_len;
        memcpy(p, ls[i].name, ls[i].name_len);
        p += ls[i].name_len;
        *p++ = 0;
        out[i].value = p;
        out[i].value_len = ls[i].value_len;
        memcpy(p, ls[i].value, ls[i].value_len);
        p += ls[i].value_len;
        *p++ = 0;
    }
    return out;
}

typedef struct pt_source {
    tsdb_db *db;                     /* or: */
    const promql_tsdb_blocks *blocks;
} pt_source;

static int open_querier(const pt_source *src, int64_t mint, int64_t maxt, tsdb_querier **q)
{
    if (src->db)
        return tsdb_querier_new(src->db, mint, maxt, q);
    return tsdb_querier_new_blocks(src->blocks->blocks, src->blocks->n_blocks, mint, maxt, q);
}

static int pt_select(const pt_source *src, const labels_matcher *const *ms, size_t nm, int64_t mint,
                     int64_t maxt, const promql_select_hints *hints, promql_series_set *out, char *err,
                     size_t errlen)
{
    bool labels_only = false;
    if (hints) {
        if (hints->start > mint)
            mint = hints->start;
        if (hints->end < maxt)
            maxt = hints->end;
        labels_only = hints->func && strcmp(hints->func, "series") == 0;
    }
    memset(out, 0, sizeof *out);
    if (mint > maxt)
        return 0; /* nothing can match; the engine accepts an empty set */
    tsdb_querier *q = NULL;
    int rc = open_querier(src, mint, maxt, &q);
    if (rc < 0) {
        snprintf(err, errlen, "tsdb querier: %s", tsdb_strerror(rc));
        return rc;
    }
    tsdb_series_set *ss = NULL;
    rc = tsdb_select(q, ms, nm, &ss, err, errlen);
    if (rc < 0) {
        tsdb_querier_free(q);
        return rc;
    }
    pt_set *set = calloc(1, sizeof *set);
    promql_series *series = NULL;
    size_t ns = 0, caps = 0;
    promql_point *scratch = NULL;
    size_t capp = 0;
    if (!set) {
        rc = -ENOMEM;
        goto fail;
    }
    while ((rc = tsdb_series_set_next(ss)) == 1) {
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        const tsdb_chunk *chunks = tsdb_series_set_chunks(ss, &nc);
        size_t np = 0;
        if (!labels_only) {
            tsdb_sample_iter it;
            tsdb_sample_iter_init(&it, chunks, nc, mint, maxt);
            int64_t t;
            double v;
            while ((rc = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
                if (np == capp) {
                    size_t ncap = capp ? capp * 2 : 1024;
                    promql_point *nb = realloc(scratch, ncap * sizeof *nb);
                    if (!nb) {
                        tsdb_sample_iter_free(&it);
                        rc = -ENOMEM;
                        goto fail;
                    }
                    scratch = nb;
                    capp = ncap;
                }
                scratch[np].t = t;
                scratch[np].v = v; /* plain copy: NaN payloads (stale markers) unchanged */
                np++;
            }
            tsdb_sample_iter_free(&it);
            if (rc == -ENOMEM)
                goto fail;
            if (rc < 0) {
                char lb[256];
                labels_format(ls, nl, lb, sizeof lb);
                snprintf(err, errlen, "corrupt chunk in series %s: %s", lb, tsdb_strerror(rc));
                rc = -EIO;
                goto fail;
            }
            if (np == 0)
                continue;
        }
        if (ns == caps) {
            size_t ncap = caps ? caps * 2 : 64;
            promql_series *nb = realloc(series, ncap * sizeof *nb);
            if (!nb) {
                rc = -ENOMEM;
                goto fail;
            }
            series = nb;
            caps = ncap;
        }
        promql_series *s = &series[ns];
        s->labels = copy_labels(set, ls, nl);
        s->n_labels = nl;
        s->points = NULL;
        s->n_points = np;
        if (!s->labels) {
            rc = -ENOMEM;
            goto fail;
        }
        if (np) {
            s->points = arena_alloc(set, np * sizeof *s->points);
            if (!s->points) {
                rc = -ENOMEM;
                goto fail;
            }
            memcpy(s->points, scratch, np * sizeof *s->points);
        }
        ns++;
    }
    if (rc < 0) {
        snprintf(err, errlen, "tsdb series set: %s", tsdb_strerror(rc));
        goto fail;
    }
    free(scratch);
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    out->series = series;
    out->n_series = ns;
    out->priv = set;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    free(scratch);
    free(series);
    pt_set_free(set);
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    return rc;
}

static void pt_release(void *ctx, promql_series_set *set)
{
    (void)ctx;
    free(set->series);
    pt_set_free(set->priv);
    memset(set, 0, sizeof *set);
}

static int db_select(void *ctx, const labels_matcher *const *ms, size_t nm, int64_t mint, int64_t maxt,
                     const promql_select_hints *hints, promql_series_set *out, char *err, size_t errlen)
{
    pt_source src = {.db = ctx};
    return pt_select(&src, ms, nm, mint, maxt, hints, out, err, errlen);
}

static int blocks_select(void *ctx, const labels_matcher *const *ms, size_t nm, int64_t mint, int64_t maxt,
                         const promql_select_hints *hints, promql_series_set *out, char *err, size_t errlen)
{
    pt_source src = {.blocks = ctx};
    return pt_select(&src, ms, nm, mint, maxt, hints, out, err, errlen);
}

promql_queryable promql_tsdb_queryable(tsdb_db *db)
{
    return (promql_queryable){.ctx = db, .select = db_select, .release = pt_release};
}

promql_queryable promql_tsdb_blocks_queryable(const promql_tsdb_blocks *b)
{
    /* ctx is only read; the cast drops const for the void * slot */
    return (promql_queryable){.ctx = (void *)(uintptr_t)b, .select = blocks_select, .release = pt_release};
}
