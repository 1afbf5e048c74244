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
    if (rc == 0)
        same_result(&r, &warm);
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
