/* Zero-copy decoder of io.prometheus.write.v2.Request (remote write 2.0).
 *
 * Warm path (arrays kept from earlier requests): one pass; symbols come
 * before the series in what senders write (field 4 before 5), so references
 * resolve as the series are met. When the arrays are too small, or a symbol
 * follows a series, the cold path runs instead: a counting pass (which
 * checks everything, in the same order as the single pass would), one
 * allocation, the symbols table, then the series. One walker serves both
 * counting and filling, so both paths report the same first error. */
#include <errno.h>
#include "write_internal.h"

static const char empty_str[1] = "";

typedef struct {
    size_t symbols, series, refs, samples;
} counts;

typedef struct {
    prompb_write_request *r;    /* NULL while counting */
    counts *c;
    prompb_series *s;
    prompb_label *lb, *lb_end;
    prompb_sample *sm, *sm_end;
    bool pending;
    uint32_t pending_ref;
    size_t refs;
} sctx;

static inline prompb_str resolve(sctx *x, uint64_t ref, uint32_t flag)
{
    prompb_write_request *r = x->r;
    if (WIRE_LIKELY(ref < r->symbol_count))
        return r->symbols[ref];
    if (!(x->s->flags & (PROMPB_SERIES_BAD_REF | PROMPB_SERIES_BAD_META_REF)))
        x->s->bad_ref = (uint32_t)(ref > UINT32_MAX ? UINT32_MAX : ref);
    x->s->flags |= flag;
    return (prompb_str){empty_str, 0};
}

static inline int push_ref(sctx *x, uint64_t v)
{
    /* uint32 fields keep the low 32 bits of the varint, as protobuf does. */
    uint32_t ref = (uint32_t)v;
    if (!x->pending) {
        x->pending = true;
        x->pending_ref = ref;
        return WIRE_OK;
    }
    x->pending = false;
    if (!x->r) {
        x->refs++;
        return WIRE_OK;
    }
    if (WIRE_UNLIKELY(x->lb == x->lb_end))
        return PROMPB_FILL_FULL;
    prompb_str n = resolve(x, x->pending_ref, PROMPB_SERIES_BAD_REF);
    prompb_str val = resolve(x, ref, PROMPB_SERIES_BAD_REF);
    *x->lb++ = (prompb_label){n.ptr, val.ptr, n.len, val.len};
    return WIRE_OK;
}

/* Metadata { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; } */
static int metadata(sctx *x, const uint8_t *p, const uint8_t *end, const uint8_t **at)
{
    prompb_series *s = x->s;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        uint64_t v = 0;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            goto fail;
        if (f == 1 || f == 3 || f == 4) {
            if (wt != WIRE_VARINT) {
                rc = WIRE_E_WRONG;
                goto fail;
            }
            if ((rc = wire_varint(&p, end, &v)))
                goto fail;
            if (!x->r)
                continue;
            if (f == 1) {
                s->metadata_type = (uint32_t)v;
            } else {
                prompb_str str = resolve(x, (uint32_t)v, PROMPB_SERIES_BAD_META_REF);
                if (f == 3) {
                    s->help = str.ptr;
                    s->help_len = str.len;
                } else {
                    s->unit = str.ptr;
                    s->unit_len = str.len;
                }
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            goto fail;
        }
        continue;
    fail:
        *at = p;
        return rc;
    }
    return WIRE_OK;
}

