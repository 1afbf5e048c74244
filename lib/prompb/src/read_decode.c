/* Zero-copy decoder of prometheus.ReadRequest. Pass 1 checks every level and
 * counts; pass 2 fills one allocation. Read requests are small, so clarity
 * wins over speed here: both passes run the same walker. */
#include <errno.h>
#include <stdlib.h>
#include <prompb/read.h>
#include "wire.h"

static const char empty_str[1] = "";

typedef struct {
    prompb_read_request *r;   /* NULL in the counting pass */
    size_t queries, matchers, grouping, accepted;
    const uint8_t *at;
    const char *where;
} walker;

void prompb_read_request_init(prompb_read_request *r)
{
    memset(r, 0, sizeof(*r));
}

void prompb_read_request_free(prompb_read_request *r)
{
    if (!r)
        return;
    free(r->mem_);
    memset(r, 0, sizeof(*r));
}

#define FAIL(w, p_, rc_, where_)                                                              \
    do {                                                                                      \
        (w)->at = (p_);                                                                       \
        (w)->where = (where_);                                                                \
        return (rc_);                                                                         \
    } while (0)

static int walk_matcher(walker *w, const uint8_t *p, const uint8_t *end)
{
    prompb_matcher m = {0, 0, 0, empty_str, empty_str};
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        uint64_t v = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            FAIL(w, p, rc, "LabelMatcher");
        if (f == 1) {
            if (wt != WIRE_VARINT)
                FAIL(w, p, WIRE_E_WRONG, "LabelMatcher.type");
            if ((rc = wire_varint(&p, end, &v)))
                FAIL(w, p, rc, "LabelMatcher.type");
            m.type = (uint32_t)v;
        } else if (f == 2 || f == 3) {
            if (wt != WIRE_LEN)
                FAIL(w, p, WIRE_E_WRONG, "LabelMatcher");
            if ((rc = wire_len(&p, end, &b, &l)))
                FAIL(w, p, rc, "LabelMatcher");
            if (f == 2) {
                m.name = (const char *)b;
                m.name_len = (uint32_t)l;
            } else {
                m.value = (const char *)b;
                m.value_len = (uint32_t)l;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            FAIL(w, p, rc, "LabelMatcher");
        }
    }
    if (w->r)
        w->r->matchers[w->r->matcher_count++] = m;
    w->matchers++;
    return 0;
}

static int walk_hints(walker *w, const uint8_t *p, const uint8_t *end, prompb_read_hints *h)
{
    h->present = true;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        uint64_t v = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            FAIL(w, p, rc, "ReadHints");
        if (f == 2 || f == 5) {
            if (wt != WIRE_LEN)
                FAIL(w, p, WIRE_E_WRONG, "ReadHints");
            if ((rc = wire_len(&p, end, &b, &l)))
                FAIL(w, p, rc, "ReadHints");
            if (f == 2) {
                h->func = (const char *)b;
                h->func_len = (uint32_t)l;
            } else {
                if (w->r)
                    w->r->grouping[w->r->grouping_count++] =
                        (prompb_str){(const char *)b, (uint32_t)l};
                h->grouping_count++;
                w->grouping++;
            }
        } else if (f == 1 || (f >= 3 && f <= 7)) {
            if (wt != WIRE_VARINT)
                FAIL(w, p, WIRE_E_WRONG, "ReadHints");
            if ((rc = wire_varint(&p, end, &v)))
                FAIL(w, p, rc, "ReadHints");
            switch (f) {
            case 1: h->step_ms = (int64_t)v; break;
            case 3: h->start_ms = (int64_t)v; break;
            case 4: h->end_ms = (int64_t)v; break;
            case 6: h->by = v != 0; break;
            case 7: h->range_ms = (int64_t)v; break;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            FAIL(w, p, rc, "ReadHints");
        }
    }
    return 0;
}

static int walk_query(walker *w, const uint8_t *p, const uint8_t *end)
{
    prompb_query q;
    memset(&q, 0, sizeof(q));
    q.hints.func = empty_str;
    q.matchers_start = (uint32_t)w->matchers;
    q.hints.grouping_start = (uint32_t)w->grouping;
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        uint64_t v = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            FAIL(w, p, rc, "Query");
        if (f == 1 || f == 2) {
            if (wt != WIRE_VARINT)
                FAIL(w, p, WIRE_E_WRONG, "Query");
            if ((rc = wire_varint(&p, end, &v)))
                FAIL(w, p, rc, "Query");
            if (f == 1)
                q.start_ms = (int64_t)v;
            else
                q.end_ms = (int64_t)v;
        } else if (f == 3 || f == 4) {
            if (wt != WIRE_LEN)
                FAIL(w, p, WIRE_E_WRONG, "Query");
            if ((rc = wire_len(&p, end, &b, &l)))
                FAIL(w, p, rc, "Query");
            if (f == 3) {
                if ((rc = walk_matcher(w, b, b + l)))
                    return rc;
                q.matchers_count++;
            } else if ((rc = walk_hints(w, b, b + l, &q.hints))) {
                return rc;
            }
        } else if ((rc = wire_skip(&p, end, wt))) {
            FAIL(w, p, rc, "Query");
        }
    }
    if (w->r)
        w->r->queries[w->r->query_count++] = q;
    w->queries++;
    return 0;
}

