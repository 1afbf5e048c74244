/* The PromQL engine over lib/tsdb (lib/promql_tsdb) must answer exactly as
 * over promql_memstore holding the same samples: the same samples go into
 * both, then range and instant queries (rate, sum by, histogram_quantile over
 * le buckets, a group_left join, series with stale markers, offset, @, raw
 * range vectors) are run on both and the full results compared (labels,
 * timestamps, value bits). States of the tsdb: everything in the head; after
 * tsdb_flush_head (blocks only); after a reopen (blocks read from disk);
 * standalone blocks (tsdb_block_open); blocks plus newer samples in the head
 * for the same and new series. The raw select of both queryables is compared
 * too, incl. stale marker bits and hints. A negative control changes one
 * sample in the memstore and requires the comparison to notice. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "promql/promql.h"
#include "promql_tsdb/promql_tsdb.h"
#include "tsdb/tsdb.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define SCRAPE_MS 15000LL
/* Half an hour into a 2h block, so the data crosses block boundaries at
 * T0+1.5h and T0+3.5h and tsdb_flush_head makes three blocks. */
#define T0 (236111LL * 7200000LL + 1800000LL)
#define STEPS1 1200 /* 5h of scrapes before the flush */
#define STEPS2 1440 /* +1h appended to the head afterwards */

static promql_memstore *mem;
static tsdb_db *db;
static char dbdir[256];
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static size_t n_stale_written;

static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- data ------------------------------------------------------------------ */

typedef struct series_def {
    char v[4][32];
    labels_label ls[4]; /* sorted by name */
    size_t n;
    int kind;           /* 0 counter, 1 bucket, 2 info, 3 stale gauge */
    int64_t off;        /* scrape jitter, ms */
    double val, rate;
    int bucket;
    int only_after;     /* 1: appears only in the second load */
} series_def;

enum { K_COUNTER, K_BUCKET, K_INFO, K_STALE };
static series_def defs[128];
static size_t n_defs;
static const char *les[] = {"0.1", "0.5", "1", "5", "+Inf"};

static series_def *def_new(int kind, const char *name)
{
    assert_true(n_defs < sizeof defs / sizeof *defs);
    series_def *d = &defs[n_defs++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->off = (int64_t)((n_defs * 137) % 1000);
    snprintf(d->v[0], sizeof d->v[0], "%s", name);
    return d;
}

/* names: label names in sorted order after __name__ */
static void def_labels(series_def *d, const char *n1, const char *v1, const char *n2, const char *v2,
                       const char *n3, const char *v3)
{
    d->ls[0] = labels_make("__name__", d->v[0]);
    d->n = 1;
    const char *ns[3] = {n1, n2, n3}, *vs[3] = {v1, v2, v3};
    for (int i = 0; i < 3 && ns[i]; i++) {
        snprintf(d->v[i + 1], sizeof d->v[i + 1], "%s", vs[i]);
        d->ls[d->n++] = labels_make(ns[i], d->v[i + 1]);
    }
}

static void build_defs(void)
{
    char inst[16];
    n_defs = 0;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 8; i++) {
            series_def *d = def_new(K_COUNTER, "http_requests_total");
            snprintf(inst, sizeof inst, "i%d", i);
            def_labels(d, "instance", inst, "job", j ? "b" : "a", NULL, NULL);
            d->rate = 1 + i + 3 * j;
        }
    series_def *late = def_new(K_COUNTER, "http_requests_total");
    def_labels(late, "instance", "i0", "job", "c", NULL, NULL);
    late->rate = 2;
    late->only_after = 1;
    for (int h = 0; h < 4; h++)
        for (int b = 0; b < 5; b++) {
            series_def *d = def_new(K_BUCKET, "request_duration_seconds_bucket");
            snprintf(inst, sizeof inst, "i%d", h);
            def_labels(d, "instance", inst, "job", h % 2 ? "b" : "a", "le", les[b]);
            d->bucket = b;
        }
    for (int i = 0; i < 8; i++) {
        series_def *d = def_new(K_INFO, "build_info");
        snprintf(inst, sizeof inst, "i%d", i);
        char ver[8];
        snprintf(ver, sizeof ver, "v%d", i % 3);
        def_labels(d, "instance", inst, "version", ver, NULL, NULL);
    }
    for (int i = 0; i < 2; i++) {
        series_def *d = def_new(K_STALE, "stale_gauge");
        def_labels(d, "instance", i ? "s1" : "s0", NULL, NULL, NULL, NULL);
    }
}

