/* bench_tsdb: head benchmarks.
 *  1. append throughput, samples/s: 1 and 2 threads, by label set and by
 *     ref, no WAL and with the WAL (fsync never: the write() path);
 *  2. head memory per active series: RSS delta / series at N series
 *     (default 1M) after 1 and after 30 samples each;
 *  3. select latency over the N-series head: selective (one series; ~N/1000
 *     series) and broad (all N series), select + iterate series and chunks.
 * Times are also given per CPU-second (thread CPU time), so figures stay
 * meaningful on a loaded machine.
 *  4. WAL replay speed (series/4 series x 20 samples);
 *  5. label values with and without matchers;
 *  6. durable commits (fsync per commit) with 1 and 4 committing threads.
 * Usage: bench_tsdb [series (1000000)] [samples per series for the memory run (30)] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tsdb/tsdb.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

__attribute__((noreturn)) static void die(const char *what, int rc, const char *err)
{
    fprintf(stderr, "%s: %s %s\n", what, tsdb_strerror(rc), err ? err : "");
    exit(1);
}

/* Series i: {__name__="bench_metric_<i%10>", id="<i>", instance="host-<i/100>",
 * job="job-<i%1000 / 100>", region="r<i%5>"} -- 5 labels, sorted. */
typedef struct sbuf {
    char name[32], id[24], inst[32], job[16], region[8];
    labels_label ls[5];
} sbuf;

static void mk(sbuf *b, long i)
{
    snprintf(b->name, sizeof(b->name), "bench_metric_%ld", i % 10);
    snprintf(b->id, sizeof(b->id), "%ld", i);
    snprintf(b->inst, sizeof(b->inst), "host-%ld", i / 100);
    snprintf(b->job, sizeof(b->job), "job-%ld", (i % 1000) / 100);
    snprintf(b->region, sizeof(b->region), "r%ld", i % 5);
    b->ls[0] = labels_make("__name__", b->name);
    b->ls[1] = labels_make("id", b->id);
    b->ls[2] = labels_make("instance", b->inst);
    b->ls[3] = labels_make("job", b->job);
    b->ls[4] = labels_make("region", b->region);
}

static tsdb_db *open_db(const char *dir, bool wal)
{
    tsdb_options o;
    tsdb_options_init(&o);
    o.no_wal = !wal;
    o.wal_fsync = TSDB_FSYNC_NEVER;
    tsdb_db *db;
    char err[256];
    int rc = tsdb_open(dir, &o, &db, err, sizeof(err));
    if (rc)
        die("open", rc, err);
    return db;
}

/* ---- append throughput ------------------------------------------------------- */

#define BATCH 5000

typedef struct worker {
    tsdb_db *db;
    long first, n;      /* series [first, first+n) */
    int steps;
    bool by_ref;
    pthread_t th;
    double secs, cpu;
    long samples;
} worker;

static void *append_worker(void *arg)
{
    worker *w = arg;
    tsdb_appender *a = tsdb_appender_new(w->db);
    tsdb_ref *refs = malloc(w->n * sizeof(*refs));
    char err[256];
    int rc;
    /* label sets prepared up front: the timed loop measures the db, not snprintf */
    sbuf *sets = malloc(w->n * sizeof(*sets));
    if (!sets || !refs)
        die("malloc", -12, NULL);
    /* create the series first (not timed) */
    for (long i = 0; i < w->n; i++) {
        mk(&sets[i], w->first + i);
        if ((rc = tsdb_append(a, sets[i].ls, 5, 0, 0.0, &refs[i])))
            die("append", rc, NULL);
    }
    if ((rc = tsdb_commit(a, err, sizeof(err))))
        die("commit", rc, err);
    long k = 0;
    double t0 = now_s(), c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (int s = 1; s <= w->steps; s++) {
        int64_t t = (int64_t)s * 15000;
        for (long i = 0; i < w->n; i++) {
            double v = (double)(s * 7 + i % 13);
            if (w->by_ref) {
                rc = tsdb_append_ref(a, refs[i], t, v);
            } else {
                rc = tsdb_append(a, sets[i].ls, 5, t, v, NULL);
            }
            if (rc)
                die("append", rc, NULL);
            if (++k % BATCH == 0 && (rc = tsdb_commit(a, err, sizeof(err))))
                die("commit", rc, err);
        }
    }
    if ((rc = tsdb_commit(a, err, sizeof(err))))
        die("commit", rc, err);
    w->secs = now_s() - t0;
    w->cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    w->samples = k;
    free(sets);
    free(refs);
    tsdb_appender_free(a);
    return NULL;
}

