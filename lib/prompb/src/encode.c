/* Encoders: WriteRequest (1.0), ReadResponse (SAMPLES) and chunked-read
 * frames. Sizes are computed first so each message is written in one go
 * into one buffer, with exact nested lengths. */
#include <errno.h>
#include <prompb/read.h>
#include <prompb/snappy.h>
#include <prompb/write.h>
#include "wire.h"

static inline size_t field_size(size_t body)
{
    return 1 + wire_varint_size(body) + body;   /* field numbers here are < 16 */
}

static inline size_t label_body_size(const prompb_label *l)
{
    /* proto3: empty strings are omitted, as Go's encoder does. */
    return (l->name_len ? field_size(l->name_len) : 0) +
           (l->value_len ? field_size(l->value_len) : 0);
}

static inline size_t sample_body_size(const prompb_sample *s)
{
    /* Both fields always written: keeps -0.0 and makes decoding uniform. */
    return 9 + 1 + wire_varint_size((uint64_t)s->timestamp_ms);
}

static size_t labels_size(const prompb_label *l, size_t n)
{
    size_t sz = 0;
    for (size_t i = 0; i < n; i++)
        sz += field_size(label_body_size(&l[i]));
    return sz;
}

static size_t series_body_size(const prompb_series_data *s)
{
    size_t sz = labels_size(s->labels, s->label_count);
    for (size_t i = 0; i < s->sample_count; i++)
        sz += field_size(sample_body_size(&s->samples[i]));
    return sz;
}

static uint8_t *put_bytes(uint8_t *p, uint8_t tag, const void *d, size_t n)
{
    *p++ = tag;
    p = wire_put_varint(p, n);
    if (n)
        memcpy(p, d, n);
    return p + n;
}

static uint8_t *put_labels(uint8_t *p, const prompb_label *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *p++ = 0x0a;
        p = wire_put_varint(p, label_body_size(&l[i]));
        if (l[i].name_len)
            p = put_bytes(p, 0x0a, l[i].name, l[i].name_len);
        if (l[i].value_len)
            p = put_bytes(p, 0x12, l[i].value, l[i].value_len);
    }
    return p;
}

static uint8_t *put_series_body(uint8_t *p, const prompb_series_data *s)
{
    p = put_labels(p, s->labels, s->label_count);
    for (size_t i = 0; i < s->sample_count; i++) {
        const prompb_sample *sm = &s->samples[i];
        uint64_t bits;
        memcpy(&bits, &sm->value, 8);
        *p++ = 0x12;
        p = wire_put_varint(p, sample_body_size(sm));
        *p++ = 0x09;
        p = wire_put_fixed64(p, bits);
        *p++ = 0x10;
        p = wire_put_varint(p, (uint64_t)sm->timestamp_ms);
    }
    return p;
}

static int nomem(prompb_error *err, size_t n)
{
    prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                   "out of memory encoding %zu bytes", n);
    return -ENOMEM;
}

int prompb_write_encode_v1(const prompb_series_data *series, size_t n, prompb_buf *out,
                           prompb_error *err)
{
    size_t total = 0;
    if (!out || (n && !series)) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "invalid argument");
        return -EINVAL;
    }
    out->len = 0;
    for (size_t i = 0; i < n; i++)
        total += field_size(series_body_size(&series[i]));
    if (prompb_buf_reserve(out, total ? total : 1))
        return nomem(err, total);
    uint8_t *p = (uint8_t *)out->data;
    for (size_t i = 0; i < n; i++) {
        *p++ = 0x0a;
        p = wire_put_varint(p, series_body_size(&series[i]));
        p = put_series_body(p, &series[i]);
    }
    out->len = (size_t)(p - (uint8_t *)out->data);
    return 0;
}

int prompb_write_encoder_add(prompb_write_encoder *e, const prompb_label *labels,
                             size_t label_count, const prompb_sample *samples,
                             size_t sample_count, prompb_error *err)
{
    prompb_series_data sd = {labels, label_count, samples, sample_count};
    size_t body = series_body_size(&sd), need = e->buf.len + field_size(body);
    if (prompb_buf_reserve(&e->buf, need))
        return nomem(err, need);
    uint8_t *p = (uint8_t *)e->buf.data + e->buf.len;
    *p++ = 0x0a;                                        /* timeseries = 1 */
    p = wire_put_varint(p, body);
    p = put_series_body(p, &sd);
    e->buf.len = (size_t)(p - (uint8_t *)e->buf.data);
    e->series++;
    e->samples += sample_count;
    return 0;
}