/* Value of series d at scrape k; false = no sample at k. */
static bool sample_at(series_def *d, int k, double *v)
{
    switch (d->kind) {
    case K_COUNTER:
        if (rnd() < 0.002)
            d->val = 0; /* counter reset */
        d->val += d->rate * 15 * (0.5 + rnd());
        *v = d->val;
        return true;
    case K_BUCKET:
        /* cumulative: bucket b gets the observations of buckets 0..b; the
         * per-step counts depend only on (series group, k), so le buckets of
         * one histogram stay monotone */
        d->val += (double)((k * 7 + d->bucket * 3) % 5 + d->bucket * 2);
        *v = d->val;
        return true;
    case K_INFO:
        *v = 1;
        return true;
    default: {
        bool s1 = d->v[1][1] == '1';
        /* s0: stale at 1h, absent until 1.5h, stale again at 4h and gone.
         * s1: a stale marker at 2.5h with the next sample right after. */
        if (!s1) {
            if (k == 240 || k == 960) {
                *v = promql_stale_nan();
                return true;
            }
            if ((k > 240 && k < 360) || k > 960)
                return false;
        } else if (k == 600) {
            *v = promql_stale_nan();
            return true;
        }
        *v = sin(k / 37.0) * 100 + (s1 ? 1000 : 0);
        return true;
    }
    }
}

static void load(int from, int to, bool second)
{
    tsdb_appender *a = tsdb_appender_new(db);
    assert_non_null(a);
    char err[256];
    size_t batch = 0;
    for (int k = from; k < to; k++)
        for (size_t i = 0; i < n_defs; i++) {
            series_def *d = &defs[i];
            if (d->only_after && !second)
                continue;
            double v;
            if (!sample_at(d, k, &v))
                continue;
            int64_t t = T0 + k * SCRAPE_MS + d->off;
            assert_int_equal(promql_memstore_add(mem, d->ls, d->n, t, v), 0);
            int rc = tsdb_append(a, d->ls, d->n, t, v, NULL);
            if (rc != 0)
                fail_msg("tsdb_append: %s", tsdb_strerror(rc));
            if (promql_is_stale_nan(v))
                n_stale_written++;
            if (++batch == 1000) {
                assert_int_equal(tsdb_commit(a, err, sizeof err), 0);
                batch = 0;
            }
        }
    assert_int_equal(tsdb_commit(a, err, sizeof err), 0);
    tsdb_appender_free(a);
}

static void open_db(void)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    char err[256];
    if (tsdb_open(dbdir, &o, &db, err, sizeof err) != 0)
        fail_msg("tsdb_open: %s", err);
}

/* ---- comparing results ------------------------------------------------------ */

static char diff[1024];

/* NULL if equal, else a description of the first difference. */
static const char *result_diff(const promql_result *a, const promql_result *b)
{
    if (a->type != b->type)
        return snprintf(diff, sizeof diff, "type %d vs %d", (int)a->type, (int)b->type), diff;
    if (a->type == PROMQL_VALUE_SCALAR && (a->t != b->t || !same_bits(a->scalar, b->scalar)))
        return snprintf(diff, sizeof diff, "scalar %.17g@%lld vs %.17g@%lld", a->scalar, (long long)a->t,
                        b->scalar, (long long)b->t), diff;
    if (a->n_series != b->n_series)
        return snprintf(diff, sizeof diff, "%zu series vs %zu", a->n_series, b->n_series), diff;
    for (size_t i = 0; i < a->n_series; i++) {
        const promql_series *x = &a->series[i], *y = &b->series[i];
        char lx[256], ly[256];
        labels_format(x->labels, x->n_labels, lx, sizeof lx);
        labels_format(y->labels, y->n_labels, ly, sizeof ly);
        if (!labels_equal(x->labels, x->n_labels, y->labels, y->n_labels))
            return snprintf(diff, sizeof diff, "series %zu: %s vs %s", i, lx, ly), diff;
        if (x->n_points != y->n_points)
            return snprintf(diff, sizeof diff, "%s: %zu points vs %zu", lx, x->n_points, y->n_points), diff;
        for (size_t j = 0; j < x->n_points; j++)
            if (x->points[j].t != y->points[j].t || !same_bits(x->points[j].v, y->points[j].v))
                return snprintf(diff, sizeof diff, "%s point %zu: %.17g@%lld vs %.17g@%lld", lx, j,
                                x->points[j].v, (long long)x->points[j].t, y->points[j].v,
                                (long long)y->points[j].t), diff;
    }
    return NULL;
}

