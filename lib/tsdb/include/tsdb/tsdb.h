/*
 * tsdb: Prometheus-compatible time-series storage.
 *
 * An in-memory head with a write-ahead log, cut into immutable blocks in the
 * Prometheus TSDB block format (index v2, chunks format 1, XOR chunks), which
 * promtool, Prometheus and Thanos can read. See docs/tsdb.md.
 *
 * Threads: a tsdb_db may be used from many threads at once. An appender is
 * used by one thread at a time; appenders on different series do not
 * serialise on one lock. Queriers run concurrently with appends and see a
 * consistent view of what was committed before they were created.
 *
 * Errors: functions return 0 or a negative code: a -errno value, or one of
 * the TSDB_ERR_* codes below. Functions with (err, errlen) also write a
 * message there.
 */
#ifndef AION_TSDB_H
#define AION_TSDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <labels/labels.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sample-level errors from tsdb_append*: the sample is not stored, the
 * appender stays usable, the rest of the batch goes on. */
enum {
    TSDB_ERR_OUT_OF_ORDER   = -10001, /* older than the series' newest sample (and outside the OOO window) */
    TSDB_ERR_DUPLICATE      = -10002, /* same timestamp, different value */
    TSDB_ERR_TOO_OLD        = -10003, /* before the head's lower bound (out of bounds) */
    TSDB_ERR_LIMIT          = -10004, /* a configured limit (series, memory) refuses a NEW series */
    TSDB_ERR_NOT_FOUND      = -10005, /* tsdb_append_ref: the ref is unknown (series was removed) */
    TSDB_ERR_IO             = -10006, /* disk failure; the commit did not happen */
    TSDB_ERR_CORRUPT        = -10007, /* on-disk data failed a checksum or format check */
    TSDB_ERR_CLOSED         = -10008, /* the db is closing */
};
/* Short name of an error code ("out of order", ...). Never NULL. */
const char *tsdb_strerror(int code);

/* The Prometheus stale marker: a NaN kept bit-exact through storage. */
#define TSDB_STALE_NAN_BITS 0x7ff0000000000002ULL
bool tsdb_is_stale_nan(double v);
double tsdb_stale_nan(void);

typedef enum tsdb_fsync_policy {
    TSDB_FSYNC_COMMIT = 0,   /* fsync the WAL before every commit returns (default, no loss on power cut) */
    TSDB_FSYNC_INTERVAL,     /* write() before commit returns (survives kill -9), fsync every interval */
    TSDB_FSYNC_NEVER,        /* leave flushing to the OS (tests, benchmarks) */
} tsdb_fsync_policy;

typedef enum tsdb_log_level { TSDB_LOG_DEBUG, TSDB_LOG_INFO, TSDB_LOG_WARN, TSDB_LOG_ERROR } tsdb_log_level;

typedef struct tsdb_options {
    int64_t block_duration_ms;      /* default 2h; blocks are aligned to multiples of it, as Prometheus does */
    int64_t retention_ms;           /* delete local blocks whose maxt is older than now-retention; 0 = keep */
    tsdb_fsync_policy wal_fsync;
    int64_t wal_fsync_interval_ms;  /* for TSDB_FSYNC_INTERVAL, default 1000 */
    size_t wal_segment_size;        /* default 128 MiB */
    int64_t out_of_order_window_ms; /* accept samples this much older than a series' newest; 0 = none */
    size_t max_series;              /* head series limit; 0 = none. New series past it: TSDB_ERR_LIMIT */
    size_t max_head_bytes;          /* head memory budget; 0 = none. New series past it: TSDB_ERR_LIMIT */
    bool no_wal;                    /* tests/benchmarks only */

    /* External labels and Thanos metadata written into every block's
     * meta.json `thanos` section (labels, source, downsample resolution 0,
     * files). Borrowed for tsdb_open's duration only (copied). */
    const labels_label *external_labels;
    size_t n_external_labels;
    const char *thanos_source;      /* e.g. "receive"; NULL = no thanos section */

    /* Called (from the thread that ran tsdb_maintain/tsdb_flush_head) after a
     * block is complete on disk, with its directory and ULID. */
    void (*on_block)(void *ctx, const char *block_dir, const char *ulid);
    void *on_block_ctx;

    /* Log sink; NULL logs nothing. msg is valid during the call only. */
    void (*log)(void *ctx, tsdb_log_level level, const char *msg);
    void *log_ctx;
} tsdb_options;

