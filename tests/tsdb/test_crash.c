/* Crash test: a child process appends through the WAL (and runs maintain,
 * so blocks are cut and the WAL checkpointed while it is killed) and reports
 * each returned commit through a pipe; the parent SIGKILLs it at a random
 * point, reopens the db and checks that every sample of every reported
 * commit is there, exact, and that nothing is corrupt. Several rounds on the
 * same directory, bounded to a few seconds each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "test_head_util.h"

#define NSER 40
#define STEP 1000            /* ms between samples */
#define BLOCK (60 * STEP)    /* 1-minute blocks: maintain cuts often */

static void open_db(const char *dir, tsdb_db **db, tsdb_fsync_policy pol)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.block_duration_ms = BLOCK;
    o.wal_fsync = pol;
    o.wal_segment_size = 64 * 1024;
    char err[256];
    if (tsdb_open(dir, &o, db, err, sizeof(err)) != 0) {
        fprintf(stderr, "open: %s\n", err);
        abort();
    }
}

static double value_of(int i, long b)
{
    if (b % 50 == 49)
        return tsdb_stale_nan();
    return (double)b * 1.5 + i;
}

/* Child: batches b = start, start+1, ...: one sample per series at b*STEP. */
static void child(const char *dir, long start, int wfd)
{
    tsdb_db *db;
    open_db(dir, &db, TSDB_FSYNC_NEVER); /* write() before commit returns: survives SIGKILL */
    tsdb_appender *a = tsdb_appender_new(db);
    th_series s;
    char err[256];
    for (long b = start;; b++) {
        for (int i = 0; i < NSER; i++) {
            th_make(&s, "crash", i);
            int rc = tsdb_append(a, s.ls, 2, b * STEP, value_of(i, b), NULL);
            if (rc != 0 && rc != TSDB_ERR_TOO_OLD) {
                fprintf(stderr, "append: %s\n", tsdb_strerror(rc));
                _exit(3);
            }
        }
        if (tsdb_commit(a, err, sizeof(err)) != 0) {
            fprintf(stderr, "commit: %s\n", err);
            _exit(4);
        }
        if (write(wfd, &b, sizeof(b)) != sizeof(b))
            _exit(5);
        if (b % 37 == 0 && tsdb_maintain(db, b * STEP, err, sizeof(err)) != 0) {
            fprintf(stderr, "maintain: %s\n", err);
            _exit(6);
        }
    }
}

/* Returns the number of leading batches all series have in full; checks
 * every sample present is exact and in order. */
static long verify(const char *dir, long committed)
{
    tsdb_db *db;
    open_db(dir, &db, TSDB_FSYNC_NEVER);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    labels_matcher *m = th_m(LABELS_MATCH_EQ, "__name__", "crash");
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[256];
    assert_int_equal(tsdb_select(q, ms, 1, &ss, err, sizeof(err)), 0);
    long min_full = -1;
    int ns = 0, rc;
    while ((rc = tsdb_series_set_next(ss)) == 1) {
        size_t nl, nc;
        const labels_label *l = tsdb_series_set_labels(ss, &nl);
        int i = atoi(l[1].value);
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        long k = 0;
        int r;
        while ((r = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
            if (t != k * STEP)
                fail_msg("series %d: sample %ld at t=%lld, want %lld", i, k, (long long)t, (long long)(k * STEP));
            double want = value_of(i, k);
            if (memcmp(&v, &want, 8) != 0)
                fail_msg("series %d: t=%lld value %g, want %g", i, (long long)t, v, want);
            k++;
        }
        assert_int_equal(r, 0);
        tsdb_sample_iter_free(&it);
        if (min_full < 0 || k < min_full)
            min_full = k;
        ns++;
    }
    assert_int_equal(rc, 0);
    if (committed >= 0) {
        assert_int_equal(ns, NSER);
        if (min_full < committed + 1)
            fail_msg("lost data: %ld batches committed, %ld found", committed + 1, min_full);
    }
    tsdb_series_set_free(ss);
    labels_matcher_free(m);
    tsdb_querier_free(q);
    assert_int_equal(tsdb_close(db), 0);
    return min_full < 0 ? 0 : min_full;
}

static void test_crash(void **state)
{
    char *dir = th_tmpdir("crash");
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv("TSDB_CRASH_SEED");
    if (env)
        seed = (unsigned)atoi(env);
    srand(seed);
    printf("seed %u (TSDB_CRASH_SEED)\n", seed);
    long start = 0, committed = -1;
    for (int round = 0; round < 6; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(dir, start, p[1]);
            _exit(0);
        }
        close(p[1]);
        /* read progress for a random 50..600 ms, then kill */
        int ms = 50 + rand() % 550;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
            if (el >= ms)
                break;
            struct pollfd pf = {p[0], POLLIN, 0};
            poll(&pf, 1, (int)(ms - el));
            long b;
            while (read(p[0], &b, sizeof(b)) == sizeof(b))
                committed = b;
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        long b;
        while (read(p[0], &b, sizeof(b)) == sizeof(b)) /* reported before the kill */
            committed = b;
        close(p[0]);
        assert_true(WIFSIGNALED(status));
        long full = verify(dir, committed);
        printf("round %d: killed after %d ms, %ld batches committed, %ld found\n", round, ms,
               committed + 1, full);
        start = full;
    }
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
