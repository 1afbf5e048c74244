/* Remote write: zero-copy decoders for prometheus.WriteRequest (1.0) and
 * io.prometheus.write.v2.Request (2.0), a separate validation pass (label
 * rules and optional limits), and encoders (1.0 whole or incremental, 2.0).
 *
 * Typical receive path:
 *     prompb_buf body = {0};               // reused per connection/worker
 *     prompb_write_request req;            // reused too
 *     prompb_write_request_init(&req);
 *     prompb_snappy_uncompress(http_body, n, limit, &body, &err);
 *     prompb_write_decode_v1(&req, body.data, body.len, &err);
 *     for each series i: prompb_validate_series(&req, i, flags, &err) ...
 *
 * Ownership and lifetime:
 *   - The decoded request BORROWS the input buffer: every prompb_label (and
 *     help/unit view) points into it. Keep the buffer alive and unchanged
 *     while the request is used; nothing in the request must be freed
 *     separately.
 *   - The arrays (series, labels, samples, symbols) live in one allocation
 *     owned by the prompb_write_request, reused and grown by later decodes
 *     (at most one malloc per decode, none once large enough; a warm request
 *     decodes in one pass). A new decode invalidates the arrays of the
 *     previous one. prompb_write_request_free releases it.
 *   - Encoders only read their inputs and write caller-owned prompb_bufs.
 * Thread-safety: a prompb_write_request is used by one thread at a time;
 * decoding and validation have no global state.
 */
#ifndef PROMPB_WRITE_H
#define PROMPB_WRITE_H

#include <stdbool.h>
#include <prompb/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of prompb_series.flags set by the v2 decoder; validation reports them. */
#define PROMPB_SERIES_BAD_REF   0x1u   /* a labels_ref past the symbols table */
#define PROMPB_SERIES_ODD_REFS  0x2u   /* odd number of labels_refs */
#define PROMPB_SERIES_BAD_META_REF 0x4u /* help_ref/unit_ref out of range */

typedef struct {
    uint32_t labels_start;      /* index into prompb_write_request.labels */
    uint32_t labels_count;
    uint32_t samples_start;     /* index into prompb_write_request.samples */
    uint32_t samples_count;
    uint32_t exemplar_count;    /* counted, not decoded */
    uint32_t histogram_count;   /* counted, not decoded */
    uint32_t flags;             /* PROMPB_SERIES_* */
    uint32_t bad_ref;           /* first out-of-range ref when BAD_REF */
    /* v2 only (zero for v1): */
    int64_t created_timestamp_ms;  /* 0 = unset */
    uint32_t metadata_type;        /* Metadata.MetricType, 0 = unspecified */
    bool has_metadata;
    uint32_t help_len, unit_len;
    const char *help;              /* view into the input, "" if unset */
    const char *unit;
} prompb_series;

typedef struct {
    const char *ptr;            /* view into the input, not NUL-terminated */
    uint32_t len;
} prompb_str;

typedef struct {
    int version;                /* 1 or 2 after a successful decode */
    prompb_series *series;
    size_t series_count;
    prompb_label *labels;       /* all series' labels, in series order */
    size_t label_count;
    prompb_sample *samples;     /* all series' samples, in series order */
    size_t sample_count;
    size_t exemplar_count;      /* totals over all series */
    size_t histogram_count;
    size_t metadata_count;      /* v1: WriteRequest.metadata entries;
                                   v2: series with a metadata field */
    prompb_str *symbols;        /* v2 symbols table (views), else NULL */
    size_t symbol_count;
    /* private: the one allocation and its partition, kept across decodes so
     * a request of similar size decodes in a single pass */
    struct {
        void *mem;
        size_t cap;
        prompb_series *series;
        prompb_label *labels;
        prompb_sample *samples;
        prompb_str *symbols;
        size_t series_cap, labels_cap, samples_cap, symbols_cap;
    } priv_;
} prompb_write_request;

/* The labels / samples of series s of r (views valid as long as r and the
 * decoded buffer are). */
static inline const prompb_label *prompb_series_labels(const prompb_write_request *r,
                                                       const prompb_series *s)
{
    return r->labels + s->labels_start;
}

static inline const prompb_sample *prompb_series_samples(const prompb_write_request *r,
                                                         const prompb_series *s)
{
    return r->samples + s->samples_start;
}

void prompb_write_request_init(prompb_write_request *r);
void prompb_write_request_free(prompb_write_request *r);
/* Bytes of the allocation the request keeps between decodes (to decide
 * whether a cached request is worth keeping after an outlier). */
size_t prompb_write_request_mem(const prompb_write_request *r);

/* Decodes an uncompressed prometheus.WriteRequest. Checks the protobuf
 * structure completely (truncation, wire types, varint overflow, lengths);
 * does not check label rules (see prompb_validate_series). Exemplar and
 * histogram messages are checked structurally and counted.
 * 0, -EINVAL (PROMPB_ERR_PROTOBUF, err->offset set), -EMSGSIZE (len >=
 * 4 GiB), -ENOMEM. On error the request is empty (counts 0). */
int prompb_write_decode_v1(prompb_write_request *r, const void *buf, size_t len,
                           prompb_error *err);

