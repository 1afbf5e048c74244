/*
 * Block tombstones file: magic 0x0130BA30 | version 1 |
 * { uvarint series_ref | varint mint | varint maxt }* | CRC32C of the records.
 * Aion never deletes series, so blocks get an empty file; the parser exists
 * so blocks from Prometheus with deletions are read correctly. Pure functions.
 */
#ifndef AION_TSDB_TOMBSTONES_H
#define AION_TSDB_TOMBSTONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tsdb_tombstone {
    uint64_t series_ref;   /* index series ref */
    int64_t mint, maxt;    /* deleted interval, inclusive */
} tsdb_tombstone;

/* Writes dir/tombstones with these records (n may be 0). *size = bytes. */
int tsdb_tombstones_write(const char *dir, const tsdb_tombstone *t, size_t n, bool sync, uint64_t *size);
/* Parses a tombstones file image. *out is a heap array (free()) sorted as in
 * the file. Returns 0 or TSDB_ERR_CORRUPT / -ENOMEM. */
int tsdb_tombstones_parse(const uint8_t *p, size_t len, tsdb_tombstone **out, size_t *n);

#endif
