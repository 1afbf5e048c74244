/*
 * receive/shipper.c: uploads a tenant's completed blocks to the bucket, as
 * Thanos' shipper does. Each pass lists the block directories of the
 * tenant (so blocks cut before a restart are found too) and uploads those
 * not recorded in <tenant dir>/thanos.shipper.json ({"version":1,
 * "uploaded":[ULID...]}, Thanos' format): every file under <ULID>/ except
 * tombstones, in name order (chunks/..., index), meta.json LAST, so a
 * reader never sees a block without its data. A block whose meta.json is
 * already in the bucket (uploaded, then crashed before the record was
 * written) is only recorded, never uploaded twice. Failures back off
 * (1 s doubling to 5 min) and are retried on the next maintenance pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receive.h"

#define api recv_api
#define SHIPPER_FILE "thanos.shipper.json"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_ulid(const char *s)
{
    if (strlen(s) != 26)
        return false;
    for (size_t i = 0; i < 26; i++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", s[i]))
            return false;
    return true;
}

static bool is_shipped(const recv_tenant *t, const char *ulid)
{
    return t->nshipped && bsearch(&ulid, t->shipped, t->nshipped, sizeof *t->shipped, cmp_str);
}

static int add_shipped(recv_tenant *t, const char *ulid)
{
    if (t->nshipped == t->capshipped) {
        size_t nc = t->capshipped ? t->capshipped * 2 : 16;
        char **v = realloc(t->shipped, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->shipped = v;
        t->capshipped = nc;
    }
    char *s = strdup(ulid);
    if (!s)
        return -ENOMEM;
    size_t i = t->nshipped;
    while (i > 0 && strcmp(t->shipped[i - 1], s) > 0) {
        t->shipped[i] = t->shipped[i - 1];
        i--;
    }
    t->shipped[i] = s;
    t->nshipped++;
    return 0;
}

int recv_shipper_load(recv_tenant *t)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" SHIPPER_FILE, t->dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return 0; /* absent (or unreadable: then blocks found in the bucket are only recorded) */
    json_t *up = json_object_get(root, "uploaded");
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(up, i, v) {
        const char *s = json_string_value(v);
        if (s && is_ulid(s) && !is_shipped(t, s) && (rc = add_shipped(t, s)) < 0)
            break;
    }
    json_decref(root);
    return rc;
}

