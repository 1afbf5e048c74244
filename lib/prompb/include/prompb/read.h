/* Remote read: zero-copy prometheus.ReadRequest decoder, ReadResponse
 * (SAMPLES) encoder and STREAMED_XOR_CHUNKS frame encoder.
 *
 * Ownership and lifetime:
 *   - A decoded prompb_read_request BORROWS the input buffer: matcher names
 *     and values, hint func and grouping are views into it (not
 *     NUL-terminated). Its arrays live in one allocation owned by the request,
 *     reused by the next decode and released by prompb_read_request_free.
 *   - Encoders write into caller-owned prompb_buf objects and only read
 *     their inputs.
 * Thread-safety: no global state (the CRC table is computed at compile time);
 * one object per thread at a time.
 */
#ifndef PROMPB_READ_H
#define PROMPB_READ_H

#include <stdbool.h>
#include <prompb/common.h>
#include <prompb/write.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as labels_match_type (lib/labels) and the protobuf enum. */
typedef enum {
    PROMPB_MATCH_EQ = 0,
    PROMPB_MATCH_NEQ = 1,
    PROMPB_MATCH_RE = 2,
    PROMPB_MATCH_NRE = 3,
} prompb_match_type;

typedef struct {
    uint32_t type;            /* prompb_match_type; other values are kept as sent */
    uint32_t name_len;
    uint32_t value_len;
    const char *name;         /* views into the request body */
    const char *value;
} prompb_matcher;

typedef struct {
    bool present;             /* the query had a hints field */
    bool by;
    int64_t step_ms, start_ms, end_ms, range_ms;
    const char *func;         /* view, "" if unset */
    uint32_t func_len;
    uint32_t grouping_start;  /* index into prompb_read_request.grouping */
    uint32_t grouping_count;
} prompb_read_hints;

typedef struct {
    int64_t start_ms;         /* inclusive */
    int64_t end_ms;           /* inclusive */
    uint32_t matchers_start;  /* index into prompb_read_request.matchers */
    uint32_t matchers_count;
    prompb_read_hints hints;
} prompb_query;

enum { PROMPB_READ_SAMPLES = 0, PROMPB_READ_STREAMED_XOR_CHUNKS = 1 };

typedef struct {
    prompb_query *queries;
    size_t query_count;
    prompb_matcher *matchers;
    size_t matcher_count;
    prompb_str *grouping;
    size_t grouping_count;
    uint32_t *accepted_types; /* accepted_response_types in order */
    size_t accepted_count;
    /* private */
    void *mem_;
    size_t mem_cap_;
} prompb_read_request;

void prompb_read_request_init(prompb_read_request *r);
void prompb_read_request_free(prompb_read_request *r);

/* Decodes an uncompressed ReadRequest (snappy-decode the body first with
 * prompb_snappy_uncompress). 0, -EINVAL (PROMPB_ERR_PROTOBUF), -EMSGSIZE,
 * -ENOMEM. */
int prompb_read_request_decode(prompb_read_request *r, const void *buf, size_t len,
                               prompb_error *err);

/* Picks the response type: first accepted type the server supports (bit
 * (1u << type) set in supported_mask); an empty list means SAMPLES.
 * Returns the type or -1 when none is supported (answer 400). */
int prompb_read_negotiate(const prompb_read_request *r, unsigned supported_mask);

/* One query's result for the SAMPLES response. */
typedef struct {
    const prompb_series_data *series;
    size_t series_count;
} prompb_query_result;

/* Encodes ReadResponse { results } (uncompressed) into out, replacing its
 * contents. Compress with prompb_snappy_compress before sending. */
int prompb_read_response_encode(const prompb_query_result *results, size_t n,
                                prompb_buf *out, prompb_error *err);

/* One chunk of a ChunkedSeries: data is the raw chunk payload (XOR: 2-byte
 * sample count + bit stream), borrowed. */
typedef struct {
    int64_t min_time_ms;
    int64_t max_time_ms;
    uint32_t type;            /* 1 = XOR */
    const uint8_t *data;
    size_t len;
} prompb_chunk;

/* APPENDS one STREAMED_XOR_CHUNKS frame to out:
 *   uvarint(len(msg)) | crc32c(msg) big-endian | msg
 * with msg = ChunkedReadResponse { chunked_series: [ {labels, chunks} ],
 * query_index }. 0, -ENOMEM, -EMSGSIZE. */
int prompb_chunked_frame_append(prompb_buf *out, int64_t query_index,
                                const prompb_label *labels, size_t label_count,
                                const prompb_chunk *chunks, size_t chunk_count,
                                prompb_error *err);

/* Splits the next frame off a STREAMED_XOR_CHUNKS body (a client's view,
 * used by tests of the remote-read server). On success (msg, msg_len) is the
 * ChunkedReadResponse message inside buf (borrowed) and frame_len the bytes
 * to skip. Returns 0, 1 when buf holds only part of a frame (read more),
 * -EINVAL for a bad varint or checksum mismatch, -EMSGSIZE over max_msg. */
int prompb_chunked_frame_next(const void *buf, size_t len, size_t max_msg, const uint8_t **msg,
                              size_t *msg_len, size_t *frame_len, prompb_error *err);

/* CRC-32C (Castagnoli), as used by the frame checksum. crc starts at 0. */
uint32_t prompb_crc32c(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
