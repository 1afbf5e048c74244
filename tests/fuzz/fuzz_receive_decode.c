/* Fuzzes receive's decode step (plugins/receive/decode.c): snappy + remote
 * write 1.0/2.0 walk + per-series validation and limits. The first input
 * byte picks the version and the limits; the rest is the snappy body (or,
 * with bit 7 set, raw protobuf that is compressed here first, so the
 * fuzzer reaches the protobuf and validation layers quickly).
 * Invariants on every series handed on: labels non-empty, names strictly
 * increasing, names and values non-empty valid UTF-8, within the limits,
 * samples present, every view inside the decompressed body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <labels/labels.h>
#include <prompb/snappy.h>

#include "decode.h"

static recv_batch *batch;

static int inside(const recv_batch *b, const void *p, size_t n)
{
    const char *c = p;
    return c >= b->body.data && c + n <= b->body.data + b->body.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!batch && !(batch = recv_batch_new())) /* reused like a worker's cached batch */
        return 0;
    uint8_t sel = data[0];
    recv_limits lim = { .max_decompressed = 1 << 20 };
    if (sel & 0x02) {
        lim.max_labels_per_series = 4;
        lim.max_name_len = 16;
        lim.max_value_len = 16;
        lim.max_series_per_request = 8;
    }
    if (sel & 0x04)
        lim.validate_flags = PROMPB_VALIDATE_LEGACY_NAMES | PROMPB_VALIDATE_METRIC_NAME;
    int version = sel & 0x01 ? 2 : 1;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    prompb_buf comp = { 0 };
    if (sel & 0x80) {
        prompb_error e;
        if (prompb_snappy_compress(body, len, &comp, &e) < 0)
            return 0;
        body = (const uint8_t *)comp.data;
        len = comp.len;
    }
    recv_decoded d;
    recv_decode(&lim, version, body, len, batch, &d);
    if (d.status != 0 && d.status != 400 && d.status != 413 && d.status != 500)
        abort();
    if (d.status != 0 && d.ngood)
        abort();
    if (!d.status && d.nbad && !d.msg[0])
        abort();
    for (size_t i = 0; i < d.ngood; i++) {
        const aion_series *s = &batch->series[i];
        if (!s->nlabels || !s->nsamples)
            abort();
        if (lim.max_labels_per_series && s->nlabels > lim.max_labels_per_series)
            abort();
        for (uint32_t k = 0; k < s->nlabels; k++) {
            const aion_label *l = &s->labels[k];
            if (!l->name_len || !l->value_len)
                abort();
            if (!inside(batch, l->name, l->name_len) || !inside(batch, l->value, l->value_len))
                abort();
            if (!labels_valid_utf8(l->name, l->name_len) || !labels_valid_utf8(l->value, l->value_len))
                abort();
            if (lim.max_name_len && l->name_len > lim.max_name_len)
                abort();
            if (lim.max_value_len && l->value_len > lim.max_value_len)
                abort();
            if (k && labels_str_cmp(s->labels[k - 1].name, s->labels[k - 1].name_len, l->name, l->name_len) >= 0)
                abort();
            if ((lim.validate_flags & PROMPB_VALIDATE_LEGACY_NAMES) && !labels_valid_name(l->name, l->name_len))
                abort();
        }
    }
    prompb_buf_free(&comp);
    return 0;
}
