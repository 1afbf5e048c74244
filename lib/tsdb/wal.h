/*
 * Internal: the write-ahead log, in Prometheus' wlog format: directory of
 * segments named %08d, written in 32 KiB pages; each record is split into
 * fragments `type(1) | len(2 BE) | crc32c(4 BE) | bytes` (full/first/middle/
 * last; 0 pads the rest of a page). Records never cross segments. Checkpoints
 * are directories checkpoint.%08d holding segments of the same format.
 * Not installed.
 *
 * Threads: tsdb_wal_log/tsdb_wal_next_segment/tsdb_wal_sync serialise on w->mu; with
 * TSDB_FSYNC_COMMIT the fdatasync runs outside it (group commit: a commit
 * whose bytes another thread's sync already covered returns at once). The
 * parse and record codec functions are pure (any thread).
 */
#ifndef AION_TSDB_WAL_H
#define AION_TSDB_WAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

#include "blockio.h"

#define WAL_PAGE 32768
#define WAL_HDR 7
enum { WAL_FRAG_PAD = 0, WAL_FRAG_FULL = 1, WAL_FRAG_FIRST = 2, WAL_FRAG_MIDDLE = 3, WAL_FRAG_LAST = 4 };
/* Compression flags of the fragment type byte (Prometheus); we write none
 * and read snappy. */
enum { WAL_FLAG_SNAPPY = 0x08, WAL_FLAG_ZSTD = 0x10 };
enum { WAL_REC_SERIES = 1, WAL_REC_SAMPLES = 2, WAL_REC_TOMBSTONES = 3 };

/* ---- record codec (pure) ---------------------------------------------------- */
/* Appends one series entry; starts the record (type byte) when b is empty. */
void tsdb_wal_enc_series(tsdb_buf *b, uint64_t ref, const labels_label *ls, size_t n);
/* Appends one sample; ref0/t0 are the record's base, written with the first. */
void tsdb_wal_enc_sample(tsdb_buf *b, uint64_t ref, int64_t t, double v);

typedef int (*wal_series_cb)(void *ctx, uint64_t ref, const labels_label *ls, size_t n);
typedef int (*wal_sample_cb)(void *ctx, uint64_t ref, int64_t t, double v);
/* Decode a record (whose first byte is its type). Label views point into rec.
 * Return 0, TSDB_ERR_CORRUPT, or the first non-zero callback result. */
int tsdb_wal_dec_series(const uint8_t *rec, size_t len, wal_series_cb cb, void *ctx);
int tsdb_wal_dec_samples(const uint8_t *rec, size_t len, wal_sample_cb cb, void *ctx);

/* ---- segment parsing (pure) ------------------------------------------------------ */
typedef int (*wal_rec_cb)(void *ctx, const uint8_t *rec, size_t len);
/* Splits a segment's bytes into records (snappy-compressed ones are
 * decompressed; zstd ones skipped). Returns 0 when the whole buffer is
 * well-formed (a trailing partial page is fine), TSDB_ERR_CORRUPT when it is
 * not (torn tail, bad CRC, bad framing) with *good_end = the offset just past
 * the last complete record (truncate there), a non-zero callback result, or
 * -ENOMEM. `why` gets a message. */
int tsdb_wal_parse_segment(const uint8_t *buf, size_t len, wal_rec_cb cb, void *ctx, size_t *good_end,
                      char *why, size_t whylen);

/* ---- directory helpers --------------------------------------------------------------- */
/* Sorted segment numbers in dir (names of 8 digits). *out is heap (free). */
int tsdb_wal_list_segments(const char *dir, uint32_t **out, size_t *n);
/* Newest checkpoint.N in dir: returns 1 and fills *n / path, 0 if none. */
int tsdb_wal_last_checkpoint(const char *dir, uint32_t *n, char *path, size_t pathlen);

/* ---- writer ---------------------------------------------------------------------- */
typedef struct wal {
    pthread_mutex_t mu;
    pthread_mutex_t sync_mu;   /* group commit: one fdatasync covers all waiting commits */
    uint64_t synced;           /* bytes known to be on disk (guarded by sync_mu) */
    char *dir;
    int fd;
    uint32_t seg;
    size_t pages_per_seg, done_pages;
    size_t alloc, flushed;     /* bytes used / written of the current page */
    tsdb_fsync_policy policy;
    int64_t interval_ms, last_sync_ms;
    int err;                   /* sticky I/O error */
    uint64_t bytes;            /* written since open */
    uint64_t synced_bytes;     /* bytes when tsdb_wal_sync / the interval sync last ran (mu) */
    uint8_t *page;
} wal;

/* Opens dir (created if missing) and starts a NEW segment number `seg`. */
int tsdb_wal_open(wal *w, const char *dir, uint32_t seg, size_t seg_size, tsdb_fsync_policy policy,
             int64_t interval_ms, char *err, size_t errlen);
/* Appends records atomically w.r.t. other tsdb_wal_log calls, writes them to the
 * OS and fsyncs per policy. Returns 0, TSDB_ERR_IO, -E2BIG (a record larger
 * than a segment). */
typedef int (*wal_pre_cb)(void *ctx, tsdb_buf **recs, size_t *n);
/* pre (may be NULL) runs under the WAL lock first and may return more
 * records to log before recs (the appender logs series records there, so a
 * series record always precedes any samples of that series). When writing
 * fails, what this call wrote is cut off the segment again and undo (may be
 * NULL) runs, still under the lock, to take back what pre marked as logged;
 * the error is then TSDB_ERR_IO (or -E2BIG) and the WAL stays usable. Only
 * when the cut itself fails (or a segment was started meanwhile, or a
 * group-commit fsync failed) is the error sticky. */
int tsdb_wal_log(wal *w, wal_pre_cb pre, void (*undo)(void *ctx), void *pre_ctx, const tsdb_buf *recs, size_t n);
/* Closes the current segment (padded) and starts the next; returns its
 * number in *seg. */
int tsdb_wal_next_segment(wal *w, uint32_t *seg);
int tsdb_wal_sync(wal *w);
void tsdb_wal_close(wal *w);
/* Largest record a segment takes. */
size_t tsdb_wal_max_record(const wal *w);

/* ---- checkpoint (checkpoint.c) ------------------------------------------------------ */
/* Writes checkpoint.<upto> from the previous checkpoint and segments <= upto,
 * keeping series records for which keep(ctx, ref) and samples with t >= mint
 * of kept series; then deletes those segments and older checkpoints. */
int tsdb_wal_checkpoint(const char *dir, uint32_t upto, bool (*keep)(void *ctx, uint64_t ref), void *ctx,
                   int64_t mint, char *err, size_t errlen);

#endif
