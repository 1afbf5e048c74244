/* Zero-copy decoder of io.prometheus.write.v2.Request (remote write 2.0).
 *
 * Pass 1 checks Request and TimeSeries structure and counts symbols, series,
 * label references and samples. Pass 2a fills the symbols table (symbols may
 * come after the series in the byte stream); pass 2b fills series, resolving
 * labels_refs pairs into label views with bounds checks. */
#include <errno.h>
#include "write_internal.h"

static const char empty_str[1] = "";

typedef struct {
    size_t symbols, series, refs, samples;
} counts;

/* Walks the varints of a packed repeated uint32 body, counting them. */
static int count_packed(const uint8_t *p, const uint8_t *end, size_t *n, const uint8_t **at)
{
    while (p < end) {
        uint64_t v = 0;
        int rc = wire_varint(&p, end, &v);
        if (rc) {
            *at = p;
            return rc;
        }
        (*n)++;
    }
    return WIRE_OK;
}

static int count_series(const uint8_t *p, const uint8_t *end, counts *c, const uint8_t **at,
                        const char **where)
{
    size_t refs = 0;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        uint64_t v = 0;
        const uint8_t *tag_at = p;
        if ((rc = wire_tag(&p, end, &f, &wt))) {
            *where = "(field tag)";
            goto fail;
        }
        if (f == 1 && wt == WIRE_VARINT) {           /* unpacked labels_refs */
            if ((rc = wire_varint(&p, end, &v))) {
                *where = "labels_refs";
                goto fail;
            }
            refs++;
        } else if (f == 6) {                          /* created_timestamp */
            if (wt != WIRE_VARINT) {
                rc = WIRE_E_WRONG;
                *where = "created_timestamp";
                p = tag_at;
                goto fail;
            }
            if ((rc = wire_varint(&p, end, &v))) {
                *where = "created_timestamp";
                goto fail;
            }
        } else if (f >= 1 && f <= 5) {
            static const char *const names[] = {"", "labels_refs", "samples", "histograms",
                                                "exemplars", "metadata"};
            if (wt != WIRE_LEN) {
                rc = WIRE_E_WRONG;
                *where = names[f];
                p = tag_at;
                goto fail;
            }
            if ((rc = wire_len(&p, end, &b, &l))) {
                *where = "(length)";
                goto fail;
            }
            if (f == 1) {
                if ((rc = count_packed(b, b + l, &refs, &p))) {
                    *where = "labels_refs";
                    goto fail;
                }
            } else if (f == 2) {
                c->samples++;
            } else if ((rc = wire_check_fields(b, b + l, &p))) {
                *where = names[f];
                goto fail;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            *where = "(unknown field)";
            goto fail;
        }
        continue;
    fail:
        *at = p;
        return rc;
    }
    c->refs += refs / 2;
    return WIRE_OK;
}

typedef struct {
    prompb_write_request *r;
    prompb_series *s;
    prompb_label *lb;
    bool pending;
    uint32_t pending_ref;
} ref_state;

static inline prompb_str resolve(ref_state *st, uint64_t ref, uint32_t flag)
{
    if (WIRE_LIKELY(ref < st->r->symbol_count))
        return st->r->symbols[ref];
    if (!(st->s->flags & (PROMPB_SERIES_BAD_REF | PROMPB_SERIES_BAD_META_REF)))
        st->s->bad_ref = (uint32_t)(ref > UINT32_MAX ? UINT32_MAX : ref);
    st->s->flags |= flag;
    return (prompb_str){empty_str, 0};
}

static inline void push_ref(ref_state *st, uint64_t v)
{
    /* uint32 fields keep the low 32 bits of the varint, as protobuf does. */
    uint32_t ref = (uint32_t)v;
    if (!st->pending) {
        st->pending = true;
        st->pending_ref = ref;
        return;
    }
    st->pending = false;
    prompb_str n = resolve(st, st->pending_ref, PROMPB_SERIES_BAD_REF);
    prompb_str val = resolve(st, ref, PROMPB_SERIES_BAD_REF);
    st->lb->name = n.ptr;
    st->lb->name_len = n.len;
    st->lb->value = val.ptr;
    st->lb->value_len = val.len;
    st->lb++;
}

