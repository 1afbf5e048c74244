/* Block round trip (tsdb_block_write -> tsdb_block_open/select/labels):
 * every sample must come back bit-exactly. Blocks made by promtool are read
 * in test_block_promtool.c. Expected results are computed
 * from the generated input (brute-force matcher evaluation), never from our
 * own earlier output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "block_read.h"
#include "blockio.h"
#include "chunks_file.h"
#include "index_read.h"
#include "ulid.h"
#include "test_block_data.h"

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

/* Selects with ms over [mint, maxt] and checks the result equals the
 * generated series that match and have samples in range. */
static void check_select(tsdb_block *b, td_data *d, labels_matcher **ms, size_t nm, int64_t mint,
                         int64_t maxt)
{
    tsdb_series_set *ss;
    char err[256];
    assert_int_equal(tsdb_block_select(b, mint, maxt, (const labels_matcher *const *)ms, nm, &ss, err,
                                       sizeof(err)),
                     0);
    size_t want_series = 0;
    for (size_t i = 0; i < d->n; i++) {
        const td_series *s = &d->s[i];
        if (!labels_matches((const labels_matcher *const *)ms, nm, s->ls, s->nls))
            continue;
        bool any = false;
        for (size_t c = 0; c < s->nchunks; c++)
            any |= s->chunks[c].maxt >= mint && s->chunks[c].mint <= maxt;
        if (!any)
            continue;
        want_series++;
        assert_int_equal(tsdb_series_set_next(ss), 1);
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        assert_true(labels_equal(ls, nl, s->ls, s->nls));
        const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, cs, nc, mint, maxt);
        int64_t t;
        double v;
        for (size_t k = 0; k < s->n; k++) {
            if (s->ts[k] < mint || s->ts[k] > maxt)
                continue;
            assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
            assert_int_equal(t, s->ts[k]);
            assert_int_equal(u64(v), u64(s->vs[k]));
        }
        assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
        tsdb_sample_iter_free(&it);
    }
    assert_int_equal(tsdb_series_set_next(ss), 0);
    tsdb_series_set_free(ss);
    (void)want_series;
}

static void free_ms(labels_matcher **ms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        labels_matcher_free(ms[i]);
}

