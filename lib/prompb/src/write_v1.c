/* Zero-copy decoder of prometheus.WriteRequest (remote write 1.0).
 *
 * Warm path: the arrays kept from earlier requests are filled in a single
 * pass that checks everything. Cold path (first use, or the arrays are too
 * small): a counting pass that checks everything in the same order (so both
 * paths report the same first error), one allocation, then the fill pass.
 * Labels are views into the input. */
#include <errno.h>
#include "write_internal.h"

static const char empty_str[1] = "";

typedef struct {
    size_t series, labels, samples, exemplars, histograms, metadata;
} counts;

/* Label { string name = 1; string value = 2; } */
static inline int parse_label(const uint8_t *p, const uint8_t *end, prompb_label *lb,
                              const uint8_t **at)
{
    /* Fast path: 0a <n> name 12 <m> value, both lengths < 128, nothing else. */
    size_t len = (size_t)(end - p);
    if (WIRE_LIKELY(len >= 4 && p[0] == 0x0a && p[1] < 0x80)) {
        size_t n = p[1];
        if (n + 4 <= len && p[n + 2] == 0x12 && p[n + 3] < 0x80 && n + 4 + p[n + 3] == len) {
            lb->name = (const char *)p + 2;
            lb->name_len = (uint32_t)n;
            lb->value = (const char *)p + n + 4;
            lb->value_len = p[n + 3];
            return WIRE_OK;
        }
    }
    lb->name = empty_str;
    lb->value = empty_str;
    lb->name_len = 0;
    lb->value_len = 0;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        if (WIRE_LIKELY(*p == 0x0a || *p == 0x12)) {
            f = *p >> 3;
            p++;
            if ((rc = wire_len(&p, end, &b, &l)))
                goto fail;
        } else {
            if ((rc = wire_tag(&p, end, &f, &wt)))
                goto fail;
            if (f <= 2) {
                if (wt != WIRE_LEN) {
                    rc = WIRE_E_WRONG;
                    goto fail;
                }
                if ((rc = wire_len(&p, end, &b, &l)))
                    goto fail;
            } else {
                if ((rc = wire_skip(&p, end, wt)))
                    goto fail;
                continue;
            }
        }
        if (f == 1) {
            lb->name = (const char *)b;
            lb->name_len = (uint32_t)l;
        } else {
            lb->value = (const char *)b;
            lb->value_len = (uint32_t)l;
        }
        continue;
    fail:
        *at = p;
        return rc;
    }
    return WIRE_OK;
}

/* Pass 1 over one TimeSeries body. */
static int count_series(const uint8_t *p, const uint8_t *end, counts *c, const uint8_t **at,
                        const char **where)
{
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        const uint8_t *tag_at = p;
        if ((rc = wire_tag(&p, end, &f, &wt))) {
            *where = "(field tag)";
            goto fail;
        }
        if (f >= 1 && f <= 4) {
            if (wt != WIRE_LEN) {
                rc = WIRE_E_WRONG;
                p = tag_at;
                *where = f == 1 ? "labels" : f == 2 ? "samples" : f == 3 ? "exemplars" : "histograms";
                goto fail;
            }
            if ((rc = wire_len(&p, end, &b, &l))) {
                *where = "(length)";
                goto fail;
            }
            /* Inner messages are checked here too, so errors are found in
             * the same order as the single-pass fill finds them. */
            switch (f) {
            case 1: {
                prompb_label tmp;
                if ((rc = parse_label(b, b + l, &tmp, at))) {
                    *where = "label";
                    return rc;
                }
                c->labels++;
                break;
            }
            case 2: {
                prompb_sample tmp;
                if ((rc = prompb_parse_sample(b, b + l, &tmp, at))) {
                    *where = "sample";
                    return rc;
                }
                c->samples++;
                break;
            }
            case 3:
                /* Not decoded, but must be well formed like the rest. */
                if ((rc = wire_check_fields(b, b + l, &p))) {
                    *where = "exemplar";
                    goto fail;
                }
                c->exemplars++;
                break;
            case 4:
                if ((rc = wire_check_fields(b, b + l, &p))) {
                    *where = "histogram";
                    goto fail;
                }
                c->histograms++;
                break;
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
    return WIRE_OK;
}

/* Fills one TimeSeries, checking its structure completely. Returns
 * PROMPB_FILL_FULL when the kept arrays run out (the caller then counts,
 * grows and starts over). */
static int fill_series(prompb_write_request *r, const uint8_t *p, const uint8_t *end,
                       prompb_series *s, const uint8_t **at, const char **where)
{
    prompb_label *lb = r->labels + r->label_count;
    prompb_label *lb_end = r->priv_.labels + r->priv_.labels_cap;
    prompb_sample *sm = r->samples + r->sample_count;
    prompb_sample *sm_end = r->priv_.samples + r->priv_.samples_cap;
    s->labels_start = (uint32_t)r->label_count;
    s->samples_start = (uint32_t)r->sample_count;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        const uint8_t *tag_at = p;
        if (WIRE_LIKELY(*p == 0x0a || *p == 0x12)) {
            f = *p >> 3;
            p++;
        } else {
            if ((rc = wire_tag(&p, end, &f, &wt))) {
                *where = "(field tag)";
                goto fail;
            }
            if (f > 4) {
                if ((rc = wire_skip(&p, end, wt))) {
                    *where = "(unknown field)";
                    goto fail;
                }
                continue;
            }
            if (wt != WIRE_LEN) {
                static const char *const names[] = {"", "labels", "samples", "exemplars",
                                                    "histograms"};
                rc = WIRE_E_WRONG;
                *where = names[f];
                p = tag_at;   /* wrong wire types are reported at their tag */
                goto fail;
            }
        }
        if ((rc = wire_len(&p, end, &b, &l))) {
            *where = "(length)";
            goto fail;
        }
        if (f == 1) {
            if (WIRE_UNLIKELY(lb == lb_end))
                return PROMPB_FILL_FULL;
            if ((rc = parse_label(b, b + l, lb++, at))) {
                *where = "label";
                return rc;
            }
        } else if (f == 2) {
            if (WIRE_UNLIKELY(sm == sm_end))
                return PROMPB_FILL_FULL;
            if ((rc = prompb_parse_sample(b, b + l, sm++, at))) {
                *where = "sample";
                return rc;
            }
        } else {
            /* Exemplars and histograms: checked for shape and counted. */
            if ((rc = wire_check_fields(b, b + l, at))) {
                *where = f == 3 ? "exemplar" : "histogram";
                return rc;
            }
            if (f == 3)
                s->exemplar_count++;
            else
                s->histogram_count++;
        }
        continue;
    fail:
        *at = p;
        return rc;
    }
    s->labels_count = (uint32_t)(lb - (r->labels + r->label_count));
    s->samples_count = (uint32_t)(sm - (r->samples + r->sample_count));
    r->label_count += s->labels_count;
    r->sample_count += s->samples_count;
    r->exemplar_count += s->exemplar_count;
    r->histogram_count += s->histogram_count;
    return WIRE_OK;
}

/* One pass over the whole request into the kept arrays. On a protobuf
 * error, at, where and series describe it. */
static int fill_all(prompb_write_request *r, const uint8_t *base, const uint8_t *end,
                    const uint8_t **at, const char **where, size_t *series)
{
    const uint8_t *p = base;
    *series = PROMPB_NO_SERIES;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        const uint8_t *b = NULL;
        size_t l = 0;
        *at = p;
        if ((rc = wire_tag(&p, end, &f, &wt))) {
            *at = p;
            *where = "WriteRequest";
            return rc;
        }
        if (f == 1 || f == 3) {
            if (wt != WIRE_LEN) {
                *where = f == 1 ? "WriteRequest.timeseries" : "WriteRequest.metadata";
                return WIRE_E_WRONG;
            }
            if ((rc = wire_len(&p, end, &b, &l))) {
                *at = p;
                *where = "WriteRequest";
                return rc;
            }
            if (f == 3) {
                if ((rc = wire_check_fields(b, b + l, at))) {
                    *where = "WriteRequest.metadata";
                    return rc;
                }
                r->metadata_count++;
                continue;
            }
            if (WIRE_UNLIKELY(r->series_count == r->priv_.series_cap))
                return PROMPB_FILL_FULL;
            prompb_series *s = &r->series[r->series_count];
            memset(s, 0, sizeof(*s));
            s->help = empty_str;
            s->unit = empty_str;
            if ((rc = fill_series(r, b, b + l, s, at, where))) {
                *series = r->series_count;
                return rc;
            }
            r->series_count++;
        } else if ((rc = wire_skip(&p, end, wt))) {
            *at = p;
            *where = "WriteRequest";
            return rc;
        }
    }
    return WIRE_OK;
}

