/* The bucket interface: argument checks, the configured key prefix, error
 * classes, and dispatch to the filesystem or S3 backend. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct objstore_bucket {
    objstore_type type;
    const objstore_ops *ops;
    void *impl;
    char prefix[OBJSTORE_STR_MAX]; /* "" or "p/" */
    size_t prefix_len;
};

const char *objstore_errclass_name(objstore_errclass cls)
{
    switch (cls) {
    case OBJSTORE_OK: return "ok";
    case OBJSTORE_ERR_NOT_FOUND: return "not found";
    case OBJSTORE_ERR_ACCESS: return "access denied";
    case OBJSTORE_ERR_RETRYABLE: return "retryable";
    case OBJSTORE_ERR_FATAL: return "fatal";
    }
    return "unknown";
}

int objstore_seterr(objstore_err *err, int rc, objstore_errclass cls, int status,
                    const char *code, const char *fmt, ...)
{
    if (!err)
        return rc;
    err->cls = cls;
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *errno_name(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSPC: return "ENOSPC";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ERANGE: return "ERANGE";
    default: return "errno";
    }
}

int objstore_seterrno(objstore_err *err, int e, const char *op, const char *name)
{
    objstore_errclass cls = OBJSTORE_ERR_FATAL;
    int rc = -e;
    if (e == ENOENT || e == ENOTDIR) {
        cls = OBJSTORE_ERR_NOT_FOUND;
        rc = -ENOENT;
    } else if (e == EACCES || e == EPERM) {
        cls = OBJSTORE_ERR_ACCESS;
        rc = -EACCES;
    } else if (e == EINTR || e == EAGAIN) {
        cls = OBJSTORE_ERR_RETRYABLE;
        rc = -EAGAIN;
    }
    char buf[128];
    const char *m = strerror_r(e, buf, sizeof buf); /* GNU: thread-safe */
    return objstore_seterr(err, rc, cls, 0, errno_name(e), "%s %s: %s", op, name, m);
}

static void clear_err(objstore_err *err)
{
    if (err) {
        err->cls = OBJSTORE_OK;
        err->status = 0;
        err->code[0] = 0;
        err->msg[0] = 0;
    }
}

