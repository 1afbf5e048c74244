/* Fuzz target: WAL decoding. The first byte selects:
 *   0: segment framing (pages, fragments, CRC) + record decoding, pure
 *   1: full replay: the rest becomes wal/00000000 of a db that is opened
 *      (replay into the head, truncation of a corrupt tail) and closed
 *   2: series / samples record decoders on the raw bytes
 * A corrupt WAL must never crash, leak or hang replay. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tsdb/tsdb.h>

#include "blockio.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_series(void *ctx, uint64_t ref, const labels_label *ls, size_t n)
{
    size_t *acc = ctx;
    for (size_t i = 0; i < n; i++)
        *acc += ls[i].name_len + ls[i].value_len + (ls[i].name_len ? (uint8_t)ls[i].name[0] : 0);
    *acc += ref;
    return 0;
}

static int on_sample(void *ctx, uint64_t ref, int64_t t, double v)
{
    size_t *acc = ctx;
    *acc += ref + (uint64_t)t;
    return 0;
}

static int on_rec(void *ctx, const uint8_t *rec, size_t len)
{
    if (len && rec[0] == WAL_REC_SERIES)
        tsdb_wal_dec_series(rec, len, on_series, ctx);
    else if (len && rec[0] == WAL_REC_SAMPLES)
        tsdb_wal_dec_samples(rec, len, on_sample, ctx);
    return 0;
}

static char dir[256];

static void cleanup(void)
{
    tsdb_rm_rf(dir);
}

static void replay(const uint8_t *p, size_t n)
{
    char wdir[300], seg[320];
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/fuzz_tsdb_wal-%d", (int)getpid());
        mkdir(dir, 0755);
        atexit(cleanup);
    }
    snprintf(wdir, sizeof(wdir), "%s/wal", dir);
    /* clean slate: only segment 0 (open creates the next one) */
    tsdb_rm_rf(wdir);
    mkdir(wdir, 0755);
    snprintf(seg, sizeof(seg), "%s/00000000", wdir);
    int fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    if (write(fd, p, n) != (ssize_t)n) {
        close(fd);
        return;
    }
    close(fd);
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    o.max_series = 1000;
    tsdb_db *db;
    char err[256];
    if (tsdb_open(dir, &o, &db, err, sizeof(err)) == 0)
        tsdb_close(db);
    else
        abort(); /* a corrupt WAL must never stop the db from opening */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1, acc = 0, good;
    char why[128];
    switch (data[0] % 3) {
    case 0:
        tsdb_wal_parse_segment(p, n, on_rec, &acc, &good, why, sizeof(why));
        if (good > n)
            abort();
        break;
    case 1:
        replay(p, n);
        break;
    case 2:
        tsdb_wal_dec_series(p, n, on_series, &acc);
        tsdb_wal_dec_samples(p, n, on_sample, &acc);
        break;
    }
    return 0;
}
