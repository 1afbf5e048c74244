/* Remote write 2.0 encoder: interns label strings into the symbols table
 * with an open-addressing hash, then writes symbols and series with exact
 * nested lengths (sizes first, then one write into one buffer). */
#include <errno.h>
#include <stdlib.h>
#include <prompb/write.h>
#include "wire.h"

typedef struct {
    const char *ptr;
    uint32_t len;
} sym;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);   /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static inline size_t field_size(size_t body)
{
    return 1 + wire_varint_size(body) + body;
}

int prompb_write_encode_v2(const prompb_series_data *series, size_t n, prompb_buf *out,
                           prompb_error *err)
{
    size_t strings = 1;
    if (!out || (n && !series)) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "invalid argument");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        strings += 2 * series[i].label_count;
    if (strings > (size_t)1 << 31) {
        prompb_err_set(err, PROMPB_ERR_TOO_LARGE, PROMPB_NO_SERIES, 0,
                       "too many label strings (%zu)", strings);
        return -EMSGSIZE;
    }
    size_t tcap = 16;
    while (tcap < 2 * strings)
        tcap *= 2;
    /* One block: hash slots (symbol index + 1, 0 = free), symbols, refs. */
    size_t bytes = tcap * sizeof(uint32_t) + strings * sizeof(sym) + strings * sizeof(uint32_t);
    char *mem = calloc(1, bytes);
    if (!mem) {
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0, "out of memory");
        return -ENOMEM;
    }
    uint32_t *slots = (uint32_t *)(void *)mem;
    sym *syms = (sym *)(void *)(mem + tcap * sizeof(uint32_t));
    uint32_t *refs = (uint32_t *)(void *)(mem + tcap * sizeof(uint32_t) + strings * sizeof(sym));
    size_t nsym = 0, nref = 0;

    /* Intern "" first so it is symbols[0], then every name and value. */
    for (size_t i = 0, k = 0; ; ) {
        const char *s;
        uint32_t len;
        if (nsym == 0) {
            s = "";
            len = 0;
        } else {
            while (i < n && k >= 2 * series[i].label_count) {
                i++;
                k = 0;
            }
            if (i >= n)
                break;
            const prompb_label *l = &series[i].labels[k / 2];
            s = (k & 1) ? l->value : l->name;
            len = (k & 1) ? l->value_len : l->name_len;
            k++;
        }
        size_t h = (size_t)hash(s, len) & (tcap - 1);
        for (;;) {
            uint32_t v = slots[h];
            if (v == 0) {
                syms[nsym] = (sym){s, len};
                slots[h] = (uint32_t)++nsym;
                if (nsym > 1)
                    refs[nref++] = (uint32_t)(nsym - 1);
                break;
            }
            if (syms[v - 1].len == len && (len == 0 || memcmp(syms[v - 1].ptr, s, len) == 0)) {
                refs[nref++] = v - 1;
                break;
            }
            h = (h + 1) & (tcap - 1);
        }
    }

    /* Sizes. */
    size_t total = 0;
    for (size_t j = 0; j < nsym; j++)
        total += field_size(syms[j].len);
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        size_t packed = 0, body = 0;
        for (size_t k = 0; k < 2 * series[i].label_count; k++)
            packed += wire_varint_size(refs[r + k]);
        r += 2 * series[i].label_count;
        if (packed)
            body += field_size(packed);
        for (size_t k = 0; k < series[i].sample_count; k++)
            body += field_size(9 + 1 + wire_varint_size((uint64_t)series[i].samples[k].timestamp_ms));
        total += field_size(body);
    }
    out->len = 0;
    if (prompb_buf_reserve(out, total ? total : 1)) {
        free(mem);
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory encoding %zu bytes", total);
        return -ENOMEM;
    }

    /* Write. */
    uint8_t *p = (uint8_t *)out->data;
    for (size_t j = 0; j < nsym; j++) {
        *p++ = 0x22;                                   /* symbols = 4 */
        p = wire_put_varint(p, syms[j].len);
        if (syms[j].len)
            memcpy(p, syms[j].ptr, syms[j].len);
        p += syms[j].len;
    }
    r = 0;
    for (size_t i = 0; i < n; i++) {
        const prompb_series_data *sd = &series[i];
        size_t nr = 2 * sd->label_count, packed = 0, body = 0;
        for (size_t k = 0; k < nr; k++)
            packed += wire_varint_size(refs[r + k]);
        if (packed)
            body += field_size(packed);
        for (size_t k = 0; k < sd->sample_count; k++)
            body += field_size(9 + 1 + wire_varint_size((uint64_t)sd->samples[k].timestamp_ms));
        *p++ = 0x2a;                                   /* timeseries = 5 */
        p = wire_put_varint(p, body);
        if (packed) {
            *p++ = 0x0a;                               /* labels_refs = 1, packed */
            p = wire_put_varint(p, packed);
            for (size_t k = 0; k < nr; k++)
                p = wire_put_varint(p, refs[r + k]);
        }
        r += nr;
        for (size_t k = 0; k < sd->sample_count; k++) {
            const prompb_sample *sm = &sd->samples[k];
            uint64_t bits;
            memcpy(&bits, &sm->value, 8);
            *p++ = 0x12;                               /* samples = 2 */
            p = wire_put_varint(p, 9 + 1 + wire_varint_size((uint64_t)sm->timestamp_ms));
            *p++ = 0x09;
            p = wire_put_fixed64(p, bits);
            *p++ = 0x10;
            p = wire_put_varint(p, (uint64_t)sm->timestamp_ms);
        }
    }
    out->len = (size_t)(p - (uint8_t *)out->data);
    free(mem);
    return 0;
}
