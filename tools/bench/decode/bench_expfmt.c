/* Parse and write throughput of the text exposition format on one core:
 * a /federate-like body (untyped families, ~10 labels, ms timestamps) of
 * 100k samples, parsed with expfmt_parse and re-written with the writer.
 * Usage: bench_expfmt [seconds-per-case (default 2)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <expfmt/expfmt.h>
#include <expfmt/writer.h>

#define NSAMPLES 100000

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(void *ctx, const expfmt_sample *s)
{
    (*(size_t *)ctx) += s->label_count;
    return 0;
}

typedef struct {
    char *buf;
    size_t len, cap;
} wctx;

static int rewrite(void *ctx, const expfmt_sample *s)
{
    wctx *w = ctx;
    w->len += expfmt_format_sample(w->buf + w->len, w->cap - w->len, s->name, s->name_len,
                                   s->labels, s->label_count, s->value,
                                   s->has_timestamp ? &s->timestamp_ms : NULL);
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    size_t cap = (size_t)NSAMPLES * 400, len = 0, sample_bytes = 0;
    char *body = malloc(cap);
    for (int i = 0; i < NSAMPLES; i++) {
        if (i % 50 == 0)
            len += (size_t)snprintf(body + len, cap - len, "# TYPE metric_%d_total untyped\n", i / 50);
        char inst[32], pod[40];
        snprintf(inst, sizeof(inst), "10.0.%d.%d:9100", (i / 250) % 256, i % 250);
        snprintf(pod, sizeof(pod), "app-%d-%05x", i % 40, (unsigned)(i * 2654435761u) & 0xfffff);
        expfmt_label l[] = {
            {"cluster", "prod-eu-1", 7, 9}, {"cpu", "cpu3", 3, 4},
            {"instance", inst, 8, (uint32_t)strlen(inst)}, {"job", "node-exporter", 3, 13},
            {"mode", (i & 1) ? "user" : "system", 4, (i & 1) ? 4 : 6},
            {"namespace", "ns-7", 9, 4}, {"pod", pod, 3, (uint32_t)strlen(pod)},
            {"prometheus", "monitoring/k8s", 10, 14}, {"replica", "0", 7, 1},
            {"zone", "eu-west-1a", 4, 10}};
        char name[48];
        int nl = snprintf(name, sizeof(name), "metric_%d_total", i / 50);
        int64_t ts = 1700000000000 + i;
        size_t n = expfmt_format_sample(body + len, cap - len, name, (size_t)nl, l, 10,
                                        (double)i * 1.25, &ts);
        len += n;
        sample_bytes += n;
    }
    printf("body: %d samples, %.1f MB\n", NSAMPLES, len / 1e6);

    size_t iters = 0, labels = 0;
    double t0 = now(), t;
    do {
        expfmt_callbacks cb = {count, NULL, NULL};
        expfmt_error err;
        if (expfmt_parse(body, len, EXPFMT_TEXT, &cb, &labels, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        iters++;
        t = now() - t0;
    } while (t < secs);
    printf("%-36s %8.2fM samples/s  %7.1f MB/s\n", "parse (text 0.0.4)",
           iters * (double)NSAMPLES / t / 1e6, iters * (double)len / t / 1e6);

    wctx w = {malloc(cap), 0, cap};
    iters = 0;
    t0 = now();
    do {
        w.len = 0;
        expfmt_callbacks cb = {rewrite, NULL, NULL};
        if (expfmt_parse(body, len, EXPFMT_TEXT, &cb, &w, NULL))
            return 1;
        iters++;
        t = now() - t0;
    } while (t < secs);
    printf("%-36s %8.2fM samples/s  %7.1f MB/s\n", "parse + write back",
           iters * (double)NSAMPLES / t / 1e6, iters * (double)len / t / 1e6);
    if (w.len != sample_bytes) {   /* written back = the sample lines exactly */
        fprintf(stderr, "write-back size %zu != %zu\n", w.len, sample_bytes);
        return 1;
    }
    free(w.buf);
    free(body);
    return 0;
}