static void bench_append(const char *base, int threads, bool by_ref, bool wal)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/append-%d-%d-%d", base, threads, by_ref, wal);
    tsdb_db *db = open_db(dir, wal);
    long per = 10000;
    int steps = by_ref ? 200 : 60;
    worker w[2];
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.db = db, .first = i * per, .n = per, .steps = steps, .by_ref = by_ref};
        pthread_create(&w[i].th, NULL, append_worker, &w[i]);
    }
    double secs = 0, cpu = 0;
    long samples = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].th, NULL);
        if (w[i].secs > secs)
            secs = w[i].secs;
        cpu += w[i].cpu;
        samples += w[i].samples;
    }
    /* per CPU-second: what one core does, whatever else the machine runs */
    printf("append %-9s %d thread%s %-7s: %6.2f M samples/s wall, %6.2f M samples per CPU-second, %ld samples\n",
           by_ref ? "by ref" : "by labels", threads, threads > 1 ? "s" : " ", wal ? "WAL" : "no WAL",
           samples / secs / 1e6, samples / cpu / 1e6, samples);
    tsdb_close(db);
}

/* ---- memory and select ---------------------------------------------------------- */

static double select_ms(tsdb_db *db, const labels_matcher *const *ms, size_t nm, size_t *nseries,
                        size_t *nchunks)
{
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    tsdb_querier *q;
    tsdb_series_set *ss;
    char err[256];
    int rc = tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q);
    if (rc || (rc = tsdb_select(q, ms, nm, &ss, err, sizeof(err))))
        die("select", rc, err);
    *nseries = *nchunks = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t n;
        tsdb_series_set_chunks(ss, &n);
        (*nseries)++;
        *nchunks += n;
    }
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    return (cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e3;
}

static labels_matcher *mt(labels_match_type t, const char *n, const char *v)
{
    labels_matcher *m;
    char err[128];
    if (labels_matcher_new(t, n, strlen(n), v, strlen(v), &m, err, sizeof(err)))
        die("matcher", -22, err);
    return m;
}

