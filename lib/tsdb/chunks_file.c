/* Chunk segment files: writer and mmap reader (chunks_file.h). */
#include "chunks_file.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

int tsdb_chunkw_open(tsdb_chunkw *w, const char *dir, uint64_t seg_size)
{
    memset(w, 0, sizeof(*w));
    w->fw.fd = -1;
    w->seg_size = seg_size ? seg_size : TSDB_CHUNKS_SEGMENT_SIZE;
    w->dir = strdup(dir);
    return w->dir ? 0 : -ENOMEM;
}

static int seg_finish(tsdb_chunkw *w, bool sync)
{
    if (!w->open)
        return 0;
    uint64_t size = w->fw.off;
    int rc = tsdb_fw_close(&w->fw, sync);
    w->open = false;
    if (rc)
        return rc;
    uint64_t *ns = realloc(w->sizes, (w->seq) * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    w->sizes = ns;
    w->sizes[w->seq - 1] = size;
    return 0;
}

static int seg_cut(tsdb_chunkw *w)
{
    int rc = seg_finish(w, true);
    if (rc)
        return rc;
    char path[4096];
    if (tsdb_pathf(path, sizeof(path), "%s/%06u", w->dir, w->seq + 1))
        return -ENAMETOOLONG;
    rc = tsdb_fw_open(&w->fw, path);
    if (rc) {
        tsdb_fw_close(&w->fw, false);
        return rc;
    }
    w->seq++;
    w->open = true;
    uint8_t hdr[8] = {0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0};
    tsdb_fw_write(&w->fw, hdr, sizeof(hdr));
    return w->fw.err;
}

int tsdb_chunkw_add(tsdb_chunkw *w, const tsdb_chunk *c, uint64_t *ref)
{
    uint64_t size = tsdb_uvarint_size(c->len) + 1 + c->len + 4;
    if (!w->open || (w->fw.off > TSDB_CHUNKS_HEADER && w->fw.off + size > w->seg_size)) {
        int rc = seg_cut(w);
        if (rc)
            return rc;
    }
    if (w->fw.off > UINT32_MAX)
        return -EFBIG;
    *ref = (uint64_t)(w->seq - 1) << 32 | w->fw.off;
    tsdb_fw_uvarint(&w->fw, c->len);
    tsdb_fw_crc_start(&w->fw);
    tsdb_fw_write(&w->fw, &c->encoding, 1);
    tsdb_fw_write(&w->fw, c->data, c->len);
    tsdb_fw_crc_put(&w->fw);
    return w->fw.err;
}

int tsdb_chunkw_close(tsdb_chunkw *w, bool sync, uint32_t *nseg)
{
    int rc = seg_finish(w, sync);
    *nseg = w->seq;
    return rc;
}

void tsdb_chunkw_free(tsdb_chunkw *w)
{
    if (w->open)
        tsdb_fw_close(&w->fw, false);
    free(w->dir);
    free(w->sizes);
    memset(w, 0, sizeof(*w));
    w->fw.fd = -1;
}

/* ---- reader ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool seg_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 6)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int tsdb_chunkr_open(tsdb_chunkr *r, const char *dir, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    DIR *d = opendir(dir);
    if (!d) {
        int e = -errno;
        snprintf(err, errlen, "open chunks dir %s: %s", dir, strerror(errno));
        return e;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!seg_name(e->d_name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nn = realloc(names, nc * sizeof(*nn));
            if (!nn) {
                rc = -ENOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc && n) {
        qsort(names, n, sizeof(*names), cmp_str);
        r->segs = calloc(n, sizeof(*r->segs));
        if (!r->segs)
            rc = -ENOMEM;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        char path[4096];
        if ((rc = tsdb_pathf(path, sizeof(path), "%s/%s", dir, names[i]))) {
            snprintf(err, errlen, "path too long");
            break;
        }
        rc = tsdb_mmap_open(&r->segs[i], path);
        if (rc) {
            snprintf(err, errlen, "mmap %s: %s", path, strerror(-rc));
            break;
        }
        r->n = (uint32_t)(i + 1);
        const uint8_t *p = r->segs[i].p;
        if (r->segs[i].len < TSDB_CHUNKS_HEADER || tsdb_get_be32(p) != TSDB_CHUNKS_MAGIC) {
            snprintf(err, errlen, "%s: invalid chunk segment header", path);
            rc = TSDB_ERR_CORRUPT;
        } else if (p[4] != 1) {
            snprintf(err, errlen, "%s: unsupported chunks format %u", path, p[4]);
            rc = TSDB_ERR_CORRUPT;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc)
        tsdb_chunkr_close(r);
    return rc;
}

void tsdb_chunkr_close(tsdb_chunkr *r)
{
    for (uint32_t i = 0; i < r->n; i++)
        tsdb_mmap_close(&r->segs[i]);
    free(r->segs);
    r->segs = NULL;
    r->n = 0;
}

int tsdb_chunkr_get(const tsdb_chunkr *r, uint64_t ref, bool verify_crc, tsdb_chunk *out)
{
    uint64_t seg = ref >> 32, off = ref & 0xffffffffu;
    if (seg >= r->n)
        return TSDB_ERR_CORRUPT;
    const tsdb_mmap *m = &r->segs[seg];
    if (off < TSDB_CHUNKS_HEADER || off >= m->len)
        return TSDB_ERR_CORRUPT;
    tsdb_dec d;
    tsdb_dec_init(&d, m->p + off, m->len - off);
    uint64_t len = tsdb_dec_uvarint(&d);
    if (d.err || len > UINT32_MAX || tsdb_dec_left(&d) < len + 5)
        return TSDB_ERR_CORRUPT;
    const uint8_t *enc = tsdb_dec_bytes(&d, 1 + len);
    const uint8_t *crc = tsdb_dec_bytes(&d, 4);
    if (verify_crc && tsdb_crc32c(0, enc, 1 + len) != tsdb_get_be32(crc))
        return TSDB_ERR_CORRUPT;
    out->encoding = enc[0];
    out->data = enc + 1;
    out->len = (uint32_t)len;
    return 0;
}