/* Fills defaults. */
void tsdb_options_init(tsdb_options *o);

typedef struct tsdb_db tsdb_db;

/* Opens (creating if needed) a database directory: dir/wal/, dir/<ULID>/
 * blocks, dir/chunks_head/ as the implementation needs. Replays the WAL; a
 * torn or corrupt tail is truncated with a warning, never a refusal to start.
 * Blocks on disk I/O. */
int tsdb_open(const char *dir, const tsdb_options *opts, tsdb_db **out, char *err, size_t errlen);

/* Closes: waits for appenders/queriers to finish, syncs the WAL, frees.
 * Does not cut a block (call tsdb_flush_head first for that). NULL is ok. */
int tsdb_close(tsdb_db *db);

/* Housekeeping, to be called periodically (e.g. every minute) from one
 * thread: cuts a block when the head spans more than 1.5x the block
 * duration, truncates/checkpoints the WAL, applies retention. `now_ms` is the
 * wall clock (a parameter so tests can drive time). Blocks on disk I/O. */
int tsdb_maintain(tsdb_db *db, int64_t now_ms, char *err, size_t errlen);

/* Cuts everything the head holds when called into block(s), e.g. on
 * shutdown, then truncates the WAL (samples committed meanwhile with newer
 * timestamps stay in the head). Blocks are aligned to the block duration except the
 * last, which ends at the newest sample + 1 ms (as Prometheus' CompactHead),
 * so after a reopen samples newer than that are accepted at once. */
int tsdb_flush_head(tsdb_db *db, char *err, size_t errlen);

typedef struct tsdb_stats {
    size_t head_series;
    size_t head_chunks;
    size_t head_bytes;          /* estimate of head memory */
    int64_t head_mint, head_maxt;
    size_t blocks;
    int64_t mint, maxt;         /* over head and blocks; mint > maxt when empty */
    uint64_t samples_appended;
    uint64_t wal_bytes;
} tsdb_stats;
void tsdb_get_stats(tsdb_db *db, tsdb_stats *st);

/* ---- appending ------------------------------------------------------------ */

typedef uint64_t tsdb_ref;        /* series reference; 0 is never valid */
typedef struct tsdb_appender tsdb_appender;

/* An appender batches samples until commit. One thread at a time. */
tsdb_appender *tsdb_appender_new(tsdb_db *db);
void tsdb_appender_free(tsdb_appender *a);  /* rolls back anything uncommitted */

/* Appends a sample to the series with these labels (sorted, unique names,
 * strings borrowed for the call only), creating the series if needed.
 * *ref (may be NULL) receives the series reference for tsdb_append_ref.
 * Returns 0 or a sample-level TSDB_ERR_* (sample not taken) or -ENOMEM. */
int tsdb_append(tsdb_appender *a, const labels_label *ls, size_t n, int64_t t, double v, tsdb_ref *ref);

/* Appends by reference, skipping the label lookup. TSDB_ERR_NOT_FOUND if
 * the series no longer exists (fall back to tsdb_append). */
int tsdb_append_ref(tsdb_appender *a, tsdb_ref ref, int64_t t, double v);

/* Makes the batch durable and visible: every sample is in the WAL (fsynced
 * per policy) before this returns 0. On failure nothing of the batch is
 * visible and the appender is empty. */
int tsdb_commit(tsdb_appender *a, char *err, size_t errlen);
void tsdb_rollback(tsdb_appender *a);

/* ---- chunks and samples ------------------------------------------------------ */

#define TSDB_ENC_XOR 1

/* One chunk of a series: Prometheus chunk encoding (XOR), [mint, maxt]
 * inclusive. data is valid as long as the series set that returned it is
 * positioned on that series. */
typedef struct tsdb_chunk {
    int64_t mint, maxt;
    const uint8_t *data;
    uint32_t len;
    uint8_t encoding;
} tsdb_chunk;

