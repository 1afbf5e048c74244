/* Head tests: append/select, sample-level errors, out-of-order window, stale
 * markers, limits, postings with all matcher types, label names/values,
 * concurrent appenders with a concurrent querier. No WAL (see test_wal.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "test_head_util.h"

static tsdb_db *open_mem(const char *dir, size_t max_series, int64_t ooo)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.no_wal = true;
    o.max_series = max_series;
    o.out_of_order_window_ms = ooo;
    tsdb_db *db = NULL;
    char err[256];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    return db;
}

static void test_append_select(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 0);
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    /* 10 series x 300 samples: several chunks each (120 per chunk) */
    tsdb_ref refs[10];
    for (int i = 0; i < 10; i++) {
        th_make(&s, i % 2 ? "odd" : "even", i);
        assert_int_equal(tsdb_append(a, s.ls, 2, 0, 0.0, &refs[i]), 0);
        assert_true(refs[i] != 0);
    }
    for (int t = 1; t < 300; t++)
        for (int i = 0; i < 10; i++)
            assert_int_equal(tsdb_append_ref(a, refs[i], t * 1000, (double)t), 0);
    char err[256];
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);

    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 10);
    assert_int_equal(st.samples_appended, 3000);
    assert_int_equal(st.head_mint, 0);
    assert_int_equal(st.head_maxt, 299000);
    assert_true(st.head_chunks >= 30);

    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, 0, 299000, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "odd");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    int n = 0;
    const char *want[] = {"1", "3", "5", "7", "9"}; /* sorted by labels: id as string */
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl, nc;
        const labels_label *l = tsdb_series_set_labels(ss, &nl);
        assert_int_equal(nl, 2);
        assert_memory_equal(l[1].value, want[n], l[1].value_len);
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        assert_int_equal(nc, 3);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, 0, 299000);
        int64_t t;
        double v;
        int k = 0;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
            assert_int_equal(t, k * 1000);
            assert_true(v == (double)k);
            k++;
        }
        tsdb_sample_iter_free(&it);
        assert_int_equal(k, 300);
        n++;
    }
    assert_int_equal(n, 5);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);

    /* time range restriction: only chunks overlapping [100000, 110000] */
    tsdb_querier_free(q);
    assert_int_equal(tsdb_querier_new(db, 100000, 110000, &q), 0);
    m = th_m(LABELS_MATCH_EQ, "id", "4");
    size_t ns, nsamp;
    assert_int_equal(th_count(q, m, &ns, &nsamp, NULL), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(nsamp, 120); /* the chunk [0, 119000] overlaps */
    labels_matcher_free(m);
    tsdb_querier_free(q);
    tsdb_appender_free(a);
    assert_int_equal(tsdb_close(db), 0);
    th_rmrf(dir);
    free(dir);
}

static void test_sample_errors(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 0);
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    th_make(&s, "m", 1);
    tsdb_ref r;
    char err[256];
    assert_int_equal(tsdb_append(a, s.ls, 2, 1000, 1.0, &r), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    assert_int_equal(tsdb_append_ref(a, r, 500, 1.0), TSDB_ERR_OUT_OF_ORDER);
    assert_int_equal(tsdb_append_ref(a, r, 1000, 2.0), TSDB_ERR_DUPLICATE);
    assert_int_equal(tsdb_append_ref(a, r, 1000, 1.0), 0); /* identical: accepted, no-op */
    assert_int_equal(tsdb_append_ref(a, r, 2000, tsdb_stale_nan()), 0);
    assert_int_equal(tsdb_append_ref(a, 987654, 3000, 1.0), TSDB_ERR_NOT_FOUND);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    assert_string_equal(tsdb_strerror(TSDB_ERR_OUT_OF_ORDER), "out of order sample");

    /* rollback leaves nothing visible */
    assert_int_equal(tsdb_append_ref(a, r, 5000, 5.0), 0);
    tsdb_rollback(a);

    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, 0, 10000, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "id", "1");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    assert_int_equal(tsdb_series_set_next(ss), 1);
    size_t nc;
    const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
    tsdb_sample_iter it;
    tsdb_sample_iter_init(&it, c, nc, 0, 10000);
    int64_t t;
    double v;
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
    assert_int_equal(t, 1000);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
    assert_int_equal(t, 2000);
    uint64_t bits;
    memcpy(&bits, &v, 8);
    assert_true(bits == TSDB_STALE_NAN_BITS); /* bit-exact */
    assert_true(tsdb_is_stale_nan(v));
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
    tsdb_sample_iter_free(&it);
    assert_int_equal(tsdb_series_set_next(ss), 0);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

