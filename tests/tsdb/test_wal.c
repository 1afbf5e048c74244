/* WAL tests: page/fragment framing round trip (records spanning pages and
 * segments), corruption detection at the right offset, record codec, replay
 * on reopen (stale markers bit-exact), torn/corrupt tails truncated with a
 * warning, limits during replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sys/stat.h>

#include <snappy-c.h>

#include "crc32c.h"
#include "test_head_util.h"
#include "db.h"
#include "wal.h"

typedef struct collect {
    size_t n;
    size_t lens[64];
    uint8_t first[64];
} collect;

static int on_rec(void *ctx, const uint8_t *rec, size_t len)
{
    collect *c = ctx;
    if (c->n < 64) {
        c->lens[c->n] = len;
        c->first[c->n] = len ? rec[0] : 0;
        /* records are filled with their index byte: check all of it */
        for (size_t i = 0; i < len; i++)
            if (rec[i] != (uint8_t)c->n)
                return -1;
    }
    c->n++;
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(l ? (size_t)l : 1);
    assert_int_equal(fread(p, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    *len = (size_t)l;
    return p;
}

static void test_framing(void **state)
{
    char *dir = th_tmpdir("wal");
    char wdir[512], err[256];
    snprintf(wdir, sizeof(wdir), "%s/wal", dir);
    wal w;
    /* 4-page segments so records have to move to the next segment */
    assert_int_equal(tsdb_wal_open(&w, wdir, 0, 4 * WAL_PAGE, TSDB_FSYNC_NEVER, 0, err, sizeof(err)), 0);
    size_t sizes[] = {1, 100, WAL_PAGE - WAL_HDR, WAL_PAGE, 3 * WAL_PAGE + 5, 7, 50000, 0 + 2};
    size_t nrec = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < nrec; i++) {
        tsdb_buf b = {0};
        for (size_t k = 0; k < sizes[i]; k++)
            tsdb_buf_u8(&b, (uint8_t)i);
        assert_int_equal(tsdb_wal_log(&w, NULL, NULL, NULL, &b, 1), 0);
        tsdb_buf_free(&b);
    }
    /* a record larger than a segment is refused, and the WAL stays usable */
    tsdb_buf big = {0};
    for (size_t k = 0; k < 5 * WAL_PAGE; k++)
        tsdb_buf_u8(&big, 1);
    assert_int_equal(tsdb_wal_log(&w, NULL, NULL, NULL, &big, 1), -E2BIG);
    tsdb_buf_free(&big);
    tsdb_wal_close(&w);

    uint32_t *segs;
    size_t nseg;
    assert_int_equal(tsdb_wal_list_segments(wdir, &segs, &nseg), 0);
    assert_true(nseg >= 3);
    collect c = {0};
    for (size_t s = 0; s < nseg; s++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/%08u", wdir, segs[s]);
        size_t len, good;
        uint8_t *p = read_all(path, &len);
        /* every segment but the last is whole pages; none exceeds 4 pages */
        assert_true(len <= 4 * WAL_PAGE);
        if (s + 1 < nseg)
            assert_int_equal(len % WAL_PAGE, 0);
        char why[128];
        assert_int_equal(tsdb_wal_parse_segment(p, len, on_rec, &c, &good, why, sizeof(why)), 0);
        assert_int_equal(good, len);
        free(p);
    }
    assert_int_equal(c.n, nrec);
    for (size_t i = 0; i < nrec; i++)
        assert_int_equal(c.lens[i], sizes[i]);
    free(segs);
    th_rmrf(dir);
    free(dir);
}

