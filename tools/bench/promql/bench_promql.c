/* PromQL range-query benchmark (issue 5): 10k series, 1h at a 15 s step.
 *
 *   bench_promql [-r repeats] [-o file.om] [-d dump-prefix]
 *
 * Builds the data set in lib/promql's in-memory store and times range
 * queries over the last hour (241 steps) for rate, sum by, histogram_quantile
 * and a binary join. With -o it also writes the same samples as OpenMetrics
 * (for `promtool tsdb create-blocks-from openmetrics`, see run-prometheus.sh)
 * so Prometheus can be timed on identical data. With -d it writes each
 * query's result to <prefix><i>.txt (`labels t value` lines) for comparing
 * values with Prometheus (run-prometheus.sh does that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "promql/parse.h"
#include "promql/promql.h"

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

static int add_series(promql_memstore *m, FILE *om, const char *name, labels_label *ls, size_t n, double rate,
                      bool counter, double constv)
{
    double v = 0;
    char lb[512];
    for (int64_t t = DATA_START_MS; t <= QUERY_END_MS; t += SCRAPE_MS) {
        if (counter)
            v += rate * 15 * (0.5 + rnd());
        else
            v = constv;
        if (promql_memstore_add(m, ls, n, t, v) < 0)
            return -1;
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

int main(int argc, char **argv)
{
    int repeats = 3;
    const char *omfile = NULL, *dump = NULL;
    int c;
    while ((c = getopt(argc, argv, "r:o:d:")) != -1) {
        if (c == 'r')
            repeats = atoi(optarg);
        else if (c == 'o')
            omfile = optarg;
        else if (c == 'd')
            dump = optarg;
        else {
            fprintf(stderr, "usage: %s [-r repeats] [-o data.om] [-d dump-prefix]\n", argv[0]);
            return 2;
        }
    }
    FILE *om = NULL;
    if (omfile && !(om = fopen(omfile, "w"))) {
        perror(omfile);
        return 1;
    }
    promql_memstore *m = promql_memstore_new();
    double t0 = now_s();
    char job[32], inst[32], le[32];
    /* 5000 counters: 10 jobs x 500 instances */
    for (int i = 0; i < 5000; i++) {
        snprintf(job, sizeof job, "job%d", i % 10);
        snprintf(inst, sizeof inst, "inst%d", i);
        labels_label ls[] = {labels_make("__name__", "http_requests_total"), labels_make("instance", inst),
                             labels_make("job", job)};
        if (add_series(m, om, "http_requests_total", ls, 3, 1 + i % 7, true, 0) < 0)
            return 1;
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
            if (add_series(m, om, "request_duration_seconds_bucket", ls, 4, 1 + b, true, 0) < 0)
                return 1;
        }
    }
    /* 500 info series for the join (one per instance of the first 500) */
    for (int i = 0; i < 500; i++) {
        snprintf(inst, sizeof inst, "inst%d", i * 10);
        char ver[16];
        snprintf(ver, sizeof ver, "v%d", i % 3);
        labels_label ls[] = {labels_make("__name__", "build_info"), labels_make("instance", inst),
                             labels_make("version", ver)};
        if (add_series(m, om, "build_info", ls, 3, 0, false, 1) < 0)
            return 1;
    }
    if (om) {
        fputs("# EOF\n", om);
        fclose(om);
    }
    printf("loaded %zu series in %.2fs; range %lld..%lld step 15s\n", promql_memstore_n_series(m), now_s() - t0,
           (long long)QUERY_START_MS, (long long)QUERY_END_MS);
    promql_queryable q = promql_memstore_queryable(m);
    promql_opts o;
    promql_opts_init(&o);
    printf("%-90s %10s %8s\n", "query", "best ms", "series");
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        promql_node *e;
        promql_parse_error perr;
        if (promql_parse(queries[i], strlen(queries[i]), &e, &perr) < 0) {
            fprintf(stderr, "parse: %s\n", perr.text);
            return 1;
        }
        double best = 1e9;
        size_t ns = 0;
        for (int r = 0; r < repeats; r++) {
            promql_result res;
            char err[512];
            double s = now_s();
            if (promql_exec_range(&o, &q, e, QUERY_START_MS, QUERY_END_MS, SCRAPE_MS, &res, err, sizeof err) < 0) {
                fprintf(stderr, "%s: %s\n", queries[i], err);
                return 1;
            }
            double d = now_s() - s;
            if (d < best)
                best = d;
            ns = res.n_series;
            if (dump && r == 0)
                dump_result(dump, i, &res);
            promql_result_free(&res);
        }
        printf("%-90s %10.1f %8zu\n", queries[i], best * 1000, ns);
        promql_node_free(e);
    }
    promql_memstore_free(m);
    return 0;
}