static void bench_memory_select(const char *base, long nseries, int nsamples)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/memory", base);
    long rss0 = rss_bytes();
    tsdb_db *db = open_db(dir, false);
    long rss_open = rss_bytes();
    tsdb_appender *a = tsdb_appender_new(db);
    tsdb_ref *refs = malloc(nseries * sizeof(*refs));
    sbuf b;
    char err[256];
    int rc;
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < nseries; i++) {
        mk(&b, i);
        if ((rc = tsdb_append(a, b.ls, 5, 0, (double)i, &refs[i])))
            die("append", rc, NULL);
        if (i % BATCH == BATCH - 1 && (rc = tsdb_commit(a, err, sizeof(err))))
            die("commit", rc, err);
    }
    if ((rc = tsdb_commit(a, err, sizeof(err))))
        die("commit", rc, err);
    double tc = cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    long rss1 = rss_bytes();
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    printf("series creation: %ld series in %.2f CPU-s (%.0f k series per CPU-second)\n", nseries, tc, nseries / tc / 1e3);
    printf("memory at %ld series, 1 sample each : %6.0f bytes/series RSS delta (head estimate %.0f), "
           "db open %.1f MiB\n",
           nseries, (double)(rss1 - rss_open) / nseries, (double)st.head_bytes / nseries,
           (rss_open - rss0) / 1048576.0);
    for (int s = 1; s < nsamples; s++) {
        for (long i = 0; i < nseries; i++) {
            if ((rc = tsdb_append_ref(a, refs[i], s * 15000LL, (double)(i + s * (i % 7)))))
                die("append", rc, NULL);
            if (i % BATCH == BATCH - 1 && (rc = tsdb_commit(a, err, sizeof(err))))
                die("commit", rc, err);
        }
        if ((rc = tsdb_commit(a, err, sizeof(err))))
            die("commit", rc, err);
    }
    long rss2 = rss_bytes();
    tsdb_get_stats(db, &st);
    printf("memory at %ld series, %d samples each: %6.0f bytes/series RSS delta (head estimate %.0f)\n",
           nseries, nsamples, (double)(rss2 - rss_open) / nseries, (double)st.head_bytes / nseries);
    free(refs);
    tsdb_appender_free(a);

    /* select latency */
    struct {
        const char *what;
        labels_matcher *m[2];
        size_t nm;
    } cases[] = {
        {"selective: id=\"123457\"", {mt(LABELS_MATCH_EQ, "id", "123457")}, 1},
        {"selective: instance=\"host-4242\",__name__=\"bench_metric_3\"",
         {mt(LABELS_MATCH_EQ, "instance", "host-4242"), mt(LABELS_MATCH_EQ, "__name__", "bench_metric_3")}, 2},
        {"medium: job=\"job-3\",region=~\"r1|r2\"",
         {mt(LABELS_MATCH_EQ, "job", "job-3"), mt(LABELS_MATCH_RE, "region", "r1|r2")}, 2},
        {"broad: __name__=~\"bench_metric_.*\"", {mt(LABELS_MATCH_RE, "__name__", "bench_metric_.*")}, 1},
        {"broad regex scan: instance=~\"host-1.*\"", {mt(LABELS_MATCH_RE, "instance", "host-1.*")}, 1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t ns, nc;
        double best = 1e99;
        int reps = c < 2 ? 200 : 3;
        for (int r = 0; r < reps; r++) {
            double ms = select_ms(db, (const labels_matcher *const *)cases[c].m, cases[c].nm, &ns, &nc);
            if (ms < best)
                best = ms;
        }
        if (best < 1)
            printf("select %-58s: %8.1f us CPU (%zu series, %zu chunks)\n", cases[c].what, best * 1e3, ns, nc);
        else
            printf("select %-58s: %8.1f ms CPU (%zu series, %zu chunks)\n", cases[c].what, best, ns, nc);
        for (size_t i = 0; i < cases[c].nm; i++)
            labels_matcher_free(cases[c].m[i]);
    }
    /* label names / values */
    {
        tsdb_querier *q;
        char **out;
        size_t n;
        labels_matcher *mj = mt(LABELS_MATCH_EQ, "job", "job-3");
        const labels_matcher *ms[1] = {mj};
        if (tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q))
            die("querier", -1, NULL);
        double c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        if (tsdb_label_values(q, "id", NULL, 0, &out, &n, err, sizeof(err)))
            die("label values", -1, err);
        double c1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        printf("label values id (all %zu values)%27s: %8.1f ms CPU\n", n, "", (c1 - c0) * 1e3);
        tsdb_strings_free(out, n);
        c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        if (tsdb_label_values(q, "instance", ms, 1, &out, &n, err, sizeof(err)))
            die("label values", -1, err);
        c1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
        printf("label values instance{job=\"job-3\"} (%zu values)%15s: %8.1f ms CPU\n", n, "", (c1 - c0) * 1e3);
        tsdb_strings_free(out, n);
        labels_matcher_free(mj);
        tsdb_querier_free(q);
    }
    /* cutting the whole head into a block (sort, index, chunks, fsync) */
    double t0w = now_s(), c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    if ((rc = tsdb_flush_head(db, err, sizeof(err))))
        die("flush", rc, err);
    tsdb_get_stats(db, &st);
    printf("flush_head: %ld series x %d samples into %zu block(s): %.2f s wall, %.2f CPU-s\n", nseries,
           nsamples, st.blocks, now_s() - t0w, cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
    tsdb_close(db);
}

/* ---- durable commits: fsync per commit, shared by concurrent committers ---------- */

typedef struct fworker {
    tsdb_db *db;
    int w;
    double until;
    long commits;
    pthread_t th;
} fworker;

