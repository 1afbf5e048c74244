/* Allocation and shared error handling of the write decoders. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include "write_internal.h"

void prompb_write_request_init(prompb_write_request *r)
{
    memset(r, 0, sizeof(*r));
}

void prompb_write_request_free(prompb_write_request *r)
{
    if (!r)
        return;
    free(r->mem_);
    memset(r, 0, sizeof(*r));
}

void prompb_wr_clear(prompb_write_request *r)
{
    void *mem = r->mem_;
    size_t cap = r->mem_cap_;
    memset(r, 0, sizeof(*r));
    r->mem_ = mem;
    r->mem_cap_ = cap;
}

static size_t align_up(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

int prompb_wr_alloc(prompb_write_request *r, size_t nseries, size_t nlabels,
                    size_t nsamples, size_t nsymbols)
{
    /* Counts are bounded by the input length (< 4 GiB), so no overflow on
     * 64-bit size_t. */
    size_t o_series = 0;
    size_t o_labels = align_up(o_series + nseries * sizeof(prompb_series));
    size_t o_samples = align_up(o_labels + nlabels * sizeof(prompb_label));
    size_t o_symbols = align_up(o_samples + nsamples * sizeof(prompb_sample));
    size_t total = align_up(o_symbols + nsymbols * sizeof(prompb_str)) + 16; /* never 0 */
    if (total > r->mem_cap_) {
        /* Grow with headroom so slightly larger requests do not realloc. */
        size_t cap = total + total / 4;
        void *m = malloc(cap);
        if (!m)
            return -ENOMEM;
        free(r->mem_);
        r->mem_ = m;
        r->mem_cap_ = cap;
    }
    char *base = r->mem_;
    r->series = (prompb_series *)(void *)(base + o_series);
    r->labels = (prompb_label *)(void *)(base + o_labels);
    r->samples = (prompb_sample *)(void *)(base + o_samples);
    r->symbols = nsymbols ? (prompb_str *)(void *)(base + o_symbols) : NULL;
    return 0;
}

int prompb_wr_proto_err(prompb_write_request *r, prompb_error *err, const uint8_t *base,
                        const uint8_t *at, int wire_rc, const char *where, size_t series)
{
    size_t off = (size_t)(at - base);
    prompb_wr_clear(r);
    if (series != PROMPB_NO_SERIES)
        prompb_err_set(err, PROMPB_ERR_PROTOBUF, series, off,
                       "invalid protobuf: %s in series %zu %s at byte %zu",
                       prompb_wire_err_str(wire_rc), series, where, off);
    else
        prompb_err_set(err, PROMPB_ERR_PROTOBUF, series, off,
                       "invalid protobuf: %s in %s at byte %zu",
                       prompb_wire_err_str(wire_rc), where, off);
    return -EINVAL;
}
