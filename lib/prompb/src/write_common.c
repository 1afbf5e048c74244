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
    free(r->priv_.mem);
    memset(r, 0, sizeof(*r));
}

size_t prompb_write_request_mem(const prompb_write_request *r)
{
    return r->priv_.cap;
}

void prompb_wr_clear(prompb_write_request *r)
{
    __typeof__(r->priv_) priv = r->priv_;
    memset(r, 0, sizeof(*r));
    r->priv_ = priv;
    r->series = priv.series;
    r->labels = priv.labels;
    r->samples = priv.samples;
    r->symbols = NULL;      /* set by the v2 decoder only */
}

static size_t align_up(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static size_t headroom(size_t n)
{
    return n + n / 4 + 16;
}

int prompb_wr_alloc(prompb_write_request *r, size_t nseries, size_t nlabels,
                    size_t nsamples, size_t nsymbols)
{
    /* Counts are bounded by the input length (< 4 GiB), so no overflow on
     * 64-bit size_t. Headroom lets slightly larger requests reuse it. */
    size_t cs = headroom(nseries), cl = headroom(nlabels), cm = headroom(nsamples),
           cy = headroom(nsymbols);
    size_t o_labels = align_up(cs * sizeof(prompb_series));
    size_t o_samples = align_up(o_labels + cl * sizeof(prompb_label));
    size_t o_symbols = align_up(o_samples + cm * sizeof(prompb_sample));
    size_t total = align_up(o_symbols + cy * sizeof(prompb_str));
    if (total > r->priv_.cap) {
        void *m = malloc(total);
        if (!m)
            return -ENOMEM;
        free(r->priv_.mem);
        r->priv_.mem = m;
        r->priv_.cap = total;
    }
    char *base = r->priv_.mem;
    r->priv_.series = (prompb_series *)(void *)base;
    r->priv_.labels = (prompb_label *)(void *)(base + o_labels);
    r->priv_.samples = (prompb_sample *)(void *)(base + o_samples);
    r->priv_.symbols = (prompb_str *)(void *)(base + o_symbols);
    r->priv_.series_cap = cs;
    r->priv_.labels_cap = cl;
    r->priv_.samples_cap = cm;
    r->priv_.symbols_cap = cy;
    r->series = r->priv_.series;
    r->labels = r->priv_.labels;
    r->samples = r->priv_.samples;
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
