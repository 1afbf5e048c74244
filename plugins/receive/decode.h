/*
 * receive/decode.h: turns a remote-write body into the series to store
 * (private). A pure function over a buffer: no host API, no global state,
 * so it is fuzzed on its own (tests/fuzz/fuzz_receive_decode.c).
 *
 * Ownership: a recv_batch owns everything the decoded series point into
 * (the decompressed body, the decoder's arrays, the series array); one
 * batch is used by one thread at a time and reused across requests (its
 * buffers only grow). Series are valid until the next decode into the same
 * batch or recv_batch_free.
 */
#ifndef AION_RECEIVE_DECODE_H
#define AION_RECEIVE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <aion/bus.h>
#include <aion/types.h>
#include <prompb/write.h>

#define RECV_TENANT_MAX 128

/* Request and series limits; 0 = no limit. */
typedef struct recv_limits {
    size_t max_series_per_request;  /* whole request refused: 413 */
    size_t max_labels_per_series;   /* series refused: 400 */
    size_t max_name_len, max_value_len;
    size_t max_decompressed;        /* 413; must be set */
    unsigned validate_flags;        /* PROMPB_VALIDATE_* */
} recv_limits;

typedef struct recv_batch {
    aion_write_batch b;             /* the payload the bus sees (first member) */
    prompb_buf body;                /* decompressed request; labels point into it */
    prompb_write_request req;
    aion_series *series;
    size_t series_cap;
    char tenant[RECV_TENANT_MAX + 1];
} recv_batch;

typedef struct recv_decoded {
    int status;                     /* 0 = decoded (maybe with bad series); else 400/413/500 for the request */
    size_t ngood;                   /* series with samples, in b->series[0..ngood) */
    size_t nbad;                    /* series refused (validation, limits, histograms) */
    uint64_t bad_samples;           /* their samples and histograms */
    char msg[600];                  /* the request's problem, or the first bad series' */
} recv_decoded;

recv_batch *recv_batch_new(void);   /* NULL on allocation failure */
void recv_batch_free(recv_batch *b);

/* Decodes a snappy-compressed remote write body (version 1 or 2) into b.
 * Good series (valid, within limits, with samples) are listed in
 * b->series; metadata-only and exemplar-only series are dropped silently. */
void recv_decode(const recv_limits *lim, int version, const void *body, size_t len,
                 recv_batch *b, recv_decoded *out);

#endif
