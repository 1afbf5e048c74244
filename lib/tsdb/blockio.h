/*
 * Private byte-level helpers for the block format files (index, chunks,
 * tombstones): a bounds-checked decoder over a borrowed buffer, a growable
 * memory encoder, and a buffered file writer with offset and CRC tracking.
 * Encodings follow Go's encoding/binary: uvarint = LEB128, varint = zigzag.
 * Not thread-safe per object; objects are independent.
 */
#ifndef AION_TSDB_BLOCKIO_H
#define AION_TSDB_BLOCKIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- decoding ---------------------------------------------------------------- */

/* Reads from [p, end) (borrowed). Any overrun or bad varint sets err and
 * makes later reads return 0; check err once after a group of reads. */
typedef struct tsdb_dec {
    const uint8_t *p, *end;
    int err;
} tsdb_dec;

static inline void tsdb_dec_init(tsdb_dec *d, const uint8_t *p, size_t n)
{
    d->p = p;
    d->end = p + n;
    d->err = 0;
}
static inline size_t tsdb_dec_left(const tsdb_dec *d) { return d->err ? 0 : (size_t)(d->end - d->p); }

static inline const uint8_t *tsdb_dec_bytes(tsdb_dec *d, size_t n)
{
    if (d->err || (size_t)(d->end - d->p) < n) {
        d->err = 1;
        return NULL;
    }
    const uint8_t *r = d->p;
    d->p += n;
    return r;
}
static inline uint8_t tsdb_dec_u8(tsdb_dec *d)
{
    const uint8_t *b = tsdb_dec_bytes(d, 1);
    return b ? b[0] : 0;
}
static inline uint32_t tsdb_get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t tsdb_get_be64(const uint8_t *b)
{
    return (uint64_t)tsdb_get_be32(b) << 32 | tsdb_get_be32(b + 4);
}
static inline uint32_t tsdb_dec_be32(tsdb_dec *d)
{
    const uint8_t *b = tsdb_dec_bytes(d, 4);
    return b ? tsdb_get_be32(b) : 0;
}
static inline uint64_t tsdb_dec_be64(tsdb_dec *d)
{
    const uint8_t *b = tsdb_dec_bytes(d, 8);
    return b ? tsdb_get_be64(b) : 0;
}
static inline uint64_t tsdb_dec_uvarint(tsdb_dec *d)
{
    uint64_t x = 0;
    for (unsigned i = 0, s = 0; i < 10; i++, s += 7) {
        if (d->err || d->p >= d->end)
            break;
        uint8_t b = *d->p++;
        if (b < 0x80) {
            if (i == 9 && b > 1)
                break;
            return x | (uint64_t)b << s;
        }
        x |= (uint64_t)(b & 0x7f) << s;
    }
    d->err = 1;
    return 0;
}
static inline int64_t tsdb_dec_varint(tsdb_dec *d)
{
    uint64_t u = tsdb_dec_uvarint(d);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* ---- memory encoder ---------------------------------------------------------- */

typedef struct tsdb_buf {
    uint8_t *p;   /* owned; free with tsdb_buf_free */
    size_t n, cap;
    int err;      /* sticky -ENOMEM */
} tsdb_buf;

void tsdb_buf_free(tsdb_buf *b);
int tsdb_buf_grow(tsdb_buf *b, size_t more);
static inline void tsdb_buf_put(tsdb_buf *b, const void *p, size_t n)
{
    if (b->cap - b->n < n && tsdb_buf_grow(b, n))
        return;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}
static inline void tsdb_buf_u8(tsdb_buf *b, uint8_t v) { tsdb_buf_put(b, &v, 1); }
static inline void tsdb_buf_be32(tsdb_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    tsdb_buf_put(b, x, 4);
}
static inline void tsdb_buf_be64(tsdb_buf *b, uint64_t v)
{
    tsdb_buf_be32(b, (uint32_t)(v >> 32));
    tsdb_buf_be32(b, (uint32_t)v);
}
static inline size_t tsdb_put_uvarint(uint8_t *out, uint64_t x)
{
    size_t i = 0;
    while (x >= 0x80) {
        out[i++] = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    out[i++] = (uint8_t)x;
    return i;
}
static inline size_t tsdb_uvarint_size(uint64_t x)
{
    size_t n = 1;
    while (x >= 0x80) {
        x >>= 7;
        n++;
    }
    return n;
}
static inline uint64_t tsdb_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline void tsdb_buf_uvarint(tsdb_buf *b, uint64_t x)
{
    uint8_t t[10];
    tsdb_buf_put(b, t, tsdb_put_uvarint(t, x));
}
static inline void tsdb_buf_varint(tsdb_buf *b, int64_t v) { tsdb_buf_uvarint(b, tsdb_zigzag(v)); }

/* ---- buffered file writer ------------------------------------------------------- */

typedef struct tsdb_fw {
    int fd;
    uint64_t off;     /* file offset of the next byte */
    uint8_t *buf;     /* owned */
    size_t n, cap;
    uint32_t crc;     /* running CRC32C since tsdb_fw_crc_start */
    bool crc_on;
    int err;          /* sticky first error, -errno */
} tsdb_fw;

/* Creates/truncates path for writing. Returns 0 or -errno. */
int tsdb_fw_open(tsdb_fw *w, const char *path);
void tsdb_fw_write(tsdb_fw *w, const void *p, size_t n);
void tsdb_fw_be32(tsdb_fw *w, uint32_t v);
void tsdb_fw_be64(tsdb_fw *w, uint64_t v);
void tsdb_fw_uvarint(tsdb_fw *w, uint64_t x);
/* Zero bytes up to a multiple of align. */
void tsdb_fw_pad(tsdb_fw *w, uint64_t align);
void tsdb_fw_crc_start(tsdb_fw *w);
/* Stops CRC tracking and writes the CRC (4 bytes BE). */
void tsdb_fw_crc_put(tsdb_fw *w);
/* Flushes, optionally fsyncs, closes. Returns the first error (0 = ok). */
int tsdb_fw_close(tsdb_fw *w, bool sync);

/* snprintf into a path buffer; -ENAMETOOLONG if it does not fit. */
int tsdb_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* fsync of a directory; mkdir -p-less single mkdir tolerant of EEXIST;
 * recursive removal (best effort). */
int tsdb_fsync_dir(const char *path);
int tsdb_rm_rf(const char *path);

/* Reads a whole (small) file into a NUL-terminated heap buffer. */
int tsdb_read_file(const char *path, char **out, size_t *len);

/* Read-only mmap of a whole file (len 0 files give p = NULL). */
typedef struct tsdb_mmap {
    const uint8_t *p;
    size_t len;
} tsdb_mmap;
int tsdb_mmap_open(tsdb_mmap *m, const char *path);
void tsdb_mmap_close(tsdb_mmap *m);

#endif