static void test_corruption_offsets(void **state)
{
    /* hand-built segment: 3 full records; the second one's CRC is broken */
    uint8_t seg[200] = {0};
    size_t off = 0, ends[3];
    for (int r = 0; r < 3; r++) {
        uint8_t data[10];
        memset(data, r, sizeof(data));
        uint32_t crc = tsdb_crc32c(0, data, 10);
        seg[off] = WAL_FRAG_FULL;
        seg[off + 1] = 0;
        seg[off + 2] = 10;
        seg[off + 3] = (uint8_t)(crc >> 24);
        seg[off + 4] = (uint8_t)(crc >> 16);
        seg[off + 5] = (uint8_t)(crc >> 8);
        seg[off + 6] = (uint8_t)crc;
        memcpy(seg + off + 7, data, 10);
        off += 17;
        ends[r] = off;
    }
    collect c = {0};
    size_t good;
    char why[128];
    assert_int_equal(tsdb_wal_parse_segment(seg, off, on_rec, &c, &good, why, sizeof(why)), 0);
    assert_int_equal(c.n, 3);
    seg[ends[0] + 9] ^= 0x40; /* payload byte of record 2 */
    memset(&c, 0, sizeof(c));
    assert_int_equal(tsdb_wal_parse_segment(seg, off, on_rec, &c, &good, why, sizeof(why)), TSDB_ERR_CORRUPT);
    assert_int_equal(c.n, 1);
    assert_int_equal(good, ends[0]);
    assert_non_null(strstr(why, "checksum"));
    seg[ends[0] + 9] ^= 0x40;
    /* torn: the last record cut short */
    memset(&c, 0, sizeof(c));
    assert_int_equal(tsdb_wal_parse_segment(seg, off - 4, on_rec, &c, &good, why, sizeof(why)), TSDB_ERR_CORRUPT);
    assert_int_equal(c.n, 2);
    assert_int_equal(good, ends[1]);
    /* a "last" fragment without a "first" */
    seg[ends[1]] = WAL_FRAG_LAST;
    memset(&c, 0, sizeof(c));
    assert_int_equal(tsdb_wal_parse_segment(seg, off, on_rec, &c, &good, why, sizeof(why)), TSDB_ERR_CORRUPT);
    assert_int_equal(good, ends[1]);
    /* zeros after the records are padding, not corruption */
    seg[ends[1]] = WAL_FRAG_FULL;
    memset(&c, 0, sizeof(c));
    assert_int_equal(tsdb_wal_parse_segment(seg, sizeof(seg), on_rec, &c, &good, why, sizeof(why)), 0);
    assert_int_equal(c.n, 3);
}

/* Prometheus writes snappy-compressed records when WAL compression is on
 * (flag 0x08 on every fragment); zstd (0x10) is skipped, not fatal. */
static size_t put_frag(uint8_t *seg, size_t off, uint8_t type, const uint8_t *d, size_t n)
{
    uint32_t crc = tsdb_crc32c(0, d, n);
    seg[off] = type;
    seg[off + 1] = (uint8_t)(n >> 8);
    seg[off + 2] = (uint8_t)n;
    seg[off + 3] = (uint8_t)(crc >> 24);
    seg[off + 4] = (uint8_t)(crc >> 16);
    seg[off + 5] = (uint8_t)(crc >> 8);
    seg[off + 6] = (uint8_t)crc;
    memcpy(seg + off + 7, d, n);
    return off + 7 + n;
}

static void test_compressed_records(void **state)
{
    uint8_t plain[300];
    memset(plain, 1, sizeof(plain)); /* record 1 of the collector: all bytes 1 */
    char comp[400];
    size_t clen = sizeof(comp);
    assert_int_equal(snappy_compress((const char *)plain, sizeof(plain), comp, &clen), SNAPPY_OK);
    assert_true(clen < sizeof(plain));
    uint8_t seg[2000] = {0}, zero[5] = {0}, two[7];
    memset(two, 2, sizeof(two));
    size_t off = put_frag(seg, 0, WAL_FRAG_FULL, zero, sizeof(zero));
    /* compressed record split over two fragments */
    off = put_frag(seg, off, WAL_FRAG_FIRST | WAL_FLAG_SNAPPY, (uint8_t *)comp, clen / 2);
    off = put_frag(seg, off, WAL_FRAG_LAST | WAL_FLAG_SNAPPY, (uint8_t *)comp + clen / 2, clen - clen / 2);
    off = put_frag(seg, off, WAL_FRAG_FULL | WAL_FLAG_ZSTD, zero, 3); /* skipped */
    off = put_frag(seg, off, WAL_FRAG_FULL, two, sizeof(two));
    collect c = {0};
    size_t good;
    char why[128];
    assert_int_equal(tsdb_wal_parse_segment(seg, off, on_rec, &c, &good, why, sizeof(why)), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.lens[0], 5);
    assert_int_equal(c.lens[1], 300);
    assert_int_equal(c.lens[2], 7);
    assert_int_equal(good, off);
    /* reserved type bits are corruption */
    seg[0] |= 0x40;
    memset(&c, 0, sizeof(c));
    assert_int_equal(tsdb_wal_parse_segment(seg, off, on_rec, &c, &good, why, sizeof(why)), TSDB_ERR_CORRUPT);
    assert_int_equal(good, 0);
}

typedef struct sm {
    size_t n;
    uint64_t refs[8];
    int64_t ts[8];
    uint64_t vbits[8];
} sm;

