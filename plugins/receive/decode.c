/*
 * receive/decode.c: snappy + zero-copy protobuf walk (lib/prompb), then
 * per-series validation and limits. The aion_series handed to the bus
 * point straight into the decoder's arrays: prompb_label / prompb_sample
 * have the layout of aion_label / aion_sample (checked below).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <labels/labels.h>
#include <prompb/snappy.h>

#include "decode.h"

_Static_assert(sizeof(prompb_label) == sizeof(aion_label), "label layout");
_Static_assert(offsetof(prompb_label, value_len) == offsetof(aion_label, value_len), "label layout");
_Static_assert(offsetof(prompb_label, value) == offsetof(aion_label, value), "label layout");
_Static_assert(sizeof(labels_label) == sizeof(aion_label), "label layout");
_Static_assert(sizeof(prompb_sample) == sizeof(aion_sample), "sample layout");
_Static_assert(offsetof(prompb_sample, value) == offsetof(aion_sample, v), "sample layout");

recv_batch *recv_batch_new(void)
{
    recv_batch *b = calloc(1, sizeof *b);
    if (b)
        prompb_write_request_init(&b->req);
    return b;
}

void recv_batch_free(recv_batch *b)
{
    if (!b)
        return;
    prompb_buf_free(&b->body);
    prompb_write_request_free(&b->req);
    free(b->series);
    free(b);
}

/* Limits beyond prompb's validation; 0 or -1 with msg. */
static int check_limits(const recv_limits *lim, const prompb_write_request *q, size_t i, char *msg,
                        size_t len)
{
    const prompb_series *s = &q->series[i];
    const prompb_label *ls = &q->labels[s->labels_start];
    if (lim->max_labels_per_series && s->labels_count > lim->max_labels_per_series) {
        snprintf(msg, len, "series %zu: %u labels, more than max_labels_per_series %zu", i,
                 s->labels_count, lim->max_labels_per_series);
        return -1;
    }
    for (uint32_t k = 0; k < s->labels_count; k++) {
        if (lim->max_name_len && ls[k].name_len > lim->max_name_len) {
            snprintf(msg, len, "series %zu: label name \"%.*s...\" is %u bytes, more than max_label_name_length %zu",
                     i, (int)(ls[k].name_len > 32 ? 32 : ls[k].name_len), ls[k].name, ls[k].name_len,
                     lim->max_name_len);
            return -1;
        }
        if (lim->max_value_len && ls[k].value_len > lim->max_value_len) {
            snprintf(msg, len, "series %zu: value of label \"%.*s\" is %u bytes, more than max_label_value_length %zu",
                     i, (int)(ls[k].name_len > 64 ? 64 : ls[k].name_len), ls[k].name, ls[k].value_len,
                     lim->max_value_len);
            return -1;
        }
    }
    if (s->histogram_count) {
        snprintf(msg, len, "series %zu: native histograms are not supported (%u refused)", i,
                 s->histogram_count);
        return -1;
    }
    return 0;
}

void recv_decode(const recv_limits *lim, int version, const void *body, size_t len,
                 recv_batch *b, recv_decoded *out)
{
    memset(out, 0, sizeof *out);
    prompb_error pe;
    memset(&pe, 0, sizeof pe);
    int rc = prompb_snappy_uncompress(body, len, lim->max_decompressed, &b->body, &pe);
    if (rc == 0)
        rc = version == 2 ? prompb_write_decode_v2(&b->req, b->body.data, b->body.len, &pe)
                          : prompb_write_decode_v1(&b->req, b->body.data, b->body.len, &pe);
    if (rc < 0) {
        out->status = rc == -EMSGSIZE ? 413 : rc == -ENOMEM ? 500 : 400;
        if (rc == -EMSGSIZE)
            snprintf(out->msg, sizeof out->msg, "%s (max_decompressed_size %zu bytes)", pe.msg,
                     lim->max_decompressed);
        else
            snprintf(out->msg, sizeof out->msg, "%s", pe.msg[0] ? pe.msg : prompb_code_str(pe.code));
        return;
    }
    const prompb_write_request *q = &b->req;
    if (lim->max_series_per_request && q->series_count > lim->max_series_per_request) {
        out->status = 413;
        out->nbad = q->series_count;
        snprintf(out->msg, sizeof out->msg, "%zu series in the request, more than max_series_per_request %zu",
                 q->series_count, lim->max_series_per_request);
        return;
    }
    if (q->series_count > b->series_cap) {
        aion_series *ns = realloc(b->series, q->series_count * sizeof *ns);
        if (!ns) {
            out->status = 500;
            snprintf(out->msg, sizeof out->msg, "out of memory");
            return;
        }
        b->series = ns;
        b->series_cap = q->series_count;
    }
    for (size_t i = 0; i < q->series_count; i++) {
        const prompb_series *s = &q->series[i];
        char lim_msg[400];
        int bad = 0;
        if (prompb_validate_series(q, i, lim->validate_flags, &pe) < 0) {
            bad = 1;
            if (!out->nbad)
                snprintf(out->msg, sizeof out->msg, "%s", pe.msg);
        } else if (check_limits(lim, q, i, lim_msg, sizeof lim_msg) < 0) {
            bad = 1;
            if (!out->nbad)
                snprintf(out->msg, sizeof out->msg, "%s", lim_msg);
        }
        if (bad) {
            out->nbad++;
            out->bad_samples += (uint64_t)s->samples_count + s->histogram_count;
            continue;
        }
        if (!s->samples_count)
            continue; /* metadata or exemplars only: nothing to store */
        b->series[out->ngood++] = (aion_series){
            .labels = (const aion_label *)(const void *)&q->labels[s->labels_start],
            .nlabels = s->labels_count,
            .samples = (const aion_sample *)(const void *)&q->samples[s->samples_start],
            .nsamples = s->samples_count,
        };
    }
}