static void test_ooo_window(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 10000);
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    th_make(&s, "m", 1);
    tsdb_ref r;
    char err[256];
    assert_int_equal(tsdb_append(a, s.ls, 2, 20000, 20.0, &r), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    assert_int_equal(tsdb_append_ref(a, r, 15000, 15.0), 0);  /* within window */
    assert_int_equal(tsdb_append_ref(a, r, 12000, 12.0), 0);
    assert_int_equal(tsdb_append_ref(a, r, 5000, 5.0), TSDB_ERR_OUT_OF_ORDER); /* beyond */
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    assert_int_equal(tsdb_append_ref(a, r, 15000, 16.0), TSDB_ERR_DUPLICATE);
    assert_int_equal(tsdb_append_ref(a, r, 25000, 25.0), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);

    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, 0, 30000, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "m");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    assert_int_equal(tsdb_series_set_next(ss), 1);
    size_t nc;
    const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
    tsdb_sample_iter it;
    tsdb_sample_iter_init(&it, c, nc, 0, 30000);
    int64_t want[] = {12000, 15000, 20000, 25000}, t;
    double v;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
        assert_int_equal(t, want[i]);
        assert_true(v == (double)(want[i] / 1000));
    }
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
    tsdb_sample_iter_free(&it);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

static void test_limits(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 5, 0);
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    char err[256];
    for (int i = 0; i < 5; i++) {
        th_make(&s, "m", i);
        assert_int_equal(tsdb_append(a, s.ls, 2, 1000, 1.0, NULL), 0);
    }
    th_make(&s, "m", 99);
    assert_int_equal(tsdb_append(a, s.ls, 2, 1000, 1.0, NULL), TSDB_ERR_LIMIT);
    th_make(&s, "m", 3); /* existing series keep flowing */
    assert_int_equal(tsdb_append(a, s.ls, 2, 2000, 1.0, NULL), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 5);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

