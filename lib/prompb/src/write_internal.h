/* Private pieces shared by the v1 and v2 write decoders. */
#ifndef PROMPB_WRITE_INTERNAL_H
#define PROMPB_WRITE_INTERNAL_H

#include <prompb/write.h>
#include "wire.h"

/* Sizes the request's single allocation for the given counts and sets the
 * array pointers. 0 or -ENOMEM. */
int prompb_wr_alloc(prompb_write_request *r, size_t nseries, size_t nlabels,
                    size_t nsamples, size_t nsymbols);
void prompb_wr_clear(prompb_write_request *r);

/* Internal return of the single-pass fill: the kept arrays are too small. */
#define PROMPB_FILL_FULL 100

/* Fails a decode: fills err with a protobuf error at byte `at`. */
int prompb_wr_proto_err(prompb_write_request *r, prompb_error *err, const uint8_t *base,
                        const uint8_t *at, int wire_rc, const char *where, size_t series);

/* Sample { double value = 1; int64 timestamp = 2; ... } (v1 and v2). Unknown
 * fields are skipped, missing ones are 0. */
static inline int prompb_parse_sample(const uint8_t *p, const uint8_t *end, prompb_sample *s,
                                      const uint8_t **at)
{
    uint64_t v = 0, ts = 0;
    /* Fast path: the usual encoding 09 <8 bytes> 10 <varint> and nothing else. */
    if (WIRE_LIKELY(end - p >= 11 && p[0] == 0x09 && p[9] == 0x10)) {
        const uint8_t *q = p + 10;
        memcpy(&v, p + 1, 8);
        if (wire_varint(&q, end, &ts) == WIRE_OK && q == end) {
            s->timestamp_ms = (int64_t)ts;
            memcpy(&s->value, &v, 8);
            return WIRE_OK;
        }
        v = 0;
        ts = 0;
    }
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            goto fail;
        if (f == 1 && wt == WIRE_I64)
            rc = wire_fixed64(&p, end, &v);
        else if (f == 2 && wt == WIRE_VARINT)
            rc = wire_varint(&p, end, &ts);
        else if (f <= 2)
            rc = WIRE_E_WRONG;
        else
            rc = wire_skip(&p, end, wt);
        if (rc) {
        fail:
            *at = p;
            return rc;
        }
    }
    s->timestamp_ms = (int64_t)ts;
    memcpy(&s->value, &v, 8);
    return WIRE_OK;
}

#endif