/* Metadata { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; } */
static int parse_metadata(ref_state *st, const uint8_t *p, const uint8_t *end,
                          const uint8_t **at)
{
    prompb_series *s = st->s;
    s->has_metadata = true;
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
            if (f == 1) {
                s->metadata_type = (uint32_t)v;
            } else {
                prompb_str str = resolve(st, (uint32_t)v, PROMPB_SERIES_BAD_META_REF);
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

static int fill_series(prompb_write_request *r, const uint8_t *p, const uint8_t *end,
                       prompb_series *s, const uint8_t **at, const char **where)
{
    ref_state st = {r, s, r->labels + r->label_count, false, 0};
    prompb_sample *sm = r->samples + r->sample_count;
    s->labels_start = (uint32_t)r->label_count;
    s->samples_start = (uint32_t)r->sample_count;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        uint64_t v = 0;
        (void)wire_tag(&p, end, &f, &wt);   /* checked in pass 1 */
        if (f == 1 && wt == WIRE_VARINT) {
            (void)wire_varint(&p, end, &v);
            push_ref(&st, v);
        } else if (f == 6) {
            (void)wire_varint(&p, end, &v);
            s->created_timestamp_ms = (int64_t)v;
        } else if (f >= 1 && f <= 5) {
            (void)wire_len(&p, end, &b, &l);
            switch (f) {
            case 1: {
                const uint8_t *bend = b + l;
                while (b < bend) {
                    (void)wire_varint(&b, bend, &v);
                    push_ref(&st, v);
                }
                break;
            }
            case 2:
                if ((rc = prompb_parse_sample(b, b + l, sm++, at))) {
                    *where = "sample";
                    return rc;
                }
                break;
            case 3: s->histogram_count++; break;
            case 4: s->exemplar_count++; break;
            case 5:
                if ((rc = parse_metadata(&st, b, b + l, at))) {
                    *where = "metadata";
                    return rc;
                }
                break;
            }
        } else {
            (void)wire_skip(&p, end, wt);
        }
    }
    if (st.pending)
        s->flags |= PROMPB_SERIES_ODD_REFS;
    s->labels_count = (uint32_t)(st.lb - (r->labels + r->label_count));
    s->samples_count = (uint32_t)(sm - (r->samples + r->sample_count));
    r->label_count += s->labels_count;
    r->sample_count += s->samples_count;
    r->exemplar_count += s->exemplar_count;
    r->histogram_count += s->histogram_count;
    r->metadata_count += s->has_metadata;
    return WIRE_OK;
}

int prompb_write_decode_v2(prompb_write_request *r, const void *buf, size_t len,
                           prompb_error *err)
{
    const uint8_t *base = buf, *p = base, *end = base + len, *at = base;
    const char *where = "Request";
    counts c = {0};
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
    while (p < end) {
        uint32_t f = 0;
        int wt = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        at = p;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            return prompb_wr_proto_err(r, err, base, p, rc, "Request", PROMPB_NO_SERIES);
        if (f == 4 || f == 5) {
            if (wt != WIRE_LEN)
                return prompb_wr_proto_err(r, err, base, at, WIRE_E_WRONG,
                                           f == 4 ? "Request.symbols" : "Request.timeseries",
                                           PROMPB_NO_SERIES);
            if ((rc = wire_len(&p, end, &b, &l)))
                return prompb_wr_proto_err(r, err, base, p, rc, "Request", PROMPB_NO_SERIES);
            if (f == 4) {
                c.symbols++;
            } else {
                if ((rc = count_series(b, b + l, &c, &at, &where)))
                    return prompb_wr_proto_err(r, err, base, at, rc, where, c.series);
                c.series++;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            return prompb_wr_proto_err(r, err, base, p, rc, "Request", PROMPB_NO_SERIES);
        }
    }

    if (prompb_wr_alloc(r, c.series, c.refs, c.samples, c.symbols)) {
        prompb_wr_clear(r);
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory for %zu series", c.series);
        return -ENOMEM;
    }
    r->symbols = r->priv_.symbols;
    /* 2a: symbols. */
    for (p = base; p < end;) {
        uint32_t f = 0;
        int wt = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        (void)wire_tag(&p, end, &f, &wt);
        if (f == 4) {
            (void)wire_len(&p, end, &b, &l);
            r->symbols[r->symbol_count++] = (prompb_str){(const char *)b, (uint32_t)l};
        } else {
            (void)wire_skip(&p, end, wt);
        }
    }
    if (r->symbol_count && r->symbols[0].len != 0) {
        prompb_wr_clear(r);
        prompb_err_set(err, PROMPB_ERR_BAD_REF, PROMPB_NO_SERIES, 0,
                       "invalid symbols table: symbols[0] must be the empty string");
        return -EINVAL;
    }
    /* 2b: series. */
    for (p = base; p < end;) {
        uint32_t f = 0;
        int wt = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        (void)wire_tag(&p, end, &f, &wt);
        if (f != 5) {
            (void)wire_skip(&p, end, wt);
            continue;
        }
        (void)wire_len(&p, end, &b, &l);
        prompb_series *s = &r->series[r->series_count];
        memset(s, 0, sizeof(*s));
        s->help = empty_str;
        s->unit = empty_str;
        if ((rc = fill_series(r, b, b + l, s, &at, &where)))
            return prompb_wr_proto_err(r, err, base, at, rc, where, r->series_count);
        r->series_count++;
    }
    r->version = 2;
    return 0;
}
