/* PromQL range-query benchmark (issue 5): 10k series, 1h at a 15 s step.
 *
 *   bench_promql [-r repeats] [-s tsdb|mem|both] [-o file.om] [-d dump-prefix]
 *                [-t tsv-file] [-D tsdb-dir] [-l]
 *
 * Builds the data set and times range queries over the last hour (241
 * steps) for rate, sum by, histogram_quantile and a binary join, in process
 * (no HTTP, no JSON), best of the repeats, over two stores (-s, default both):
 *   tsdb: lib/tsdb through lib/promql_tsdb, with the data in blocks as
 *         Prometheus has it after promtool create-blocks-from: the samples are
 *         appended to a tsdb in a scratch directory (or -D DIR), cut into
 *         blocks with tsdb_flush_head, and the db is reopened, so queries
 *         read mmapped blocks and decode XOR chunks;
 *   mem:  promql_memstore (decoded points in arrays: the engine alone).
 * With both, the results of the two must be identical (checked).
 * With -o it also writes the same samples as OpenMetrics (for `promtool tsdb
 * create-blocks-from openmetrics`, see run-prometheus.sh) so Prometheus can
 * be timed on identical data. With -d it writes each query's result (tsdb
 * store if timed, else mem) to <prefix><i>.txt (`labels t value` lines) for
 * comparing values with Prometheus (run-prometheus.sh does that). -t writes
 * `index<TAB>query<TAB>mem ms<TAB>tsdb ms<TAB>series` lines (- when not
 * timed); -l only lists the queries, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "promql/parse.h"
#include "promql/promql.h"
#include "promql_tsdb/promql_tsdb.h"
#include "tsdb/tsdb.h"

#define SCRAPE_MS 15000
#define HOUR_MS 3600000
/* Data spans 1h + 5m before the query window so rate()[5m] is complete. */
#define DATA_START_MS 1700000000000LL
#define QUERY_START_MS (DATA_START_MS + 300000)
#define QUERY_END_MS (QUERY_START_MS + HOUR_MS)

static const char *queries[] = {
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.9, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "rate(http_requests_total[5m]) * on (instance) group_left (version) build_info",
    "100 * (1 - rate(http_requests_total[5m]) / 1000)",
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Cheap deterministic pseudo-random increments. */
static uint64_t rng = 88172645463325252ULL;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void om_series(FILE *om, const char *name, const labels_label *ls, size_t n)
{
    fputs(name, om);
    fputc('{', om);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ls[i].name, "__name__") == 0)
            continue;
        fprintf(om, "%s%s=\"%s\"", first ? "" : ",", ls[i].name, ls[i].value);
        first = false;
    }
    fputc('}', om);
}

typedef struct sink {
    promql_memstore *m; /* or NULL */
    tsdb_appender *a;   /* or NULL */
    FILE *om;           /* or NULL */
    size_t samples;
} sink;

/* ls must be sorted by name (tsdb_append wants it so). */
static int add_series(sink *k, const char *name, labels_label *ls, size_t n, double rate, bool counter,
                      double constv)
{
    double v = 0;
    char lb[512];
    FILE *om = k->om;
    tsdb_ref ref = 0;
    for (int64_t t = DATA_START_MS; t <= QUERY_END_MS; t += SCRAPE_MS) {
        if (counter)
            v += rate * 15 * (0.5 + rnd());
        else
            v = constv;
        if (k->m && promql_memstore_add(k->m, ls, n, t, v) < 0)
            return -1;
        if (k->a) {
            int rc = ref ? tsdb_append_ref(k->a, ref, t, v) : tsdb_append(k->a, ls, n, t, v, &ref);
            if (rc < 0) {
                fprintf(stderr, "tsdb_append: %s\n", tsdb_strerror(rc));
                return -1;
            }
        }
        k->samples++;
        if (om) {
            om_series(om, name, ls, n);
            snprintf(lb, sizeof lb, " %.17g %lld.%03lld\n", v, (long long)(t / 1000), (long long)(t % 1000));
            fputs(lb, om);
        }
    }
    return 0;
}

static void dump_result(const char *prefix, size_t qi, const promql_result *res)
{
    char path[1024], lb[4096];
    snprintf(path, sizeof path, "%s%zu.txt", prefix, qi);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    for (size_t i = 0; i < res->n_series; i++) {
        labels_format(res->series[i].labels, res->series[i].n_labels, lb, sizeof lb);
        for (size_t j = 0; j < res->series[i].n_points; j++)
            fprintf(f, "%s %lld %.17g\n", lb, (long long)res->series[i].points[j].t, res->series[i].points[j].v);
    }
    fclose(f);
}

static bool same_result(const promql_result *a, const promql_result *b)
{
    if (a->type != b->type || a->n_series != b->n_series)
        return false;
    for (size_t i = 0; i < a->n_series; i++) {
        const promql_series *x = &a->series[i], *y = &b->series[i];
        if (!labels_equal(x->labels, x->n_labels, y->labels, y->n_labels) || x->n_points != y->n_points)
            return false;
        for (size_t j = 0; j < x->n_points; j++)
            if (x->points[j].t != y->points[j].t ||
                memcmp(&x->points[j].v, &y->points[j].v, sizeof(double)) != 0)
                return false;
    }
    return true;
}

