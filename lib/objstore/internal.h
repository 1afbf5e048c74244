/* Private to lib/objstore: the backend interface behind objstore_bucket and
 * helpers shared by the backends. Not installed. */
#ifndef OBJSTORE_INTERNAL_H
#define OBJSTORE_INTERNAL_H

#include "objstore/objstore.h"

#include <stdarg.h>
#include <sys/types.h>

/* Upload source: either memory or a file descriptor read with pread, so
 * backends can read any byte range (parts, retries) without copying. The
 * memory/fd is borrowed for the duration of one upload call. */
typedef struct objstore_src {
    const unsigned char *mem; /* when non-NULL */
    int fd;                   /* otherwise */
    uint64_t size;
} objstore_src;

/* Reads up to len bytes at off; returns bytes read (0 at end) or -errno. */
ssize_t objstore_src_read(const objstore_src *s, uint64_t off, void *buf, size_t len);

/* Backend operations; impl is the backend's state, names are full keys
 * (prefix already applied). Same return conventions as the public API. */
typedef struct objstore_ops {
    int (*upload)(void *impl, const char *name, const objstore_src *src, objstore_err *err);
    int (*get)(void *impl, const char *name, uint64_t off, int64_t len,
               objstore_write_fn fn, void *ud, objstore_err *err);
    int (*attributes)(void *impl, const char *name, objstore_attrs *a, objstore_err *err);
    /* fn gets full keys; the caller strips the configured prefix. */
    int (*iter)(void *impl, const char *prefix, int recursive,
                objstore_iter_attrs_fn fn, void *ud, objstore_err *err);
    int (*del)(void *impl, const char *name, objstore_err *err);
    int (*check)(void *impl, objstore_err *err);
    void (*stats)(void *impl, objstore_stats *st); /* NULL: no counters */
    void (*close)(void *impl);
} objstore_ops;

int objstore_fs_open(const objstore_config *c, const objstore_ops **ops, void **impl,
                     char *err, size_t errlen);
int objstore_s3_open(const objstore_config *c, const objstore_ops **ops, void **impl,
                     char *err, size_t errlen);

/* Fills err (if non-NULL) and returns rc. */
int objstore_seterr(objstore_err *err, int rc, objstore_errclass cls, int status,
                    const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Maps an errno value to a class and fills err; returns -e. */
int objstore_seterrno(objstore_err *err, int e, const char *op, const char *name);

#endif
