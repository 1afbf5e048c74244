/* Reading blocks made by the real promtool (create-blocks-from openmetrics):
 * every sample of the input file comes back bit-exactly, per block and
 * through tsdb_querier_new_blocks. The test is skipped (77) without promtool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include "block_read.h"
#include "test_block_data.h"
#include "ulid.h"

static labels_matcher *mm(labels_match_type t, const char *n, const char *v)
{
    labels_matcher *m;
    char err[256];
    assert_int_equal(labels_matcher_new(t, n, strlen(n), v, strlen(v), &m, err, sizeof(err)), 0);
    return m;
}

static uint64_t u64(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

/* ---- blocks made by promtool ------------------------------------------------------ */

struct om_series {
    const char *metric, *labels; /* labels as in the exposition, sorted, without name */
    int64_t ts[1300];
    double vs[1300];
    size_t n, got;
};

static void test_block_read_promtool(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    char path[600], out[600], cmd[2000], err[256];
    snprintf(path, sizeof(path), "%s/input.om", root);
    snprintf(out, sizeof(out), "%s/blocks", root);
    static struct om_series s[] = {
        {.metric = "temperature_celsius", .labels = "room=\"a\",site=\"x\""},
        {.metric = "temperature_celsius", .labels = "room=\"b\",site=\"x\""},
        {.metric = "queue_depth", .labels = "instance=\"h1:80\",job=\"q\""},
        {.metric = "queue_depth", .labels = "instance=\"h2:80\",job=\"q\""},
    };
    const size_t ns = sizeof(s) / sizeof(s[0]);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    double walk = 0;
    for (size_t k = 0; k < ns; k++) {
        if (k == 0 || strcmp(s[k].metric, s[k - 1].metric))
            fprintf(f, "# TYPE %s gauge\n", s[k].metric);
        s[k].n = 1200;
        s[k].got = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            int64_t t = 1700000000000 + (int64_t)i * 15000 + (int64_t)k * 500;
            uint64_t r = td_rand() % 50;
            double v;
            const char *txt = NULL;
            char buf[64];
            if (r == 0) {
                v = NAN;
                txt = "NaN";
            } else if (r == 1) {
                v = INFINITY;
                txt = "+Inf";
            } else if (r == 2) {
                v = -INFINITY;
                txt = "-Inf";
            } else {
                walk += ((double)(td_rand() % 20001) - 10000) / 7.0;
                v = r == 3 ? walk * 1e300 : walk;
                snprintf(buf, sizeof(buf), "%.17g", v);
                txt = buf;
                v = strtod(buf, NULL);
            }
            s[k].ts[i] = t;
            s[k].vs[i] = v;
            fprintf(f, "%s{%s} %s %lld.%03lld\n", s[k].metric, s[k].labels, txt, (long long)(t / 1000),
                    (long long)(t % 1000));
        }
    }
    fprintf(f, "# EOF\n");
    fclose(f);
    snprintf(cmd, sizeof(cmd), "promtool tsdb create-blocks-from openmetrics '%s' '%s' >/dev/null 2>&1",
             path, out);
    assert_int_equal(system(cmd), 0);

    /* Open every block, then read them in time order (ULIDs carry the
     * creation time, not minTime, so directory order means nothing). */
    DIR *dh = opendir(out);
    assert_non_null(dh);
    struct dirent *e;
    tsdb_block *blocks[16];
    int nblocks = 0;
    uint64_t total = 0;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1200];
        snprintf(dir, sizeof(dir), "%s/%s", out, e->d_name);
        assert_true(nblocks < 16);
        if (tsdb_block_open(dir, &blocks[nblocks], err, sizeof(err)))
            fail_msg("open %s: %s", dir, err);
        /* promtool's ULID carries its creation time: decode it as we do. */
        tsdb_ulid u;
        assert_true(tsdb_ulid_parse(tsdb_block_get_meta(blocks[nblocks])->ulid, &u));
        int64_t age = (int64_t)time(NULL) * 1000 - (int64_t)tsdb_ulid_time(&u);
        assert_true(age > -600000 && age < 600000);
        nblocks++;
    }
    closedir(dh);
    for (int i = 1; i < nblocks; i++)
        for (int j = i; j > 0 && tsdb_block_get_meta(blocks[j - 1])->mint > tsdb_block_get_meta(blocks[j])->mint; j--) {
            tsdb_block *t = blocks[j];
            blocks[j] = blocks[j - 1];
            blocks[j - 1] = t;
        }
    for (int bi = 0; bi < nblocks; bi++) {
        tsdb_block *b = blocks[bi];
        labels_matcher *m = mm(LABELS_MATCH_RE, "__name__", ".+");
        tsdb_series_set *ss;
        assert_int_equal(tsdb_block_select(b, INT64_MIN, INT64_MAX, (const labels_matcher *const *)&m, 1,
                                           &ss, err, sizeof(err)),
                         0);
        int rc;
        while ((rc = tsdb_series_set_next(ss)) == 1) {
            size_t nl, nc;
            const labels_label *ls = tsdb_series_set_labels(ss, &nl);
            /* Rebuild `a="b",c="d"` without __name__ to find the input series. */
            char lb[256] = "";
            size_t o = 0;
            for (size_t i = 1; i < nl; i++)
                o += (size_t)snprintf(lb + o, sizeof(lb) - o, "%s%.*s=\"%.*s\"", i > 1 ? "," : "",
                                      (int)ls[i].name_len, ls[i].name, (int)ls[i].value_len, ls[i].value);
            struct om_series *want = NULL;
            for (size_t k = 0; k < ns; k++)
                if (!strncmp(ls[0].value, s[k].metric, ls[0].value_len) &&
                    strlen(s[k].metric) == ls[0].value_len && !strcmp(lb, s[k].labels))
                    want = &s[k];
            assert_non_null(want);
            const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
            tsdb_sample_iter it;
            tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
            int64_t t;
            double v;
            while ((rc = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
                assert_true(want->got < want->n);
                assert_int_equal(t, want->ts[want->got]);
                if (isnan(want->vs[want->got]))
                    assert_true(isnan(v) && !tsdb_is_stale_nan(v));
                else
                    assert_int_equal(u64(v), u64(want->vs[want->got]));
                want->got++;
                total++;
            }
            assert_int_equal(rc, 0);
            tsdb_sample_iter_free(&it);
        }
        assert_int_equal(rc, 0);
        tsdb_series_set_free(ss);
        labels_matcher_free(m);
        assert_true(tsdb_block_get_meta(b)->num_samples > 0);
    }
    assert_true(nblocks >= 3);
    for (size_t k = 0; k < ns; k++)
        assert_int_equal(s[k].got, s[k].n);
    assert_int_equal(total, ns * 1200);

    /* The same through a querier over all blocks (series merged across
     * blocks by querier.c): each series once, all its samples in order. */
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new_blocks(blocks, (size_t)nblocks, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = mm(LABELS_MATCH_RE, "__name__", ".+");
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, (const labels_matcher *const *)&m, 1, &ss, err, sizeof(err)), 0);
    size_t nseries = 0;
    int rc;
    while ((rc = tsdb_series_set_next(ss)) == 1) {
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
        const struct om_series *want = NULL;
        /* The second label's value identifies the series (rooms a/b, hosts h1:80/h2:80). */
        assert_true(nl == 3);
        for (size_t k = 0; k < ns; k++) {
            char needle[64];
            snprintf(needle, sizeof(needle), "\"%.*s\"", (int)ls[1].value_len, ls[1].value);
            if (strstr(s[k].labels, needle))
                want = &s[k];
        }
        assert_non_null(want);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        size_t i = 0;
        while ((rc = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
            assert_true(i < want->n);
            assert_int_equal(t, want->ts[i]);
            assert_true(isnan(v) ? isnan(want->vs[i]) : u64(v) == u64(want->vs[i]));
            i++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(i, want->n);
        tsdb_sample_iter_free(&it);
        nseries++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(nseries, ns);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
    for (int bi = 0; bi < nblocks; bi++)
        tsdb_block_close(blocks[bi]);
    td_rm_rf(root);
    free(root);
}

int main(void)
{
    if (system("promtool --version >/dev/null 2>&1") != 0) {
        printf("SKIPPED: promtool not installed (scripts/install-deps --test)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_read_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