ssize_t objstore_src_read(const objstore_src *s, uint64_t off, void *buf, size_t len)
{
    if (off >= s->size)
        return 0;
    if (len > s->size - off)
        len = (size_t)(s->size - off);
    if (s->mem) {
        memcpy(buf, s->mem + off, len);
        return (ssize_t)len;
    }
    for (;;) {
        ssize_t n = pread(s->fd, buf, len, (off_t)off);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

int objstore_bucket_open(const objstore_config *c, objstore_bucket **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    objstore_bucket *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    b->type = c->type;
    /* Thanos trims '/' around the prefix and joins with one '/'. */
    const char *p = c->prefix;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    if (pl > 0) {
        if (pl + 2 > sizeof b->prefix) {
            free(b);
            snprintf(err, errlen, "prefix too long");
            return -EINVAL;
        }
        memcpy(b->prefix, p, pl);
        b->prefix[pl] = '/';
        b->prefix[pl + 1] = 0;
        b->prefix_len = pl + 1;
    }
    int rc;
    if (c->type == OBJSTORE_FILESYSTEM)
        rc = objstore_fs_open(c, &b->ops, &b->impl, err, errlen);
    else if (c->type == OBJSTORE_S3)
        rc = objstore_s3_open(c, &b->ops, &b->impl, err, errlen);
    else {
        snprintf(err, errlen, "unknown bucket type %d", (int)c->type);
        rc = -EINVAL;
    }
    if (rc < 0) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void objstore_bucket_close(objstore_bucket *b)
{
    if (!b)
        return;
    b->ops->close(b->impl);
    free(b);
}

int objstore_bucket_check(objstore_bucket *b, objstore_err *err)
{
    clear_err(err);
    return b->ops->check(b->impl, err);
}

objstore_type objstore_bucket_type(const objstore_bucket *b)
{
    return b->type;
}

void objstore_bucket_stats(const objstore_bucket *b, objstore_stats *st)
{
    memset(st, 0, sizeof *st);
    if (b && b->ops->stats)
        b->ops->stats(b->impl, st);
}

/* Builds prefix + name into a malloc'ed key after checking the name. */
static int full_key(objstore_bucket *b, const char *name, int allow_empty, char **key,
                    objstore_err *err)
{
    *key = NULL;
    if (!b || !name)
        return objstore_seterr(err, -EINVAL, OBJSTORE_ERR_FATAL, 0, "EINVAL",
                               "bucket and name are required");
    if ((!allow_empty && name[0] == 0) || name[0] == '/')
        return objstore_seterr(err, -EINVAL, OBJSTORE_ERR_FATAL, 0, "EINVAL",
                               "invalid object name \"%s\"", name);
    size_t nl = strlen(name);
    char *k = malloc(b->prefix_len + nl + 1);
    if (!k)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    memcpy(k, b->prefix, b->prefix_len);
    memcpy(k + b->prefix_len, name, nl + 1);
    *key = k;
    return 0;
}

static int upload_src(objstore_bucket *b, const char *name, const objstore_src *src,
                      objstore_err *err)
{
    char *key;
    int rc = full_key(b, name, 0, &key, err);
    if (rc < 0)
        return rc;
    if (name[strlen(name) - 1] == '/') {
        free(key);
        return objstore_seterr(err, -EINVAL, OBJSTORE_ERR_FATAL, 0, "EINVAL",
                               "object name \"%s\" ends with '/'", name);
    }
    rc = b->ops->upload(b->impl, key, src, err);
    free(key);
    return rc;
}

int objstore_upload_buffer(objstore_bucket *b, const char *name, const void *data,
                           size_t len, objstore_err *err)
{
    clear_err(err);
    static const unsigned char empty[1];
    objstore_src src = {.mem = data ? data : empty, .fd = -1, .size = len};
    if (!data && len)
        return objstore_seterr(err, -EINVAL, OBJSTORE_ERR_FATAL, 0, "EINVAL", "NULL data");
    return upload_src(b, name, &src, err);
}

int objstore_upload_file(objstore_bucket *b, const char *name, const char *path,
                         objstore_err *err)
{
    clear_err(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return objstore_seterrno(err, errno, "open", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = S_ISREG(st.st_mode) ? errno : EINVAL;
        close(fd);
        return objstore_seterrno(err, e, "upload from", path);
    }
    objstore_src src = {.mem = NULL, .fd = fd, .size = (uint64_t)st.st_size};
    int rc = upload_src(b, name, &src, err);
    close(fd);
    return rc;
}

int objstore_get_cb(objstore_bucket *b, const char *name, uint64_t off, int64_t len,
                    objstore_write_fn fn, void *ud, objstore_err *err)
{
    clear_err(err);
    char *key;
    int rc = full_key(b, name, 0, &key, err);
    if (rc < 0)
        return rc;
    rc = b->ops->get(b->impl, key, off, len, fn, ud, err);
    free(key);
    if (rc > 0)
        rc = -ECANCELED; /* the callback contract is 0 or negative */
    if (rc < 0 && err && err->cls == OBJSTORE_OK)
        objstore_seterr(err, rc, OBJSTORE_ERR_FATAL, 0, "ABORTED", "get %s: stopped by callback (%d)",
                        name, rc);
    return rc;
}

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf;

static int membuf_write(void *ud, const void *data, size_t len)
{
    membuf *m = ud;
    if (len > m->cap - m->len) {
        size_t nc = m->cap ? m->cap : 4096;
        while (nc - m->len < len)
            nc *= 2;
        unsigned char *np = realloc(m->p, nc);
        if (!np)
            return -ENOMEM;
        m->p = np;
        m->cap = nc;
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return 0;
}

int objstore_get(objstore_bucket *b, const char *name, uint64_t off, int64_t len,
                 void **data, size_t *size, objstore_err *err)
{
    *data = NULL;
    *size = 0;
    membuf m = {0};
    int rc = objstore_get_cb(b, name, off, len, membuf_write, &m, err);
    if (rc == -ENOMEM && err && err->code[0] == 0)
        objstore_seterr(err, rc, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    if (rc == 0 && !m.p && !(m.p = malloc(1)))
        rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    if (rc < 0) {
        free(m.p);
        return rc;
    }
    *data = m.p;
    *size = m.len;
    return 0;
}

static int fd_write(void *ud, const void *data, size_t len)
{
    int fd = *(int *)ud;
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int objstore_download_file(objstore_bucket *b, const char *name, const char *path,
                           objstore_err *err)
{
    static _Atomic unsigned counter;
    clear_err(err);
    char *tmp;
    if (asprintf(&tmp, "%s.tmp-%d-%u", path, (int)getpid(), counter++) < 0)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = objstore_seterrno(err, errno, "create", tmp);
        free(tmp);
        return rc;
    }
    int rc = objstore_get_cb(b, name, 0, -1, fd_write, &fd, err);
    if (rc < 0 && err && err->cls == OBJSTORE_OK)
        objstore_seterrno(err, -rc, "write", tmp);
    if (rc == 0 && fsync(fd) != 0)
        rc = objstore_seterrno(err, errno, "fsync", tmp);
    if (close(fd) != 0 && rc == 0)
        rc = objstore_seterrno(err, errno, "close", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = objstore_seterrno(err, errno, "rename to", path);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int objstore_attributes(objstore_bucket *b, const char *name, objstore_attrs *attrs,
                        objstore_err *err)
{
    clear_err(err);
    char *key;
    int rc = full_key(b, name, 0, &key, err);
    if (rc < 0)
        return rc;
    rc = b->ops->attributes(b->impl, key, attrs, err);
    free(key);
    return rc;
}

int objstore_exists(objstore_bucket *b, const char *name, bool *exists, objstore_err *err)
{
    objstore_attrs a;
    *exists = false;
    int rc = objstore_attributes(b, name, &a, err);
    if (rc == -ENOENT) {
        clear_err(err);
        return 0;
    }
    if (rc == 0)
        *exists = true;
    return rc;
}

int objstore_delete(objstore_bucket *b, const char *name, objstore_err *err)
{
    clear_err(err);
    char *key;
    int rc = full_key(b, name, 0, &key, err);
    if (rc < 0)
        return rc;
    rc = b->ops->del(b->impl, key, err);
    free(key);
    return rc;
}

typedef struct strip_ctx {
    objstore_iter_attrs_fn fn;
    void *ud;
    size_t strip;
} strip_ctx;

static int strip_prefix(void *ud, const char *name, const objstore_attrs *a)
{
    strip_ctx *s = ud;
    if (strlen(name) < s->strip)
        return 0; /* cannot happen with a well-behaved backend */
    return s->fn(s->ud, name + s->strip, a);
}

int objstore_iter_attrs(objstore_bucket *b, const char *prefix, unsigned flags,
                        objstore_iter_attrs_fn fn, void *ud, objstore_err *err)
{
    clear_err(err);
    char *key;
    int rc = full_key(b, prefix ? prefix : "", 1, &key, err);
    if (rc < 0)
        return rc;
    strip_ctx s = {.fn = fn, .ud = ud, .strip = b->prefix_len};
    rc = b->ops->iter(b->impl, key, (flags & OBJSTORE_ITER_RECURSIVE) != 0, strip_prefix, &s,
                      err);
    free(key);
    if (rc > 0)
        rc = 0;
    if (rc < 0 && err && err->cls == OBJSTORE_OK)
        objstore_seterr(err, rc, OBJSTORE_ERR_FATAL, 0, "ABORTED", "iter %s: stopped by callback (%d)",
                        prefix ? prefix : "", rc);
    return rc;
}

typedef struct names_only {
    objstore_iter_fn fn;
    void *ud;
} names_only;

static int drop_attrs(void *ud, const char *name, const objstore_attrs *a)
{
    (void)a;
    names_only *n = ud;
    return n->fn(n->ud, name);
}

int objstore_iter(objstore_bucket *b, const char *prefix, unsigned flags,
                  objstore_iter_fn fn, void *ud, objstore_err *err)
{
    names_only n = {fn, ud};
    return objstore_iter_attrs(b, prefix, flags, drop_attrs, &n, err);
}
