/*
 * Block meta.json (Prometheus meta version 1 + the Thanos `thanos` section)
 * read/write with jansson. Pure functions except the write, which creates
 * dir/meta.json via meta.json.tmp + rename.
 */
#ifndef AION_TSDB_META_H
#define AION_TSDB_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

typedef struct tsdb_meta_file {
    const char *rel_path;  /* borrowed, e.g. "chunks/000001", "index" */
    uint64_t size;
} tsdb_meta_file;

/* Writes dir/meta.json for m. The thanos section is written when
 * thanos_source is non-empty: labels, downsample.resolution, source, files
 * (given files sorted by rel_path, plus "meta.json" without a size).
 * Returns 0 or -errno (message in err). */
int tsdb_meta_write(const char *dir, const tsdb_block_meta *m, const tsdb_meta_file *files,
                    size_t nfiles, bool sync, char *err, size_t errlen);

/* Parses meta.json text. On success out->thanos_labels is one heap block
 * (array + NUL-terminated strings) owned by the caller: tsdb_meta_free.
 * Returns 0, TSDB_ERR_CORRUPT (message in err) or -ENOMEM. */
int tsdb_meta_parse(const char *json, size_t len, tsdb_block_meta *out, char *err, size_t errlen);
void tsdb_meta_free(tsdb_block_meta *m);

#endif
