/*
 * Index file reader (Prometheus index format v2; version byte 3 is read the
 * same way). Works over a borrowed byte buffer (the mmapped file, or fuzz
 * input): every offset, length and varint is bounds-checked and every
 * section's CRC32C is verified before use, so corrupt files give
 * TSDB_ERR_CORRUPT, never a crash.
 * After init the reader is immutable: safe to share between threads.
 */
#ifndef AION_TSDB_INDEX_READ_H
#define AION_TSDB_INDEX_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

#include "index_write.h"

/* Memory per open index: the postings offset table stays in the mapping;
 * only every 32nd entry of each label name (and its last) is remembered,
 * as Prometheus does, so a 1M-series block costs ~1 MB, not ~30 MB. */
#define TSDB_IR_SAMPLE_EVERY 32
/* Symbols: every 8th offset is kept (Prometheus keeps every 32nd; series
 * decoding looks up ~2 symbols per label, so a shorter scan pays). */
#define TSDB_IR_SYM_EVERY 8

struct tsdb_ir_name {
    const char *s;          /* points into the buffer; not NUL-terminated */
    uint32_t len;
    uint32_t nvals;         /* values of this name */
    uint32_t first_sample;  /* its samples: samples[first_sample .. +nsamples) */
    uint32_t nsamples;
};

typedef struct tsdb_indexr {
    const uint8_t *p;   /* borrowed; must outlive the reader */
    size_t len;
    int version;
    uint64_t toc[6];
    uint32_t nsyms;
    uint32_t *sym_off;  /* owned: offset of every TSDB_IR_SYM_EVERY-th symbol's length varint */
    struct tsdb_ir_name *names; /* owned, sorted, without the "" all-postings key */
    size_t nnames;
    uint64_t *samples;  /* owned: file offsets of sampled offset-table entries */
    size_t nsamples;
    uint64_t all_off;   /* offset of the all-series postings list */
} tsdb_indexr;

/* One value of a label name as stored in the postings offset table. */
struct tsdb_ir_val {
    const char *s;      /* points into the buffer */
    uint32_t len;
    uint64_t off;       /* postings list offset */
};

/* Walks the values of one name in order (validated at init). */
typedef struct tsdb_ir_cursor {
    const uint8_t *p, *end;
    uint32_t left;
} tsdb_ir_cursor;

/* Fuzzing only: when set, CRC mismatches are ignored so a fuzzer can reach
 * the parsers behind the checksums. Never set outside fuzz targets. */
extern bool tsdb_indexr_fuzz_nocrc;

/* Parses header, TOC, symbol table and postings offset table. Returns 0,
 * TSDB_ERR_CORRUPT or -ENOMEM (message in err). */
int tsdb_indexr_init(tsdb_indexr *r, const uint8_t *p, size_t len, char *err, size_t errlen);
void tsdb_indexr_free(tsdb_indexr *r);

/* Symbol by index (v2 ref). Returns 0 or TSDB_ERR_CORRUPT. */
int tsdb_indexr_symbol(const tsdb_indexr *r, uint64_t idx, const char **s, uint32_t *len);

/* A growable sorted array of series refs. */
typedef struct tsdb_refs {
    uint32_t *v;        /* owned */
    size_t n, cap;
} tsdb_refs;
void tsdb_refs_free(tsdb_refs *a);

/* Appends the postings list at off to out (not re-sorted). Returns 0,
 * TSDB_ERR_CORRUPT or -ENOMEM. */
int tsdb_indexr_postings_at(const tsdb_indexr *r, uint64_t off, tsdb_refs *out);
/* Name lookup: NULL if absent. */
const struct tsdb_ir_name *tsdb_indexr_name(const tsdb_indexr *r, const char *s, size_t len);
/* Value lookup within a name: 1 and *out filled, 0 if absent, <0 corrupt. */
int tsdb_indexr_value(const tsdb_indexr *r, const struct tsdb_ir_name *n, const char *s, size_t len,
                      struct tsdb_ir_val *out);
/* All values of a name, sorted: begin, then next until it returns 0
 * (1 = *out filled, <0 = corrupt). */
void tsdb_indexr_values_begin(const tsdb_indexr *r, const struct tsdb_ir_name *n, tsdb_ir_cursor *c);
int tsdb_indexr_values_next(tsdb_ir_cursor *c, struct tsdb_ir_val *out);
/* Like begin, but the first value next() returns is the first >= s.
 * Returns 0 or TSDB_ERR_CORRUPT. */
int tsdb_indexr_values_from(const tsdb_indexr *r, const struct tsdb_ir_name *n, const char *s, size_t len,
                            tsdb_ir_cursor *c);

/* Decoded series; buffers are owned by the struct and reused across calls. */
typedef struct tsdb_ir_series {
    labels_label *ls;   /* strings point into the index buffer */
    size_t nls, capls;
    tsdb_chunk_meta *chunks;
    size_t nchunks, capchunks;
} tsdb_ir_series;
void tsdb_ir_series_free(tsdb_ir_series *s);

/* Decodes the series with this ref. Returns 0, TSDB_ERR_CORRUPT or -ENOMEM. */
int tsdb_indexr_series(const tsdb_indexr *r, uint32_t ref, tsdb_ir_series *out);

#endif