static size_t result_points(const promql_result *r)
{
    if (r->type == PROMQL_VALUE_SCALAR)
        return 1;
    size_t n = 0;
    for (size_t i = 0; i < r->n_series; i++)
        n += r->series[i].n_points;
    return n;
}

typedef struct query_case {
    const char *q;
    bool instant_only; /* range-vector result */
} query_case;

/* "@ AT" is replaced by a timestamp inside the data (seconds). */
static const query_case cases[] = {
    {"rate(http_requests_total[5m])", false},
    {"sum by (job) (rate(http_requests_total[5m]))", false},
    {"histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))", false},
    {"histogram_quantile(0.5, rate(request_duration_seconds_bucket{job=\"a\"}[10m]))", false},
    {"rate(http_requests_total[5m]) * on (instance) group_left (version) build_info", false},
    {"stale_gauge", false},
    {"count_over_time(stale_gauge[10m])", false},
    {"last_over_time(stale_gauge[20m]) + 0", false},
    {"timestamp(stale_gauge)", false},
    {"http_requests_total offset 10m", false},
    {"rate(http_requests_total[5m] offset 1h)", false},
    {"increase(http_requests_total[1h])", false},
    {"http_requests_total @ AT", false},
    {"rate(http_requests_total[5m] @ AT)", false},
    {"sum(stale_gauge @ AT offset -5m)", false},
    {"resets(http_requests_total{job=~\"a|c\"}[2h])", false},
    {"{__name__=~\"http_.*|build_.*\", instance!=\"i3\"}", false},
    {"http_requests_total{instance=\"i1\"}[10m]", true},
    {"stale_gauge[40m]", true},
    {"request_duration_seconds_bucket{instance=\"i2\"}[3m] offset 30m", true},
};

static promql_opts opts;

static int run_one(const promql_queryable *qa, const char *q, bool range, int64_t start, int64_t end,
                   int64_t step, promql_result *res)
{
    char err[512];
    int rc = range ? promql_query_range(&opts, qa, q, strlen(q), start, end, step, res, err, sizeof err)
                   : promql_query_instant(&opts, qa, q, strlen(q), start, res, err, sizeof err);
    if (rc < 0)
        fail_msg("%s: %s", q, err);
    return rc;
}

/* Runs every case on both queryables, range over [start, end] and instant at
 * several times (around block boundaries, markers and the ends); fails on
 * the first difference. Returns the number of points compared. */
static size_t compare_all(const promql_queryable *tq, int64_t start, int64_t end)
{
    promql_queryable mq = promql_memstore_queryable(mem);
    const int64_t at = T0 + 2 * HOUR_MS + 7777; /* @ target: between two block boundaries */
    const int64_t instants[] = {T0 + 90 * MIN_MS - 1, T0 + 90 * MIN_MS, T0 + 61 * MIN_MS, T0 + 150 * MIN_MS + 3,
                                T0 + 210 * MIN_MS + 30000, T0 + 241 * MIN_MS, end};
    size_t total = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char q[512];
        const char *p = strstr(cases[c].q, "@ AT");
        if (p)
            snprintf(q, sizeof q, "%.*s@ %lld.%03lld%s", (int)(p - cases[c].q), cases[c].q,
                     (long long)(at / 1000), (long long)(at % 1000), p + 4);
        else
            snprintf(q, sizeof q, "%s", cases[c].q);
        size_t case_points = 0;
        for (int mode = 0; mode < 2; mode++) {
            if (mode == 0 && cases[c].instant_only)
                continue;
            size_t ni = mode == 0 ? 1 : sizeof instants / sizeof *instants;
            for (size_t i = 0; i < ni; i++) {
                promql_result a, b;
                int64_t t = mode == 0 ? start : instants[i];
                run_one(&mq, q, mode == 0, t, end, 60000, &a);
                run_one(tq, q, mode == 0, t, end, 60000, &b);
                const char *d = result_diff(&a, &b);
                if (d)
                    fail_msg("%s (%s at %lld): memstore vs tsdb: %s", q, mode == 0 ? "range" : "instant",
                             (long long)t, d);
                case_points += result_points(&a);
                promql_result_free(&a);
                promql_result_free(&b);
            }
        }
        /* every case must have something to compare, or it tests nothing */
        if (case_points == 0)
            fail_msg("%s: empty on both stores", q);
        total += case_points;
    }
    return total;
}

/* ---- raw select -------------------------------------------------------------- */

