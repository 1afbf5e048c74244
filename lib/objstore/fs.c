/* FILESYSTEM backend: objects are files under a root directory, keys map to
 * paths. Writes go to a temporary file in the target directory, fsync'ed and
 * renamed into place, so readers and iter never see a partial object. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX ".objstore-tmp-"

typedef struct fsb {
    char *root; /* without trailing '/' */
} fsb;

static atomic_uint tmp_counter;

/* Rejects keys that would escape the root or collide with temp files. */
static int check_key(const char *key, int allow_empty, objstore_err *err)
{
    const char *p = key;
    if (!*key && allow_empty)
        return 0;
    for (;;) {
        const char *s = strchr(p, '/');
        size_t n = s ? (size_t)(s - p) : strlen(p);
        if ((n == 0 && s) || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
            (n >= sizeof TMP_PREFIX - 1 && !strncmp(p, TMP_PREFIX, sizeof TMP_PREFIX - 1)))
            return objstore_seterr(err, -EINVAL, OBJSTORE_ERR_FATAL, 0, "EINVAL",
                                   "invalid object name \"%s\" for the filesystem bucket", key);
        if (!s)
            return 0;
        p = s + 1;
    }
}

static char *join(const fsb *f, const char *key)
{
    size_t rl = strlen(f->root), kl = strlen(key);
    char *path = malloc(rl + kl + 2);
    if (!path)
        return NULL;
    memcpy(path, f->root, rl);
    path[rl] = '/';
    memcpy(path + rl + 1, key, kl + 1);
    return path;
}

static int mkdirs(char *path, size_t upto)
{
    /* Creates every directory of path[0..upto) (in place, restoring bytes). */
    for (size_t i = 1; i <= upto; i++) {
        if (i == upto || path[i] == '/') {
            char c = path[i];
            path[i] = 0;
            int rc = mkdir(path, 0755);
            int e = errno;
            path[i] = c;
            if (rc != 0 && e != EEXIST)
                return -e;
        }
    }
    return 0;
}

static int fs_upload(void *impl, const char *name, const objstore_src *src, objstore_err *err)
{
    fsb *f = impl;
    int rc = check_key(name, 0, err);
    if (rc < 0)
        return rc;
    char *dst = join(f, name);
    if (!dst)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    size_t dirlen = (size_t)(strrchr(dst, '/') - dst);
    char *tmp = NULL;
    if (asprintf(&tmp, "%.*s/" TMP_PREFIX "%d-%u", (int)dirlen, dst, (int)getpid(),
                 atomic_fetch_add(&tmp_counter, 1)) < 0) {
        free(dst);
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    }
    int fd = -1;
    /* A concurrent delete may remove an empty parent between our mkdir calls
     * and the open: start over a few times. */
    for (int attempt = 0; attempt < 20 && fd < 0; attempt++) {
        int mrc = mkdirs(dst, dirlen);
        if (mrc == -ENOENT)
            continue;
        if (mrc < 0) {
            rc = objstore_seterrno(err, -mrc, "mkdir for", name);
            goto out;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != ENOENT)
            break;
    }
    if (fd < 0) {
        rc = objstore_seterrno(err, errno, "create", tmp);
        goto out;
    }
    unsigned char *buf = NULL;
    if (!src->mem && !(buf = malloc(1 << 20))) {
        rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
        goto fail;
    }
    for (uint64_t off = 0; off < src->size;) {
        const unsigned char *p;
        ssize_t n;
        if (src->mem) {
            p = src->mem + off;
            n = (ssize_t)(src->size - off > (1u << 30) ? (1u << 30) : src->size - off);
        } else {
            n = objstore_src_read(src, off, buf, 1 << 20);
            p = buf;
            if (n <= 0) {
                free(buf);
                rc = objstore_seterrno(err, n < 0 ? (int)-n : EIO, "read source for", name);
                goto fail;
            }
        }
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(buf);
            rc = objstore_seterrno(err, w < 0 ? errno : EIO, "write", tmp);
            goto fail;
        }
        off += (uint64_t)w;
    }
    free(buf);
    if (fsync(fd) != 0) {
        rc = objstore_seterrno(err, errno, "fsync", tmp);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = objstore_seterrno(err, errno, "close", tmp);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, dst) != 0) {
        rc = objstore_seterrno(err, errno, "rename to", dst);
        goto fail;
    }
    /* Make the rename itself durable; failure here leaves a complete
     * object, so it is not reported. */
    dst[dirlen] = 0;
    int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dst[dirlen] = '/';
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(tmp);
    free(dst);
    return rc;
}