static void test_memory_limit(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_options o;
    tsdb_options_init(&o);
    o.no_wal = true;
    o.max_head_bytes = 256 * 1024;
    tsdb_db *db;
    char err[256];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    long n = 0;
    int rc;
    while ((rc = (th_make(&s, "m", n), tsdb_append(a, s.ls, 2, 1000, 1.0, NULL))) == 0 && n < 100000)
        n++;
    assert_int_equal(rc, TSDB_ERR_LIMIT);
    assert_true(n > 100); /* the estimate is a few hundred bytes per series */
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, (size_t)n);
    assert_true(st.head_bytes >= 256 * 1024 && st.head_bytes < 300 * 1024);
    /* existing series keep flowing */
    th_make(&s, "m", 0);
    assert_int_equal(tsdb_append(a, s.ls, 2, 2000, 2.0, NULL), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

static void test_matchers_and_labels(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 0);
    tsdb_appender *a = tsdb_appender_new(db);
    char err[256];
    /* job in {a,b}, i 0..9; series with i even also have "env"="prod" */
    for (int j = 0; j < 2; j++) {
        for (int i = 0; i < 10; i++) {
            char iv[8];
            snprintf(iv, sizeof(iv), "%d", i);
            labels_label ls[4];
            size_t n = 0;
            ls[n++] = labels_make("__name__", "up");
            if (i % 2 == 0)
                ls[n++] = labels_make("env", "prod");
            ls[n++] = labels_make("i", iv);
            ls[n++] = labels_make("job", j ? "b" : "a");
            assert_int_equal(tsdb_append(a, ls, n, 1000, 1.0, NULL), 0);
        }
    }
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, 0, 2000, &q), 0);
    struct {
        labels_match_type t;
        const char *n, *v;
        size_t want;
    } cases[] = {
        {LABELS_MATCH_EQ, "job", "a", 10},
        {LABELS_MATCH_NEQ, "job", "a", 10},
        {LABELS_MATCH_RE, "i", "1|2|3", 6},
        {LABELS_MATCH_RE, "i", "[0-4]", 10},
        {LABELS_MATCH_NRE, "i", "[0-4]", 10},
        {LABELS_MATCH_EQ, "env", "", 10},     /* missing label */
        {LABELS_MATCH_NEQ, "env", "", 10},
        {LABELS_MATCH_RE, "env", "prod|", 20},
        {LABELS_MATCH_RE, "nope", ".*", 20},
        {LABELS_MATCH_RE, "nope", ".+", 0},
        {LABELS_MATCH_EQ, "job", "zzz", 0},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        labels_matcher *m = th_m(cases[c].t, cases[c].n, cases[c].v);
        size_t ns, nsamp;
        assert_int_equal(th_count(q, m, &ns, &nsamp, NULL), 0);
        if (ns != cases[c].want)
            fail_msg("case %zu: %s %s: got %zu series, want %zu", c, cases[c].n, cases[c].v, ns, cases[c].want);
        labels_matcher_free(m);
    }
    /* two matchers intersect */
    labels_matcher *m1 = th_m(LABELS_MATCH_EQ, "job", "b"), *m2 = th_m(LABELS_MATCH_EQ, "env", "prod");
    const labels_matcher *ms[2] = {m1, m2};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 2, &ss, err, sizeof(err)), 0);
    int n = 0;
    while (tsdb_series_set_next(ss) == 1)
        n++;
    assert_int_equal(n, 5);
    tsdb_series_set_free(ss);

    char **out;
    size_t nout;
    assert_int_equal(tsdb_label_names(q, NULL, 0, &out, &nout, err, sizeof(err)), 0);
    assert_int_equal(nout, 4);
    assert_string_equal(out[0], "__name__");
    assert_string_equal(out[1], "env");
    assert_string_equal(out[2], "i");
    assert_string_equal(out[3], "job");
    tsdb_strings_free(out, nout);
    assert_int_equal(tsdb_label_values(q, "job", NULL, 0, &out, &nout, err, sizeof(err)), 0);
    assert_int_equal(nout, 2);
    assert_string_equal(out[0], "a");
    assert_string_equal(out[1], "b");
    tsdb_strings_free(out, nout);
    const labels_matcher *ms1[1] = {m2};
    assert_int_equal(tsdb_label_values(q, "i", ms1, 1, &out, &nout, err, sizeof(err)), 0);
    assert_int_equal(nout, 5);
    assert_string_equal(out[0], "0");
    assert_string_equal(out[4], "8");
    tsdb_strings_free(out, nout);
    labels_matcher *m3 = th_m(LABELS_MATCH_EQ, "i", "1");
    const labels_matcher *ms3[1] = {m3};
    assert_int_equal(tsdb_label_names(q, ms3, 1, &out, &nout, err, sizeof(err)), 0);
    assert_int_equal(nout, 3); /* odd i: no env */
    tsdb_strings_free(out, nout);
    labels_matcher_free(m1);
    labels_matcher_free(m2);
    labels_matcher_free(m3);
    tsdb_querier_free(q);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

/* Broad selects reuse a cached sort of all series; it must stay complete and
 * ordered when series are added. */
static void check_sorted(tsdb_db *db, labels_matcher *m, size_t want)
{
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[128];
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    labels_label prev[3];
    char pbuf[3][64];
    size_t n = 0, pn = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl;
        const labels_label *l = tsdb_series_set_labels(ss, &nl);
        if (n > 0)
            assert_true(labels_cmp(prev, pn, l, nl) < 0);
        assert_true(nl <= 3);
        for (size_t i = 0; i < nl; i++) {
            snprintf(pbuf[i], sizeof(pbuf[i]), "%.*s", (int)l[i].value_len, l[i].value);
            prev[i] = l[i];
            prev[i].value = pbuf[i];
        }
        pn = nl;
        n++;
    }
    assert_int_equal(n, want);
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
}

static void test_broad_select_cache(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 0);
    tsdb_appender *a = tsdb_appender_new(db);
    char err[256];
    /* ids created in an order unrelated to label order */
    for (long i = 0; i < 6000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%ld", (i * 7919) % 6000);
        labels_label ls[3] = {labels_make("__name__", i % 3 ? "ma" : "mb"), labels_make("id", id),
                              labels_make("job", i % 2 ? "x" : "y")};
        assert_int_equal(tsdb_append(a, ls, 3, 1000, 1.0, NULL), 0);
    }
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    labels_matcher *all = th_m(LABELS_MATCH_RE, "__name__", "m.*");
    labels_matcher *job = th_m(LABELS_MATCH_EQ, "job", "x");
    check_sorted(db, all, 6000);
    check_sorted(db, all, 6000); /* from the cache */
    check_sorted(db, job, 3000);
    for (long i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof(id), "new%ld", i);
        labels_label ls[3] = {labels_make("__name__", "ma"), labels_make("id", id), labels_make("job", "x")};
        assert_int_equal(tsdb_append(a, ls, 3, 2000, 1.0, NULL), 0);
    }
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    check_sorted(db, all, 6010);
    check_sorted(db, job, 3010);
    /* invalid label sets are refused for new series */
    labels_label bad[2] = {labels_make("b", "1"), labels_make("a", "2")};
    assert_int_equal(tsdb_append(a, bad, 2, 3000, 1.0, NULL), -EINVAL);
    assert_int_equal(tsdb_append(a, bad, 0, 3000, 1.0, NULL), -EINVAL);
    labels_label dup[2] = {labels_make("a", "1"), labels_make("a", "2")};
    assert_int_equal(tsdb_append(a, dup, 2, 3000, 1.0, NULL), -EINVAL);
    tsdb_rollback(a);
    labels_matcher_free(all);
    labels_matcher_free(job);
    tsdb_appender_free(a);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

