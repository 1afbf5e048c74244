/* prompb common types: label views, samples, growable byte buffers, errors.
 *
 * Ownership: a prompb_label never owns its strings; it points into a buffer
 * owned by someone else (normally the decompressed request body) and is valid
 * as long as that buffer is. Strings are NOT NUL-terminated.
 * prompb_buf owns its data (malloc); free it with prompb_buf_free.
 * Thread-safety: no global state; distinct objects may be used from distinct
 * threads concurrently, one object from one thread at a time. */
#ifndef PROMPB_COMMON_H
#define PROMPB_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same field layout as labels_label (lib/labels), so arrays can be cast. */
typedef struct {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} prompb_label;

/* A float sample. value keeps its exact bit pattern (the stale marker
 * 0x7ff0000000000002 survives decode/encode); compare NaNs by bits. */
typedef struct {
    int64_t timestamp_ms;
    double value;
} prompb_sample;

/* Bit pattern of Prometheus' stale marker (a signalling NaN). */
#define PROMPB_STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

/* Growable byte buffer. Zero-initialise ({0}) before first use; the library
 * reuses the allocation across calls (len is reset by the writer). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} prompb_buf;

void prompb_buf_free(prompb_buf *b);
/* Ensures cap >= need (keeps contents). 0 or -ENOMEM. */
int prompb_buf_reserve(prompb_buf *b, size_t need);

/* What went wrong. Every failing function returns a negative errno value
 * (-EINVAL bad input, -EMSGSIZE over a size limit, -ENOMEM) and, when given a
 * prompb_error, fills it. */
typedef enum {
    PROMPB_OK = 0,
    PROMPB_ERR_SNAPPY,          /* invalid snappy block */
    PROMPB_ERR_TOO_LARGE,       /* over a size limit (decompressed body ...) */
    PROMPB_ERR_PROTOBUF,        /* truncated, wrong wire type, varint overflow ... */
    PROMPB_ERR_NOMEM,
    PROMPB_ERR_NO_LABELS,       /* series without any label */
    PROMPB_ERR_UNSORTED,        /* label names not in byte order */
    PROMPB_ERR_DUP_NAME,        /* the same label name twice */
    PROMPB_ERR_EMPTY_NAME,
    PROMPB_ERR_EMPTY_VALUE,
    PROMPB_ERR_UTF8,            /* label name or value is not valid UTF-8 */
    PROMPB_ERR_NAME_CHARS,      /* name outside [a-zA-Z_][a-zA-Z0-9_]* (legacy check) */
    PROMPB_ERR_METRIC_NAME,     /* __name__ value outside [a-zA-Z_:][a-zA-Z0-9_:]* */
    PROMPB_ERR_BAD_REF,         /* v2: symbol reference out of range / odd count */
    PROMPB_ERR_SAMPLES_AND_HISTOGRAMS, /* v2: a series with both */
    PROMPB_ERR_ARG,             /* caller error (NULL, count too large) */
    PROMPB_ERR_LIMIT,           /* over a configured per-request/per-series limit */
} prompb_code;

#define PROMPB_NO_SERIES ((size_t)-1)

typedef struct {
    prompb_code code;
    size_t series;      /* index of the offending series, or PROMPB_NO_SERIES */
    size_t offset;      /* byte offset in the decoded buffer for protobuf errors */
    char msg[320];      /* human readable, valid UTF-8, NUL-terminated */
} prompb_error;

/* Stable short name of a code ("labels not sorted", ...). Static string. */
const char *prompb_code_str(prompb_code c);

#ifdef __cplusplus
}
#endif
#endif
