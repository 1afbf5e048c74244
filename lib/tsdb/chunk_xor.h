/*
 * XOR ("Gorilla") chunk encoding, byte-compatible with Prometheus'
 * tsdb/chunkenc/xor.go (encoding 1):
 *   u16 BE sample count | varint t0 | 64-bit v0 | uvarint t1-t0 | xor(v1) |
 *   { delta-of-delta(t_i), xor(v_i) }* | zero pad to a byte.
 * Values are stored as raw IEEE-754 bits, so stale-marker NaNs stay exact.
 * Private to lib/tsdb (the head appends through tsdb_xor_enc).
 *
 * Threads: an encoder or decoder is used by one thread at a time. A reader
 * that wants a consistent snapshot of an open chunk while another thread
 * appends must copy (bytes, len) under the appender's lock: appends rewrite
 * the header and the last partial byte and may realloc the buffer.
 */
#ifndef AION_TSDB_CHUNK_XOR_H
#define AION_TSDB_CHUNK_XOR_H

#include <stddef.h>
#include <stdint.h>

#define TSDB_XOR_MAX_SAMPLES 65535u
/* Largest encoding of one sample after the first two (4-bit dod prefix +
 * 64 bits, then 2+5+6+64 value bits), rounded up: what Prometheus reserves. */
#define TSDB_XOR_MAX_SAMPLE_BYTES 19u

/* Encoder of one open chunk. 48 bytes plus the heap buffer; zero-filled is a
 * valid empty encoder (tsdb_xor_enc_init does that). */
typedef struct tsdb_xor_enc {
    uint8_t *buf;     /* owned; NULL until the first append; realloc'd as it grows */
    uint32_t cap;     /* bytes allocated in buf */
    uint32_t nbits;   /* bits written including the 2-byte header */
    int64_t t;        /* last timestamp */
    uint64_t tdelta;  /* last timestamp delta */
    uint64_t v;       /* bits of the last value */
    uint16_t count;   /* samples in the chunk */
    uint8_t leading;  /* 0xff = no leading/trailing window yet */
    uint8_t trailing;
} tsdb_xor_enc;

void tsdb_xor_enc_init(tsdb_xor_enc *e);
/* Releases the buffer; the encoder is empty (re-usable) afterwards. */
void tsdb_xor_enc_free(tsdb_xor_enc *e);

/* Appends one sample. The caller keeps timestamps increasing (the encoding
 * itself accepts anything, as Prometheus'). Returns 0, -ENOMEM (nothing
 * appended), or -ERANGE when the chunk already holds 65535 samples. */
int tsdb_xor_enc_append(tsdb_xor_enc *e, int64_t t, double v);

/* Current encoded chunk: a pointer into the encoder's buffer (valid until the
 * next append/free/take) and its length. Empty encoder: NULL, 0. */
static inline const uint8_t *tsdb_xor_enc_bytes(const tsdb_xor_enc *e, uint32_t *len)
{
    *len = (e->nbits + 7) / 8;
    return e->buf;
}
static inline uint16_t tsdb_xor_enc_count(const tsdb_xor_enc *e) { return e->count; }
/* Heap bytes held (for memory accounting). */
static inline size_t tsdb_xor_enc_mem(const tsdb_xor_enc *e) { return e->cap; }

/* Hands the chunk bytes to the caller (shrunk to fit; free() them) and
 * leaves the encoder empty. Returns NULL with *len = 0 for an empty encoder. */
uint8_t *tsdb_xor_enc_take(tsdb_xor_enc *e, uint32_t *len);

/* Re-opens an existing chunk for appending (e.g. on WAL/chunk replay):
 * copies data and restores the encoder state, so appending continues the
 * chunk exactly as if it had never been closed.
 * e must be empty. Returns 0, -ENOMEM, or TSDB_ERR_CORRUPT. */
int tsdb_xor_enc_resume(tsdb_xor_enc *e, const uint8_t *data, size_t len);

/* Decoder over a borrowed buffer. Never reads outside [data, data+len). */
typedef struct tsdb_xor_dec {
    const uint8_t *p;
    uint32_t len;     /* bytes */
    uint32_t pos;     /* bit position */
    uint16_t total;   /* samples announced by the header */
    uint16_t read;    /* samples decoded */
    uint8_t leading, trailing;
    uint8_t window;   /* a leading/trailing window has been read */
    int64_t t;
    uint64_t tdelta;
    uint64_t v;
} tsdb_xor_dec;

/* Returns 0, or TSDB_ERR_CORRUPT when len < 2 or len > 4 GiB. */
int tsdb_xor_dec_init(tsdb_xor_dec *d, const uint8_t *data, size_t len);
/* 1 with the next sample, 0 at the end, TSDB_ERR_CORRUPT on a malformed
 * chunk (the decoder then stays at the end). */
int tsdb_xor_dec_next(tsdb_xor_dec *d, int64_t *t, double *v);

/* Sample count from a chunk's header (0 if len < 2). */
static inline uint16_t tsdb_xor_count(const uint8_t *data, size_t len)
{
    return len < 2 ? 0 : (uint16_t)((data[0] << 8) | data[1]);
}

#endif
