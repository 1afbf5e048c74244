/* promql_tsdb: a promql_queryable (promql/promql.h) reading lib/tsdb, so the
 * PromQL engine runs over a tsdb_db (head and blocks) or over standalone
 * blocks.
 *
 * What select() does: opens a tsdb querier over the time range, selects the
 * matchers, decodes every series' samples in the range into points and frees
 * the tsdb querier again before returning, so no tsdb lock is held while the
 * engine evaluates (tsdb_maintain/tsdb_flush_head are never held up by a
 * running query). Each select sees the commits that returned before it; two
 * selects of one query may see different commits if appends go on meanwhile
 * (Prometheus opens one querier per query; here the queryable has no per-query
 * hook).
 *
 * Time range: samples in [mint, maxt] (inclusive, ms), narrowed to
 * [hints->start, hints->end] when hints are given, as Prometheus' storage does
 * with SelectHints. hints->func "series" (Prometheus' label-only hint) returns
 * the matching series without points. Series with no sample in the range are
 * left out (as promql_memstore does). Values are copied bit for bit: stale
 * markers (NaN 0x7ff0000000000002) reach the engine unchanged.
 *
 * Errors from select(): what tsdb_select returned (with its message), -EIO
 * with "corrupt chunk ..." when a chunk does not decode, -ENOMEM.
 *
 * Ownership: the queryable borrows the db / blocks (keep them open while
 * queries run). A series set owns its labels and points until release().
 * Thread-safety: as safe as tsdb: queries may run in several threads at once
 * and concurrently with appends.
 */
#ifndef PROMQL_TSDB_H
#define PROMQL_TSDB_H

#include <stddef.h>

#include "promql/promql.h"
#include "tsdb/tsdb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A queryable over db (head and blocks); ctx is db itself. */
promql_queryable promql_tsdb_queryable(tsdb_db *db);

/* Standalone blocks (tsdb_block_open), e.g. what storegw serves. The struct
 * and the array it points to are borrowed and must outlive the queryable. */
typedef struct promql_tsdb_blocks {
    tsdb_block *const *blocks;
    size_t n_blocks;
} promql_tsdb_blocks;

promql_queryable promql_tsdb_blocks_queryable(const promql_tsdb_blocks *b);

#ifdef __cplusplus
}
#endif

#endif /* PROMQL_TSDB_H */