static int cmp_series(const void *a, const void *b)
{
    const promql_series *x = a, *y = b;
    return labels_cmp(x->labels, x->n_labels, y->labels, y->n_labels);
}

/* Compares the raw selects of both queryables (sorted by labels, points
 * bit for bit); returns the number of stale markers seen. */
static size_t compare_select(const promql_queryable *tq, const char *re, int64_t mint, int64_t maxt,
                             const promql_select_hints *th, int64_t hmint, int64_t hmaxt, bool labels_only)
{
    promql_queryable mq = promql_memstore_queryable(mem);
    labels_matcher *m;
    char err[256];
    assert_int_equal(labels_matcher_new(LABELS_MATCH_RE, "__name__", 8, re, strlen(re), &m, err, sizeof err), 0);
    const labels_matcher *ms[1] = {m};
    promql_select_hints mh = {.start = hmint, .end = hmaxt};
    promql_series_set a, b;
    assert_int_equal(mq.select(mq.ctx, ms, 1, hmint, hmaxt, &mh, &a, err, sizeof err), 0);
    int rc = tq->select(tq->ctx, ms, 1, mint, maxt, th, &b, err, sizeof err);
    if (rc != 0)
        fail_msg("tsdb select: %s", err);
    assert_true(a.n_series > 0);
    assert_int_equal(a.n_series, b.n_series);
    qsort(a.series, a.n_series, sizeof *a.series, cmp_series);
    qsort(b.series, b.n_series, sizeof *b.series, cmp_series);
    size_t stale = 0;
    for (size_t i = 0; i < a.n_series; i++) {
        const promql_series *x = &a.series[i], *y = &b.series[i];
        assert_true(labels_equal(x->labels, x->n_labels, y->labels, y->n_labels));
        if (labels_only) {
            assert_int_equal(y->n_points, 0);
            continue;
        }
        assert_int_equal(x->n_points, y->n_points);
        for (size_t j = 0; j < x->n_points; j++) {
            assert_true(y->points[j].t >= hmint && y->points[j].t <= hmaxt);
            assert_int_equal(x->points[j].t, y->points[j].t);
            assert_true(same_bits(x->points[j].v, y->points[j].v));
            uint64_t bits;
            memcpy(&bits, &y->points[j].v, 8);
            if (bits == PROMQL_STALE_NAN_BITS)
                stale++;
        }
    }
    mq.release(mq.ctx, &a);
    tq->release(tq->ctx, &b);
    labels_matcher_free(m);
    return stale;
}

static void check_selects(const promql_queryable *tq, int64_t end)
{
    /* everything: each stale marker comes through bit for bit */
    assert_int_equal(compare_select(tq, ".+", T0 - HOUR_MS, end, NULL, T0 - HOUR_MS, end, false),
                     n_stale_written);
    /* a window across a block boundary */
    int64_t a = T0 + 80 * MIN_MS, b = T0 + 100 * MIN_MS + 1;
    compare_select(tq, "http_.*|stale_.*", a, b, NULL, a, b, false);
    /* hints narrower than [mint, maxt] are what is read, as in Prometheus */
    promql_select_hints h = {.start = a, .end = b, .step = 60000, .range = 300000, .func = "rate"};
    compare_select(tq, "http_.*", T0, end, &h, a, b, false);
    /* the label-only hint: same series, no points */
    promql_select_hints hs = {.start = T0, .end = end, .func = "series"};
    compare_select(tq, "http_.*", T0, end, &hs, T0, end, true);
}

/* ---- tests ------------------------------------------------------------------- */

static int setup(void **state)
{
    const char *base = getenv("TMPDIR");
    snprintf(dbdir, sizeof dbdir, "%s/aion-promql-tsdb-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(dbdir))
        return -1;
    mem = promql_memstore_new();
    promql_opts_init(&opts);
    build_defs();
    return mem ? 0 : -1;
}

static int teardown(void **state)
{
    tsdb_close(db);
    db = NULL;
    promql_memstore_free(mem);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbdir);
    if (system(cmd) != 0)
        fprintf(stderr, "rm -rf %s failed\n", dbdir);
    return 0;
}

