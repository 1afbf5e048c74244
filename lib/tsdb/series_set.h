/*
 * Internal: the series-set and querier "vtables" shared by the head
 * (head.c/querier.c) and block (block_read.c) implementations, and the
 * block-writer contract used by head compaction. Not installed.
 */
#ifndef AION_TSDB_SERIES_SET_H
#define AION_TSDB_SERIES_SET_H

#include <tsdb/tsdb.h>

struct tsdb_series_set_ops {
    int (*next)(tsdb_series_set *ss);
    const labels_label *(*labels)(tsdb_series_set *ss, size_t *n);
    const tsdb_chunk *(*chunks)(tsdb_series_set *ss, size_t *n);
    void (*free)(tsdb_series_set *ss);
};

/* Every implementation embeds this as its first member. */
struct tsdb_series_set {
    const struct tsdb_series_set_ops *ops;
};

/* A series set that yields nothing (for empty selections). */
tsdb_series_set *tsdb_series_set_empty(void);

/* ---- block writing (implemented in block_write.c) ----------------------- */

/* One series handed to the block writer: labels sorted, chunks sorted by
 * mint, not overlapping, all within [mint, maxt) of the block. */
typedef struct tsdb_block_series {
    const labels_label *labels;
    size_t nlabels;
    const tsdb_chunk *chunks;
    size_t nchunks;
} tsdb_block_series;

/* Pull interface: the writer calls get(i) for i = 0..nseries-1 (possibly
 * twice: once to collect symbols, once to write), series sorted by labels.
 * Returned pointers must stay valid until the next get() call. */
typedef struct tsdb_block_source {
    size_t nseries;
    int64_t mint, maxt;     /* block range; maxt exclusive */
    void *ctx;
    int (*get)(void *ctx, size_t i, tsdb_block_series *out);
} tsdb_block_source;

typedef struct tsdb_block_write_opts {
    const labels_label *external_labels;  /* -> meta.json thanos.labels */
    size_t n_external_labels;
    const char *thanos_source;            /* NULL: no thanos section */
    int compaction_level;                 /* 1 for head blocks */
} tsdb_block_write_opts;

/* Writes parent_dir/<ULID>/ atomically (parent_dir/<ULID>.tmp then rename,
 * fsynced). Fills ulid_out (26 chars + NUL). */
int tsdb_block_write(const char *parent_dir, const tsdb_block_source *src,
                     const tsdb_block_write_opts *opts, char ulid_out[27],
                     char *err, size_t errlen);

#endif
