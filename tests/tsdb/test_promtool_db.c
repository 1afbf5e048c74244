/* End to end across both halves of lib/tsdb: samples appended through the
 * db API (head, WAL), cut into blocks by tsdb_flush_head, are exactly what
 * the real `promtool tsdb dump` prints from the db directory. Skips (77)
 * without promtool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_block_data.h"

static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0, cap = 1 << 20;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    *status = pclose(p);
    return buf;
}

static void test_db_blocks_promtool(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    char db[512], scratch[512], cmd[4096], err[256];
    snprintf(db, sizeof(db), "%s/db", root);
    snprintf(scratch, sizeof(scratch), "%s/scratch", root);

    /* 2 h of data starting 1 h into a 2 h block range: two blocks. */
    td_data d;
    td_generate(&d, 20, 480, 1700006400000 + 3600000);
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    tsdb_db *h;
    assert_int_equal(tsdb_open(db, &o, &h, err, sizeof(err)), 0);
    tsdb_appender *a = tsdb_appender_new(h);
    assert_non_null(a);
    /* interleave series by time, as scrapes do */
    for (size_t i = 0; i < 480; i++) {
        for (size_t k = 0; k < d.n; k++) {
            int rc = tsdb_append(a, d.s[k].ls, d.s[k].nls, d.s[k].ts[i], d.s[k].vs[i], NULL);
            if (rc)
                fail_msg("append: %s", tsdb_strerror(rc));
        }
        if (i % 50 == 49)
            assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    }
    assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    tsdb_appender_free(a);
    if (tsdb_flush_head(h, err, sizeof(err)))
        fail_msg("flush: %s", err);
    tsdb_stats st;
    tsdb_get_stats(h, &st);
    assert_true(st.blocks >= 2);
    assert_int_equal(tsdb_close(h), 0);

    /* Only the blocks: an empty wal/ so promtool does not replay anything. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s' && rm -rf '%s/wal' '%s/chunks_head' && mkdir '%s/wal'",
             scratch, db, scratch, scratch, scratch, scratch);
    assert_int_equal(system(cmd), 0);
    int status;
    snprintf(cmd, sizeof(cmd), "promtool tsdb dump '%s' 2>/dev/null", scratch);
    char *out = run(cmd, &status);
    assert_int_equal(status, 0);

    /* Same comparison as test_promtool.c: per series, in order. */
    size_t si = 0, k = 0, lines = 0;
    char want[512];
    td_format(&d.s[0], want, sizeof(want));
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *sp2 = strrchr(line, ' ');
        assert_non_null(sp2);
        *sp2 = 0;
        char *sp1 = strrchr(line, ' ');
        assert_non_null(sp1);
        *sp1 = 0;
        int64_t ts = strtoll(sp2 + 1, NULL, 10);
        const char *val = sp1 + 1;
        while (si < d.n && k == d.s[si].n) {
            si++;
            k = 0;
            if (si < d.n)
                td_format(&d.s[si], want, sizeof(want));
        }
        assert_true(si < d.n);
        if (strcmp(line, want))
            fail_msg("series %s, want %s", line, want);
        assert_int_equal(ts, d.s[si].ts[k]);
        double wv = d.s[si].vs[k];
        if (isnan(wv)) {
            assert_string_equal(val, "NaN");
        } else {
            double got = strtod(val, NULL);
            if (memcmp(&got, &wv, 8))
                fail_msg("%s at %lld: got %s want %.17g", line, (long long)ts, val, wv);
        }
        k++;
        lines++;
    }
    assert_int_equal(lines, d.n * 480);
    free(out);
    td_free(&d);
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
        cmocka_unit_test(test_db_blocks_promtool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