static void test_block_roundtrip(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 40, 480, 1700006400000);
    labels_label ext[] = {labels_make("replica", "r0"), labels_make("tenant_id", "t1")};
    tsdb_block_write_opts o = {.external_labels = ext, .n_external_labels = 2,
                               .thanos_source = "receive", .compaction_level = 1};
    char ulid[27], dir[600], err[256];
    assert_int_equal(td_write(&d, root, ulid, &o), 0);
    snprintf(dir, sizeof(dir), "%s/%s", root, ulid);

    tsdb_block *b;
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    const tsdb_block_meta *m = tsdb_block_get_meta(b);
    assert_string_equal(m->ulid, ulid);
    assert_int_equal(m->mint, d.mint);
    assert_int_equal(m->maxt, d.maxt);
    assert_int_equal(m->num_series, 40);
    assert_int_equal(m->num_samples, 40 * 480);
    assert_int_equal(m->num_chunks, 40 * 4);
    assert_int_equal(m->compaction_level, 1);
    assert_string_equal(m->thanos_source, "receive");
    assert_int_equal(m->n_thanos_labels, 2);
    assert_true(labels_equal(m->thanos_labels, 2, ext, 2));
    assert_int_equal(m->downsample_resolution, 0);

    labels_matcher *ms[3];
    ms[0] = mm(LABELS_MATCH_EQ, "__name__", "up");
    check_select(b, &d, ms, 1, INT64_MIN, INT64_MAX);
    check_select(b, &d, ms, 1, d.mint + 3600000, d.mint + 3600000 + 600000);
    ms[1] = mm(LABELS_MATCH_NEQ, "zone", "a");
    check_select(b, &d, ms, 2, INT64_MIN, INT64_MAX);
    free_ms(ms, 2);
    ms[0] = mm(LABELS_MATCH_RE, "job", "job0|job1");
    ms[1] = mm(LABELS_MATCH_RE, "zone", "");
    check_select(b, &d, ms, 2, INT64_MIN, INT64_MAX);
    free_ms(ms, 2);
    ms[0] = mm(LABELS_MATCH_RE, "instance", "host-1.*");
    ms[1] = mm(LABELS_MATCH_NRE, "job", "caf.*");
    ms[2] = mm(LABELS_MATCH_RE, "zone", ".+");
    check_select(b, &d, ms, 3, d.mint, d.mint + 1);
    check_select(b, &d, ms, 2, INT64_MIN, INT64_MAX);
    free_ms(ms, 3);
    ms[0] = mm(LABELS_MATCH_EQ, "nope", "x");
    check_select(b, &d, ms, 1, INT64_MIN, INT64_MAX);
    free_ms(ms, 1);
    ms[0] = mm(LABELS_MATCH_NEQ, "nope", "x");
    check_select(b, &d, ms, 1, INT64_MIN, INT64_MAX);
    /* Outside the block's range: nothing. */
    check_select(b, &d, ms, 1, d.maxt, d.maxt + 1000);
    free_ms(ms, 1);

    char **out;
    size_t n;
    assert_int_equal(tsdb_block_label_names(b, NULL, 0, &out, &n, err, sizeof(err)), 0);
    const char *want_names[] = {"__name__", "instance", "job", "zone"};
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i], want_names[i]);
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);

    ms[0] = mm(LABELS_MATCH_EQ, "__name__", "aion_test_gauge");
    assert_int_equal(tsdb_block_label_names(b, (const labels_matcher *const *)ms, 1, &out, &n, err,
                                            sizeof(err)),
                     0);
    bool gauge_zone = false;
    for (size_t i = 0; i < d.n; i++)
        gauge_zone |= !strcmp(d.s[i].ls[0].value, "aion_test_gauge") && d.s[i].nls == 4;
    assert_int_equal(n, gauge_zone ? 4 : 3);
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);

    assert_int_equal(tsdb_block_label_values(b, "job", NULL, 0, &out, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[0], "caf\xc3\xa9 bar");
    assert_string_equal(out[1], "job0");
    assert_string_equal(out[2], "job1");
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);
    assert_int_equal(tsdb_block_label_values(b, "job", (const labels_matcher *const *)ms, 1, &out, &n,
                                             err, sizeof(err)),
                     0);
    /* gauges are series k % 3 == 0 -> job0 only */
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "job0");
    free(out[0]);
    free(out);
    free_ms(ms, 1);

    tsdb_block_close(b);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* Exact lookups and value listings around the offset-table sampling
 * (every 32nd value is kept in memory): every instance value is found, and
 * values between or around existing ones are not. */
static void test_block_value_lookup(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 31, 32, 33, 63, 64, 65, 97};
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        char *root = td_mkdtemp();
        td_data d;
        td_generate(&d, sizes[z], 3, 1700006400000);
        char ulid[27], dir[600], err[256];
        assert_int_equal(td_write(&d, root, ulid, NULL), 0);
        snprintf(dir, sizeof(dir), "%s/%s", root, ulid);
        tsdb_block *b;
        assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
        for (size_t i = 0; i < d.n; i++) {
            labels_matcher *m = mm(LABELS_MATCH_EQ, "instance", d.s[i].ls[1].value);
            check_select(b, &d, &m, 1, INT64_MIN, INT64_MAX);
            labels_matcher_free(m);
            /* A value just after this one ("x" appended) does not exist. */
            char nv[64];
            snprintf(nv, sizeof(nv), "%sx", d.s[i].ls[1].value);
            m = mm(LABELS_MATCH_EQ, "instance", nv);
            check_select(b, &d, &m, 1, INT64_MIN, INT64_MAX);
            labels_matcher_free(m);
        }
        const char *edges[] = {"", "a", "host-", "zzz"};
        for (size_t i = 0; i < 4; i++) {
            labels_matcher *m = mm(LABELS_MATCH_RE, "instance", edges[i]);
            check_select(b, &d, &m, 1, INT64_MIN, INT64_MAX);
            labels_matcher_free(m);
            m = mm(LABELS_MATCH_NEQ, "instance", edges[i]);
            check_select(b, &d, &m, 1, INT64_MIN, INT64_MAX);
            labels_matcher_free(m);
        }
        /* Regexes with and without a usable literal prefix. */
        const char *res[] = {"host-1.*", "host-1[0-9]:9100", "host-(1|2).*", "host-1?.*", "host-1*:9100",
                             "hos.*", "host-3[0-9]:9100", "host-9+:9100", "host-1{1,2}.*", "h.st-2.*",
                             "host-\\d+:9100", "host-\\d*0:9100", "z.*", "(?i)HOST-1.*", "host-64:9100.*"};
        for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
            labels_matcher *m = mm(LABELS_MATCH_RE, "instance", res[i]);
            check_select(b, &d, &m, 1, INT64_MIN, INT64_MAX);
            labels_matcher_free(m);
        }
        char **out;
        size_t n;
        assert_int_equal(tsdb_block_label_values(b, "instance", NULL, 0, &out, &n, err, sizeof(err)), 0);
        assert_int_equal(n, d.n);
        for (size_t i = 0; i < n; i++) {
            if (i)
                assert_true(strcmp(out[i - 1], out[i]) < 0);
            bool found = false;
            for (size_t k = 0; k < d.n; k++)
                found |= !strcmp(out[i], d.s[k].ls[1].value);
            assert_true(found);
        }
        for (size_t i = 0; i < n; i++)
            free(out[i]);
        free(out);
        tsdb_block_close(b);
        td_free(&d);
        td_rm_rf(root);
        free(root);
    }
}