static int on_sample(void *ctx, uint64_t ref, int64_t t, double v)
{
    sm *s = ctx;
    s->refs[s->n] = ref;
    s->ts[s->n] = t;
    memcpy(&s->vbits[s->n], &v, 8);
    s->n++;
    return 0;
}

static int on_series(void *ctx, uint64_t ref, const labels_label *ls, size_t n)
{
    int *k = ctx;
    assert_int_equal(ref, 7 + *k);
    assert_int_equal(n, 2);
    assert_memory_equal(ls[1].value, *k ? "b" : "a", 1);
    (*k)++;
    return 0;
}

static void test_record_codec(void **state)
{
    tsdb_buf b = {0};
    labels_label ls[2] = {labels_make("__name__", "x"), labels_make("k", "a")};
    tsdb_wal_enc_series(&b, 7, ls, 2);
    ls[1] = labels_make("k", "b");
    tsdb_wal_enc_series(&b, 8, ls, 2);
    int k = 0;
    assert_int_equal(tsdb_wal_dec_series(b.p, b.n, on_series, &k), 0);
    assert_int_equal(k, 2);
    /* Prometheus' samples layout: type 2 | ref0 BE64 | t0 BE64 | (varint dref, varint dt, BE64 value)* */
    tsdb_buf s = {0};
    tsdb_wal_enc_sample(&s, 100, 5000, 1.5);
    tsdb_wal_enc_sample(&s, 99, 4000, tsdb_stale_nan());
    assert_int_equal(s.n, 17 + (1 + 1 + 8) + (1 + 2 + 8));
    assert_int_equal(s.p[0], 2);
    assert_int_equal(s.p[8], 100);     /* ref0 low byte */
    assert_int_equal(s.p[17], 0);      /* zigzag(0) */
    assert_int_equal(s.p[27], 1);      /* zigzag(-1) */
    assert_int_equal(s.p[28], 0xcf);   /* zigzag(-1000) = 1999 = 0xcf 0x0f */
    assert_int_equal(s.p[29], 0x0f);
    sm got = {0};
    assert_int_equal(tsdb_wal_dec_samples(s.p, s.n, on_sample, &got), 0);
    assert_int_equal(got.n, 2);
    assert_int_equal(got.refs[1], 99);
    assert_int_equal(got.ts[1], 4000);
    assert_true(got.vbits[1] == TSDB_STALE_NAN_BITS);
    /* truncated record */
    assert_int_equal(tsdb_wal_dec_samples(s.p, s.n - 3, on_sample, &got), TSDB_ERR_CORRUPT);
    tsdb_buf_free(&b);
    tsdb_buf_free(&s);
}

/* ---- replay through tsdb_open ----------------------------------------------------- */

static int warnings;
static void logger(void *ctx, tsdb_log_level lvl, const char *msg)
{
    if (lvl >= TSDB_LOG_WARN)
        warnings++;
    if (getenv("TSDB_TEST_VERBOSE"))
        fprintf(stderr, "log: %s\n", msg);
}

static tsdb_db *open_wal(const char *dir, size_t max_series)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    o.wal_segment_size = 64 * 1024;
    o.max_series = max_series;
    o.log = logger;
    tsdb_db *db = NULL;
    char err[256];
    int rc = tsdb_open(dir, &o, &db, err, sizeof(err));
    if (rc)
        fail_msg("open: %s", err);
    return db;
}

static void fill(tsdb_db *db, int nseries, int from, int to)
{
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    char err[256];
    for (int t = from; t < to; t++) {
        for (int i = 0; i < nseries; i++) {
            th_make(&s, "m", i);
            double v = (t % 17 == 16) ? tsdb_stale_nan() : t * 0.25 + i;
            assert_int_equal(tsdb_append(a, s.ls, 2, t * 1000LL, v, NULL), 0);
        }
        assert_int_equal(tsdb_commit(a, err, sizeof(err)), 0);
    }
    tsdb_appender_free(a);
}

/* Checks every series 0..nseries-1 has samples from..to-1 exactly. */
static void verify(tsdb_db *db, int nseries, int to)
{
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "m");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[256];
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    int ns = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl, nc;
        const labels_label *l = tsdb_series_set_labels(ss, &nl);
        int i = atoi(l[1].value);
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        int k = 0;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
            assert_int_equal(t, k * 1000LL);
            if (k % 17 == 16)
                assert_true(tsdb_is_stale_nan(v));
            else
                assert_true(v == k * 0.25 + i);
            k++;
        }
        tsdb_sample_iter_free(&it);
        assert_int_equal(k, to);
        ns++;
    }
    assert_int_equal(ns, nseries);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
}

