/* Buffered writer, memory encoder, mmap and directory helpers (blockio.h). */
#include "blockio.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"

void tsdb_buf_free(tsdb_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

int tsdb_buf_grow(tsdb_buf *b, size_t more)
{
    if (b->err)
        return b->err;
    size_t nc = b->cap ? b->cap * 2 : 256;
    while (nc - b->n < more)
        nc *= 2;
    uint8_t *np = realloc(b->p, nc);
    if (!np) {
        b->err = -ENOMEM;
        return b->err;
    }
    b->p = np;
    b->cap = nc;
    return 0;
}

#define FW_CAP (1u << 20)

int tsdb_fw_open(tsdb_fw *w, const char *path)
{
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->buf = malloc(FW_CAP);
    if (!w->buf)
        return w->err = -ENOMEM;
    w->cap = FW_CAP;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return w->err = -errno;
    return 0;
}

static void fw_flush(tsdb_fw *w)
{
    size_t done = 0;
    while (!w->err && done < w->n) {
        ssize_t r = write(w->fd, w->buf + done, w->n - done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            w->err = -errno;
            break;
        }
        done += (size_t)r;
    }
    w->n = 0;
}

void tsdb_fw_write(tsdb_fw *w, const void *p, size_t n)
{
    if (w->err)
        return;
    if (w->crc_on)
        w->crc = tsdb_crc32c(w->crc, p, n);
    w->off += n;
    const uint8_t *s = p;
    while (n) {
        if (w->n == w->cap)
            fw_flush(w);
        if (w->err)
            return;
        size_t k = w->cap - w->n < n ? w->cap - w->n : n;
        memcpy(w->buf + w->n, s, k);
        w->n += k;
        s += k;
        n -= k;
    }
}

void tsdb_fw_be32(tsdb_fw *w, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    tsdb_fw_write(w, x, 4);
}

void tsdb_fw_be64(tsdb_fw *w, uint64_t v)
{
    tsdb_fw_be32(w, (uint32_t)(v >> 32));
    tsdb_fw_be32(w, (uint32_t)v);
}

void tsdb_fw_uvarint(tsdb_fw *w, uint64_t x)
{
    uint8_t t[10];
    tsdb_fw_write(w, t, tsdb_put_uvarint(t, x));
}

void tsdb_fw_pad(tsdb_fw *w, uint64_t align)
{
    static const uint8_t zero[16];
    uint64_t r = w->off % align;
    if (r)
        tsdb_fw_write(w, zero, (size_t)(align - r));
}

void tsdb_fw_crc_start(tsdb_fw *w)
{
    w->crc = 0;
    w->crc_on = true;
}

void tsdb_fw_crc_put(tsdb_fw *w)
{
    w->crc_on = false;
    tsdb_fw_be32(w, w->crc);
}

int tsdb_fw_close(tsdb_fw *w, bool sync)
{
    if (w->fd >= 0) {
        fw_flush(w);
        if (!w->err && sync && fsync(w->fd) < 0)
            w->err = -errno;
        if (close(w->fd) < 0 && !w->err)
            w->err = -errno;
    }
    free(w->buf);
    w->buf = NULL;
    w->fd = -1;
    return w->err;
}

int tsdb_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int tsdb_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
            continue;
        tsdb_rm_rf(sub);
    }
    closedir(d);
    return rmdir(path) < 0 ? -errno : 0;
}

int tsdb_read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (st.st_size > (64 << 20)) { /* meta.json is a few hundred bytes */
        close(fd);
        return -EFBIG;
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

int tsdb_mmap_open(tsdb_mmap *m, const char *path)
{
    m->p = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = -errno;
            close(fd);
            return e;
        }
        m->p = p;
        m->len = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void tsdb_mmap_close(tsdb_mmap *m)
{
    if (m->p)
        munmap((void *)m->p, m->len);
    m->p = NULL;
    m->len = 0;
}

int tsdb_pathf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
