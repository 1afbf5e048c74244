/* Fuzzes the remote write 1.0 path: snappy + zero-copy decoder + validation,
 * and compares with protoc-c's unpack whenever both accept the bytes. The
 * input is tried both as a raw protobuf message and as a snappy block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prompb_ref.h"

/* Kept across inputs: exercises the single-pass path with reused arrays,
 * while the fresh request below takes the count-then-fill path. */
static prompb_write_request warm;

static void same_result(const prompb_write_request *a, const prompb_write_request *b)
{
    if (a->series_count != b->series_count || a->label_count != b->label_count ||
        a->sample_count != b->sample_count || a->metadata_count != b->metadata_count ||
        a->exemplar_count != b->exemplar_count || a->histogram_count != b->histogram_count ||
        memcmp(a->labels, b->labels, a->label_count * sizeof(prompb_label)) ||
        memcmp(a->samples, b->samples, a->sample_count * sizeof(prompb_sample))) {
        fprintf(stderr, "warm and cold decodes differ\n");
        abort();
    }
}

static int same_content(const prompb_label *a, const prompb_label *b)
{
    return a->name_len == b->name_len && a->value_len == b->value_len &&
           (!a->name_len || memcmp(a->name, b->name, a->name_len) == 0) &&
           (!a->value_len || memcmp(a->value, b->value, a->value_len) == 0);
}

/* Whatever the decoder accepts, our encoders (1.0 and 2.0) write back and
 * the decoders read again to the same labels and sample bits. */
static void reencode(const prompb_write_request *r)
{
    prompb_series_data *sd = calloc(r->series_count + 1, sizeof(*sd));
    for (size_t i = 0; i < r->series_count; i++) {
        const prompb_series *s = &r->series[i];
        sd[i] = (prompb_series_data){prompb_series_labels(r, s), s->labels_count,
                                     prompb_series_samples(r, s), s->samples_count};
    }
    prompb_buf out = {0};
    for (int v = 1; v <= 2; v++) {
        prompb_write_request b;
        prompb_write_request_init(&b);
        int rc = v == 1 ? prompb_write_encode_v1(sd, r->series_count, &out, NULL)
                        : prompb_write_encode_v2(sd, r->series_count, &out, NULL);
        if (rc == 0)
            rc = v == 1 ? prompb_write_decode_v1(&b, out.data, out.len, NULL)
                        : prompb_write_decode_v2(&b, out.data, out.len, NULL);
        if (rc || b.series_count != r->series_count || b.label_count != r->label_count ||
            b.sample_count != r->sample_count ||
            (r->sample_count &&
             memcmp(b.samples, r->samples, r->sample_count * sizeof(prompb_sample)))) {
            fprintf(stderr, "v%d re-encode round trip failed\n", v);
            abort();
        }
        for (size_t k = 0; k < r->label_count; k++)
            if (!same_content(&b.labels[k], &r->labels[k])) {
                fprintf(stderr, "v%d re-encode: label %zu differs\n", v, k);
                abort();
            }
        prompb_write_request_free(&b);
    }
    prompb_buf_free(&out);
    free(sd);
}

static void one(const uint8_t *data, size_t size)
{
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_error err, werr;
    int rc = prompb_write_decode_v1(&r, data, size, &err);
    int wrc = prompb_write_decode_v1(&warm, data, size, &werr);
    if (rc != wrc || (rc && strcmp(err.msg, werr.msg) != 0)) {
        fprintf(stderr, "warm/cold: %d %d: %s / %s\n", rc, wrc, err.msg, werr.msg);
        abort();
    }
    if (rc == 0) {
        same_result(&r, &warm);
        reencode(&r);
    }
    if (rc == 0) {
        uint8_t *bad = malloc(r.series_count + 1);
        size_t nbad = prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES | PROMPB_VALIDATE_METRIC_NAME,
                                      bad, &err);
        if (nbad > r.series_count)
            abort();
        free(bad);
        Prometheus__WriteRequest *u = prometheus__write_request__unpack(NULL, size, data);
        if (u) {
            char why[200];
            if (ref_compare_v1(&r, u, why, sizeof(why))) {
                fprintf(stderr, "fast decoder differs from protoc-c: %s\n", why);
                abort();
            }
            prometheus__write_request__free_unpacked(u, NULL);
        }
    } else if (err.msg[0] == '\0') {
        abort();                     /* every error has a message */
    }
    prompb_write_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    prompb_buf body = {0};
    if (prompb_snappy_uncompress(data, size, 1 << 20, &body, NULL) == 0)
        one((const uint8_t *)body.data, body.len);
    prompb_buf_free(&body);
    return 0;
}
