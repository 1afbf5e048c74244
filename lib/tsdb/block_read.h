/*
 * Internal block-level queries for the querier (querier.c) and tools:
 * selection through the block's postings, and label names/values.
 * A tsdb_block (tsdb_block_open) is immutable after open; these functions
 * may run concurrently on one block. Series sets borrow the block: free
 * them before tsdb_block_close.
 */
#ifndef AION_TSDB_BLOCK_READ_H
#define AION_TSDB_BLOCK_READ_H

#include <tsdb/tsdb.h>

#include "series_set.h"

/* Series matching all matchers (nm = 0: every series) that have at least
 * one chunk overlapping [mint, maxt] (inclusive), sorted by labels. Each
 * series' chunks are restricted to those overlapping the range; chunk data
 * points into the block's mapping; chunks are CRC-checked on access (a bad
 * one makes next() return TSDB_ERR_CORRUPT). Deleted ranges (tombstones) are
 * applied. Returns 0, -ENOMEM or TSDB_ERR_CORRUPT (message in err). */
int tsdb_block_select(tsdb_block *b, int64_t mint, int64_t maxt, const labels_matcher *const *ms,
                      size_t nm, tsdb_series_set **out, char *err, size_t errlen);

/* Sorted unique label names / values of series matching the matchers
 * (nm = 0: all series of the block; no time filtering). Output as
 * tsdb_label_names: a heap array of heap strings (tsdb_strings_free). */
int tsdb_block_label_names(tsdb_block *b, const labels_matcher *const *ms, size_t nm,
                           char ***out, size_t *n, char *err, size_t errlen);
int tsdb_block_label_values(tsdb_block *b, const char *name, const labels_matcher *const *ms,
                            size_t nm, char ***out, size_t *n, char *err, size_t errlen);

/* The directory the block was opened from (owned by the block). */
const char *tsdb_block_dir(const tsdb_block *b);

#endif