static int walk_request(walker *w, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint32_t f = 0;
        int wt = 0, rc;
        uint64_t v = 0;
        const uint8_t *b = NULL;
        size_t l = 0;
        if ((rc = wire_tag(&p, end, &f, &wt)))
            FAIL(w, p, rc, "ReadRequest");
        if (f == 1) {
            if (wt != WIRE_LEN)
                FAIL(w, p, WIRE_E_WRONG, "ReadRequest.queries");
            if ((rc = wire_len(&p, end, &b, &l)))
                FAIL(w, p, rc, "ReadRequest");
            if ((rc = walk_query(w, b, b + l)))
                return rc;
        } else if (f == 2 && wt == WIRE_VARINT) {
            if ((rc = wire_varint(&p, end, &v)))
                FAIL(w, p, rc, "ReadRequest.accepted_response_types");
            if (w->r)
                w->r->accepted_types[w->r->accepted_count++] = (uint32_t)v;
            w->accepted++;
        } else if (f == 2 && wt == WIRE_LEN) {          /* packed */
            if ((rc = wire_len(&p, end, &b, &l)))
                FAIL(w, p, rc, "ReadRequest");
            const uint8_t *e = b + l;
            while (b < e) {
                if ((rc = wire_varint(&b, e, &v)))
                    FAIL(w, b, rc, "ReadRequest.accepted_response_types");
                if (w->r)
                    w->r->accepted_types[w->r->accepted_count++] = (uint32_t)v;
                w->accepted++;
            }
        } else if (f == 2) {
            FAIL(w, p, WIRE_E_WRONG, "ReadRequest.accepted_response_types");
        } else if ((rc = wire_skip(&p, end, wt))) {
            FAIL(w, p, rc, "ReadRequest");
        }
    }
    return 0;
}

static size_t align_up(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

int prompb_read_request_decode(prompb_read_request *r, const void *buf, size_t len,
                               prompb_error *err)
{
    const uint8_t *base = buf;
    walker w = {0};
    void *mem = r->mem_;
    size_t cap = r->mem_cap_;
    memset(r, 0, sizeof(*r));
    r->mem_ = mem;
    r->mem_cap_ = cap;
    if ((!buf && len) || len >= UINT32_MAX) {
        prompb_err_set(err, PROMPB_ERR_TOO_LARGE, PROMPB_NO_SERIES, 0,
                       "invalid or too large read request (%zu bytes)", len);
        return buf ? -EMSGSIZE : -EINVAL;
    }
    int rc = walk_request(&w, base, base + len);
    if (rc) {
        size_t off = (size_t)(w.at - base);
        prompb_err_set(err, PROMPB_ERR_PROTOBUF, PROMPB_NO_SERIES, off,
                       "invalid protobuf: %s in %s at byte %zu", prompb_wire_err_str(rc),
                       w.where, off);
        return -EINVAL;
    }
    size_t o_m = align_up(w.queries * sizeof(prompb_query));
    size_t o_g = align_up(o_m + w.matchers * sizeof(prompb_matcher));
    size_t o_a = align_up(o_g + w.grouping * sizeof(prompb_str));
    size_t total = align_up(o_a + w.accepted * sizeof(uint32_t)) + 16;
    if (total > r->mem_cap_) {
        void *m = malloc(total);
        if (!m) {
            prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0, "out of memory");
            return -ENOMEM;
        }
        free(r->mem_);
        r->mem_ = m;
        r->mem_cap_ = total;
    }
    char *b = r->mem_;
    r->queries = (prompb_query *)(void *)b;
    r->matchers = (prompb_matcher *)(void *)(b + o_m);
    r->grouping = (prompb_str *)(void *)(b + o_g);
    r->accepted_types = (uint32_t *)(void *)(b + o_a);
    walker w2 = {0};
    w2.r = r;
    (void)walk_request(&w2, base, base + len);
    return 0;
}

int prompb_read_negotiate(const prompb_read_request *r, unsigned supported_mask)
{
    if (r->accepted_count == 0)
        return (supported_mask & 1u) ? PROMPB_READ_SAMPLES : -1;
    for (size_t i = 0; i < r->accepted_count; i++) {
        uint32_t t = r->accepted_types[i];
        if (t < 32 && (supported_mask & (1u << t)))
            return (int)t;
    }
    return -1;
}