/* Same for io.prometheus.write.v2.Request. labels_refs are resolved against
 * the symbols table into the same prompb_label views. A bad reference does
 * not fail the request: the series gets PROMPB_SERIES_BAD_REF (its labels
 * then hold empty views) so validation can reject just that series. A
 * non-empty symbols[0] fails the request (every reference would be off). */
int prompb_write_decode_v2(prompb_write_request *r, const void *buf, size_t len,
                           prompb_error *err);

/* Validation flags. */
#define PROMPB_VALIDATE_LEGACY_NAMES 0x1u  /* label names [a-zA-Z_][a-zA-Z0-9_]* */
#define PROMPB_VALIDATE_METRIC_NAME  0x2u  /* __name__ value [a-zA-Z_:][a-zA-Z0-9_:]* */

/* Checks one decoded series: at least one label; names non-empty, valid
 * UTF-8, strictly increasing in byte order (so no duplicates); values
 * non-empty and valid UTF-8; optional name syntax (flags); v2 reference and
 * samples-vs-histograms rules. Series without __name__ are valid.
 * Pure: reads only r. Returns 0 or -EINVAL with err filled, e.g.
 *   series 3 ({__name__="up", job="x"}): labels not sorted: "job" after "zone"
 */
int prompb_validate_series(const prompb_write_request *r, size_t i, unsigned flags,
                           prompb_error *err);

/* Validates every series. bad (optional, series_count entries) gets 1 for
 * each rejected series, 0 otherwise. first (optional) receives the first
 * problem. Returns the number of bad series. */
size_t prompb_validate(const prompb_write_request *r, unsigned flags, uint8_t *bad,
                       prompb_error *first);

/* Receiver limits; 0 means no limit. */
typedef struct {
    size_t max_series;          /* series per request */
    size_t max_samples;         /* samples per request */
    uint32_t max_labels;        /* labels per series */
    uint32_t max_name_len;      /* bytes of a label name */
    uint32_t max_value_len;     /* bytes of a label value */
} prompb_limits;

/* Request-wide limits: -EMSGSIZE (PROMPB_ERR_LIMIT) with e.g.
 * "request has 12000 series, the limit is 10000". Pure. */
int prompb_check_request_limits(const prompb_write_request *r, const prompb_limits *lim,
                                prompb_error *err);

/* Per-series limits: -EINVAL (PROMPB_ERR_LIMIT) naming the series, e.g.
 * series 3 ({__name__="x", ...}): limit exceeded: 40 labels, the limit is 30
 * so the caller can refuse that series and keep the others. Pure. */
int prompb_check_series_limits(const prompb_write_request *r, size_t i,
                               const prompb_limits *lim, prompb_error *err);

/* Input of the encoders: one series given by borrowed arrays. */
typedef struct {
    const prompb_label *labels;
    size_t label_count;
    const prompb_sample *samples;
    size_t sample_count;
} prompb_series_data;

/* Encodes a prometheus.WriteRequest (uncompressed) into out (replacing its
 * contents). Labels are written as given (the caller sorts them). Values
 * keep their bit patterns. 0, -ENOMEM, -EMSGSIZE. */
int prompb_write_encode_v1(const prompb_series_data *series, size_t n, prompb_buf *out,
                           prompb_error *err);

/* Encodes then snappy-compresses: the body of a remote write 1.0 POST.
 * scratch holds the uncompressed message (reused across calls). */
int prompb_write_encode_v1_snappy(const prompb_series_data *series, size_t n,
                                  prompb_buf *scratch, prompb_buf *out, prompb_error *err);

/* Incremental 1.0 encoder: a WriteRequest is a plain sequence of
 * TimeSeries fields, so series can be appended one at a time while their
 * label views are valid (e.g. from an exposition-parser callback) without
 * copying them. Zero-initialise ({0}); owns its buffer; one thread at a time.
 * The encoded bytes are e->buf.data[0 .. e->buf.len). */
typedef struct {
    prompb_buf buf;
    size_t series;     /* series appended since the last reset */
    size_t samples;
} prompb_write_encoder;

/* Appends one series (labels as given, the caller sorts). 0 or -ENOMEM. */
int prompb_write_encoder_add(prompb_write_encoder *e, const prompb_label *labels,
                             size_t label_count, const prompb_sample *samples,
                             size_t sample_count, prompb_error *err);
/* Snappy-compresses what was appended into out (a remote-write body), then
 * resets the encoder (keeping its buffer). 0 or -ENOMEM. */
int prompb_write_encoder_flush_snappy(prompb_write_encoder *e, prompb_buf *out,
                                      prompb_error *err);
void prompb_write_encoder_reset(prompb_write_encoder *e);
void prompb_write_encoder_free(prompb_write_encoder *e);

/* Encodes an io.prometheus.write.v2.Request (uncompressed) into out: every
 * label name and value is interned once into the symbols table (symbols[0]
 * is ""), labels_refs are packed, samples keep their bit patterns. No
 * metadata, exemplars or histograms. Uses one temporary allocation.
 * 0, -ENOMEM, -EMSGSIZE (more than 2^31 label strings). */
int prompb_write_encode_v2(const prompb_series_data *series, size_t n, prompb_buf *out,
                           prompb_error *err);

#ifdef __cplusplus
}
#endif
#endif