static int save(recv_tenant *t)
{
    json_t *root = json_object(), *up = json_array();
    if (!root || !up) {
        json_decref(root);
        json_decref(up);
        return -ENOMEM;
    }
    json_object_set_new(root, "version", json_integer(1));
    for (size_t i = 0; i < t->nshipped; i++)
        json_array_append_new(up, json_string(t->shipped[i]));
    json_object_set_new(root, "uploaded", up);
    char *text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    if (!text)
        return -ENOMEM;
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/" SHIPPER_FILE, t->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = 0;
    if (fd < 0) {
        rc = -errno;
    } else {
        size_t len = strlen(text), off = 0;
        while (off < len && rc == 0) {
            ssize_t w = write(fd, text + off, len - off);
            if (w < 0 && errno != EINTR)
                rc = -errno;
            else if (w > 0)
                off += (size_t)w;
        }
        if (rc == 0 && fsync(fd) < 0)
            rc = -errno;
        close(fd);
        if (rc == 0 && rename(tmp, path) < 0)
            rc = -errno;
        int dfd = open(t->dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(text);
    return rc;
}

/* Complete block directories (with meta.json), sorted by ULID (= time). */
static int list_blocks(const char *dir, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (!is_ulid(e->d_name))
            continue;
        char meta[PATH_MAX];
        snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, e->d_name);
        if (access(meta, F_OK) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **v = realloc(*out, cap * sizeof *v);
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            *out = v;
        }
        if (!((*out)[*n] = strdup(e->d_name))) {
            rc = -ENOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return rc;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Relative paths of the files of a block, except meta.json and tombstones. */
static int collect_files(const char *base, const char *rel, char ***v, size_t *n, size_t *cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", base, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char r2[PATH_MAX], full[PATH_MAX * 2];
        snprintf(r2, sizeof r2, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (!rel[0] && (strcmp(e->d_name, "meta.json") == 0 || strcmp(e->d_name, "tombstones") == 0))
            continue;
        snprintf(full, sizeof full, "%s/%s", base, r2);
        struct stat st;
        if (stat(full, &st) < 0) {
            rc = -errno;
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = collect_files(base, r2, v, n, cap);
            continue;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            char **nv = realloc(*v, *cap * sizeof *nv);
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            *v = nv;
        }
        if (!((*v)[*n] = strdup(r2)))
            rc = -ENOMEM;
        else
            (*n)++;
    }
    closedir(d);
    return rc;
}

static int upload_block(recv_tenant *t, const char *ulid, char *err, size_t errlen)
{
    char base[PATH_MAX], name[PATH_MAX + 64], path[PATH_MAX * 2];
    snprintf(base, sizeof base, "%s/%s", t->dir, ulid);
    char **files = NULL;
    size_t n = 0, cap = 0;
    int rc = collect_files(base, "", &files, &n, &cap);
    if (rc < 0) {
        snprintf(err, errlen, "listing %s: %s", base, strerror(-rc));
        free_strv(files, n);
        return rc;
    }
    if (n)
        qsort(files, n, sizeof *files, cmp_str);
    objstore_err oe;
    memset(&oe, 0, sizeof oe);
    for (size_t i = 0; i <= n && rc == 0; i++) {
        const char *rel = i < n ? files[i] : "meta.json"; /* meta.json last */
        snprintf(name, sizeof name, "%s/%s", ulid, rel);
        snprintf(path, sizeof path, "%s/%s", base, rel);
        rc = objstore_upload_file(t->r->bucket, name, path, &oe);
        if (rc < 0)
            snprintf(err, errlen, "%s", oe.msg[0] ? oe.msg : strerror(-rc));
    }
    free_strv(files, n);
    return rc;
}

int recv_shipper_sync(recv_tenant *t, bool force, int64_t deadline_ms)
{
    recv *r = t->r;
    if (!r->bucket)
        return 0;
    int64_t now = api->now_ms();
    if (!force && now < t->next_try_ms)
        return 0;
    char **blocks;
    size_t n;
    if (list_blocks(t->dir, &blocks, &n) < 0)
        return 1;
    int fails = 0;
    const char *lv[] = { t->name, NULL };
    for (size_t i = 0; i < n; i++) {
        if (is_shipped(t, blocks[i]))
            continue;
        if (fails || (deadline_ms && api->now_ms() > deadline_ms)) {
            fails++;
            continue;
        }
        char name[64], err[768] = "";
        snprintf(name, sizeof name, "%s/meta.json", blocks[i]);
        objstore_err oe;
        memset(&oe, 0, sizeof oe);
        bool exists = false;
        int rc = objstore_exists(r->bucket, name, &exists, &oe);
        int64_t t0 = api->now_ms();
        if (rc == 0 && !exists)
            rc = upload_block(t, blocks[i], err, sizeof err);
        else if (rc < 0)
            snprintf(err, sizeof err, "%s", oe.msg);
        if (rc == 0) {
            if (add_shipped(t, blocks[i]) < 0 || save(t) < 0)
                api->log(r->ctx, AION_LOG_WARN, "tenant %s: cannot record block %s in %s/" SHIPPER_FILE,
                         t->name, blocks[i], t->dir);
            if (exists) {
                api->log(r->ctx, AION_LOG_INFO, "tenant %s: block %s already in the bucket; recorded as shipped",
                         t->name, blocks[i]);
            } else {
                api->metric_add(r->m_uploads, lv, 1);
                api->log(r->ctx, AION_LOG_INFO, "tenant %s: uploaded block %s in %lld ms", t->name, blocks[i],
                         (long long)(api->now_ms() - t0));
            }
        } else {
            fails++;
            api->metric_add(r->m_upload_failures, lv, 1);
            t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : 1000;
            if (t->backoff_ms > 300000)
                t->backoff_ms = 300000;
            t->next_try_ms = api->now_ms() + t->backoff_ms;
            api->log(r->ctx, AION_LOG_WARN, "tenant %s: uploading block %s failed (retry in %lld ms): %s",
                     t->name, blocks[i], (long long)t->backoff_ms, err);
        }
    }
    if (!fails)
        t->backoff_ms = 0;
    free_strv(blocks, n);
    return fails;
}

static int64_t block_maxt(const char *dir, const char *ulid, bool *ok)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/meta.json", dir, ulid);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    *ok = false;
    int64_t v = 0;
    json_t *m = root ? json_object_get(root, "maxTime") : NULL;
    if (json_is_integer(m)) {
        v = json_integer_value(m);
        *ok = true;
    }
    json_decref(root);
    return v;
}

int64_t recv_shipper_retention_now(recv_tenant *t, int64_t now_ms)
{
    recv *r = t->r;
    if (r->retention_ms <= 0)
        return now_ms;
    int64_t bound = now_ms;
    tsdb_stats st;
    tsdb_get_stats(t->db, &st);
    /* blocks cut from the head in this pass end after the head's mint */
    if (st.head_mint <= st.head_maxt && st.head_mint < bound - r->retention_ms)
        bound = st.head_mint + r->retention_ms;
    if (!r->bucket)
        return bound;
    char **blocks;
    size_t n;
    if (list_blocks(t->dir, &blocks, &n) < 0)
        return bound;
    for (size_t i = 0; i < n; i++) {
        if (is_shipped(t, blocks[i]))
            continue;
        bool ok;
        int64_t maxt = block_maxt(t->dir, blocks[i], &ok);
        if (!ok)
            maxt = INT64_MIN / 4; /* unreadable: keep everything */
        if (maxt < bound - r->retention_ms)
            bound = maxt + r->retention_ms;
    }
    free_strv(blocks, n);
    return bound;
}

void recv_shipper_free(recv_tenant *t)
{
    free_strv(t->shipped, t->nshipped);
    t->shipped = NULL;
    t->nshipped = t->capshipped = 0;
}
