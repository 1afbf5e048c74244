/* Tombstones file read/write (tombstones.h). */
#include "tombstones.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <tsdb/tsdb.h>

#include "blockio.h"
#include "crc32c.h"

int tsdb_tombstones_write(const char *dir, const tsdb_tombstone *t, size_t n, bool sync, uint64_t *size)
{
    char path[4096];
    if (tsdb_pathf(path, sizeof(path), "%s/tombstones", dir))
        return -ENAMETOOLONG;
    tsdb_fw fw;
    int rc = tsdb_fw_open(&fw, path);
    if (rc) {
        tsdb_fw_close(&fw, false);
        return rc;
    }
    tsdb_fw_be32(&fw, 0x0130BA30u);
    uint8_t ver = 1;
    tsdb_fw_write(&fw, &ver, 1);
    tsdb_fw_crc_start(&fw);
    for (size_t i = 0; i < n; i++) {
        tsdb_fw_uvarint(&fw, t[i].series_ref);
        tsdb_fw_uvarint(&fw, tsdb_zigzag(t[i].mint));
        tsdb_fw_uvarint(&fw, tsdb_zigzag(t[i].maxt));
    }
    tsdb_fw_crc_put(&fw);
    *size = fw.off;
    return tsdb_fw_close(&fw, sync);
}

int tsdb_tombstones_parse(const uint8_t *p, size_t len, tsdb_tombstone **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (len < 9 || tsdb_get_be32(p) != 0x0130BA30u || p[4] != 1)
        return TSDB_ERR_CORRUPT;
    const uint8_t *rec = p + 5;
    size_t rlen = len - 9;
    if (tsdb_crc32c(0, rec, rlen) != tsdb_get_be32(p + len - 4))
        return TSDB_ERR_CORRUPT;
    tsdb_dec d;
    tsdb_dec_init(&d, rec, rlen);
    tsdb_tombstone *v = NULL;
    size_t cnt = 0, cap = 0;
    while (tsdb_dec_left(&d) > 0) {
        tsdb_tombstone t;
        t.series_ref = tsdb_dec_uvarint(&d);
        t.mint = tsdb_dec_varint(&d);
        t.maxt = tsdb_dec_varint(&d);
        if (d.err) {
            free(v);
            return TSDB_ERR_CORRUPT;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            tsdb_tombstone *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = nc;
        }
        v[cnt++] = t;
    }
    *out = v;
    *n = cnt;
    return 0;
}