static void test_head(void **state)
{
    open_db();
    load(0, STEPS1, false);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(n_stale_written, 3);
    promql_queryable tq = promql_tsdb_queryable(db);
    check_selects(&tq, T0 + STEPS1 * SCRAPE_MS);
    size_t n = compare_all(&tq, T0, T0 + STEPS1 * SCRAPE_MS);
    printf("head: %zu points identical\n", n);
    /* independent of the memstore: the marker of s0 at scrape 240 ends the
     * series until scrape 360 (no lookback over a stale marker) */
    promql_result r;
    run_one(&tq, "stale_gauge{instance=\"s0\"}", true, T0, T0 + STEPS1 * SCRAPE_MS, 60000, &r);
    assert_int_equal(r.n_series, 1);
    size_t before = 0, inside = 0;
    int64_t off = defs[n_defs - 2].off;
    for (size_t j = 0; j < r.series[0].n_points; j++) {
        int64_t t = r.series[0].points[j].t;
        if (t >= T0 + 240 * SCRAPE_MS + off && t < T0 + 360 * SCRAPE_MS + off)
            inside++;
        else if (t < T0 + 240 * SCRAPE_MS)
            before++;
    }
    assert_int_equal(inside, 0);
    assert_true(before >= 59);
    promql_result_free(&r);
}

static void test_blocks(void **state)
{
    char err[256];
    assert_int_equal(tsdb_flush_head(db, err, sizeof err), 0);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_true(st.blocks >= 3); /* the data crosses two 2h boundaries */
    assert_int_equal(st.head_series, 0);
    promql_queryable tq = promql_tsdb_queryable(db);
    check_selects(&tq, T0 + STEPS1 * SCRAPE_MS);
    size_t n = compare_all(&tq, T0, T0 + STEPS1 * SCRAPE_MS);
    printf("blocks: %zu points identical\n", n);
}

static void test_reopened_and_standalone_blocks(void **state)
{
    tsdb_close(db);
    db = NULL;
    /* standalone blocks, as storegw opens them */
    DIR *d = opendir(dbdir);
    assert_non_null(d);
    tsdb_block *blocks[16];
    size_t nb = 0;
    struct dirent *e;
    char path[512], err[256];
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 26)
            continue; /* ULIDs only */
        assert_true(nb < 16);
        snprintf(path, sizeof path, "%s/%s", dbdir, e->d_name);
        if (tsdb_block_open(path, &blocks[nb], err, sizeof err) != 0)
            fail_msg("block %s: %s", path, err);
        nb++;
    }
    closedir(d);
    assert_true(nb >= 3);
    promql_tsdb_blocks src = {blocks, nb};
    promql_queryable bq = promql_tsdb_blocks_queryable(&src);
    check_selects(&bq, T0 + STEPS1 * SCRAPE_MS);
    size_t n = compare_all(&bq, T0, T0 + STEPS1 * SCRAPE_MS);
    printf("standalone blocks: %zu points identical\n", n);
    for (size_t i = 0; i < nb; i++)
        tsdb_block_close(blocks[i]);

    open_db();
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, nb);
    promql_queryable tq = promql_tsdb_queryable(db);
    n = compare_all(&tq, T0, T0 + STEPS1 * SCRAPE_MS);
    printf("reopened: %zu points identical\n", n);
}

static void test_blocks_and_head(void **state)
{
    load(STEPS1, STEPS2, true);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_true(st.blocks >= 3);
    assert_true(st.head_series > 0);
    promql_queryable tq = promql_tsdb_queryable(db);
    check_selects(&tq, T0 + STEPS2 * SCRAPE_MS);
    /* range over all 6h: windows straddle the last block and the head */
    size_t n = compare_all(&tq, T0, T0 + STEPS2 * SCRAPE_MS);
    printf("blocks + head: %zu points identical\n", n);
}

/* The comparison must notice one changed sample: change a counter in the
 * memstore only (at an existing timestamp) and expect a difference. */
static void test_negative_control(void **state)
{
    promql_queryable mq = promql_memstore_queryable(mem), tq = promql_tsdb_queryable(db);
    series_def *d = &defs[3];
    assert_int_equal(d->kind, K_COUNTER);
    int64_t t = T0 + 500 * SCRAPE_MS + d->off;
    assert_int_equal(promql_memstore_add(mem, d->ls, d->n, t, 1e9), 0);
    const char *q = "rate(http_requests_total[5m])";
    promql_result a, b;
    run_one(&mq, q, true, T0, T0 + STEPS2 * SCRAPE_MS, 60000, &a);
    run_one(&tq, q, true, T0, T0 + STEPS2 * SCRAPE_MS, 60000, &b);
    assert_non_null(result_diff(&a, &b));
    promql_result_free(&a);
    promql_result_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_reopened_and_standalone_blocks),
        cmocka_unit_test(test_blocks_and_head),
        cmocka_unit_test(test_negative_control),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