static void last_segment(const char *dir, char *path, size_t len)
{
    char wdir[512];
    snprintf(wdir, sizeof(wdir), "%s/wal", dir);
    uint32_t *segs;
    size_t n;
    assert_int_equal(tsdb_wal_list_segments(wdir, &segs, &n), 0);
    assert_true(n > 0);
    /* the newest non-empty one */
    for (size_t i = n; i-- > 0;) {
        snprintf(path, len, "%s/%08u", wdir, segs[i]);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            break;
    }
    free(segs);
}

static void test_replay(void **state)
{
    char *dir = th_tmpdir("walreplay");
    tsdb_db *db = open_wal(dir, 0);
    fill(db, 20, 0, 300);
    verify(db, 20, 300);
    assert_int_equal(tsdb_close(db), 0);

    db = open_wal(dir, 0);
    verify(db, 20, 300);
    /* appends go on after replay, by new and existing series */
    fill(db, 20, 300, 310);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 20);
    assert_int_equal(tsdb_close(db), 0);
    db = open_wal(dir, 0);
    verify(db, 20, 310);
    tsdb_close(db);

    /* limits apply during replay: 5 of 20 series come back */
    warnings = 0;
    db = open_wal(dir, 5);
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 5);
    assert_true(warnings > 0);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

static void test_torn_tail(void **state)
{
    char *dir = th_tmpdir("waltorn");
    tsdb_db *db = open_wal(dir, 0);
    fill(db, 3, 0, 100);
    tsdb_close(db);
    db = open_wal(dir, 0);
    fill(db, 3, 100, 101); /* one more commit in its own segment */
    tsdb_close(db);
    char seg[600];
    last_segment(dir, seg, sizeof(seg));
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    /* cut the last record in half */
    assert_int_equal(truncate(seg, st.st_size - 10), 0);
    warnings = 0;
    db = open_wal(dir, 0);
    assert_true(warnings > 0);
    verify(db, 3, 100);
    fill(db, 3, 100, 120);
    tsdb_close(db);
    db = open_wal(dir, 0);
    verify(db, 3, 120);
    tsdb_close(db);

    /* garbage after the last record */
    last_segment(dir, seg, sizeof(seg));
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x01\x00\x05garbage", 10), 10);
    close(fd);
    warnings = 0;
    db = open_wal(dir, 0);
    assert_true(warnings > 0);
    verify(db, 3, 120);
    tsdb_close(db);

    /* a flipped byte in the middle of an older segment: later segments go,
     * the db still opens with the data before the damage */
    char wdir[512];
    snprintf(wdir, sizeof(wdir), "%s/wal", dir);
    uint32_t *segs;
    size_t n;
    assert_int_equal(tsdb_wal_list_segments(wdir, &segs, &n), 0);
    snprintf(seg, sizeof(seg), "%s/%08u", wdir, segs[0]);
    free(segs);
    assert_int_equal(stat(seg, &st), 0);
    fd = open(seg, O_RDWR);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, st.st_size / 2), 1);
    byte ^= 0xff;
    assert_int_equal(pwrite(fd, &byte, 1, st.st_size / 2), 1);
    close(fd);
    warnings = 0;
    db = open_wal(dir, 0);
    assert_true(warnings > 0);
    tsdb_stats hs;
    tsdb_get_stats(db, &hs);
    assert_true(hs.samples_appended > 0 && hs.samples_appended < 3 * 120);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

/* ---- concurrent commits with fsync per commit (group commit) ------------------ */

typedef struct gctx {
    tsdb_db *db;
    int w;
} gctx;

static void *gc_writer(void *arg)
{
    gctx *g = arg;
    tsdb_appender *a = tsdb_appender_new(g->db);
    th_series s;
    char name[8], err[128];
    snprintf(name, sizeof(name), "g%d", g->w);
    for (int t = 0; t < 100; t++) {
        for (int i = 0; i < 5; i++) {
            th_make(&s, name, i);
            if (tsdb_append(a, s.ls, 2, t, t, NULL) != 0)
                abort();
        }
        if (tsdb_commit(a, err, sizeof(err)) != 0)
            abort();
    }
    tsdb_appender_free(a);
    return NULL;
}

