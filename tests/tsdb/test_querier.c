/* Querier tests: k-way merge of block and head series sets (series only in
 * blocks, only in the head, in both), label names/values merged, time range
 * restriction across blocks, tsdb_querier_new_blocks, and isolation: a
 * querier sees what was committed before its creation and nothing after
 * (also when the open chunk is cut, series are created or out-of-order
 * samples arrive meanwhile), across several selects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_head_util.h"

#define HOUR 3600000LL

static tsdb_db *open_db(const char *dir)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.block_duration_ms = HOUR;
    o.wal_fsync = TSDB_FSYNC_NEVER;
    tsdb_db *db;
    char err[256];
    if (tsdb_open(dir, &o, &db, err, sizeof(err)))
        fail_msg("open: %s", err);
    return db;
}

static void add(tsdb_db *db, const char *job, const char *inst, int64_t from_min, int64_t to_min)
{
    tsdb_appender *a = tsdb_appender_new(db);
    labels_label ls[3] = {labels_make("__name__", "up"), labels_make("instance", inst), labels_make("job", job)};
    char err[128];
    for (int64_t m = from_min; m < to_min; m++)
        assert_int_equal(tsdb_append(a, ls, 3, m * 60000, (double)m, NULL), 0);
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_appender_free(a);
}

typedef struct got {
    char name[64];
    long n;
    int64_t first, last;
} got;

static int collect(tsdb_querier *q, const labels_matcher *m, got *out, int max)
{
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[128];
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    int k = 0;
    while (tsdb_series_set_next(ss) == 1) {
        assert_true(k < max);
        size_t nl, nc;
        const labels_label *l = tsdb_series_set_labels(ss, &nl);
        snprintf(out[k].name, sizeof(out[k].name), "%.*s/%.*s", (int)l[2].value_len, l[2].value,
                 (int)l[1].value_len, l[1].value);
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t, prev = INT64_MIN;
        double v;
        out[k].n = 0;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
            assert_true(t > prev);
            assert_true(v == (double)(t / 60000));
            if (!out[k].n)
                out[k].first = t;
            out[k].last = t;
            prev = t;
            out[k].n++;
        }
        tsdb_sample_iter_free(&it);
        k++;
    }
    tsdb_series_set_free(ss);
    return k;
}

static void test_merge_blocks_head(void **state)
{
    char *dir = th_tmpdir("querier");
    tsdb_db *db = open_db(dir);
    char err[256];
    /* a/1: hours 0-3 (blocks and head); b/1: hour 0 only (block only) */
    add(db, "b", "1", 0, 60);
    add(db, "a", "1", 0, 200);
    assert_int_equal(tsdb_maintain(db, 0, err, sizeof(err)), 0); /* cuts [0,1h) and [1h,2h) */
    /* c/1: head only; a/2: head only */
    add(db, "c", "1", 150, 160);
    add(db, "a", "2", 190, 200);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.blocks, 2);

    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "up");
    got g[8];
    int n = collect(q, m, g, 8);
    assert_int_equal(n, 4);
    assert_string_equal(g[0].name, "a/1");
    assert_int_equal(g[0].n, 200);
    assert_int_equal(g[0].first, 0);
    assert_int_equal(g[0].last, 199 * 60000);
    /* sorted by labels: instance comes before job */
    assert_string_equal(g[1].name, "b/1");
    assert_int_equal(g[1].n, 60);
    assert_string_equal(g[2].name, "c/1");
    assert_int_equal(g[2].n, 10);
    assert_string_equal(g[3].name, "a/2");
    assert_int_equal(g[3].n, 10);

    char **vals;
    size_t nv;
    assert_int_equal(tsdb_label_values(q, "job", NULL, 0, &vals, &nv, err, sizeof(err)), 0);
    assert_int_equal(nv, 3);
    assert_string_equal(vals[0], "a");
    assert_string_equal(vals[1], "b");
    assert_string_equal(vals[2], "c");
    tsdb_strings_free(vals, nv);
    labels_matcher *mi = th_m(LABELS_MATCH_EQ, "instance", "2");
    const labels_matcher *mis[1] = {mi};
    assert_int_equal(tsdb_label_values(q, "job", mis, 1, &vals, &nv, err, sizeof(err)), 0);
    assert_int_equal(nv, 1);
    assert_string_equal(vals[0], "a");
    tsdb_strings_free(vals, nv);
    assert_int_equal(tsdb_label_names(q, NULL, 0, &vals, &nv, err, sizeof(err)), 0);
    assert_int_equal(nv, 3);
    tsdb_strings_free(vals, nv);
    tsdb_querier_free(q);

    /* a range inside the second block only */
    assert_int_equal(tsdb_querier_new(db, 70 * 60000, 80 * 60000, &q), 0);
    n = collect(q, m, g, 8);
    assert_int_equal(n, 1); /* b/1 ended at minute 59; c and a/2 start later */
    assert_string_equal(g[0].name, "a/1");
    tsdb_querier_free(q);

    /* standalone blocks querier */
    tsdb_block *blocks[2];
    char path[600];
    int nb = 0;
    {
        tsdb_stats s2;
        tsdb_get_stats(db, &s2);
        assert_int_equal(s2.blocks, 2);
    }
    tsdb_close(db);
    /* find the block directories */
    FILE *p;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -v wal", dir);
    p = popen(cmd, "r");
    char line[128];
    while (p && fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, line);
        assert_true(nb < 2);
        assert_int_equal(tsdb_block_open(path, &blocks[nb], err, sizeof(err)), 0);
        nb++;
    }
    if (p)
        pclose(p);
    assert_int_equal(nb, 2);
    assert_int_equal(tsdb_querier_new_blocks(blocks, 2, INT64_MIN, INT64_MAX, &q), 0);
    n = collect(q, m, g, 8);
    assert_int_equal(n, 2);
    assert_string_equal(g[0].name, "a/1");
    assert_int_equal(g[0].n, 120);
    assert_string_equal(g[1].name, "b/1");
    tsdb_querier_free(q);
    tsdb_block_close(blocks[0]);
    tsdb_block_close(blocks[1]);
    labels_matcher_free(m);
    labels_matcher_free(mi);
    th_rmrf(dir);
    free(dir);
}