/* One TimeSeries: counts (x->r == NULL) or fills x->s. */
static int series(sctx *x, const uint8_t *p, const uint8_t *end, const uint8_t **at,
                  const char **where)
{
    static const char *const names[] = {"", "labels_refs", "samples", "histograms",
                                        "exemplars", "metadata", "created_timestamp"};
    prompb_series *s = x->s;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL, *tag_at = p;
        size_t l = 0;
        uint64_t v = 0;
        if ((rc = wire_tag(&p, end, &f, &wt))) {
            *where = "(field tag)";
            goto fail;
        }
        if (f == 1 && wt == WIRE_VARINT) {           /* unpacked labels_refs */
            if ((rc = wire_varint(&p, end, &v))) {
                *where = "labels_refs";
                goto fail;
            }
            if ((rc = push_ref(x, v)))
                return rc;
            continue;
        }
        if (f < 1 || f > 6) {
            if ((rc = wire_skip(&p, end, wt))) {
                *where = "(unknown field)";
                goto fail;
            }
            continue;
        }
        if (wt != (f == 6 ? WIRE_VARINT : WIRE_LEN)) {
            rc = WIRE_E_WRONG;
            *where = names[f];
            p = tag_at;                              /* reported at the tag */
            goto fail;
        }
        if (f == 6) {
            if ((rc = wire_varint(&p, end, &v))) {
                *where = names[f];
                goto fail;
            }
            s->created_timestamp_ms = (int64_t)v;
            continue;
        }
        if ((rc = wire_len(&p, end, &b, &l))) {
            *where = "(length)";
            goto fail;
        }
        const uint8_t *bend = b + l;
        switch (f) {
        case 1:                                      /* packed labels_refs */
            while (b < bend) {
                if ((rc = wire_varint(&b, bend, &v))) {
                    *at = b;
                    *where = names[f];
                    return rc;
                }
                if ((rc = push_ref(x, v)))
                    return rc;
            }
            break;
        case 2: {
            prompb_sample tmp, *dst = &tmp;
            if (x->r) {
                if (WIRE_UNLIKELY(x->sm == x->sm_end))
                    return PROMPB_FILL_FULL;
                dst = x->sm++;
            } else {
                x->c->samples++;
            }
            if ((rc = prompb_parse_sample(b, bend, dst, at))) {
                *where = "sample";
                return rc;
            }
            break;
        }
        case 3:
        case 4:
            if ((rc = wire_check_fields(b, bend, at))) {
                *where = names[f];
                return rc;
            }
            if (f == 3)
                s->histogram_count++;
            else
                s->exemplar_count++;
            break;
        case 5:
            s->has_metadata = true;
            if ((rc = metadata(x, b, bend, at))) {
                *where = names[f];
                return rc;
            }
            break;
        }
        continue;
    fail:
        *at = p;
        return rc;
    }
    return WIRE_OK;
}

/* Fills the series at r->series_count from one TimeSeries body. */
static int fill_one(prompb_write_request *r, const uint8_t *b, const uint8_t *end,
                    const uint8_t **at, const char **where)
{
    if (WIRE_UNLIKELY(r->series_count == r->priv_.series_cap))
        return PROMPB_FILL_FULL;
    prompb_series *s = &r->series[r->series_count];
    memset(s, 0, sizeof(*s));
    s->help = empty_str;
    s->unit = empty_str;
    s->labels_start = (uint32_t)r->label_count;
    s->samples_start = (uint32_t)r->sample_count;
    sctx x = {.r = r, .s = s,
              .lb = r->labels + r->label_count, .lb_end = r->priv_.labels + r->priv_.labels_cap,
              .sm = r->samples + r->sample_count,
              .sm_end = r->priv_.samples + r->priv_.samples_cap};
    int rc = series(&x, b, end, at, where);
    if (rc)
        return rc;
    if (x.pending)
        s->flags |= PROMPB_SERIES_ODD_REFS;
    s->labels_count = (uint32_t)(x.lb - (r->labels + r->label_count));
    s->samples_count = (uint32_t)(x.sm - (r->samples + r->sample_count));
    r->label_count += s->labels_count;
    r->sample_count += s->samples_count;
    r->exemplar_count += s->exemplar_count;
    r->histogram_count += s->histogram_count;
    r->metadata_count += s->has_metadata;
    r->series_count++;
    return WIRE_OK;
}

/* Top level. mode 0: count into c; 1: single pass (symbols and series as
 * met; *late set when a symbol follows a series); 2: symbols only; 3: series
 * only (symbols complete). */