/* ULIDs: round trip, case-insensitive, invalid characters and overflow
 * rejected, time part first so lexical order is time order. (The time is
 * also checked against ULIDs made by promtool in test_block_read_promtool.) */
static void test_ulid(void **state)
{
    (void)state;
    tsdb_ulid u, v;
    char a[27], b[27];
    assert_true(tsdb_ulid_parse("01AN4Z07BY79KA1307SR9X4MV3", &u));
    tsdb_ulid_format(&u, a);
    assert_string_equal(a, "01AN4Z07BY79KA1307SR9X4MV3");
    assert_true(tsdb_ulid_parse("01an4z07by79ka1307sr9x4mv3", &v));
    assert_memory_equal(u.b, v.b, 16);
    assert_true(tsdb_ulid_parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", &u));
    for (int i = 0; i < 16; i++)
        assert_int_equal(u.b[i], 0xff);
    assert_false(tsdb_ulid_parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", &u));
    assert_false(tsdb_ulid_parse("01AN4Z07BY79KA1307SR9X4MVI", &u));
    assert_false(tsdb_ulid_parse("01AN4Z07BY79KA1307SR9X4MVU", &u));
    assert_false(tsdb_ulid_parse("01AN4Z07BY79KA1307SR9X4MV", &u));
    assert_false(tsdb_ulid_parse("01AN4Z07BY79KA1307SR9X4MV33", &u));
    assert_true(tsdb_ulid_parse("00000000000000000000000000", &u));
    for (int i = 0; i < 16; i++)
        assert_int_equal(u.b[i], 0);
    uint64_t prev_ms = 0;
    char prev[27] = "";
    for (uint64_t ms = 1; ms < (1ull << 48); ms = ms * 3 + 7) {
        assert_int_equal(tsdb_ulid_new(ms, &u), 0);
        assert_int_equal(tsdb_ulid_time(&u), ms);
        tsdb_ulid_format(&u, a);
        assert_true(tsdb_ulid_parse(a, &v));
        assert_memory_equal(u.b, v.b, 16);
        if (prev_ms)
            assert_true(strcmp(prev, a) < 0);
        prev_ms = ms;
        memcpy(prev, a, 27);
    }
    assert_int_equal(tsdb_ulid_new(1000, &u), 0);
    assert_int_equal(tsdb_ulid_new(1000, &v), 0);
    tsdb_ulid_format(&u, a);
    tsdb_ulid_format(&v, b);
    assert_memory_equal(a, b, 10);     /* same time */
    assert_memory_not_equal(a, b, 27); /* random part differs */
}

/* Layout promises beyond what our reader needs: Thanos' index-header takes
 * each postings list's end from the next offset-table entry (and the last
 * one from the table's start), so lists must be contiguous, 4-aligned, in
 * table order; series entries are 16-aligned; the TOC sections are ordered. */
static void test_index_layout(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 50, 10, 1700006400000);
    char ulid[27], path[700], err[256];
    assert_int_equal(td_write(&d, root, ulid, NULL), 0);
    snprintf(path, sizeof(path), "%s/%s/index", root, ulid);
    tsdb_mmap m;
    assert_int_equal(tsdb_mmap_open(&m, path), 0);
    tsdb_indexr r;
    assert_int_equal(tsdb_indexr_init(&r, m.p, m.len, err, sizeof(err)), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.toc[0], 5);
    /* symbols < series < postings < offset table; no legacy label indices:
     * their TOC slots point at postings / offset table as Prometheus 3.7 does */
    assert_true(r.toc[0] < r.toc[1] && r.toc[1] < r.toc[4] && r.toc[4] < r.toc[5]);
    assert_int_equal(r.toc[2], r.toc[4]);
    assert_int_equal(r.toc[3], r.toc[5]);
    assert_true(r.toc[5] < m.len - 52);
    /* all-series list first, then every list in table order, back to back */
    uint64_t expect = r.all_off;
    assert_int_equal(expect % 4, 0);
    assert_int_equal(expect, r.toc[4]);
    expect += 4 + tsdb_get_be32(m.p + expect) + 4;
    size_t lists = 1;
    tsdb_refs all = {0};
    assert_int_equal(tsdb_indexr_postings_at(&r, r.all_off, &all), 0);
    assert_int_equal(all.n, d.n);
    for (size_t i = 0; i < all.n; i++) {
        if (i)
            assert_true(all.v[i] > all.v[i - 1]);
        assert_true((uint64_t)all.v[i] * 16 >= r.toc[1] && (uint64_t)all.v[i] * 16 < r.toc[4]);
    }
    tsdb_refs_free(&all);
    for (size_t i = 0; i < r.nnames; i++) {
        tsdb_ir_cursor c;
        struct tsdb_ir_val v;
        tsdb_indexr_values_begin(&r, &r.names[i], &c);
        while (tsdb_indexr_values_next(&c, &v) == 1) {
            assert_int_equal(v.off, expect);
            expect += 4 + tsdb_get_be32(m.p + v.off) + 4;
            lists++;
        }
    }
    assert_int_equal(expect, r.toc[5]);
    assert_true(lists > d.n);
    tsdb_indexr_free(&r);
    tsdb_mmap_close(&m);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* Deletions recorded in tombstones hide exactly those samples; a series
 * deleted entirely disappears. (test_promtool checks promtool agrees.) */
static void test_block_tombstones(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 8, 300, 1700006400000);
    char ulid[27], dir[600], err[256];
    assert_int_equal(td_write(&d, root, ulid, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/%s", root, ulid);
    assert_int_equal(td_tombstone(&d, dir), 0);
    tsdb_block *b;
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    tsdb_series_set *ss;
    assert_int_equal(tsdb_block_select(b, INT64_MIN, INT64_MAX, NULL, 0, &ss, err, sizeof(err)), 0);
    for (size_t k = 0; k < d.n; k++) {
        const td_series *s = &d.s[k];
        if (s->n == 0)
            continue;
        assert_int_equal(tsdb_series_set_next(ss), 1);
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        assert_true(labels_equal(ls, nl, s->ls, s->nls));
        const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        for (size_t i = 0; i < s->n; i++) {
            assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
            assert_int_equal(t, s->ts[i]);
            assert_int_equal(u64(v), u64(s->vs[i]));
        }
        assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
        tsdb_sample_iter_free(&it);
    }
    assert_int_equal(tsdb_series_set_next(ss), 0);
    tsdb_series_set_free(ss);
    tsdb_block_close(b);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* One open block serves selects from several threads at once (read-only
 * after open): each thread's results equal the single-threaded ones. */
struct conc {
    tsdb_block *b;
    labels_matcher *ms[3];
    uint64_t want[3], got[3];
    int err;
};

static uint64_t digest(tsdb_block *b, labels_matcher *m, int *err)
{
    tsdb_series_set *ss;
    char e[256];
    uint64_t h = 1469598103934665603ull;
    if (tsdb_block_select(b, INT64_MIN, INT64_MAX, (const labels_matcher *const *)&m, 1, &ss, e, sizeof(e))) {
        *err = 1;
        return 0;
    }
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        for (size_t i = 0; i < nl; i++)
            h = (h ^ ls[i].value_len) * 1099511628211ull;
        const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1)
            h = (h ^ (uint64_t)t ^ u64(v)) * 1099511628211ull;
        tsdb_sample_iter_free(&it);
    }
    tsdb_series_set_free(ss);
    return h;
}

static void *conc_thread(void *arg)
{
    struct conc *c = arg;
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < 3; i++)
            if (digest(c->b, c->ms[i], &c->err) != c->want[i])
                c->err = 1;
    return NULL;
}

static void test_block_concurrent(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 40, 240, 1700006400000);
    char ulid[27], dir[600], err[256];
    assert_int_equal(td_write(&d, root, ulid, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/%s", root, ulid);
    tsdb_block *b;
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    struct conc c[4];
    labels_matcher *ms[3] = {mm(LABELS_MATCH_RE, "instance", "host-1.*"), mm(LABELS_MATCH_NEQ, "zone", "a"),
                             mm(LABELS_MATCH_EQ, "job", "job1")};
    uint64_t want[3];
    int e = 0;
    for (int i = 0; i < 3; i++)
        want[i] = digest(b, ms[i], &e);
    assert_int_equal(e, 0);
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        c[k] = (struct conc){.b = b};
        memcpy(c[k].ms, ms, sizeof(ms));
        memcpy(c[k].want, want, sizeof(want));
        assert_int_equal(pthread_create(&th[k], NULL, conc_thread, &c[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(c[k].err, 0);
    }
    free_ms(ms, 3);
    tsdb_block_close(b);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* Invalid input to the writer is refused and leaves no directory behind. */
static int bad_get(void *ctx, size_t i, tsdb_block_series *out)
{
    td_data *d = ctx;
    td_get(ctx, d->n - 1 - i, out); /* reverse order */
    return 0;
}

static void test_block_write_rejects(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 5, 100, 1700006400000);
    tsdb_block_source src = {.nseries = d.n, .mint = d.mint, .maxt = d.maxt, .ctx = &d, .get = bad_get};
    char ulid[27], err[256];
    assert_int_equal(tsdb_block_write(root, &src, NULL, ulid, err, sizeof(err)), -EINVAL);
    src.get = td_get;
    src.maxt = d.mint + 1000; /* chunks stick out */
    assert_int_equal(tsdb_block_write(root, &src, NULL, ulid, err, sizeof(err)), -EINVAL);
    DIR *dh = opendir(root);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(dh)))
        entries += e->d_name[0] != '.';
    closedir(dh);
    assert_int_equal(entries, 0);
    /* Empty block: valid, opens, selects nothing. */
    src.nseries = 0;
    src.maxt = d.maxt;
    assert_int_equal(tsdb_block_write(root, &src, NULL, ulid, err, sizeof(err)), 0);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/%s", root, ulid);
    tsdb_block *b;
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    tsdb_series_set *ss;
    assert_int_equal(tsdb_block_select(b, INT64_MIN, INT64_MAX, NULL, 0, &ss, err, sizeof(err)), 0);
    assert_int_equal(tsdb_series_set_next(ss), 0);
    tsdb_series_set_free(ss);
    tsdb_block_close(b);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

/* Chunk segments are cut at the size limit and refs address the right file. */
static void test_chunks_segments(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    tsdb_chunkw w;
    assert_int_equal(tsdb_chunkw_open(&w, root, 4096), 0);
    uint8_t data[300];
    uint64_t refs[100];
    for (int i = 0; i < 100; i++) {
        memset(data, i, sizeof(data));
        tsdb_chunk c = {.data = data, .len = (uint32_t)(50 + i * 2), .encoding = TSDB_ENC_XOR};
        assert_int_equal(tsdb_chunkw_add(&w, &c, &refs[i]), 0);
        assert_true((refs[i] & 0xffffffffu) >= 8);
        if (i)
            assert_true(refs[i] > refs[i - 1]);
    }
    uint32_t nseg;
    assert_int_equal(tsdb_chunkw_close(&w, false, &nseg), 0);
    assert_true(nseg > 3);
    assert_int_equal(refs[99] >> 32, nseg - 1);
    for (uint32_t i = 0; i < nseg; i++)
        assert_true(w.sizes[i] <= 4096);
    tsdb_chunkw_free(&w);

    tsdb_chunkr r;
    char err[256];
    assert_int_equal(tsdb_chunkr_open(&r, root, err, sizeof(err)), 0);
    assert_int_equal(r.n, nseg);
    for (int i = 0; i < 100; i++) {
        tsdb_chunk c;
        assert_int_equal(tsdb_chunkr_get(&r, refs[i], true, &c), 0);
        assert_int_equal(c.len, 50 + i * 2);
        assert_int_equal(c.encoding, TSDB_ENC_XOR);
        for (uint32_t k = 0; k < c.len; k++)
            assert_int_equal(c.data[k], i);
    }
    tsdb_chunk c;
    assert_int_equal(tsdb_chunkr_get(&r, (uint64_t)nseg << 32 | 8, true, &c), TSDB_ERR_CORRUPT);
    assert_int_equal(tsdb_chunkr_get(&r, 3, true, &c), TSDB_ERR_CORRUPT);
    assert_int_equal(tsdb_chunkr_get(&r, refs[0] + 1, true, &c), TSDB_ERR_CORRUPT);
    assert_int_equal(tsdb_chunkr_get(&r, 0xfffff000u, true, &c), TSDB_ERR_CORRUPT);
    tsdb_chunkr_close(&r);
    td_rm_rf(root);
    free(root);
}

/* Corrupt files are reported, never crash: a flipped chunk byte fails the
 * chunk CRC on select, a flipped series byte its entry CRC, a flipped TOC or
 * truncated index fails open, bad meta.json fails open. */
static void flip(const char *path, long off_from_start, long off_from_end)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long off = off_from_end ? size - off_from_end : off_from_start;
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static int select_all(tsdb_block *b)
{
    tsdb_series_set *ss;
    char err[256];
    int rc = tsdb_block_select(b, INT64_MIN, INT64_MAX, NULL, 0, &ss, err, sizeof(err));
    if (rc)
        return rc;
    while ((rc = tsdb_series_set_next(ss)) == 1)
        ;
    tsdb_series_set_free(ss);
    return rc;
}

static void test_block_corrupt(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 5, 200, 1700006400000);
    char ulid[27], dir[600], path[700], err[256], cmd[1500];
    assert_int_equal(td_write(&d, root, ulid, NULL), 0);
    snprintf(dir, sizeof(dir), "%s/%s", root, ulid);
    tsdb_block *b;
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    assert_int_equal(select_all(b), 0);
    tsdb_block_close(b);

    snprintf(path, sizeof(path), "%s/chunks/000001", dir);
    flip(path, 200, 0);
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    assert_int_equal(select_all(b), TSDB_ERR_CORRUPT);
    tsdb_block_close(b);
    flip(path, 200, 0);

    /* A byte of the first series entry (right after the symbol table). */
    snprintf(path, sizeof(path), "%s/index", dir);
    tsdb_mmap m;
    assert_int_equal(tsdb_mmap_open(&m, path), 0);
    uint64_t series = tsdb_get_be64(m.p + m.len - 52 + 8);
    tsdb_mmap_close(&m);
    flip(path, (long)series + 20, 0);
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), 0);
    assert_int_equal(select_all(b), TSDB_ERR_CORRUPT);
    tsdb_block_close(b);
    flip(path, (long)series + 20, 0);

    flip(path, 0, 30); /* TOC */
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), TSDB_ERR_CORRUPT);
    flip(path, 0, 30);
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), TSDB_ERR_CORRUPT);

    snprintf(cmd, sizeof(cmd), "echo '{\"version\": 2}' > '%s/meta.json'", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tsdb_block_open(dir, &b, err, sizeof(err)), TSDB_ERR_CORRUPT);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_roundtrip),
        cmocka_unit_test(test_ulid),
        cmocka_unit_test(test_index_layout),
        cmocka_unit_test(test_block_value_lookup),
        cmocka_unit_test(test_block_tombstones),
        cmocka_unit_test(test_block_concurrent),
        cmocka_unit_test(test_block_write_rejects),
        cmocka_unit_test(test_chunks_segments),
        cmocka_unit_test(test_block_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
