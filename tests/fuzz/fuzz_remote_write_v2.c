/* Fuzzes the remote write 2.0 decoder + validation and compares with
 * protoc-c's unpack whenever both accept the bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prompb_ref.h"

/* Kept across inputs: the single-pass path; the fresh request below takes
 * the count-then-fill path. Both must agree, errors included. */
static prompb_write_request warm;

static void same(const prompb_write_request *a, const prompb_write_request *b)
{
    if (a->series_count != b->series_count || a->label_count != b->label_count ||
        a->sample_count != b->sample_count || a->symbol_count != b->symbol_count ||
        a->metadata_count != b->metadata_count ||
        memcmp(a->labels, b->labels, a->label_count * sizeof(prompb_label)) ||
        memcmp(a->samples, b->samples, a->sample_count * sizeof(prompb_sample))) {
        fprintf(stderr, "warm and cold decodes differ\n");
        abort();
    }
    for (size_t i = 0; i < a->series_count; i++) {
        const prompb_series *x = &a->series[i], *y = &b->series[i];
        if (x->flags != y->flags || x->labels_count != y->labels_count ||
            x->samples_count != y->samples_count || x->metadata_type != y->metadata_type ||
            x->help != y->help || x->unit != y->unit ||
            x->created_timestamp_ms != y->created_timestamp_ms) {
            fprintf(stderr, "warm and cold series %zu differ\n", i);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_error err, werr;
    int rc = prompb_write_decode_v2(&r, data, size, &err);
    int wrc = prompb_write_decode_v2(&warm, data, size, &werr);
    if (rc != wrc || (rc && strcmp(err.msg, werr.msg) != 0)) {
        fprintf(stderr, "warm/cold: %d %d: %s / %s\n", rc, wrc, err.msg, werr.msg);
        abort();
    }
    if (rc == 0)
        same(&r, &warm);
    if (rc == 0) {
        prompb_validate(&r, 0, NULL, &err);
        Io__Prometheus__Write__V2__Request *u =
            io__prometheus__write__v2__request__unpack(NULL, size, data);
        if (u) {
            char why[200];
            if (ref_compare_v2(&r, u, why, sizeof(why))) {
                fprintf(stderr, "fast decoder differs from protoc-c: %s\n", why);
                abort();
            }
            io__prometheus__write__v2__request__free_unpacked(u, NULL);
        }
    }
    prompb_write_request_free(&r);
    return 0;
}