int prompb_write_encoder_flush_snappy(prompb_write_encoder *e, prompb_buf *out,
                                      prompb_error *err)
{
    int rc = prompb_snappy_compress(e->buf.data ? e->buf.data : "", e->buf.len, out, err);
    if (rc == 0)
        prompb_write_encoder_reset(e);
    return rc;
}

void prompb_write_encoder_reset(prompb_write_encoder *e)
{
    e->buf.len = 0;
    e->series = 0;
    e->samples = 0;
}

void prompb_write_encoder_free(prompb_write_encoder *e)
{
    prompb_buf_free(&e->buf);
    e->series = e->samples = 0;
}

int prompb_write_encode_v1_snappy(const prompb_series_data *series, size_t n,
                                  prompb_buf *scratch, prompb_buf *out, prompb_error *err)
{
    int rc = prompb_write_encode_v1(series, n, scratch, err);
    if (rc)
        return rc;
    return prompb_snappy_compress(scratch->data, scratch->len, out, err);
}

static size_t result_body_size(const prompb_query_result *q)
{
    size_t sz = 0;
    for (size_t i = 0; i < q->series_count; i++)
        sz += field_size(series_body_size(&q->series[i]));
    return sz;
}

int prompb_read_response_encode(const prompb_query_result *results, size_t n,
                                prompb_buf *out, prompb_error *err)
{
    size_t total = 0;
    if (!out || (n && !results)) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "invalid argument");
        return -EINVAL;
    }
    out->len = 0;
    for (size_t i = 0; i < n; i++)
        total += field_size(result_body_size(&results[i]));
    if (prompb_buf_reserve(out, total ? total : 1))
        return nomem(err, total);
    uint8_t *p = (uint8_t *)out->data;
    for (size_t i = 0; i < n; i++) {
        *p++ = 0x0a;                                    /* results = 1 */
        p = wire_put_varint(p, result_body_size(&results[i]));
        for (size_t k = 0; k < results[i].series_count; k++) {
            const prompb_series_data *s = &results[i].series[k];
            *p++ = 0x0a;                                /* timeseries = 1 */
            p = wire_put_varint(p, series_body_size(s));
            p = put_series_body(p, s);
        }
    }
    out->len = (size_t)(p - (uint8_t *)out->data);
    return 0;
}

static size_t varint_field_size(uint64_t v)
{
    return v ? 1 + wire_varint_size(v) : 0;
}

static size_t chunk_body_size(const prompb_chunk *c)
{
    return varint_field_size((uint64_t)c->min_time_ms) +
           varint_field_size((uint64_t)c->max_time_ms) + varint_field_size(c->type) +
           (c->len ? field_size(c->len) : 0);
}

static uint8_t *put_varint_field(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (!v)
        return p;
    *p++ = tag;
    return wire_put_varint(p, v);
}

int prompb_chunked_frame_append(prompb_buf *out, int64_t query_index,
                                const prompb_label *labels, size_t label_count,
                                const prompb_chunk *chunks, size_t chunk_count,
                                prompb_error *err)
{
    size_t series = labels_size(labels, label_count);
    for (size_t i = 0; i < chunk_count; i++)
        series += field_size(chunk_body_size(&chunks[i]));
    size_t msg = field_size(series) + varint_field_size((uint64_t)query_index);
    size_t need = out->len + 10 + 4 + msg;
    if (prompb_buf_reserve(out, need))
        return nomem(err, need);
    uint8_t *p = (uint8_t *)out->data + out->len;
    p = wire_put_varint(p, msg);
    uint8_t *crc_at = p;
    p += 4;
    uint8_t *m = p;
    *p++ = 0x0a;                                        /* chunked_series = 1 */
    p = wire_put_varint(p, series);
    p = put_labels(p, labels, label_count);
    for (size_t i = 0; i < chunk_count; i++) {
        const prompb_chunk *c = &chunks[i];
        *p++ = 0x12;                                    /* chunks = 2 */
        p = wire_put_varint(p, chunk_body_size(c));
        p = put_varint_field(p, 0x08, (uint64_t)c->min_time_ms);
        p = put_varint_field(p, 0x10, (uint64_t)c->max_time_ms);
        p = put_varint_field(p, 0x18, c->type);
        if (c->len)
            p = put_bytes(p, 0x22, c->data, c->len);
    }
    p = put_varint_field(p, 0x10, (uint64_t)query_index); /* query_index = 2 */
    uint32_t crc = prompb_crc32c(0, m, (size_t)(p - m));
    crc_at[0] = (uint8_t)(crc >> 24);
    crc_at[1] = (uint8_t)(crc >> 16);
    crc_at[2] = (uint8_t)(crc >> 8);
    crc_at[3] = (uint8_t)crc;
    out->len = (size_t)(p - (uint8_t *)out->data);
    return 0;
}
