/* WAL segments: page/fragment framing writer and the (pure) segment parser,
 * after Prometheus tsdb/wlog/wlog.go. See wal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <snappy-c.h>

#include "crc32c.h"
#include "wal.h"

/* ---- parsing ------------------------------------------------------------------ */

/* Hands a complete record to cb, snappy-decompressed when flagged (as
 * Prometheus writes it with WAL compression on). Records we cannot decode
 * (zstd, bad snappy data behind a good CRC) are skipped, not treated as a
 * torn WAL: the framing is intact. */
static int deliver(const uint8_t *p, size_t n, uint8_t flags, tsdb_buf *plain, wal_rec_cb cb, void *ctx)
{
    if (flags & WAL_FLAG_ZSTD)
        return 0;
    if (!(flags & WAL_FLAG_SNAPPY))
        return cb(ctx, p, n);
    size_t len;
    if (snappy_uncompressed_length((const char *)p, n, &len) != SNAPPY_OK || len > (64u << 20))
        return 0;
    plain->n = 0;
    if (plain->cap < len && tsdb_buf_grow(plain, len))
        return -ENOMEM;
    if (snappy_uncompress((const char *)p, n, (char *)plain->p, &len) != SNAPPY_OK)
        return 0;
    return cb(ctx, plain->p, len);
}

