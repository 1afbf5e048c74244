/* Measures remote write decode throughput on one core, in samples/s:
 *   snappy only; snappy + protobuf-c's generated unpack (default allocator);
 *   snappy + the zero-copy decoder; + validation; and the same for 2.0.
 * Payloads: requests of 2000 samples (2000 series x 1 sample, as Prometheus
 * sends them with max_samples_per_send=2000), ~10 realistic labels each,
 * pre-encoded and snappy-compressed before timing.
 * Usage: bench_decode [seconds-per-case (default 2)] [samples-per-series (default 1)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <prompb/prompb.h>
#include "prometheus/remote.pb-c.h"
#include "io/prometheus/write/v2/types.pb-c.h"

#define NREQ 32
#define SERIES_PER_REQ 2000       /* = samples per request */

static int sps = 1;                /* samples per series (argv[2]) */

static const char *const metrics[] = {
    "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "http_requests_total",
    "container_cpu_usage_seconds_total", "kube_pod_container_status_restarts_total",
    "go_gc_duration_seconds", "process_resident_memory_bytes", "node_network_receive_bytes_total"};

typedef struct {
    prompb_buf snappy;       /* compressed body */
    prompb_buf raw;          /* the same, decompressed (for the no-snappy cases) */
    size_t samples;
} payload;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 10 labels, sorted by name, values varying per series. */
static char strpool[NREQ][SERIES_PER_REQ][8][48];

static void make_series(int req, int i, prompb_label *l)
{
    char (*v)[48] = strpool[req][i];
    int id = req * SERIES_PER_REQ + i;
    snprintf(v[0], 48, "%s", metrics[id % 8]);
    snprintf(v[1], 48, "prod-eu-%d", id % 3);
    snprintf(v[2], 48, "cpu%d", id % 16);
    snprintf(v[3], 48, "10.0.%d.%d:9100", (id / 250) % 256, id % 250);
    snprintf(v[4], 48, "ns-%d", id % 12);
    snprintf(v[5], 48, "app-%d-%05x", id % 40, (unsigned)(id * 2654435761u) & 0xfffff);
    snprintf(v[6], 48, "eu-west-1%c", 'a' + id % 3);
    snprintf(v[7], 48, "%s", (id & 1) ? "user" : "system");
    l[0] = (prompb_label){"__name__", v[0], 8, (uint32_t)strlen(v[0])};
    l[1] = (prompb_label){"cluster", v[1], 7, (uint32_t)strlen(v[1])};
    l[2] = (prompb_label){"cpu", v[2], 3, (uint32_t)strlen(v[2])};
    l[3] = (prompb_label){"instance", v[3], 8, (uint32_t)strlen(v[3])};
    l[4] = (prompb_label){"job", "node-exporter", 3, 13};
    l[5] = (prompb_label){"mode", v[7], 4, (uint32_t)strlen(v[7])};
    l[6] = (prompb_label){"namespace", v[4], 9, (uint32_t)strlen(v[4])};
    l[7] = (prompb_label){"pod", v[5], 3, (uint32_t)strlen(v[5])};
    l[8] = (prompb_label){"prometheus", "monitoring/k8s", 10, 14};
    l[9] = (prompb_label){"zone", v[6], 4, (uint32_t)strlen(v[6])};
}

/* v2 payload of the same content, from our v2 encoder (symbols interned). */
static void make_v2(int req, prompb_buf *out)
{
    static prompb_label labels[SERIES_PER_REQ][10];
    static prompb_sample samples[SERIES_PER_REQ];
    static prompb_series_data sd[SERIES_PER_REQ];
    prompb_buf raw = {0};
    int nseries = SERIES_PER_REQ / sps;
    for (int i = 0; i < nseries; i++) {
        make_series(req, i, labels[i]);
        for (int k = 0; k < sps; k++)
            samples[i * sps + k] = (prompb_sample){1700000000000 + req * 15000 + k * 1000,
                                                   (double)(i * 7 + k)};
        sd[i] = (prompb_series_data){labels[i], 10, &samples[i * sps], (size_t)sps};
    }
    if (prompb_write_encode_v2(sd, (size_t)nseries, &raw, NULL) ||
        prompb_snappy_compress(raw.data, raw.len, out, NULL))
        abort();
    prompb_buf_free(&raw);
}

enum { SNAPPY, PBC, FAST, FAST_VALID, V2_FAST_VALID, V2_PBC, RAW_FAST, RAW_FAST_VALID };

