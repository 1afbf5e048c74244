/*
 * Index file writer, Prometheus index format v2:
 *   magic 0xBAAAD700 | version 2 | symbols | series (16-byte aligned) |
 *   postings (4-byte aligned, contiguous, "all" list first) |
 *   postings offset table | TOC (6 x u64 BE + CRC32C)
 * No legacy label-index sections are written (as Prometheus >= 3.7); the TOC
 * points label_indices at the postings and label_indices_table at the
 * postings offset table. One writer per thread; not shared.
 */
#ifndef AION_TSDB_INDEX_WRITE_H
#define AION_TSDB_INDEX_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

#define TSDB_INDEX_MAGIC 0xBAAAD700u
#define TSDB_INDEX_TOC_LEN 52u

/* One chunk of a series as the index records it. */
typedef struct tsdb_chunk_meta {
    int64_t mint, maxt; /* inclusive */
    uint64_t ref;       /* chunks file ref */
} tsdb_chunk_meta;

/* A set of strings: add everything, then finish (sorts, numbers them), then
 * look up. Strings are copied into the table. */
typedef struct tsdb_symtab tsdb_symtab;
tsdb_symtab *tsdb_symtab_new(void);
void tsdb_symtab_free(tsdb_symtab *t);
/* Before finish. Returns 0 or -ENOMEM. */
int tsdb_symtab_add(tsdb_symtab *t, const char *s, size_t len);
/* Sorts byte-wise. Returns 0 or -ENOMEM. */
int tsdb_symtab_finish(tsdb_symtab *t);
size_t tsdb_symtab_count(const tsdb_symtab *t);
/* After finish: position of s in sorted order, or -1. */
int64_t tsdb_symtab_lookup(const tsdb_symtab *t, const char *s, size_t len);
/* After finish: i-th string (NUL-terminated, owned by t). */
const char *tsdb_symtab_get(const tsdb_symtab *t, size_t i, uint32_t *len);

typedef struct tsdb_indexw tsdb_indexw;

/* Creates the file and writes header + symbol table. syms is borrowed and
 * must stay alive until close (finished, holding every label name/value).
 * Returns 0 or -errno. */
int tsdb_indexw_open(const char *path, const tsdb_symtab *syms, tsdb_indexw **out);
/* Adds a series. Series must come in labels order, labels sorted by name;
 * chunks sorted, not overlapping. Returns 0, -EINVAL (order/unknown symbol,
 * message in err) or -errno. */
int tsdb_indexw_add_series(tsdb_indexw *w, const labels_label *ls, size_t n,
                           const tsdb_chunk_meta *chunks, size_t nchunks, char *err, size_t errlen);
/* Writes postings, offset table, TOC; fsyncs if sync; frees w. *size gets
 * the file size. Returns 0 or -errno. */
int tsdb_indexw_close(tsdb_indexw *w, bool sync, uint64_t *size);
/* Frees without finishing (the file is left incomplete). */
void tsdb_indexw_abort(tsdb_indexw *w);

#endif