/* Iterates the samples of an array of chunks sorted by mint, restricted to
 * [mint, maxt]; overlapping chunks are merged (for equal timestamps the
 * later chunk in the array wins). Lives on the caller's stack; holds no heap
 * memory except for overlap merging (tsdb_sample_iter_free releases it). */
typedef struct tsdb_sample_iter {
    /* private */
    const tsdb_chunk *chunks;
    size_t nchunks, idx;
    int64_t mint, maxt;
    uint8_t state[96];
    void *merge;
    int err;
} tsdb_sample_iter;

void tsdb_sample_iter_init(tsdb_sample_iter *it, const tsdb_chunk *chunks, size_t n,
                           int64_t mint, int64_t maxt);
/* 1 and (*t,*v) = next sample; 0 at end; <0 on a corrupt chunk. */
int tsdb_sample_iter_next(tsdb_sample_iter *it, int64_t *t, double *v);
/* Advances to the first sample with timestamp >= t; same returns as next. */
int tsdb_sample_iter_seek(tsdb_sample_iter *it, int64_t t, int64_t *ts, double *v);
void tsdb_sample_iter_free(tsdb_sample_iter *it);

/* ---- querying ------------------------------------------------------------------ */

typedef struct tsdb_querier tsdb_querier;
typedef struct tsdb_series_set tsdb_series_set;

/* A querier over head and blocks for [mint, maxt] (inclusive, ms). */
int tsdb_querier_new(tsdb_db *db, int64_t mint, int64_t maxt, tsdb_querier **out);
void tsdb_querier_free(tsdb_querier *q);

/* Series matching all matchers (at least one), sorted by labels, each
 * series once (head and blocks merged). The set borrows q: free the set
 * before the querier. */
int tsdb_select(tsdb_querier *q, const labels_matcher *const *ms, size_t nm,
                tsdb_series_set **out, char *err, size_t errlen);

/* 1 = positioned on the next series, 0 = end, <0 = error. */
int tsdb_series_set_next(tsdb_series_set *ss);
/* Labels/chunks of the current series; valid until the next call to next. */
const labels_label *tsdb_series_set_labels(tsdb_series_set *ss, size_t *n);
const tsdb_chunk *tsdb_series_set_chunks(tsdb_series_set *ss, size_t *n);
void tsdb_series_set_free(tsdb_series_set *ss);

/* Sorted, unique label names / values of series matching the matchers
 * (nm = 0: all series). Result: one heap array of NUL-terminated strings;
 * free each with free() via tsdb_strings_free. */
int tsdb_label_names(tsdb_querier *q, const labels_matcher *const *ms, size_t nm,
                     char ***out, size_t *n, char *err, size_t errlen);
int tsdb_label_values(tsdb_querier *q, const char *name, const labels_matcher *const *ms,
                      size_t nm, char ***out, size_t *n, char *err, size_t errlen);
void tsdb_strings_free(char **s, size_t n);

/* ---- standalone blocks (storegw, tools) ------------------------------------- */

typedef struct tsdb_block tsdb_block;

typedef struct tsdb_block_meta {
    char ulid[27];
    int64_t mint, maxt;                    /* maxt exclusive, as in meta.json */
    uint64_t num_samples, num_series, num_chunks;
    int compaction_level;
    labels_label *thanos_labels;           /* owned by the block; NUL-terminated */
    size_t n_thanos_labels;
    int64_t downsample_resolution;
    char thanos_source[32];
} tsdb_block_meta;

/* Opens a block directory read-only (mmaps index and chunks). */
int tsdb_block_open(const char *dir, tsdb_block **out, char *err, size_t errlen);
void tsdb_block_close(tsdb_block *b);
const tsdb_block_meta *tsdb_block_get_meta(const tsdb_block *b);

/* A querier over standalone blocks (borrowed; keep them open while the
 * querier lives). Same select/label API as a db querier. */
int tsdb_querier_new_blocks(tsdb_block *const *blocks, size_t n, int64_t mint, int64_t maxt,
                            tsdb_querier **out);

#ifdef __cplusplus
}
#endif
#endif