static int walk(prompb_write_request *r, int mode, counts *c, const uint8_t *base,
                const uint8_t *end, const uint8_t **at, const char **where, size_t *nseries,
                bool *late)
{
    const uint8_t *p = base;
    bool seen_series = false;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        *at = p;
        if ((rc = wire_tag(&p, end, &f, &wt))) {
            *at = p;
            *where = "Request";
            return rc;
        }
        if (f != 4 && f != 5) {
            if ((rc = wire_skip(&p, end, wt))) {
                *at = p;
                *where = "Request";
                return rc;
            }
            continue;
        }
        if (wt != WIRE_LEN) {
            *where = f == 4 ? "Request.symbols" : "Request.timeseries";
            return WIRE_E_WRONG;
        }
        if ((rc = wire_len(&p, end, &b, &l))) {
            *at = p;
            *where = "Request";
            return rc;
        }
        if (f == 4) {
            if (mode == 0) {
                c->symbols++;
            } else if (mode != 3) {
                if (WIRE_UNLIKELY(r->symbol_count == r->priv_.symbols_cap))
                    return PROMPB_FILL_FULL;
                r->symbols[r->symbol_count++] = (prompb_str){(const char *)b, (uint32_t)l};
                if (seen_series)
                    *late = true;
            }
            continue;
        }
        seen_series = true;
        if (mode == 0) {
            prompb_series tmp;
            memset(&tmp, 0, sizeof(tmp));
            sctx x = {.r = NULL, .c = c, .s = &tmp};
            if ((rc = series(&x, b, b + l, at, where))) {
                *nseries = c->series;
                return rc;
            }
            c->refs += x.refs;
            c->series++;
        } else if (mode != 2) {
            if ((rc = fill_one(r, b, b + l, at, where))) {
                *nseries = r->series_count;
                return rc;
            }
        }
    }
    return WIRE_OK;
}

int prompb_write_decode_v2(prompb_write_request *r, const void *buf, size_t len,
                           prompb_error *err)
{
    const uint8_t *base = buf, *end = base + len, *at = base;
    const char *where = "Request";
    size_t nseries = PROMPB_NO_SERIES;
    counts c = {0};
    bool late = false;
    int rc;

    prompb_wr_clear(r);
    if (!buf && len) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "invalid argument");
        return -EINVAL;
    }
    if (len >= UINT32_MAX) {
        prompb_err_set(err, PROMPB_ERR_TOO_LARGE, PROMPB_NO_SERIES, 0,
                       "request of %zu bytes is too large", len);
        return -EMSGSIZE;
    }
    if (r->priv_.mem) {
        r->symbols = r->priv_.symbols;
        rc = walk(r, 1, NULL, base, end, &at, &where, &nseries, &late);
        if (rc == WIRE_OK && !late)
            goto done;
        if (rc != WIRE_OK && rc != PROMPB_FILL_FULL)
            return prompb_wr_proto_err(r, err, base, at, rc, where, nseries);
        prompb_wr_clear(r);
        nseries = PROMPB_NO_SERIES;
    }
    if ((rc = walk(r, 0, &c, base, end, &at, &where, &nseries, &late)))
        return prompb_wr_proto_err(r, err, base, at, rc, where, nseries);
    if (prompb_wr_alloc(r, c.series, c.refs, c.samples, c.symbols)) {
        prompb_wr_clear(r);
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory for %zu series", c.series);
        return -ENOMEM;
    }
    r->symbols = r->priv_.symbols;
    (void)walk(r, 2, NULL, base, end, &at, &where, &nseries, &late);
    if ((rc = walk(r, 3, NULL, base, end, &at, &where, &nseries, &late)))
        /* cannot happen after counting; kept as a guard */
        return prompb_wr_proto_err(r, err, base, at, rc == PROMPB_FILL_FULL ? WIRE_E_TRUNC : rc,
                                   where, nseries);
done:
    if (r->symbol_count && r->symbols[0].len != 0) {
        prompb_wr_clear(r);
        prompb_err_set(err, PROMPB_ERR_BAD_REF, PROMPB_NO_SERIES, 0,
                       "invalid symbols table: symbols[0] must be the empty string");
        return -EINVAL;
    }
    r->version = 2;
    return 0;
}