static long count_samples(tsdb_series_set *ss, int *nseries)
{
    long total = 0;
    *nseries = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nc;
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t, prev = INT64_MIN;
        double v;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
            assert_true(t > prev);
            prev = t;
            total++;
        }
        tsdb_sample_iter_free(&it);
        (*nseries)++;
    }
    return total;
}

static long select_count(tsdb_querier *q, labels_matcher *m, int *nseries)
{
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[128];
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    long n = count_samples(ss, nseries);
    tsdb_series_set_free(ss);
    return n;
}

static void test_isolation(void **state)
{
    char *dir = th_tmpdir("queriso");
    tsdb_options o;
    tsdb_options_init(&o);
    o.block_duration_ms = HOUR;
    o.wal_fsync = TSDB_FSYNC_NEVER;
    o.out_of_order_window_ms = HOUR;
    tsdb_db *db;
    char err[128];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    add(db, "a", "1", 0, 100);  /* open chunk with 100 samples */
    add(db, "a", "3", 10, 20);  /* will get out-of-order samples */
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "job", "a");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    /* after the querier and the select: 50 more samples (cuts the chunk at
     * 120), a new series, out-of-order samples, all committed */
    add(db, "a", "1", 100, 150);
    add(db, "a", "2", 0, 10);
    add(db, "a", "3", 0, 5);
    int ns;
    assert_int_equal(count_samples(ss, &ns), 110);
    assert_int_equal(ns, 2);
    tsdb_series_set_free(ss);
    /* a second select in the same querier: still the state at its creation */
    assert_int_equal(select_count(q, m, &ns), 110);
    assert_int_equal(ns, 2);
    /* a new querier sees everything */
    tsdb_querier *q2;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q2), 0);
    assert_int_equal(select_count(q2, m, &ns), 150 + 10 + 15);
    assert_int_equal(ns, 3);
    /* more commits: q keeps its view, q2 its own */
    add(db, "a", "1", 150, 160);
    add(db, "a", "3", 5, 8);
    assert_int_equal(select_count(q, m, &ns), 110);
    assert_int_equal(select_count(q2, m, &ns), 175);
    tsdb_querier_free(q);
    tsdb_querier_free(q2);
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    assert_int_equal(select_count(q, m, &ns), 175 + 10 + 3);
    tsdb_querier_free(q);
    labels_matcher_free(m);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_blocks_head),
        cmocka_unit_test(test_isolation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
