/* rwload: a Prometheus remote-write load generator.
 *
 * Every request is encoded (lib/prompb, snappy) before the clock starts, so
 * the client spends its CPU on HTTP only. The data model mimics what a
 * Prometheus sends: N series, each with S samples `step` ms apart; request
 * k carries `per_series` consecutive samples of a block of series, so one
 * "round" of requests covers every series once. Connection t owns the
 * series blocks b with b % C == t and sends its requests in time order, so a
 * well-behaved server never sees an out-of-order sample.
 *
 * Series i: {__name__="rwload_metric_<i%50>", instance="host-<i/50%1000>",
 *            job="rwload", series="<i>"}
 * sample j of series i: t = start + j*step, v = (i % 1000) + j * 0.25
 * (exact in binary, so any reader can recompute it).
 *
 * --ack-log FILE writes one line per request answered 2xx, after the answer:
 *   `ack <first series> <end series> <first t> <last t>` (series [first,end))
 * which is what the kill -9 test checks against the server's storage.
 *
 * Output: `key=value` lines (see print_report), stable for scripts. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <prompb/snappy.h>
#include <prompb/write.h>

typedef struct {
    char *body;
    size_t len;
    uint32_t series_lo, series_hi; /* [lo, hi) */
    int64_t t_lo, t_hi;            /* inclusive */
    uint32_t samples;
} request;

static struct {
    const char *url;
    long series;
    long samples_per_series;
    long per_request;       /* samples per request */
    long per_series;        /* samples of one series in one request */
    int conns;
    double duration;        /* 0 = until every request is sent */
    const char *tenant;
    const char *tenant_header;
    int64_t start_ms;
    int64_t step_ms;
    const char *ack_log;
    int proto;              /* 1 or 2 */
    bool retry_5xx;
    bool quiet;
} opt = {
    .series = 100000, .samples_per_series = 120, .per_request = 2000, .per_series = 1,
    .conns = 4, .tenant_header = "THANOS-TENANT", .step_ms = 15000, .proto = 1,
};

static request *reqs;
static size_t nblocks, nrounds, series_per_req;
static FILE *ack_f;
static pthread_mutex_t ack_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop_flag;
static struct timespec t_start;

#define MAX_STATUS 600
typedef struct {
    int idx;
    pthread_t th;
    double *lat_ms;
    size_t nlat, caplat;
    uint64_t status[MAX_STATUS];   /* [0] = transport error */
    uint64_t samples_ok, bytes_sent, requests;
    char first_error[256];
    int encode_rc;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double elapsed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t_start.tv_sec) + (ts.tv_nsec - t_start.tv_nsec) / 1e9;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, true);
}

/* Encodes request (round r, block b). Scratch buffers are per worker. */
static int encode_one(size_t r, size_t b, prompb_series_data *sd, prompb_label *lab,
                      prompb_sample *smp, char *names, prompb_buf *scratch, prompb_buf *out)
{
    size_t lo = b * series_per_req;
    size_t hi = lo + series_per_req;
    if (hi > (size_t)opt.series)
        hi = (size_t)opt.series;
    size_t j0 = r * (size_t)opt.per_series;
    size_t j1 = j0 + (size_t)opt.per_series;
    if (j1 > (size_t)opt.samples_per_series)
        j1 = (size_t)opt.samples_per_series;
    size_t ns = j1 - j0;
    for (size_t i = lo; i < hi; i++) {
        size_t k = i - lo;
        char *p = names + k * 64;
        int a = snprintf(p, 24, "rwload_metric_%zu", i % 50);
        int bb = snprintf(p + 24, 20, "host-%zu", i / 50 % 1000);
        int c = snprintf(p + 44, 20, "%zu", i);
        prompb_label *l = lab + k * 4;
        l[0] = (prompb_label){ "__name__", p, 8, (uint32_t)a };
        l[1] = (prompb_label){ "instance", p + 24, 8, (uint32_t)bb };
        l[2] = (prompb_label){ "job", "rwload", 3, 6 };
        l[3] = (prompb_label){ "series", p + 44, 6, (uint32_t)c };
        prompb_sample *s = smp + k * (size_t)opt.per_series;
        for (size_t j = j0; j < j1; j++) {
            s[j - j0].timestamp_ms = opt.start_ms + (int64_t)j * opt.step_ms;
            s[j - j0].value = (double)(i % 1000) + (double)j * 0.25;
        }
        sd[k] = (prompb_series_data){ l, 4, s, ns };
    }
    prompb_error err;
    int rc;
    if (opt.proto == 2) {
        rc = prompb_write_encode_v2(sd, hi - lo, scratch, &err);
        if (rc == 0)
            rc = prompb_snappy_compress(scratch->data, scratch->len, out, &err);
    } else {
        rc = prompb_write_encode_v1_snappy(sd, hi - lo, scratch, out, &err);
    }
    if (rc != 0) {
        fprintf(stderr, "rwload: encode: %s\n", err.msg);
        return rc;
    }
    request *q = &reqs[r * nblocks + b];
    q->body = malloc(out->len);
    if (!q->body)
        return -ENOMEM;
    memcpy(q->body, out->data, out->len);
    q->len = out->len;
    q->series_lo = (uint32_t)lo;
    q->series_hi = (uint32_t)hi;
    q->t_lo = opt.start_ms + (int64_t)j0 * opt.step_ms;
    q->t_hi = opt.start_ms + (int64_t)(j1 - 1) * opt.step_ms;
    q->samples = (uint32_t)((hi - lo) * ns);
    return 0;
}