static void test_group_commit(void **state)
{
    char *dir = th_tmpdir("walgc");
    tsdb_options o;
    tsdb_options_init(&o); /* TSDB_FSYNC_COMMIT */
    o.wal_segment_size = 64 * 1024; /* rotations while others sync */
    tsdb_db *db;
    char err[256];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    pthread_t th[4];
    gctx g[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (gctx){db, i};
        pthread_create(&th[i], NULL, gc_writer, &g[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(tsdb_close(db), 0);
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    assert_int_equal(st.head_series, 20);
    assert_int_equal(st.samples_appended, 4 * 5 * 100);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

/* TSDB_FSYNC_INTERVAL: the WAL is synced every interval even with no
 * further commit to trigger it. */
static void test_interval_sync(void **state)
{
    char *dir = th_tmpdir("walint");
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_INTERVAL;
    o.wal_fsync_interval_ms = 50;
    tsdb_db *db;
    char err[256];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    /* the first commit after an interval syncs; the one right after it does
     * not (within the interval), and no commit follows */
    usleep(120 * 1000);
    fill(db, 3, 0, 1);
    fill(db, 3, 1, 2);
    pthread_mutex_lock(&db->wal.mu);
    uint64_t written = db->wal.bytes, synced0 = db->wal.synced_bytes;
    pthread_mutex_unlock(&db->wal.mu);
    assert_true(written > 0);
    if (synced0 == written)
        printf("note: the syncer ran between the two commits\n");
    uint64_t synced = 0;
    for (int i = 0; i < 100 && synced != written; i++) {
        usleep(20 * 1000);
        pthread_mutex_lock(&db->wal.mu);
        synced = db->wal.synced_bytes;
        pthread_mutex_unlock(&db->wal.mu);
    }
    assert_int_equal(synced, written);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

/* ---- a failed write (disk full) is undone; commits go on once space is back ---- */

#define DF_SER 10

static int df_commit(tsdb_appender *a, long t)
{
    th_series s;
    char err[128];
    for (int i = 0; i < DF_SER; i++) {
        th_make(&s, "df", i);
        if (tsdb_append(a, s.ls, 2, t * 1000, (double)t, NULL) != 0)
            return -1;
    }
    return tsdb_commit(a, err, sizeof(err));
}

/* Child: fills the WAL up to a file size limit, checks commits fail
 * cleanly, lifts the limit, goes on. Exit status: batches committed + 1, or 1. */
static int df_child(const char *dir)
{
    signal(SIGXFSZ, SIG_IGN); /* write() then fails with EFBIG */
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    o.wal_segment_size = 1 << 20;
    tsdb_db *db;
    char err[256];
    if (tsdb_open(dir, &o, &db, err, sizeof(err)))
        return 1;
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit lim = {16000, rl.rlim_max}; /* about 100 commits */
    if (setrlimit(RLIMIT_FSIZE, &lim))
        return 1;
    tsdb_appender *a = tsdb_appender_new(db);
    long t = 0;
    int rc;
    while ((rc = df_commit(a, t)) == 0 && t < 100000)
        t++;
    if (rc != TSDB_ERR_IO || t < 10) {
        fprintf(stderr, "child: commit %ld: %s\n", t, tsdb_strerror(rc));
        return 1;
    }
    if ((rc = df_commit(a, t)) != TSDB_ERR_IO) { /* still full */
        fprintf(stderr, "child: commit while full: %s\n", tsdb_strerror(rc));
        return 1;
    }
    setrlimit(RLIMIT_FSIZE, &rl);
    for (int k = 0; k < 20; k++, t++) { /* the failed batch again, then more */
        if ((rc = df_commit(a, t)) != 0) {
            fprintf(stderr, "child: commit %ld after space is back: %s\n", t, tsdb_strerror(rc));
            return 1;
        }
    }
    tsdb_appender_free(a);
    tsdb_close(db);
    return t > 250 ? 1 : (int)t + 1;
}

static void test_disk_full(void **state)
{
    char *dir = th_tmpdir("waldf");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(df_child(dir));
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    int batches = WEXITSTATUS(st) - 1;
    if (batches <= 0)
        fail_msg("child failed (status %d)", WEXITSTATUS(st));
    /* every committed batch is there, contiguous, and nothing else */
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    tsdb_db *db;
    char err[256];
    assert_int_equal(tsdb_open(dir, &o, &db, err, sizeof(err)), 0);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "df");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    int ns = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nc;
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        long k = 0;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1) {
            assert_int_equal(t, k * 1000);
            assert_true(v == (double)k);
            k++;
        }
        tsdb_sample_iter_free(&it);
        assert_int_equal(k, batches);
        ns++;
    }
    assert_int_equal(ns, DF_SER);
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
    tsdb_close(db);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_corruption_offsets),
        cmocka_unit_test(test_record_codec),
        cmocka_unit_test(test_compressed_records),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_interval_sync),
        cmocka_unit_test(test_disk_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
