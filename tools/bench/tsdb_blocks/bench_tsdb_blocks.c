/* bench_tsdb_blocks: (1) bytes per sample of blocks written by lib/tsdb for
 * a random-walk counter, and of the block promtool writes from the same
 * samples (create-blocks-from openmetrics) when promtool is installed;
 * (2) latency of block select for a selective and a broad matcher.
 * Times are CPU time of the process (the bench is single-threaded).
 * Usage: bench_tsdb_blocks [series-for-select (default 200000)] */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tsdb/tsdb.h>

#include "block_read.h"
#include "chunk_xor.h"
#include "series_set.h"

/* CPU time of this (single-threaded) process: the machine is shared, so
 * wall time would measure the neighbours. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Lazily generated series: labels from the index, samples from a seed, so
 * memory stays flat for large blocks. */
typedef struct gen {
    size_t nseries, nsamples, per_chunk;
    int64_t mint;
    int counter;           /* 1: random-walk counter; 0: constant-ish gauge */
    char name[64], job[32], inst[32];
    labels_label ls[3];
    tsdb_chunk *chunks;
    size_t cap;
    FILE *om;              /* also write OpenMetrics when set */
    size_t om_next;        /* get() runs twice per series: write each once */
} gen;

static int gen_get(void *ctx, size_t i, tsdb_block_series *out)
{
    gen *g = ctx;
    snprintf(g->name, sizeof(g->name), "bench_requests_total");
    snprintf(g->inst, sizeof(g->inst), "inst-%07zu", i);
    snprintf(g->job, sizeof(g->job), "job-%zu", i % 10);
    g->ls[0] = labels_make("__name__", g->name);
    g->ls[1] = labels_make("instance", g->inst);
    g->ls[2] = labels_make("job", g->job);
    for (size_t c = 0; c < g->cap; c++)
        free((void *)g->chunks[c].data);
    size_t nch = (g->nsamples + g->per_chunk - 1) / g->per_chunk;
    if (nch > g->cap) {
        g->chunks = realloc(g->chunks, nch * sizeof(*g->chunks));
        if (!g->chunks)
            return -ENOMEM;
    }
    memset(g->chunks, 0, nch * sizeof(*g->chunks));
    g->cap = nch;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ (i * 0xBF58476D1CE4E5B9ull);
    double v = (double)(rng_next(&seed) % 1000);
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    size_t c = 0;
    FILE *om = g->om && i == g->om_next ? g->om : NULL;
    if (om)
        g->om_next++;
    for (size_t k = 0; k < g->nsamples; k++) {
        int64_t t = g->mint + (int64_t)k * 15000;
        if (g->counter)
            v += (double)(rng_next(&seed) % 100);
        if (tsdb_xor_enc_count(&e) == 0)
            g->chunks[c].mint = t;
        tsdb_xor_enc_append(&e, t, v);
        g->chunks[c].maxt = t;
        if (om)
            fprintf(om, "bench_requests_total{instance=\"%s\",job=\"%s\"} %.17g %lld.%03lld\n", g->inst,
                    g->job, v, (long long)(t / 1000), (long long)(t % 1000));
        if (tsdb_xor_enc_count(&e) == g->per_chunk || k + 1 == g->nsamples) {
            g->chunks[c].encoding = TSDB_ENC_XOR;
            g->chunks[c].data = tsdb_xor_enc_take(&e, &g->chunks[c].len);
            c++;
        }
    }
    out->labels = g->ls;
    out->nlabels = 3;
    out->chunks = g->chunks;
    out->nchunks = c;
    return 0;
}

static uint64_t dir_bytes(const char *dir, int count_meta)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[8192];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st))
            continue;
        if (S_ISDIR(st.st_mode))
            sum += dir_bytes(p, count_meta);
        else if (count_meta || (strcmp(e->d_name, "meta.json") && strcmp(e->d_name, "tombstones")))
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

static uint64_t chunk_bytes(const char *blockdir)
{
    char p[8192];
    snprintf(p, sizeof(p), "%s/chunks", blockdir);
    return dir_bytes(p, 1);
}

static int write_block(gen *g, const char *parent, char ulid[27])
{
    tsdb_block_source src = {.nseries = g->nseries, .mint = g->mint, .maxt = g->mint + 7200000,
                             .ctx = g, .get = gen_get};
    char err[256];
    int rc = tsdb_block_write(parent, &src, NULL, ulid, err, sizeof(err));
    if (rc)
        fprintf(stderr, "block write: %s\n", err);
    return rc;
}