static int fs_get(void *impl, const char *name, uint64_t off, int64_t len,
                  objstore_write_fn fn, void *ud, objstore_err *err)
{
    fsb *f = impl;
    int rc = check_key(name, 0, err);
    if (rc < 0)
        return rc;
    char *path = join(f, name);
    if (!path)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return objstore_seterrno(err, errno, "get", name);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = S_ISREG(st.st_mode) ? errno : ENOENT;
        close(fd);
        return objstore_seterrno(err, e, "get", name);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (len == 0) {
        close(fd);
        return 0;
    }
    if (off >= size && !(off == 0 && size == 0)) {
        close(fd);
        return objstore_seterr(err, -ERANGE, OBJSTORE_ERR_FATAL, 416, "InvalidRange",
                               "get %s: offset %llu beyond object size %llu", name,
                               (unsigned long long)off, (unsigned long long)size);
    }
    uint64_t end = len < 0 || (uint64_t)len > size - off ? size : off + (uint64_t)len;
    unsigned char *buf = malloc(1 << 20);
    if (!buf) {
        close(fd);
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    }
    rc = 0;
    while (off < end) {
        size_t want = end - off > (1u << 20) ? (1u << 20) : (size_t)(end - off);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = objstore_seterrno(err, n < 0 ? errno : EIO, "read", name);
            break;
        }
        rc = fn(ud, buf, (size_t)n);
        if (rc != 0)
            break;
        off += (uint64_t)n;
    }
    free(buf);
    close(fd);
    return rc;
}

static int fs_attributes(void *impl, const char *name, objstore_attrs *a, objstore_err *err)
{
    fsb *f = impl;
    int rc = check_key(name, 0, err);
    if (rc < 0)
        return rc;
    char *path = join(f, name);
    if (!path)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    struct stat st;
    rc = stat(path, &st);
    free(path);
    if (rc != 0)
        return objstore_seterrno(err, errno, "attributes", name);
    if (!S_ISREG(st.st_mode))
        return objstore_seterrno(err, ENOENT, "attributes", name);
    a->size = (uint64_t)st.st_size;
    a->last_modified = (int64_t)st.st_mtim.tv_sec;
    return 0;
}

static int fs_del(void *impl, const char *name, objstore_err *err)
{
    fsb *f = impl;
    int rc = check_key(name, 0, err);
    if (rc < 0)
        return rc;
    char *path = join(f, name);
    if (!path)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
        rc = objstore_seterrno(err, errno, "delete", name);
        free(path);
        return rc;
    }
    /* Remove now-empty parent directories, as S3 has no directories; rmdir
     * refuses non-empty ones, so racing uploads are safe. */
    size_t rootlen = strlen(f->root);
    for (char *s = strrchr(path, '/'); s && (size_t)(s - path) > rootlen; s = strrchr(path, '/')) {
        *s = 0;
        if (rmdir(path) != 0)
            break;
    }
    free(path);
    return 0;
}

typedef struct ent {
    char *name; /* entry name, with '/' appended for directories */
    int is_dir;
    objstore_attrs attrs; /* files only */
} ent;

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const ent *)a)->name, ((const ent *)b)->name);
}

static void free_ents(ent *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

/* Reads a directory's entries sorted in key order; temp files are skipped.
 * Returns count or -errno. */
static ssize_t read_dir(const char *path, ent **out)
{
    *out = NULL;
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    ent *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int fd = dirfd(d);
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, 0) != 0)
            continue; /* vanished meanwhile */
        int is_dir = S_ISDIR(st.st_mode);
        if (!is_dir && !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            ent *nv = realloc(v, nc * sizeof *v);
            if (!nv)
                goto nomem;
            v = nv;
            cap = nc;
        }
        if (asprintf(&v[n].name, "%s%s", de->d_name, is_dir ? "/" : "") < 0)
            goto nomem;
        v[n].attrs.size = (uint64_t)st.st_size;
        v[n].attrs.last_modified = (int64_t)st.st_mtim.tv_sec;
        v[n++].is_dir = is_dir;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, ent_cmp);
    *out = v;
    return (ssize_t)n;
nomem:
    closedir(d);
    free_ents(v, n);
    return -ENOMEM;
}