static void *encode_worker(void *arg)
{
    worker *w = arg;
    size_t n = series_per_req;
    prompb_series_data *sd = calloc(n, sizeof *sd);
    prompb_label *lab = calloc(n * 4, sizeof *lab);
    prompb_sample *smp = calloc(n * (size_t)opt.per_series, sizeof *smp);
    char *names = calloc(n, 64);
    prompb_buf scratch = { 0 }, out = { 0 };
    w->encode_rc = (!sd || !lab || !smp || !names) ? -ENOMEM : 0;
    for (size_t b = (size_t)w->idx; b < nblocks && w->encode_rc == 0; b += (size_t)opt.conns)
        for (size_t r = 0; r < nrounds && w->encode_rc == 0; r++)
            w->encode_rc = encode_one(r, b, sd, lab, smp, names, &scratch, &out);
    free(sd);
    free(lab);
    free(smp);
    free(names);
    prompb_buf_free(&scratch);
    prompb_buf_free(&out);
    return NULL;
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

static void *send_worker(void *arg)
{
    worker *w = arg;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(w->first_error, sizeof w->first_error, "curl_easy_init failed");
        return NULL;
    }
    struct curl_slist *hl = NULL;
    char th[300];
    hl = curl_slist_append(hl, "Content-Encoding: snappy");
    hl = curl_slist_append(hl, opt.proto == 2
                                   ? "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request"
                                   : "Content-Type: application/x-protobuf");
    hl = curl_slist_append(hl, opt.proto == 2 ? "X-Prometheus-Remote-Write-Version: 2.0.0"
                                              : "X-Prometheus-Remote-Write-Version: 0.1.0");
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    if (opt.tenant) {
        snprintf(th, sizeof th, "%s: %s", opt.tenant_header, opt.tenant);
        hl = curl_slist_append(hl, th);
    }
    curl_easy_setopt(c, CURLOPT_URL, opt.url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rwload/1");

    for (size_t r = 0; r < nrounds && !atomic_load(&stop_flag); r++) {
        for (size_t b = (size_t)w->idx; b < nblocks && !atomic_load(&stop_flag); b += (size_t)opt.conns) {
            if (opt.duration > 0 && elapsed() >= opt.duration) {
                atomic_store(&stop_flag, true);
                break;
            }
            const request *q = &reqs[r * nblocks + b];
            long code = 0;
            int attempts = 0;
            double t0;
            for (;;) {
                t0 = now_s();
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->len);
                CURLcode cr = curl_easy_perform(c);
                code = 0;
                if (cr == CURLE_OK)
                    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                else if (!w->first_error[0])
                    snprintf(w->first_error, sizeof w->first_error, "%s", curl_easy_strerror(cr));
                if (code < 0 || code >= MAX_STATUS)
                    code = MAX_STATUS - 1;
                w->requests++;
                w->bytes_sent += q->len;
                w->status[code]++;
                if (!(opt.retry_5xx && (code >= 500 || code == 0)) || atomic_load(&stop_flag) ||
                    ++attempts > 100)
                    break;
                usleep(20000); /* retrying a 5xx/transport error as Prometheus would */
            }
            double ms = (now_s() - t0) * 1000.0;
            if (w->nlat == w->caplat) {
                size_t nc = w->caplat ? w->caplat * 2 : 4096;
                double *nl = realloc(w->lat_ms, nc * sizeof *nl);
                if (nl) {
                    w->lat_ms = nl;
                    w->caplat = nc;
                }
            }
            if (w->nlat < w->caplat)
                w->lat_ms[w->nlat++] = ms;
            if (code >= 200 && code < 300) {
                w->samples_ok += q->samples;
                if (ack_f) {
                    pthread_mutex_lock(&ack_mu);
                    fprintf(ack_f, "ack %" PRIu32 " %" PRIu32 " %" PRId64 " %" PRId64 "\n", q->series_lo,
                            q->series_hi, q->t_lo, q->t_hi);
                    fflush(ack_f);
                    pthread_mutex_unlock(&ack_mu);
                }
            } else if (code == 0 && !opt.retry_5xx) {
                usleep(10000); /* server gone: do not spin */
            }
        }
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return v[i];
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rwload --url URL [options]\n"
            "  --series N               series (default 100000)\n"
            "  --samples-per-series S   samples of each series (default 120)\n"
            "  --total-samples T        sets S = T / N instead\n"
            "  --samples-per-request R  samples per request (default 2000)\n"
            "  --per-series K           consecutive samples of one series per request (default 1)\n"
            "  --connections C          threads, one keep-alive connection each (default 4)\n"
            "  --duration SEC           stop after SEC seconds even if requests are left (default: send all)\n"
            "  --tenant NAME            send the tenant header\n"
            "  --tenant-header NAME     its name (default THANOS-TENANT)\n"
            "  --start-ms MS            first timestamp (default: now - S*step, so the last is about now)\n"
            "  --step-ms MS             sample interval (default 15000)\n"
            "  --proto 1|2              remote write 1.0 (default) or 2.0\n"
            "  --retry                  retry 5xx and transport errors (every 20 ms) like Prometheus\n"
            "  --ack-log FILE           one line per 2xx: ack <series lo> <series hi> <t lo> <t hi>\n"
            "  --quiet                  no progress on stderr\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "url", 1, 0, 'u' },         { "series", 1, 0, 'n' },       { "samples-per-series", 1, 0, 's' },
        { "total-samples", 1, 0, 'T' }, { "samples-per-request", 1, 0, 'r' }, { "per-series", 1, 0, 'k' },
        { "connections", 1, 0, 'c' }, { "duration", 1, 0, 'd' },     { "tenant", 1, 0, 't' },
        { "tenant-header", 1, 0, 'H' }, { "start-ms", 1, 0, 'S' },   { "step-ms", 1, 0, 'p' },
        { "proto", 1, 0, 'P' },       { "ack-log", 1, 0, 'a' },      { "retry", 0, 0, 'R' },
        { "quiet", 0, 0, 'q' },       { "help", 0, 0, 'h' },         { 0, 0, 0, 0 },
    };
    long total = 0;
    bool have_start = false;
    int o;
    while ((o = getopt_long(argc, argv, "u:n:s:T:r:k:c:d:t:H:S:p:P:a:Rqh", lo, NULL)) != -1) {
        switch (o) {
        case 'u': opt.url = optarg; break;
        case 'n': opt.series = atol(optarg); break;
        case 's': opt.samples_per_series = atol(optarg); break;
        case 'T': total = atol(optarg); break;
        case 'r': opt.per_request = atol(optarg); break;
        case 'k': opt.per_series = atol(optarg); break;
        case 'c': opt.conns = atoi(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 't': opt.tenant = optarg; break;
        case 'H': opt.tenant_header = optarg; break;
        case 'S': opt.start_ms = strtoll(optarg, NULL, 10); have_start = true; break;
        case 'p': opt.step_ms = strtoll(optarg, NULL, 10); break;
        case 'P': opt.proto = atoi(optarg); break;
        case 'a': opt.ack_log = optarg; break;
        case 'R': opt.retry_5xx = true; break;
        case 'q': opt.quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (total > 0 && opt.series > 0)
        opt.samples_per_series = total / opt.series;
    if (!opt.url || opt.series <= 0 || opt.samples_per_series <= 0 || opt.per_request <= 0 ||
        opt.per_series <= 0 || opt.conns <= 0 || (opt.proto != 1 && opt.proto != 2) || opt.step_ms <= 0) {
        usage(stderr);
        return 2;
    }
    if (opt.per_series > opt.samples_per_series)
        opt.per_series = opt.samples_per_series;
    series_per_req = (size_t)(opt.per_request / opt.per_series);
    if (series_per_req == 0)
        series_per_req = 1;
    nblocks = ((size_t)opt.series + series_per_req - 1) / series_per_req;
    nrounds = ((size_t)opt.samples_per_series + (size_t)opt.per_series - 1) / (size_t)opt.per_series;
    if ((size_t)opt.conns > nblocks) {
        fprintf(stderr, "rwload: only %zu series blocks: using %zu connections\n", nblocks, nblocks);
        opt.conns = (int)nblocks;
    }
    if (!have_start) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        opt.start_ms = now - (int64_t)opt.samples_per_series * opt.step_ms;
    }
    if (opt.ack_log) {
        ack_f = fopen(opt.ack_log, "w");
        if (!ack_f) {
            fprintf(stderr, "rwload: %s: %s\n", opt.ack_log, strerror(errno));
            return 1;
        }
    }
    curl_global_init(CURL_GLOBAL_ALL);
    reqs = calloc(nblocks * nrounds, sizeof *reqs);
    worker *ws = calloc((size_t)opt.conns, sizeof *ws);
    if (!reqs || !ws) {
        fprintf(stderr, "rwload: out of memory\n");
        return 1;
    }
    double e0 = now_s();
    for (int i = 0; i < opt.conns; i++) {
        ws[i].idx = i;
        pthread_create(&ws[i].th, NULL, encode_worker, &ws[i]);
    }
    for (int i = 0; i < opt.conns; i++)
        pthread_join(ws[i].th, NULL);
    size_t body_bytes = 0;
    for (int i = 0; i < opt.conns; i++)
        if (ws[i].encode_rc != 0) {
            fprintf(stderr, "rwload: encoding failed (%d)\n", ws[i].encode_rc);
            return 1;
        }
    for (size_t i = 0; i < nblocks * nrounds; i++)
        body_bytes += reqs[i].len;
    if (!opt.quiet)
        fprintf(stderr, "rwload: encoded %zu requests (%.1f MB snappy) in %.2f s; sending to %s\n",
                nblocks * nrounds, body_bytes / 1e6, now_s() - e0, opt.url);

    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    for (int i = 0; i < opt.conns; i++)
        pthread_create(&ws[i].th, NULL, send_worker, &ws[i]);
    for (int i = 0; i < opt.conns; i++)
        pthread_join(ws[i].th, NULL);
    double secs = elapsed();
    getrusage(RUSAGE_SELF, &ru1);
    double client_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                        (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

    uint64_t status[MAX_STATUS] = { 0 }, samples_ok = 0, sent = 0, nreq = 0;
    size_t nlat = 0;
    for (int i = 0; i < opt.conns; i++) {
        for (int s = 0; s < MAX_STATUS; s++)
            status[s] += ws[i].status[s];
        samples_ok += ws[i].samples_ok;
        sent += ws[i].bytes_sent;
        nreq += ws[i].requests;
        nlat += ws[i].nlat;
    }
    double *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < opt.conns; i++) {
        if (lat)
            memcpy(lat + k, ws[i].lat_ms, ws[i].nlat * sizeof *lat);
        k += ws[i].nlat;
    }
    if (lat)
        qsort(lat, nlat, sizeof *lat, cmp_d);
    uint64_t non2xx = 0;
    for (int s = 0; s < MAX_STATUS; s++)
        if (s < 200 || s >= 300)
            non2xx += status[s];
    printf("series=%ld samples_per_series=%ld samples_per_request=%ld connections=%d proto=%d\n", opt.series,
           opt.samples_per_series, opt.per_request, opt.conns, opt.proto);
    printf("requests=%" PRIu64 " non2xx=%" PRIu64 " samples_ok=%" PRIu64 " elapsed_s=%.3f samples_per_s=%.0f "
           "mb_sent=%.1f client_cpu_s=%.2f\n",
           nreq, non2xx, samples_ok, secs, secs > 0 ? (double)samples_ok / secs : 0, sent / 1e6, client_cpu);
    if (lat)
        printf("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n", pct(lat, nlat, 50), pct(lat, nlat, 90),
               pct(lat, nlat, 99), nlat ? lat[nlat - 1] : 0);
    printf("status");
    for (int s = 0; s < MAX_STATUS; s++)
        if (status[s]) {
            if (s == 0)
                printf(" transport_error=%" PRIu64, status[s]);
            else
                printf(" %d=%" PRIu64, s, status[s]);
        }
    printf("\n");
    for (int i = 0; i < opt.conns; i++)
        if (ws[i].first_error[0]) {
            printf("first_transport_error=\"%s\"\n", ws[i].first_error);
            break;
        }
    fflush(stdout);
    if (ack_f)
        fclose(ack_f);
    for (size_t i = 0; i < nblocks * nrounds; i++)
        free(reqs[i].body);
    free(reqs);
    for (int i = 0; i < opt.conns; i++)
        free(ws[i].lat_ms);
    free(ws);
    free(lat);
    curl_global_cleanup();
    return 0;
}