int prompb_write_decode_v1(prompb_write_request *r, const void *buf, size_t len,
                           prompb_error *err)
{
    const uint8_t *base = buf, *p = base, *end = base + len, *at = base;
    const char *where = "WriteRequest";
    size_t series = PROMPB_NO_SERIES;
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
    /* Usual case: the arrays kept from earlier requests are big enough and
     * one pass does it all. */
    if (r->priv_.mem) {
        rc = fill_all(r, base, end, &at, &where, &series);
        if (rc == WIRE_OK)
            goto done;
        if (rc != PROMPB_FILL_FULL)
            return prompb_wr_proto_err(r, err, base, at, rc, where, series);
        prompb_wr_clear(r);
    }
    /* Count pass (checks the outer two levels too), one allocation, fill. */
    while (p < end) {
        uint32_t f = 0;
        int wt = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        at = p;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            return prompb_wr_proto_err(r, err, base, p, rc, "WriteRequest", PROMPB_NO_SERIES);
        if (f == 1 || f == 3) {
            if (wt != WIRE_LEN)
                return prompb_wr_proto_err(r, err, base, at, WIRE_E_WRONG,
                                           f == 1 ? "WriteRequest.timeseries"
                                                  : "WriteRequest.metadata",
                                           PROMPB_NO_SERIES);
            if ((rc = wire_len(&p, end, &b, &l)))
                return prompb_wr_proto_err(r, err, base, p, rc, "WriteRequest", PROMPB_NO_SERIES);
            if (f == 1) {
                if ((rc = count_series(b, b + l, &c, &at, &where)))
                    return prompb_wr_proto_err(r, err, base, at, rc, where, c.series);
                c.series++;
            } else {
                if ((rc = wire_check_fields(b, b + l, &at)))
                    return prompb_wr_proto_err(r, err, base, at, rc, "WriteRequest.metadata",
                                               PROMPB_NO_SERIES);
                c.metadata++;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            return prompb_wr_proto_err(r, err, base, p, rc, "WriteRequest", PROMPB_NO_SERIES);
        }
    }
    if (prompb_wr_alloc(r, c.series, c.labels, c.samples, 0)) {
        prompb_wr_clear(r);
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory for %zu series", c.series);
        return -ENOMEM;
    }
    rc = fill_all(r, base, end, &at, &where, &series);
    if (rc)   /* cannot be FILL_FULL after counting; errors were found above */
        return prompb_wr_proto_err(r, err, base, at, rc == PROMPB_FILL_FULL ? WIRE_E_TRUNC : rc,
                                   where, series);
done:
    r->version = 1;
    return 0;
}