/* ---- concurrency ---------------------------------------------------------------- */

#define CW 3        /* writer threads */
#define CSER 200    /* series per writer */
#define CSAMP 400   /* samples per series */

typedef struct cctx {
    tsdb_db *db;
    int w;
    atomic_int *done;
} cctx;

static void *writer(void *arg)
{
    cctx *c = arg;
    tsdb_appender *a = tsdb_appender_new(c->db);
    tsdb_ref refs[CSER];
    th_series s;
    char name[16], err[128];
    snprintf(name, sizeof(name), "w%d", c->w);
    for (int i = 0; i < CSER; i++) {
        th_make(&s, name, i);
        if (tsdb_append(a, s.ls, 2, 0, 1.0, &refs[i]) != 0)
            abort();
    }
    if (tsdb_commit(a, err, sizeof(err)) != 0)
        abort();
    for (int t = 1; t < CSAMP; t++) {
        for (int i = 0; i < CSER; i++)
            if (tsdb_append_ref(a, refs[i], t * 1000, 1.0) != 0)
                abort();
        if (tsdb_commit(a, err, sizeof(err)) != 0)
            abort();
    }
    tsdb_appender_free(a);
    atomic_fetch_add(c->done, 1);
    return NULL;
}

static void test_concurrent(void **state)
{
    char *dir = th_tmpdir("head");
    tsdb_db *db = open_mem(dir, 0, 0);
    atomic_int done = 0;
    pthread_t th[CW];
    cctx cc[CW];
    for (int i = 0; i < CW; i++) {
        cc[i] = (cctx){db, i, &done};
        pthread_create(&th[i], NULL, writer, &cc[i]);
    }
    /* a querier running alongside: each select sees whole commits, so within
     * one writer every series has the same number of samples */
    labels_matcher *m = th_m(LABELS_MATCH_RE, "__name__", "w.*");
    int rounds = 0;
    while (atomic_load(&done) < CW || rounds < 3) {
        tsdb_querier *q;
        assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
        const labels_matcher *ms[1] = {m};
        tsdb_series_set *ss;
        char err[128];
        assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
        long per[CW];
        for (int i = 0; i < CW; i++)
            per[i] = -1;
        while (tsdb_series_set_next(ss) == 1) {
            size_t nl, nc;
            const labels_label *l = tsdb_series_set_labels(ss, &nl);
            int w = l[0].value[1] - '0';
            const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
            tsdb_sample_iter it;
            tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
            int64_t t, prev = -1;
            double v;
            long k = 0;
            while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
                assert_true(t > prev);
                prev = t;
                k++;
            }
            tsdb_sample_iter_free(&it);
            if (per[w] < 0)
                per[w] = k;
            assert_int_equal(per[w], k);
        }
        tsdb_series_set_free(ss);
        tsdb_querier_free(q);
        rounds++;
    }
    for (int i = 0; i < CW; i++)
        pthread_join(th[i], NULL);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    size_t ns, nsamp;
    assert_int_equal(th_count(q, m, &ns, &nsamp, NULL), 0);
    assert_int_equal(ns, CW * CSER);
    assert_int_equal(nsamp, (size_t)CW * CSER * CSAMP);
    tsdb_querier_free(q);
    labels_matcher_free(m);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_select),
        cmocka_unit_test(test_sample_errors),
        cmocka_unit_test(test_ooo_window),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_memory_limit),
        cmocka_unit_test(test_matchers_and_labels),
        cmocka_unit_test(test_broad_select_cache),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