static long long dir_bytes(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "du -sb --exclude=wal '%s' 2>/dev/null", dir);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    if (p) {
        if (fscanf(p, "%lld", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static int build_data(sink *k)
{
    char job[32], inst[32], le[32];
    const size_t batch_series = 50; /* commit every 50 series (16k samples) */
    size_t nser = 0;
    char err[256];
#define COMMIT_SOMETIMES()                                                                                   \
    do {                                                                                                     \
        if (k->a && ++nser % batch_series == 0 && tsdb_commit(k->a, err, sizeof err) < 0) {                 \
            fprintf(stderr, "commit: %s\n", err);                                                            \
            return -1;                                                                                       \
        }                                                                                                    \
    } while (0)
    /* 5000 counters: 10 jobs x 500 instances */
    for (int i = 0; i < 5000; i++) {
        snprintf(job, sizeof job, "job%d", i % 10);
        snprintf(inst, sizeof inst, "inst%d", i);
        labels_label ls[] = {labels_make("__name__", "http_requests_total"), labels_make("instance", inst),
                             labels_make("job", job)};
        if (add_series(k, "http_requests_total", ls, 3, 1 + i % 7, true, 0) < 0)
            return -1;
        COMMIT_SOMETIMES();
    }
    /* 500 histograms x 9 buckets = 4500 series */
    static const char *les[] = {"0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "10", "+Inf"};
    for (int i = 0; i < 500; i++) {
        snprintf(job, sizeof job, "job%d", i % 10);
        snprintf(inst, sizeof inst, "inst%d", i);
        for (int b = 0; b < 9; b++) {
            snprintf(le, sizeof le, "%s", les[b]);
            labels_label ls[] = {labels_make("__name__", "request_duration_seconds_bucket"),
                                 labels_make("instance", inst), labels_make("job", job), labels_make("le", le)};
            if (add_series(k, "request_duration_seconds_bucket", ls, 4, 1 + b, true, 0) < 0)
                return -1;
            COMMIT_SOMETIMES();
        }
    }
    /* 500 info series for the join (one per instance of the first 500) */
    for (int i = 0; i < 500; i++) {
        snprintf(inst, sizeof inst, "inst%d", i * 10);
        char ver[16];
        snprintf(ver, sizeof ver, "v%d", i % 3);
        labels_label ls[] = {labels_make("__name__", "build_info"), labels_make("instance", inst),
                             labels_make("version", ver)};
        if (add_series(k, "build_info", ls, 3, 0, false, 1) < 0)
            return -1;
        COMMIT_SOMETIMES();
    }
#undef COMMIT_SOMETIMES
    if (k->a && tsdb_commit(k->a, err, sizeof err) < 0) {
        fprintf(stderr, "commit: %s\n", err);
        return -1;
    }
    return 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [-r repeats] [-s tsdb|mem|both] [-o data.om] [-d dump-prefix] [-t figures.tsv] "
            "[-D tsdb-dir] [-l]\n",
            argv0);
}

/* Best of `repeats` runs of query qi over q; keeps the first result in *keep. */
static int time_query(const promql_queryable *q, const promql_node *e, int repeats, double *best,
                      promql_result *keep)
{
    promql_opts o;
    promql_opts_init(&o);
    *best = 1e9;
    for (int r = 0; r < repeats; r++) {
        promql_result res;
        char err[512];
        double s = now_s();
        if (promql_exec_range(&o, q, e, QUERY_START_MS, QUERY_END_MS, SCRAPE_MS, &res, err, sizeof err) < 0) {
            fprintf(stderr, "query: %s\n", err);
            return -1;
        }
        double d = now_s() - s;
        if (d < *best)
            *best = d;
        if (r == 0)
            *keep = res;
        else
            promql_result_free(&res);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int repeats = 3;
    const char *omfile = NULL, *dump = NULL, *store = "both", *tsv = NULL, *tsdb_dir = NULL;
    int c;
    while ((c = getopt(argc, argv, "r:o:d:s:t:D:l")) != -1) {
        switch (c) {
        case 'r': repeats = atoi(optarg); break;
        case 'o': omfile = optarg; break;
        case 'd': dump = optarg; break;
        case 's': store = optarg; break;
        case 't': tsv = optarg; break;
        case 'D': tsdb_dir = optarg; break;
        case 'l':
            for (size_t i = 0; i < sizeof queries / sizeof *queries; i++)
                puts(queries[i]);
            return 0;
        default: usage(argv[0]); return 2;
        }
    }
    bool use_mem = strcmp(store, "mem") == 0 || strcmp(store, "both") == 0;
    bool use_tsdb = strcmp(store, "tsdb") == 0 || strcmp(store, "both") == 0;
    if ((!use_mem && !use_tsdb) || repeats < 1) {
        usage(argv[0]);
        return 2;
    }
    sink k = {0};
    if (omfile && !(k.om = fopen(omfile, "w"))) {
        perror(omfile);
        return 1;
    }
    char tmpdir[512] = "";
    tsdb_db *db = NULL;
    char err[512];
    tsdb_options topts;
    tsdb_options_init(&topts);
    topts.wal_fsync = TSDB_FSYNC_NEVER; /* loading speed is not what is measured */
    if (use_tsdb) {
        if (!tsdb_dir) {
            const char *base = getenv("TMPDIR");
            snprintf(tmpdir, sizeof tmpdir, "%s/aion-bench-promql-XXXXXX", base ? base : "/tmp");
            if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
            }
            tsdb_dir = tmpdir;
        }
        if (tsdb_open(tsdb_dir, &topts, &db, err, sizeof err) < 0) {
            fprintf(stderr, "tsdb_open %s: %s\n", tsdb_dir, err);
            return 1;
        }
        if (!(k.a = tsdb_appender_new(db))) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
    }
    if (use_mem)
        k.m = promql_memstore_new();
    double t0 = now_s();
    if (build_data(&k) < 0)
        return 1;
    double t_load = now_s() - t0;
    if (k.om) {
        fputs("# EOF\n", k.om);
        fclose(k.om);
    }
    printf("data: %zu series, %zu samples (%s) generated and loaded in %.2fs\n", (size_t)10000, k.samples,
           use_mem && use_tsdb ? "memstore + tsdb" : use_mem ? "memstore" : "tsdb", t_load);
    if (use_tsdb) {
        tsdb_appender_free(k.a);
        t0 = now_s();
        if (tsdb_flush_head(db, err, sizeof err) < 0) {
            fprintf(stderr, "tsdb_flush_head: %s\n", err);
            return 1;
        }
        tsdb_close(db);
        if (tsdb_open(tsdb_dir, &topts, &db, err, sizeof err) < 0) {
            fprintf(stderr, "tsdb reopen %s: %s\n", tsdb_dir, err);
            return 1;
        }
        tsdb_stats st;
        tsdb_get_stats(db, &st);
        long long bytes = dir_bytes(tsdb_dir);
        printf("tsdb: flushed into %zu block(s) and reopened in %.2fs (%lld bytes on disk, %.2f bytes/sample, "
               "%zu series left in the head)\n",
               st.blocks, now_s() - t0, bytes, bytes > 0 ? (double)bytes / (double)k.samples : 0.0,
               st.head_series);
    }
    printf("range %lld..%lld step 15s (241 steps); best of %d; Aion engine in process (no HTTP, no JSON)\n",
           (long long)QUERY_START_MS, (long long)QUERY_END_MS, repeats);
    promql_queryable mq = {0}, tq = {0};
    if (use_mem)
        mq = promql_memstore_queryable(k.m);
    if (use_tsdb)
        tq = promql_tsdb_queryable(db);
    FILE *tf = NULL;
    if (tsv && !(tf = fopen(tsv, "w"))) {
        perror(tsv);
        return 1;
    }
    printf("%-90s %12s %12s %8s\n", "query", "tsdb ms", "memstore ms", "series");
    int status = 0;
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        promql_node *e;
        promql_parse_error perr;
        if (promql_parse(queries[i], strlen(queries[i]), &e, &perr) < 0) {
            fprintf(stderr, "parse: %s\n", perr.text);
            return 1;
        }
        double bm = -1, bt = -1;
        promql_result rm = {0}, rt = {0};
        if (use_tsdb && time_query(&tq, e, repeats, &bt, &rt) < 0)
            return 1;
        if (use_mem && time_query(&mq, e, repeats, &bm, &rm) < 0)
            return 1;
        size_t ns = use_tsdb ? rt.n_series : rm.n_series;
        char sm[32] = "-", st[32] = "-";
        if (bm >= 0)
            snprintf(sm, sizeof sm, "%.1f", bm * 1000);
        if (bt >= 0)
            snprintf(st, sizeof st, "%.1f", bt * 1000);
        printf("%-90s %12s %12s %8zu\n", queries[i], st, sm, ns);
        if (tf)
            fprintf(tf, "%zu\t%s\t%s\t%s\t%zu\n", i, queries[i], sm, st, ns);
        if (use_mem && use_tsdb && !same_result(&rm, &rt)) {
            fprintf(stderr, "MISMATCH: %s answers differently over tsdb and memstore\n", queries[i]);
            status = 1;
        }
        if (dump)
            dump_result(dump, i, use_tsdb ? &rt : &rm);
        promql_result_free(&rm);
        promql_result_free(&rt);
        promql_node_free(e);
    }
    if (tf)
        fclose(tf);
    promql_memstore_free(k.m);
    tsdb_close(db);
    if (tmpdir[0]) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", tmpdir);
    }
    return status;
}