static void run(const char *name, int mode, payload *p, double secs)
{
    prompb_buf body = {0};
    prompb_write_request r;
    prompb_write_request_init(&r);
    size_t samples = 0, bytes = 0, iters = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < NREQ; i++) {
            payload *q = &p[i];
            if (mode == RAW_FAST || mode == RAW_FAST_VALID) {
                if (prompb_write_decode_v1(&r, q->raw.data, q->raw.len, NULL) ||
                    r.sample_count != q->samples)
                    abort();
                if (mode == RAW_FAST_VALID &&
                    prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES, NULL, NULL) != 0)
                    abort();
                samples += q->samples;
                bytes += q->snappy.len;
                continue;
            }
            if (prompb_snappy_uncompress(q->snappy.data, q->snappy.len, 64 << 20, &body, NULL))
                abort();
            switch (mode) {
            case PBC: {
                Prometheus__WriteRequest *u =
                    prometheus__write_request__unpack(NULL, body.len, (uint8_t *)body.data);
                if (!u)
                    abort();
                prometheus__write_request__free_unpacked(u, NULL);
                break;
            }
            case V2_PBC: {
                Io__Prometheus__Write__V2__Request *u = io__prometheus__write__v2__request__unpack(
                    NULL, body.len, (uint8_t *)body.data);
                if (!u)
                    abort();
                io__prometheus__write__v2__request__free_unpacked(u, NULL);
                break;
            }
            case FAST:
            case FAST_VALID:
                if (prompb_write_decode_v1(&r, body.data, body.len, NULL) ||
                    r.sample_count != q->samples)
                    abort();
                if (mode == FAST_VALID &&
                    prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES, NULL, NULL) != 0)
                    abort();
                break;
            case V2_FAST_VALID:
                if (prompb_write_decode_v2(&r, body.data, body.len, NULL) ||
                    r.sample_count != q->samples ||
                    prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES, NULL, NULL) != 0)
                    abort();
                break;
            }
            samples += q->samples;
            bytes += q->snappy.len;
        }
        iters++;
        t = now() - t0;
    } while (t < secs);
    printf("%-44s %8.2fM samples/s  %7.1f MB/s compressed  (%zu requests)\n", name,
           (double)samples / t / 1e6, (double)bytes / t / 1e6, iters * NREQ);
    prompb_buf_free(&body);
    prompb_write_request_free(&r);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    sps = argc > 2 ? atoi(argv[2]) : 1;
    if (sps < 1 || sps > SERIES_PER_REQ)
        sps = 1;
    int nseries = SERIES_PER_REQ / sps;
    static payload v1[NREQ], v2[NREQ];
    prompb_buf scratch = {0};
    size_t raw = 0, comp = 0;
    for (int req = 0; req < NREQ; req++) {
        static prompb_label labels[SERIES_PER_REQ][10];
        static prompb_sample samples[SERIES_PER_REQ];
        static prompb_series_data sd[SERIES_PER_REQ];
        for (int i = 0; i < nseries; i++) {
            make_series(req, i, labels[i]);
            for (int k = 0; k < sps; k++)
                samples[i * sps + k] = (prompb_sample){1700000000000 + req * 15000 + k * 1000,
                                                       (double)(i * 7 + k)};
            sd[i] = (prompb_series_data){labels[i], 10, &samples[i * sps], (size_t)sps};
        }
        if (prompb_write_encode_v1_snappy(sd, (size_t)nseries, &scratch, &v1[req].snappy, NULL))
            return 1;
        v1[req].samples = (size_t)(nseries * sps);
        raw += scratch.len;
        comp += v1[req].snappy.len;
        if (prompb_snappy_uncompress(v1[req].snappy.data, v1[req].snappy.len, 64 << 20,
                                     &v1[req].raw, NULL))
            return 1;
        make_v2(req, &v2[req].snappy);
        v2[req].samples = (size_t)(nseries * sps);
    }
    printf("payload: %d requests x %d series x %d samples x 10 labels; v1 %.0f KB raw, %.0f KB "
           "snappy per request\n",
           NREQ, nseries, sps, raw / 1024.0 / NREQ, comp / 1024.0 / NREQ);
    run("v1 snappy only", SNAPPY, v1, secs);
    run("v1 snappy + protobuf-c unpack (malloc)", PBC, v1, secs);
    run("v1 snappy + zero-copy decode", FAST, v1, secs);
    run("v1 snappy + zero-copy decode + validation", FAST_VALID, v1, secs);
    run("v1 zero-copy decode only (no snappy)", RAW_FAST, v1, secs);
    run("v1 zero-copy decode + validation (no snappy)", RAW_FAST_VALID, v1, secs);
    run("v2 snappy + protobuf-c unpack (malloc)", V2_PBC, v2, secs);
    run("v2 snappy + zero-copy decode + validation", V2_FAST_VALID, v2, secs);
    for (int i = 0; i < NREQ; i++) {
        prompb_buf_free(&v1[i].snappy);
        prompb_buf_free(&v1[i].raw);
        prompb_buf_free(&v2[i].snappy);
    }
    prompb_buf_free(&scratch);
    return 0;
}
