/* Error names, the stale marker, option defaults. */
#include <string.h>

#include <tsdb/tsdb.h>

const char *tsdb_strerror(int code)
{
    switch (code) {
    case 0: return "ok";
    case TSDB_ERR_OUT_OF_ORDER: return "out of order sample";
    case TSDB_ERR_DUPLICATE: return "duplicate sample for timestamp";
    case TSDB_ERR_TOO_OLD: return "out of bounds";
    case TSDB_ERR_LIMIT: return "limit exceeded";
    case TSDB_ERR_NOT_FOUND: return "series not found";
    case TSDB_ERR_IO: return "I/O error";
    case TSDB_ERR_CORRUPT: return "corrupt data";
    case TSDB_ERR_CLOSED: return "db closed";
    default: break;
    }
    if (code < 0 && code > -4096) {
        const char *s = strerror(-code);
        return s ? s : "error";
    }
    return "unknown error";
}

bool tsdb_is_stale_nan(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u == TSDB_STALE_NAN_BITS;
}

double tsdb_stale_nan(void)
{
    uint64_t u = TSDB_STALE_NAN_BITS;
    double v;
    memcpy(&v, &u, 8);
    return v;
}

void tsdb_options_init(tsdb_options *o)
{
    memset(o, 0, sizeof(*o));
    o->block_duration_ms = 2 * 3600 * 1000;
    o->wal_fsync = TSDB_FSYNC_COMMIT;
    o->wal_fsync_interval_ms = 1000;
    o->wal_segment_size = 128u << 20;
}
