/* Private protobuf wire helpers shared by the decoders and encoders.
 * Readers never read past `end`; every function returns 0 or a WIRE_E_* code. */
#ifndef PROMPB_WIRE_H
#define PROMPB_WIRE_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <prompb/common.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };
enum { WIRE_OK = 0, WIRE_E_TRUNC = 1, WIRE_E_OVERFLOW = 2, WIRE_E_WIRETYPE = 3,
       WIRE_E_FIELD0 = 4, WIRE_E_WRONG = 5 };

#define WIRE_LIKELY(x) __builtin_expect(!!(x), 1)
#define WIRE_UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline int wire_varint_slow(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return WIRE_E_TRUNC;
        uint8_t b = *p++;
        /* Tenth byte may only carry bit 63 (what Go's decoder enforces). */
        if (shift == 63 && b > 1)
            return WIRE_E_OVERFLOW;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            *pp = p;
            return WIRE_OK;
        }
    }
    return WIRE_E_OVERFLOW;
}

static inline int wire_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (WIRE_LIKELY(p < end && *p < 0x80)) {
        *v = *p;
        *pp = p + 1;
        return WIRE_OK;
    }
    if (WIRE_LIKELY(end - p >= 2 && p[1] < 0x80)) {
        *v = (uint64_t)(p[0] & 0x7f) | ((uint64_t)p[1] << 7);
        *pp = p + 2;
        return WIRE_OK;
    }
    return wire_varint_slow(pp, end, v);
}

/* Reads a tag; field 0 is invalid. */
static inline int wire_tag(const uint8_t **pp, const uint8_t *end, uint32_t *field, int *wt)
{
    uint64_t t;
    int rc = wire_varint(pp, end, &t);
    if (rc)
        return rc;
    if (WIRE_UNLIKELY((t >> 3) == 0 || (t >> 3) > 0x1fffffff))
        return WIRE_E_FIELD0;
    *field = (uint32_t)(t >> 3);
    *wt = (int)(t & 7);
    return WIRE_OK;
}

/* Reads a length prefix and returns the body [*body, *body+len). */
static inline int wire_len(const uint8_t **pp, const uint8_t *end, const uint8_t **body,
                           size_t *len)
{
    uint64_t l;
    int rc = wire_varint(pp, end, &l);
    if (rc)
        return rc;
    if (WIRE_UNLIKELY(l > (uint64_t)(end - *pp)))
        return WIRE_E_TRUNC;
    *body = *pp;
    *len = (size_t)l;
    *pp += l;
    return WIRE_OK;
}

static inline int wire_fixed64(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    if (WIRE_UNLIKELY(end - *pp < 8))
        return WIRE_E_TRUNC;
    memcpy(v, *pp, 8);   /* little-endian hosts only (x86-64, arm64) */
    *pp += 8;
    return WIRE_OK;
}

/* Skips one field value of wire type wt. Groups (3, 4) and 6, 7 are invalid. */
static inline int wire_skip(const uint8_t **pp, const uint8_t *end, int wt)
{
    uint64_t v = 0;
    const uint8_t *b = NULL;
    size_t l = 0;
    switch (wt) {
    case WIRE_VARINT: return wire_varint(pp, end, &v);
    case WIRE_I64: return wire_fixed64(pp, end, &v);
    case WIRE_LEN: return wire_len(pp, end, &b, &l);
    case WIRE_I32:
        if (end - *pp < 4)
            return WIRE_E_TRUNC;
        *pp += 4;
        return WIRE_OK;
    default: return WIRE_E_WIRETYPE;
    }
}

/* Checks that [p,end) is a well-formed sequence of fields (one level). */
static inline int wire_check_fields(const uint8_t *p, const uint8_t *end, const uint8_t **at)
{
    while (p < end) {
        uint32_t f = 0;
        int wt = 0;
        int rc = wire_tag(&p, end, &f, &wt);
        if (!rc)
            rc = wire_skip(&p, end, wt);
        if (rc) {
            *at = p;
            return rc;
        }
    }
    return WIRE_OK;
}

static inline uint8_t *wire_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline size_t wire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *wire_put_fixed64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
    return p + 8;
}

/* Error helpers (error.c). */
void prompb_err_set(prompb_error *e, prompb_code code, size_t series, size_t offset,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *prompb_wire_err_str(int wire_rc);
/* Appends a printable, escaped, length-capped rendering of a label set. */
size_t prompb_format_labels(char *dst, size_t cap, const prompb_label *l, size_t n);

#endif
