/*
 * Block chunk segment files `chunks/000001...` (Prometheus chunks format 1):
 *   magic 0x85BD40DD | version 1 | 3 zero bytes |
 *   { uvarint len | encoding byte | data | CRC32C(encoding + data) }*
 * Chunk ref = (0-based segment index << 32) | offset of the len field.
 * A writer or reader is used by one thread at a time for writing; a reader
 * is read-only after open and may be shared by threads.
 */
#ifndef AION_TSDB_CHUNKS_FILE_H
#define AION_TSDB_CHUNKS_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

#include "blockio.h"

#define TSDB_CHUNKS_MAGIC 0x85BD40DDu
#define TSDB_CHUNKS_HEADER 8u
#define TSDB_CHUNKS_SEGMENT_SIZE (512ull << 20)

typedef struct tsdb_chunkw {
    char *dir;            /* owned copy */
    tsdb_fw fw;           /* current segment (fd < 0 before the first chunk) */
    uint32_t seq;         /* segments started so far */
    uint64_t seg_size;    /* cut a new segment past this */
    uint64_t *sizes;      /* owned: size of each finished segment, index = seq-1 */
    bool open;
} tsdb_chunkw;

/* dir must exist. seg_size 0 = 512 MiB. Returns 0 or -errno. */
int tsdb_chunkw_open(tsdb_chunkw *w, const char *dir, uint64_t seg_size);
/* Appends a chunk and returns its ref. Returns 0 or -errno. */
int tsdb_chunkw_add(tsdb_chunkw *w, const tsdb_chunk *c, uint64_t *ref);
/* Finishes (fsync if sync) and frees everything except sizes/nseg results:
 * *nseg segments were written, sizes[i] their lengths (owned by w until
 * tsdb_chunkw_free). Returns the first error. */
int tsdb_chunkw_close(tsdb_chunkw *w, bool sync, uint32_t *nseg);
void tsdb_chunkw_free(tsdb_chunkw *w);

typedef struct tsdb_chunkr {
    tsdb_mmap *segs;      /* owned */
    uint32_t n;
} tsdb_chunkr;

/* Maps every segment file in dir (files named by 6 digits, sorted) and
 * checks their headers. Returns 0, -errno or TSDB_ERR_CORRUPT (err filled). */
int tsdb_chunkr_open(tsdb_chunkr *r, const char *dir, char *err, size_t errlen);
void tsdb_chunkr_close(tsdb_chunkr *r);
/* Looks up a chunk by ref: out->data points into the mapping (valid until
 * close); mint/maxt are left as they were. verify_crc checks the CRC.
 * Returns 0 or TSDB_ERR_CORRUPT (bad ref, bounds or checksum). */
int tsdb_chunkr_get(const tsdb_chunkr *r, uint64_t ref, bool verify_crc, tsdb_chunk *out);

#endif