static void *fsync_worker(void *arg)
{
    fworker *f = arg;
    tsdb_appender *a = tsdb_appender_new(f->db);
    tsdb_ref refs[1000];
    sbuf b;
    char err[256];
    for (int i = 0; i < 1000; i++) {
        mk(&b, f->w * 1000 + i);
        if (tsdb_append(a, b.ls, 5, 0, 0.0, &refs[i]))
            die("append", -1, NULL);
    }
    if (tsdb_commit(a, err, sizeof(err)))
        die("commit", -1, err);
    for (int64_t t = 1; now_s() < f->until; t++) {
        for (int i = 0; i < 1000; i++)
            if (tsdb_append_ref(a, refs[i], t * 1000, (double)t))
                die("append", -1, NULL);
        if (tsdb_commit(a, err, sizeof(err)))
            die("commit", -1, err);
        f->commits++;
    }
    tsdb_appender_free(a);
    return NULL;
}

static void bench_fsync(const char *base, int threads)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/fsync-%d", base, threads);
    tsdb_options o;
    tsdb_options_init(&o); /* TSDB_FSYNC_COMMIT */
    tsdb_db *db;
    char err[256];
    if (tsdb_open(dir, &o, &db, err, sizeof(err)))
        die("open", -1, err);
    fworker w[8];
    double until = now_s() + 2;
    for (int i = 0; i < threads; i++) {
        w[i] = (fworker){.db = db, .w = i, .until = until};
        pthread_create(&w[i].th, NULL, fsync_worker, &w[i]);
    }
    long commits = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].th, NULL);
        commits += w[i].commits;
    }
    printf("fsync per commit, %d thread%s, 1000 samples/commit : %7.0f commits/s, %6.2f M samples/s (wall)\n",
           threads, threads > 1 ? "s" : " ", commits / 2.0, commits * 1000 / 2.0 / 1e6);
    tsdb_close(db);
}

/* WAL replay speed: n series x k samples written through the WAL, reopened. */
static void bench_replay(const char *base, long nseries, int k)
{
    char dir[512], err[256];
    snprintf(dir, sizeof(dir), "%s/replay", base);
    tsdb_db *db = open_db(dir, true);
    tsdb_appender *a = tsdb_appender_new(db);
    tsdb_ref *refs = malloc(nseries * sizeof(*refs));
    sbuf b;
    int rc;
    for (int s = 0; s < k; s++) {
        for (long i = 0; i < nseries; i++) {
            if (s == 0) {
                mk(&b, i);
                rc = tsdb_append(a, b.ls, 5, 0, (double)i, &refs[i]);
            } else {
                rc = tsdb_append_ref(a, refs[i], s * 15000LL, (double)(i + s));
            }
            if (rc)
                die("append", rc, NULL);
            if (i % BATCH == BATCH - 1 && (rc = tsdb_commit(a, err, sizeof(err))))
                die("commit", rc, err);
        }
        if ((rc = tsdb_commit(a, err, sizeof(err))))
            die("commit", rc, err);
    }
    tsdb_stats st;
    tsdb_get_stats(db, &st);
    uint64_t wal = st.wal_bytes;
    free(refs);
    tsdb_appender_free(a);
    tsdb_close(db);
    double t0 = now_s(), c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    db = open_db(dir, true);
    double secs = now_s() - t0, cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    tsdb_get_stats(db, &st);
    printf("WAL replay: %zu series, %llu samples, %.1f MiB WAL (%.1f bytes/sample) in %.2f s wall, %.2f CPU-s "
           "(%.1f M samples per CPU-second)\n",
           st.head_series, (unsigned long long)st.samples_appended, wal / 1048576.0,
           (double)wal / (double)(nseries * (long)k), secs, cpu, st.samples_appended / cpu / 1e6);
    tsdb_close(db);
}

int main(int argc, char **argv)
{
    long nseries = argc > 1 ? atol(argv[1]) : 1000000;
    int nsamples = argc > 2 ? atoi(argv[2]) : 30;
    char base[] = "/tmp/bench_tsdb-XXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    /* memory first, on a fresh heap */
    bench_memory_select(base, nseries, nsamples);
    bench_replay(base, nseries / 4, 20);
    bench_fsync(base, 1);
    bench_fsync(base, 4);
    for (int wal = 0; wal < 2; wal++) {
        for (int threads = 1; threads <= 2; threads++) {
            bench_append(base, threads, false, wal);
            bench_append(base, threads, true, wal);
        }
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", base);
    return 0;
}
