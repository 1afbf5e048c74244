/* WAL record codec: Prometheus record.go Series (type 1) and Samples (type 2).
 * Pure functions over buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wal.h"

void tsdb_wal_enc_series(tsdb_buf *b, uint64_t ref, const labels_label *ls, size_t n)
{
    if (b->n == 0)
        tsdb_buf_u8(b, WAL_REC_SERIES);
    tsdb_buf_be64(b, ref);
    tsdb_buf_uvarint(b, n);
    for (size_t i = 0; i < n; i++) {
        tsdb_buf_uvarint(b, ls[i].name_len);
        tsdb_buf_put(b, ls[i].name, ls[i].name_len);
        tsdb_buf_uvarint(b, ls[i].value_len);
        tsdb_buf_put(b, ls[i].value, ls[i].value_len);
    }
}

void tsdb_wal_enc_sample(tsdb_buf *b, uint64_t ref, int64_t t, double v)
{
    if (b->n == 0) {
        tsdb_buf_u8(b, WAL_REC_SAMPLES);
        tsdb_buf_be64(b, ref);
        tsdb_buf_be64(b, (uint64_t)t);
    }
    if (b->err || b->n < 17)
        return;
    uint64_t ref0 = tsdb_get_be64(b->p + 1), vb;
    int64_t t0 = (int64_t)tsdb_get_be64(b->p + 9);
    memcpy(&vb, &v, 8);
    uint8_t tmp[28];
    size_t k = tsdb_put_uvarint(tmp, tsdb_zigzag((int64_t)(ref - ref0)));
    k += tsdb_put_uvarint(tmp + k, tsdb_zigzag((int64_t)((uint64_t)t - (uint64_t)t0)));
    for (int i = 7; i >= 0; i--)
        tmp[k++] = (uint8_t)(vb >> (8 * i));
    tsdb_buf_put(b, tmp, k);
}

int tsdb_wal_dec_series(const uint8_t *rec, size_t len, wal_series_cb cb, void *ctx)
{
    tsdb_dec d;
    tsdb_dec_init(&d, rec, len);
    if (tsdb_dec_u8(&d) != WAL_REC_SERIES || d.err)
        return TSDB_ERR_CORRUPT;
    labels_label *ls = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && tsdb_dec_left(&d) > 0) {
        uint64_t ref = tsdb_dec_be64(&d);
        uint64_t n = tsdb_dec_uvarint(&d);
        if (d.err || n > tsdb_dec_left(&d) / 2) { /* each label takes >= 2 bytes */
            rc = TSDB_ERR_CORRUPT;
            break;
        }
        if (n > cap) {
            labels_label *nl = realloc(ls, (size_t)n * sizeof(*nl));
            if (!nl) {
                rc = -ENOMEM;
                break;
            }
            ls = nl;
            cap = (size_t)n;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t nl = tsdb_dec_uvarint(&d);
            const uint8_t *np = tsdb_dec_bytes(&d, d.err || nl > UINT32_MAX ? SIZE_MAX : (size_t)nl);
            uint64_t vl = tsdb_dec_uvarint(&d);
            const uint8_t *vp = tsdb_dec_bytes(&d, d.err || vl > UINT32_MAX ? SIZE_MAX : (size_t)vl);
            if (d.err)
                break;
            ls[i] = (labels_label){(const char *)np, (const char *)vp, (uint32_t)nl, (uint32_t)vl};
        }
        if (d.err) {
            rc = TSDB_ERR_CORRUPT;
            break;
        }
        rc = cb(ctx, ref, ls, (size_t)n);
    }
    free(ls);
    return rc;
}

int tsdb_wal_dec_samples(const uint8_t *rec, size_t len, wal_sample_cb cb, void *ctx)
{
    tsdb_dec d;
    tsdb_dec_init(&d, rec, len);
    if (tsdb_dec_u8(&d) != WAL_REC_SAMPLES || d.err)
        return TSDB_ERR_CORRUPT;
    if (tsdb_dec_left(&d) == 0)
        return 0; /* empty record */
    uint64_t ref0 = tsdb_dec_be64(&d);
    uint64_t t0 = tsdb_dec_be64(&d);
    if (d.err)
        return TSDB_ERR_CORRUPT;
    while (tsdb_dec_left(&d) > 0) {
        int64_t dref = tsdb_dec_varint(&d);
        int64_t dt = tsdb_dec_varint(&d);
        uint64_t vb = tsdb_dec_be64(&d);
        if (d.err)
            return TSDB_ERR_CORRUPT;
        double v;
        memcpy(&v, &vb, 8);
        int rc = cb(ctx, ref0 + (uint64_t)dref, (int64_t)(t0 + (uint64_t)dt), v);
        if (rc)
            return rc;
    }
    return 0;
}