/* True when the directory holds at least one object somewhere below. */
static int has_object(const char *path)
{
    ent *e;
    ssize_t n = read_dir(path, &e);
    if (n <= 0)
        return 0;
    int found = 0;
    for (ssize_t i = 0; i < n && !found; i++) {
        if (!e[i].is_dir) {
            found = 1;
        } else {
            char *sub;
            if (asprintf(&sub, "%s/%s", path, e[i].name) >= 0) {
                found = has_object(sub);
                free(sub);
            }
        }
    }
    free_ents(e, (size_t)n);
    return found;
}

/* Lists directory `rel` (key prefix ending in '/' or ""), keeping names that
 * start with `filter`. Recursive walks descend in key order. */
static int walk(fsb *f, const char *rel, const char *filter, int recursive,
                objstore_iter_attrs_fn fn, void *ud, objstore_err *err)
{
    char *path;
    if (asprintf(&path, "%s/%s", f->root, rel) < 0)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    ent *e;
    ssize_t n = read_dir(path, &e);
    if (n < 0) {
        free(path);
        if (n == -ENOENT || n == -ENOTDIR)
            return 0; /* an empty prefix lists nothing, as on S3 */
        return objstore_seterrno(err, (int)-n, "iter", rel);
    }
    int rc = 0;
    size_t rl = strlen(rel), fl = strlen(filter);
    for (ssize_t i = 0; i < n && rc == 0; i++) {
        char *key;
        if (asprintf(&key, "%s%s", rel, e[i].name) < 0) {
            rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
            break;
        }
        size_t kl = strlen(key);
        size_t cmp = kl < fl ? kl : fl;
        if (strncmp(key, filter, cmp) != 0 || (kl < fl && !e[i].is_dir)) {
            free(key);
            continue;
        }
        if (e[i].is_dir && (recursive || kl <= fl)) {
            /* Descend: recursive listing, or the filter reaches below. */
            rc = walk(f, key, filter, recursive, fn, ud, err);
        } else if (e[i].is_dir) {
            char *sub;
            if (asprintf(&sub, "%s/%s", f->root, key) < 0) {
                rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM",
                                     "out of memory");
            } else {
                if (has_object(sub))
                    rc = fn(ud, key, NULL);
                free(sub);
            }
        } else {
            rc = fn(ud, key, &e[i].attrs);
        }
        free(key);
        (void)rl;
    }
    free_ents(e, (size_t)n);
    free(path);
    return rc;
}

static int fs_iter(void *impl, const char *prefix, int recursive, objstore_iter_attrs_fn fn,
                   void *ud, objstore_err *err)
{
    fsb *f = impl;
    /* Start at the deepest directory named by the prefix. */
    const char *slash = strrchr(prefix, '/');
    size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
    char *dir = strndup(prefix, dl);
    if (!dir)
        return objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
    int rc = check_key(dl ? dir : "", 1, err);
    if (rc == 0 && dl) {
        /* check_key rejects the trailing empty segment; check without it */
        dir[dl - 1] = 0;
        rc = check_key(dir, 0, err);
        dir[dl - 1] = '/';
    }
    if (rc == 0)
        rc = walk(f, dir, prefix, recursive, fn, ud, err);
    free(dir);
    return rc;
}

static int fs_check(void *impl, objstore_err *err)
{
    fsb *f = impl;
    if (access(f->root, W_OK | X_OK) != 0)
        return objstore_seterrno(err, errno, "check bucket directory", f->root);
    return 0;
}

static void fs_close(void *impl)
{
    fsb *f = impl;
    free(f->root);
    free(f);
}

static const objstore_ops fs_ops = {
    .upload = fs_upload,
    .get = fs_get,
    .attributes = fs_attributes,
    .iter = fs_iter,
    .del = fs_del,
    .check = fs_check,
    .close = fs_close,
};

int objstore_fs_open(const objstore_config *c, const objstore_ops **ops, void **impl,
                     char *err, size_t errlen)
{
    if (!c->directory[0]) {
        snprintf(err, errlen, "objstore: FILESYSTEM bucket needs a directory");
        return -EINVAL;
    }
    fsb *f = calloc(1, sizeof *f);
    char *root = f ? strdup(c->directory) : NULL;
    if (!root) {
        free(f);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = 0;
    int rc = mkdirs(root, n);
    struct stat st;
    if (rc == 0 && (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = -ENOTDIR;
    if (rc < 0) {
        char buf[128];
        snprintf(err, errlen, "objstore: cannot create bucket directory %s: %s", root,
                 strerror_r(-rc, buf, sizeof buf));
        free(root);
        free(f);
        return rc;
    }
    f->root = root;
    *ops = &fs_ops;
    *impl = f;
    return 0;
}
