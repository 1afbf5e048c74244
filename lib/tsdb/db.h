/*
 * Internal: the tsdb_db object shared by db.c, appender.c, querier.c and the
 * WAL replay. Not installed.
 *
 * Threads: blocks[] is guarded by blocks_mu; each db_block is refcounted
 * (queriers hold refs) and its directory is removed when the last ref goes
 * after retention dropped it. maint_mu serialises tsdb_maintain and
 * tsdb_flush_head. The head and WAL have their own locks (head.h, wal.h).
 */
#ifndef AION_TSDB_DB_H
#define AION_TSDB_DB_H

#include <pthread.h>
#include <stdatomic.h>

#include <tsdb/tsdb.h>

#include "head.h"
#include "series_set.h"
#include "wal.h"

typedef struct db_block {
    tsdb_block *b;
    char *dir;
    _Atomic int refs;        /* the db's list holds one */
    _Atomic bool doomed;     /* delete the directory when refs drop to 0 */
} db_block;

struct tsdb_db {
    char *dir;
    char *wal_dir;
    tsdb_options opts;       /* external_labels / thanos_source point at copies below */
    labels_label *ext_labels;
    char *thanos_source;
    head head;
    wal wal;
    bool has_wal;
    pthread_mutex_t maint_mu;
    pthread_mutex_t blocks_mu;
    db_block **blocks;       /* sorted by mint */
    size_t nblocks;
    _Atomic bool closing;
    /* TSDB_FSYNC_INTERVAL: a thread syncs the WAL every interval even when
     * no commit comes to do it */
    pthread_t syncer;
    bool has_syncer, stop_syncer;
    pthread_mutex_t syncer_mu;
    pthread_cond_t syncer_cv;
};

void tsdb_db_block_unref(db_block *b);
/* Snapshot of the block list with a ref on each; free the array, unref each. */
int tsdb_db_blocks_ref(tsdb_db *db, db_block ***out, size_t *n);

void tsdb_db_logf(const tsdb_db *db, tsdb_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replays dir/wal into the head (wal_replay.c). *last_seg = the newest
 * segment seen (-1 if none). */
int tsdb_db_replay_wal(tsdb_db *db, int64_t *last_seg, char *err, size_t errlen);

/* Head series set over [mint, maxt] as the snapshot sees it (head_select.c;
 * sn NULL: the current state). Caller holds head gc (read). */
int tsdb_head_select(head *h, head_snapshot *sn, int64_t mint, int64_t maxt, const labels_matcher *const *ms,
                size_t nm, tsdb_series_set **out);

#endif
