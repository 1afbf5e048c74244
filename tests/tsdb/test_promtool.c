/* Compatibility with the real promtool: a block written by tsdb_block_write
 * passes `promtool tsdb analyze` and `promtool tsdb dump` prints exactly the
 * samples written (values compared bit-exactly after parsing promtool's
 * shortest-repr %g; NaN and stale markers by text, as promtool prints both as
 * NaN). Skips (77) when promtool is not installed. */
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

static void copy_scratch(const char *db, const char *scratch)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s' '%s' && mkdir -p '%s/wal'", scratch, db,
             scratch, scratch);
    assert_int_equal(system(cmd), 0);
}

/* One dump line: {labels} value ts */
static int parse_line(char *line, char **lbl, char **val, int64_t *ts)
{
    char *sp2 = strrchr(line, ' ');
    if (!sp2)
        return -1;
    *sp2 = 0;
    char *sp1 = strrchr(line, ' ');
    if (!sp1)
        return -1;
    *sp1 = 0;
    *lbl = line;
    *val = sp1 + 1;
    *ts = strtoll(sp2 + 1, NULL, 10);
    return 0;
}

static void check_dump(td_data *d, char *out)
{
    size_t si = 0, k = 0, lines = 0;
    char want[512];
    if (d->n)
        td_format(&d->s[0], want, sizeof(want));
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *lbl = NULL, *val = NULL;
        int64_t ts;
        assert_int_equal(parse_line(line, &lbl, &val, &ts), 0);
        lines++;
        while (si < d->n && k == d->s[si].n) {
            si++;
            k = 0;
            if (si < d->n)
                td_format(&d->s[si], want, sizeof(want));
        }
        assert_true(si < d->n);
        if (strcmp(lbl, want)) {
            fprintf(stderr, "series mismatch: got %s want %s\n", lbl, want);
            fail();
        }
        const td_series *s = &d->s[si];
        assert_int_equal(ts, s->ts[k]);
        double wv = s->vs[k];
        if (isnan(wv)) {
            assert_string_equal(val, "NaN");
        } else {
            char *end;
            double got = strtod(val, &end);
            assert_true(*end == 0);
            uint64_t a, b;
            memcpy(&a, &got, 8);
            memcpy(&b, &wv, 8);
            if (a != b) {
                fprintf(stderr, "value mismatch at %s %lld: got %s want %.17g\n", lbl, (long long)ts, val, wv);
                fail();
            }
        }
        k++;
    }
    size_t total = 0;
    for (size_t i = 0; i < d->n; i++)
        total += d->s[i].n;
    assert_int_equal(lines, total);
}

static void test_promtool_block(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    char db[512], scratch[512], cmd[2048];
    snprintf(db, sizeof(db), "%s/db", root);
    snprintf(scratch, sizeof(scratch), "%s/scratch", root);
    assert_int_equal(mkdir(db, 0755), 0);

    td_data d;
    td_generate(&d, 30, 480, 1700006400000);
    labels_label ext[] = {labels_make("replica", "r0"), labels_make("tenant_id", "t1")};
    tsdb_block_write_opts o = {.external_labels = ext, .n_external_labels = 2,
                               .thanos_source = "receive", .compaction_level = 1};
    char ulid[27];
    assert_int_equal(td_write(&d, db, ulid, &o), 0);

    copy_scratch(db, scratch);
    int st;
    snprintf(cmd, sizeof(cmd), "promtool tsdb analyze '%s' %s 2>&1", scratch, ulid);
    char *out = run(cmd, &st);
    if (st != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, ulid));
    assert_non_null(strstr(out, "Series: 30"));
    free(out);

    /* --extended decodes every chunk. */
    copy_scratch(db, scratch);
    snprintf(cmd, sizeof(cmd), "promtool tsdb analyze --extended '%s' %s 2>&1", scratch, ulid);
    out = run(cmd, &st);
    if (st != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "100%: #"));
    free(out);

    snprintf(cmd, sizeof(cmd), "promtool tsdb list '%s' 2>&1", scratch);
    out = run(cmd, &st);
    assert_int_equal(st, 0);
    char want[128];
    /* ULID, mint, maxt, duration, samples, chunks, series */
    snprintf(want, sizeof(want), "%lld", (long long)(30 * 480));
    assert_non_null(strstr(out, ulid));
    assert_non_null(strstr(out, want));
    free(out);

    copy_scratch(db, scratch);
    snprintf(cmd, sizeof(cmd), "promtool tsdb dump '%s' 2>/dev/null", scratch);
    out = run(cmd, &st);
    assert_int_equal(st, 0);
    check_dump(&d, out);
    free(out);

    /* A selective dump goes through the postings. */
    copy_scratch(db, scratch);
    snprintf(cmd, sizeof(cmd), "promtool tsdb dump --match='{zone=\"a\"}' '%s' 2>/dev/null", scratch);
    out = run(cmd, &st);
    assert_int_equal(st, 0);
    size_t nz = 0;
    for (char *p = out; (p = strstr(p, "zone=\"a\"")); p++)
        nz++;
    size_t wantz = 0;
    for (size_t i = 0; i < d.n; i++)
        if (d.s[i].nls == 4 && d.s[i].ls[3].value[0] == 'a')
            wantz += d.s[i].n;
    assert_true(wantz > 0);
    assert_int_equal(nz, wantz);
    free(out);

    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* promtool honours the tombstones we write, exactly as our reader does. */
static void test_promtool_tombstones(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    char db[512], scratch[512], cmd[2048], dir[600];
    snprintf(db, sizeof(db), "%s/db", root);
    snprintf(scratch, sizeof(scratch), "%s/scratch", root);
    assert_int_equal(mkdir(db, 0755), 0);
    td_data d;
    td_generate(&d, 8, 300, 1700006400000);
    char ulid[27];
    assert_int_equal(td_write(&d, db, ulid, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/%s", db, ulid);
    assert_int_equal(td_tombstone(&d, dir), 0);
    copy_scratch(db, scratch);
    int st;
    snprintf(cmd, sizeof(cmd), "promtool tsdb dump '%s' 2>/dev/null", scratch);
    char *out = run(cmd, &st);
    assert_int_equal(st, 0);
    check_dump(&d, out);
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
        cmocka_unit_test(test_promtool_block),
        cmocka_unit_test(test_promtool_tombstones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