static void bench_size(const char *root)
{
    gen g = {.nseries = 1000, .nsamples = 480, .per_chunk = 120, .mint = 1700006400000, .counter = 1};
    char parent[1024], om[1024], ulid[27], bdir[4096];
    snprintf(parent, sizeof(parent), "%s/size", root);
    mkdir(parent, 0755);
    snprintf(om, sizeof(om), "%s/input.om", root);
    g.om = fopen(om, "w");
    if (g.om)
        fprintf(g.om, "# TYPE bench_requests counter\n");
    if (write_block(&g, parent, ulid))
        return;
    if (g.om) {
        fprintf(g.om, "# EOF\n");
        fclose(g.om);
    }
    snprintf(bdir, sizeof(bdir), "%s/%s", parent, ulid);
    double n = (double)g.nseries * (double)g.nsamples;
    uint64_t all = dir_bytes(bdir, 0), ch = chunk_bytes(bdir);
    printf("blocks: random-walk counter, %zu series x %zu samples (15 s, 120/chunk)\n", g.nseries, g.nsamples);
    printf("  aion     : %.3f bytes/sample (index+chunks), %.3f bytes/sample (chunks only)\n", (double)all / n,
           (double)ch / n);

    char cmd[4096], out[1024];
    snprintf(out, sizeof(out), "%s/promtool", root);
    snprintf(cmd, sizeof(cmd), "promtool tsdb create-blocks-from openmetrics '%s' '%s' >/dev/null 2>&1", om, out);
    if (system("promtool --version >/dev/null 2>&1") == 0 && system(cmd) == 0) {
        DIR *d = opendir(out);
        struct dirent *e;
        uint64_t pall = 0, pch = 0;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(bdir, sizeof(bdir), "%s/%s", out, e->d_name);
            pall += dir_bytes(bdir, 0);
            pch += chunk_bytes(bdir);
        }
        if (d)
            closedir(d);
        printf("  promtool : %.3f bytes/sample (index+chunks), %.3f bytes/sample (chunks only), same samples\n",
               (double)pall / n, (double)pch / n);
    } else {
        printf("  promtool : not installed, no comparison\n");
    }
    for (size_t c = 0; c < g.cap; c++)
        free((void *)g.chunks[c].data);
    free(g.chunks);
}

static labels_matcher *mk(labels_match_type t, const char *n, const char *v)
{
    labels_matcher *m = NULL;
    char err[256];
    if (labels_matcher_new(t, n, strlen(n), v, strlen(v), &m, err, sizeof(err)))
        fprintf(stderr, "matcher: %s\n", err);
    return m;
}

/* Runs a select `reps` times; returns seconds per run and counts. */
static double run_select(tsdb_block *b, labels_matcher *m, int decode, int reps, size_t *nser, size_t *nsamp)
{
    double t0 = now_s();
    for (int r = 0; r < reps; r++) {
        tsdb_series_set *ss;
        char err[256];
        *nser = *nsamp = 0;
        if (tsdb_block_select(b, INT64_MIN, INT64_MAX, (const labels_matcher *const *)&m, 1, &ss, err,
                              sizeof(err)))
            return -1;
        while (tsdb_series_set_next(ss) == 1) {
            (*nser)++;
            if (!decode)
                continue;
            size_t nc;
            const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
            tsdb_sample_iter it;
            tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
            int64_t t;
            double v;
            while (tsdb_sample_iter_next(&it, &t, &v) == 1)
                (*nsamp)++;
            tsdb_sample_iter_free(&it);
        }
        tsdb_series_set_free(ss);
    }
    return (now_s() - t0) / reps;
}

static void bench_select(const char *root, size_t nseries)
{
    gen g = {.nseries = nseries, .nsamples = 120, .per_chunk = 120, .mint = 1700006400000, .counter = 1};
    char parent[1024], ulid[27], bdir[2048], err[256];
    snprintf(parent, sizeof(parent), "%s/select", root);
    mkdir(parent, 0755);
    double t0 = now_s();
    if (write_block(&g, parent, ulid))
        return;
    double tw = now_s() - t0;
    snprintf(bdir, sizeof(bdir), "%s/%s", parent, ulid);
    printf("select: block of %zu series x 120 samples written in %.2f s CPU (%.2f M samples/s), %.1f MB\n", nseries,
           tw, (double)nseries * 120 / tw / 1e6, (double)dir_bytes(bdir, 1) / 1e6);
    tsdb_block *b;
    t0 = now_s();
    if (tsdb_block_open(bdir, &b, err, sizeof(err))) {
        fprintf(stderr, "open: %s\n", err);
        return;
    }
    printf("  open                                 : %10.4f ms\n", (now_s() - t0) * 1e3);
    char inst[32];
    snprintf(inst, sizeof(inst), "inst-%07zu", nseries / 2);
    struct {
        const char *what;
        labels_match_type t;
        const char *n, *v;
        int reps;
    } cases[] = {
        {"instance=\"<one>\"           (1 series)", LABELS_MATCH_EQ, "instance", inst, 2000},
        {"job=\"job-3\"               (10%)     ", LABELS_MATCH_EQ, "job", "job-3", 5},
        {"instance=~\"inst-00001.*\"   (regex)   ", LABELS_MATCH_RE, "instance", "inst-00001.*", 20},
        {"__name__=\"bench_requests_total\" (all)", LABELS_MATCH_EQ, "__name__", "bench_requests_total", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        labels_matcher *m = mk(cases[i].t, cases[i].n, cases[i].v);
        size_t ns, nsm;
        double s1 = run_select(b, m, 0, cases[i].reps, &ns, &nsm);
        double s2 = run_select(b, m, 1, cases[i].reps, &ns, &nsm);
        printf("  %s: %10.4f ms series only, %10.4f ms with samples (%zu series, %zu samples, %.1f M samples/s)\n",
               cases[i].what, s1 * 1e3, s2 * 1e3, ns, nsm, s2 > 0 ? (double)nsm / s2 / 1e6 : 0);
        labels_matcher_free(m);
    }
    tsdb_block_close(b);
    for (size_t c = 0; c < g.cap; c++)
        free((void *)g.chunks[c].data);
    free(g.chunks);
}

int main(int argc, char **argv)
{
    size_t nseries = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000;
    char root[] = "/tmp/aion-bench-blocks-XXXXXX";
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    bench_size(root);
    bench_select(root, nseries);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed: %s\n", root);
    return 0;
}
