/*
 * CRC-32C (Castagnoli), as used by every Prometheus TSDB checksum.
 * Pure functions; thread-safe (tables are computed at compile time or on
 * first use with a once-guard). Private to lib/tsdb.
 */
#ifndef AION_TSDB_CRC32C_H
#define AION_TSDB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Updates crc with len bytes, like Go's crc32.Update: start with 0 and
 * chain calls; the result of the last call is the checksum.
 * tsdb_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t tsdb_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
