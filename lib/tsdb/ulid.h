/*
 * ULIDs (block directory names): 48-bit Unix ms time + 80 random bits,
 * 26 chars of Crockford base32. Pure functions; thread-safe.
 */
#ifndef AION_TSDB_ULID_H
#define AION_TSDB_ULID_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tsdb_ulid {
    uint8_t b[16]; /* big-endian: time (6 bytes) then randomness */
} tsdb_ulid;

/* New ULID for time ms, randomness from getrandom(). Returns 0 or -errno. */
int tsdb_ulid_new(uint64_t ms, tsdb_ulid *out);
/* 26 chars + NUL. */
void tsdb_ulid_format(const tsdb_ulid *u, char out[27]);
/* Parses exactly 26 chars (case-insensitive); false if invalid or overflowing. */
bool tsdb_ulid_parse(const char *s, tsdb_ulid *out);
uint64_t tsdb_ulid_time(const tsdb_ulid *u);

#endif