int tsdb_wal_parse_segment(const uint8_t *buf, size_t len, wal_rec_cb cb, void *ctx, size_t *good_end,
                      char *why, size_t whylen)
{
    tsdb_buf rec = {0}, plain = {0};
    size_t off = 0, rec_start = 0;
    uint8_t rec_flags = 0;
    bool in_rec = false;
    int rc = 0;
    *good_end = 0;
    while (off < len) {
        size_t page_left = WAL_PAGE - off % WAL_PAGE;
        if (page_left < WAL_HDR || buf[off] == WAL_FRAG_PAD) {
            /* rest of the page is padding: must be zeros */
            size_t end = off + page_left < len ? off + page_left : len;
            for (size_t i = off; i < end; i++) {
                if (buf[i]) {
                    snprintf(why, whylen, "non-zero page padding at offset %zu", i);
                    rc = TSDB_ERR_CORRUPT;
                    goto out;
                }
            }
            off = end;
            continue;
        }
        uint8_t type = buf[off];
        if (len - off < WAL_HDR) {
            snprintf(why, whylen, "torn fragment header at offset %zu", off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        size_t flen = (size_t)buf[off + 1] << 8 | buf[off + 2];
        uint32_t crc = tsdb_get_be32(buf + off + 3);
        uint8_t flags = type & (WAL_FLAG_SNAPPY | WAL_FLAG_ZSTD);
        type &= 7u;
        if ((buf[off] & 0xe0u) != 0 || type > WAL_FRAG_LAST) {
            snprintf(why, whylen, "unsupported fragment type 0x%02x at offset %zu", buf[off], off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        if (flen > page_left - WAL_HDR) {
            snprintf(why, whylen, "fragment crosses a page at offset %zu", off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        if (len - off - WAL_HDR < flen) {
            snprintf(why, whylen, "torn fragment at offset %zu", off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        const uint8_t *frag = buf + off + WAL_HDR;
        if (tsdb_crc32c(0, frag, flen) != crc) {
            snprintf(why, whylen, "checksum mismatch at offset %zu", off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        bool starts = type == WAL_FRAG_FULL || type == WAL_FRAG_FIRST;
        if (starts == in_rec) {
            snprintf(why, whylen, "unexpected fragment type %u at offset %zu", type, off);
            rc = TSDB_ERR_CORRUPT;
            goto out;
        }
        if (starts) {
            rec_start = off;
            rec.n = 0;
            rec_flags = flags;
        }
        off += WAL_HDR + flen;
        if (type == WAL_FRAG_FULL) {
            *good_end = off;
            if ((rc = deliver(frag, flen, rec_flags, &plain, cb, ctx)) != 0)
                goto out;
            continue;
        }
        tsdb_buf_put(&rec, frag, flen);
        if (rec.err) {
            rc = -ENOMEM;
            goto out;
        }
        in_rec = type != WAL_FRAG_LAST;
        if (type == WAL_FRAG_LAST) {
            *good_end = off;
            if ((rc = deliver(rec.p, rec.n, rec_flags, &plain, cb, ctx)) != 0)
                goto out;
        }
    }
    if (in_rec) {
        snprintf(why, whylen, "record starting at offset %zu is incomplete", rec_start);
        rc = TSDB_ERR_CORRUPT;
    } else {
        *good_end = len;
    }
out:
    tsdb_buf_free(&rec);
    tsdb_buf_free(&plain);
    return rc;
}

/* ---- directory helpers ----------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

int tsdb_wal_list_segments(const char *dir, uint32_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strlen(e->d_name) != 8 || !all_digits(e->d_name, 8))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *v = realloc(*out, cap * sizeof(*v));
            if (!v) {
                closedir(d);
                free(*out);
                *out = NULL;
                return -ENOMEM;
            }
            *out = v;
        }
        (*out)[(*n)++] = (uint32_t)strtoul(e->d_name, NULL, 10);
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof(uint32_t), cmp_u32);
    return 0;
}

int tsdb_wal_last_checkpoint(const char *dir, uint32_t *n, char *path, size_t pathlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, "checkpoint.", 11) != 0 || strlen(s) != 19 || !all_digits(s + 11, 8))
            continue;
        uint32_t k = (uint32_t)strtoul(s + 11, NULL, 10);
        if (!found || k > *n) {
            *n = k;
            found = 1;
        }
    }
    closedir(d);
    if (found)
        snprintf(path, pathlen, "%s/checkpoint.%08u", dir, *n);
    return found;
}

/* ---- writer ------------------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_segment(wal *w, uint32_t seg)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%08u", w->dir, seg);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* read back on rollback */
    if (fd < 0)
        return -errno;
    w->fd = fd;
    w->seg = seg;
    w->done_pages = 0;
    w->alloc = w->flushed = 0;
    memset(w->page, 0, WAL_PAGE);
    if (w->policy != TSDB_FSYNC_NEVER)
        tsdb_fsync_dir(w->dir);
    return 0;
}

int tsdb_wal_open(wal *w, const char *dir, uint32_t seg, size_t seg_size, tsdb_fsync_policy policy,
             int64_t interval_ms, char *err, size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return TSDB_ERR_IO;
    }
    w->dir = strdup(dir);
    w->page = calloc(1, WAL_PAGE);
    if (!w->dir || !w->page) {
        free(w->dir);
        free(w->page);
        return -ENOMEM;
    }
    if (seg_size < 2 * WAL_PAGE)
        seg_size = 2 * WAL_PAGE;
    w->pages_per_seg = seg_size / WAL_PAGE;
    w->policy = policy;
    w->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    w->last_sync_ms = now_ms();
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->sync_mu, NULL);
    int rc = open_segment(w, seg);
    if (rc < 0) {
        snprintf(err, errlen, "create WAL segment %s/%08u: %s", dir, seg, strerror(-rc));
        pthread_mutex_destroy(&w->mu);
        pthread_mutex_destroy(&w->sync_mu);
        free(w->dir);
        free(w->page);
        w->dir = NULL;
        return TSDB_ERR_IO;
    }
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Writes what the page holds beyond what was written; pads and starts a new
 * page when `full`. */
static int flush_page(wal *w, bool full)
{
    if (full)
        w->alloc = WAL_PAGE; /* the rest is zeros already */
    if (w->alloc > w->flushed) {
        int rc = write_all(w->fd, w->page + w->flushed, w->alloc - w->flushed);
        if (rc < 0)
            return rc;
        w->bytes += w->alloc - w->flushed;
        w->flushed = w->alloc;
    }
    if (full) {
        w->done_pages++;
        w->alloc = w->flushed = 0;
        memset(w->page, 0, WAL_PAGE);
    }
    return 0;
}

size_t tsdb_wal_max_record(const wal *w)
{
    return w->pages_per_seg * (WAL_PAGE - WAL_HDR);
}

static int next_segment_locked(wal *w)
{
    int rc = 0;
    if (w->alloc > 0)
        rc = flush_page(w, true);
    if (rc == 0 && w->policy != TSDB_FSYNC_NEVER && fdatasync(w->fd) < 0)
        rc = -errno;
    close(w->fd);
    w->fd = -1;
    if (rc == 0)
        rc = open_segment(w, w->seg + 1);
    return rc;
}

static int log_one(wal *w, const uint8_t *rec, size_t len)
{
    size_t left = (WAL_PAGE - w->alloc - WAL_HDR) + (w->pages_per_seg - w->done_pages - 1) * (WAL_PAGE - WAL_HDR);
    if (len > left) {
        if (len > tsdb_wal_max_record(w))
            return -E2BIG;
        int rc = next_segment_locked(w);
        if (rc < 0)
            return rc;
    }
    bool first = true;
    do {
        size_t avail = WAL_PAGE - w->alloc - WAL_HDR;
        size_t part = len < avail ? len : avail;
        bool last = part == len;
        uint8_t type = first && last ? WAL_FRAG_FULL : first ? WAL_FRAG_FIRST : last ? WAL_FRAG_LAST : WAL_FRAG_MIDDLE;
        uint8_t *h = w->page + w->alloc;
        uint32_t crc = tsdb_crc32c(0, rec, part);
        h[0] = type;
        h[1] = (uint8_t)(part >> 8);
        h[2] = (uint8_t)part;
        h[3] = (uint8_t)(crc >> 24);
        h[4] = (uint8_t)(crc >> 16);
        h[5] = (uint8_t)(crc >> 8);
        h[6] = (uint8_t)crc;
        memcpy(h + WAL_HDR, rec, part);
        w->alloc += WAL_HDR + part;
        rec += part;
        len -= part;
        first = false;
        if (WAL_PAGE - w->alloc <= WAL_HDR) {
            int rc = flush_page(w, true);
            if (rc < 0)
                return rc;
        }
    } while (len > 0);
    return 0;
}

/* Makes the first `upto` bytes durable. Segments before the current one
 * were synced when they were closed, so syncing the current file covers all
 * bytes counted when its fd was read. Lock order: sync_mu -> mu. */
static int sync_upto(wal *w, uint64_t upto)
{
    pthread_mutex_lock(&w->sync_mu);
    int rc = 0;
    if (w->synced < upto) {
        pthread_mutex_lock(&w->mu);
        int fd = w->fd >= 0 ? dup(w->fd) : -1; /* rotation may close w->fd meanwhile */
        uint64_t target = w->bytes;
        rc = w->err;
        pthread_mutex_unlock(&w->mu);
        if (rc == 0 && (fd < 0 || fdatasync(fd) < 0))
            rc = TSDB_ERR_IO;
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            w->synced = target;
        else {
            pthread_mutex_lock(&w->mu);
            w->err = TSDB_ERR_IO;
            pthread_mutex_unlock(&w->mu);
        }
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rc;
}

/* Cuts the current segment back to `off` bytes (undoing a failed append)
 * and reloads the partial last page. */
static int rollback(wal *w, uint64_t off)
{
    if (ftruncate(w->fd, (off_t)off) < 0 || lseek(w->fd, (off_t)off, SEEK_SET) < 0)
        return -errno;
    w->done_pages = off / WAL_PAGE;
    w->alloc = w->flushed = off % WAL_PAGE;
    memset(w->page, 0, WAL_PAGE);
    if (w->alloc && pread(w->fd, w->page, w->alloc, (off_t)(w->done_pages * WAL_PAGE)) != (ssize_t)w->alloc)
        return -EIO;
    return 0;
}

int tsdb_wal_log(wal *w, wal_pre_cb pre, void (*undo)(void *ctx), void *pre_ctx, const tsdb_buf *recs, size_t n)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->err;
    uint32_t seg0 = w->seg;
    uint64_t off0 = (uint64_t)w->done_pages * WAL_PAGE + w->flushed, bytes0 = w->bytes;
    bool pre_done = false;
    if (rc == 0 && pre) {
        tsdb_buf *pr = NULL;
        size_t np = 0;
        if ((rc = pre(pre_ctx, &pr, &np)) < 0) {
            pthread_mutex_unlock(&w->mu);
            return rc; /* nothing written yet */
        }
        pre_done = true;
        for (size_t i = 0; rc == 0 && i < np; i++)
            if (pr[i].n)
                rc = log_one(w, pr[i].p, pr[i].n);
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (recs[i].n)
            rc = log_one(w, recs[i].p, recs[i].n);
    if (rc == 0)
        rc = flush_page(w, false);
    if (rc == 0 && w->policy == TSDB_FSYNC_INTERVAL) {
        int64_t now = now_ms();
        if (now - w->last_sync_ms >= w->interval_ms) {
            w->last_sync_ms = now;
            if (fdatasync(w->fd) < 0)
                rc = -errno;
            else
                w->synced_bytes = w->bytes;
        }
    }
    if (rc < 0 && w->err == 0) {
        /* undo what this call wrote, so a failed commit never shows up at
         * replay and later commits can go on (e.g. once disk space is back);
         * when that is impossible the WAL refuses further writes */
        if (w->fd >= 0 && w->seg == seg0 && rollback(w, off0) == 0) {
            w->bytes = bytes0;
            if (pre_done && undo)
                undo(pre_ctx);
            if (rc != -E2BIG)
                rc = TSDB_ERR_IO;
        } else {
            w->err = rc = TSDB_ERR_IO;
        }
    }
    uint64_t mine = w->bytes;
    pthread_mutex_unlock(&w->mu);
    if (rc == 0 && w->policy == TSDB_FSYNC_COMMIT)
        rc = sync_upto(w, mine);
    return rc;
}

int tsdb_wal_next_segment(wal *w, uint32_t *seg)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->err;
    if (rc == 0 && (rc = next_segment_locked(w)) < 0)
        w->err = rc = TSDB_ERR_IO;
    if (seg)
        *seg = w->seg;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int tsdb_wal_sync(wal *w)
{
    pthread_mutex_lock(&w->mu);
    int rc = w->err;
    if (rc == 0 && w->fd >= 0 && w->bytes != w->synced_bytes) { /* nothing new: no syscall */
        if (fdatasync(w->fd) < 0)
            rc = TSDB_ERR_IO;
        else
            w->synced_bytes = w->bytes;
    }
    w->last_sync_ms = now_ms();
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void tsdb_wal_close(wal *w)
{
    if (!w->dir)
        return;
    if (w->fd >= 0) {
        if (w->err == 0 && w->policy != TSDB_FSYNC_NEVER)
            fdatasync(w->fd);
        close(w->fd);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->sync_mu);
    free(w->dir);
    free(w->page);
    memset(w, 0, sizeof(*w));
    w->fd = -1;
}
