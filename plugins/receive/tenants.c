/*
 * receive/tenants.c: one TSDB per tenant under <dir>/<tenant>/.
 *
 * Lookups take tenants_mu for reading (a binary search over a sorted array),
 * so concurrent writers of different tenants only share a read lock. A new
 * tenant is opened under the write lock (its directory is new, so the open
 * is quick); tenants found on disk at start are opened by the opener worker
 * before the plugin reports ready.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "receive.h"

#define api recv_api

int recv_tenant_check(const char *name, size_t len, char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "empty tenant");
        return -EINVAL;
    }
    if (len > RECV_TENANT_MAX) {
        snprintf(err, errlen, "tenant name longer than %d bytes", RECV_TENANT_MAX);
        return -EINVAL;
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
        snprintf(err, errlen, "tenant \"%.*s\" is not a valid directory name", (int)len, name);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "tenant name contains a forbidden character (0x%02x at byte %zu)", c, i);
            return -EINVAL;
        }
    }
    if (!labels_valid_utf8(name, len)) {
        snprintf(err, errlen, "tenant name is not valid UTF-8");
        return -EINVAL;
    }
    return 0;
}

/* Index of the first tenant >= name (caller holds tenants_mu). */
static size_t lower_bound(recv *r, const char *name)
{
    size_t lo = 0, hi = r->ntenants;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(r->tenants[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void tenant_free(recv_tenant *t)
{
    if (!t)
        return;
    tsdb_close(t->db);
    recv_refcache_free(t->refs);
    recv_shipper_free(t);
    free(t->ext);
    free(t->name);
    free(t->dir);
    free(t);
}

/* Opens (creating) the tenant's TSDB. Not yet visible to anyone. */
static int tenant_open(recv *r, const char *name, recv_tenant **out, char *err, size_t errlen)
{
    recv_tenant *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->r = r;
    t->name = strdup(name);
    t->refs = recv_refcache_new();
    size_t dl = strlen(r->dir) + strlen(name) + 2;
    t->dir = malloc(dl);
    labels_label *ls = calloc(r->next + 1, sizeof *ls);
    if (!t->name || !t->dir || !ls || !t->refs) {
        free(ls);
        tenant_free(t);
        return -ENOMEM;
    }
    snprintf(t->dir, dl, "%s/%s", r->dir, name);
    memcpy(ls, r->ext, r->next * sizeof *ls);
    ls[r->next] = labels_make(r->tenant_label, name);
    labels_sort(ls, r->next + 1);
    t->ext = labels_copy(ls, r->next + 1);
    t->next = r->next + 1;
    free(ls);
    if (!t->ext) {
        tenant_free(t);
        return -ENOMEM;
    }
    if (mkdir(t->dir, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, errlen, "cannot create %s: %s", t->dir, strerror(e));
        tenant_free(t);
        return -e;
    }
    tsdb_options o = r->topts;
    o.external_labels = t->ext;
    o.n_external_labels = t->next;
    int rc = tsdb_open(t->dir, &o, &t->db, err, errlen);
    if (rc == 0)
        rc = recv_shipper_load(t);
    if (rc < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s", tsdb_strerror(rc));
        tenant_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* Inserts an opened tenant (caller holds the write lock). */
static int tenant_insert(recv *r, recv_tenant *t)
{
    if (r->ntenants == r->captenants) {
        size_t nc = r->captenants ? r->captenants * 2 : 8;
        recv_tenant **nt = realloc(r->tenants, nc * sizeof *nt);
        if (!nt)
            return -ENOMEM;
        r->tenants = nt;
        r->captenants = nc;
    }
    size_t i = lower_bound(r, t->name);
    if (i < r->ntenants)
        memmove(&r->tenants[i + 1], &r->tenants[i], (r->ntenants - i) * sizeof *r->tenants);
    r->tenants[i] = t;
    r->ntenants++;
    return 0;
}

int recv_tenant_get(recv *r, const char *name, bool create, recv_tenant **out,
                    char *err, size_t errlen)
{
    err[0] = '\0';
    pthread_rwlock_rdlock(&r->tenants_mu);
    size_t i = lower_bound(r, name);
    if (i < r->ntenants && strcmp(r->tenants[i]->name, name) == 0) {
        *out = r->tenants[i];
        pthread_rwlock_unlock(&r->tenants_mu);
        return 0;
    }
    pthread_rwlock_unlock(&r->tenants_mu);
    if (!create)
        return -ENOENT;
    int rc = recv_tenant_check(name, strlen(name), err, errlen);
    if (rc < 0)
        return rc;
    if (!atomic_load(&r->ready) || atomic_load(&r->stopping)) {
        snprintf(err, errlen, "receive is not ready");
        return -EAGAIN;
    }
    pthread_rwlock_wrlock(&r->tenants_mu);
    i = lower_bound(r, name);
    if (i < r->ntenants && strcmp(r->tenants[i]->name, name) == 0) {
        *out = r->tenants[i];
        pthread_rwlock_unlock(&r->tenants_mu);
        return 0;
    }
    recv_tenant *t = NULL;
    rc = tenant_open(r, name, &t, err, errlen);
    if (rc == 0 && (rc = tenant_insert(r, t)) < 0) {
        tenant_free(t);
        snprintf(err, errlen, "out of memory");
    }
    pthread_rwlock_unlock(&r->tenants_mu);
    if (rc == 0) {
        api->log(r->ctx, AION_LOG_INFO, "tenant %s: created under %s", name, t->dir);
        *out = t;
    }
    return rc;
}

int recv_tenants_open_all(recv *r)
{
    DIR *d = opendir(r->dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && !atomic_load(&r->stopping) && (e = readdir(d))) {
        char err[512] = "", path[PATH_MAX];
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (recv_tenant_check(e->d_name, strlen(e->d_name), err, sizeof err) < 0) {
            api->log(r->ctx, AION_LOG_WARN, "ignoring %s: %s", path, err);
            continue;
        }
        int64_t t0 = api->now_ms();
        recv_tenant *t = NULL;
        int orc = tenant_open(r, e->d_name, &t, err, sizeof err);
        if (orc < 0) {
            /* one broken tenant must not keep the others from being served */
            api->log(r->ctx, AION_LOG_ERROR, "tenant %s: cannot open %s: %s", e->d_name, path, err);
            continue;
        }
        tsdb_stats s;
        tsdb_get_stats(t->db, &s);
        pthread_rwlock_wrlock(&r->tenants_mu);
        rc = tenant_insert(r, t);
        pthread_rwlock_unlock(&r->tenants_mu);
        if (rc < 0) {
            tenant_free(t);
            break;
        }
        api->log(r->ctx, AION_LOG_INFO, "tenant %s: opened (%zu head series, %zu blocks) in %lld ms",
                 t->name, s.head_series, s.blocks, (long long)(api->now_ms() - t0));
    }
    closedir(d);
    return rc;
}

recv_tenant **recv_tenants_snapshot(recv *r, size_t *n)
{
    pthread_rwlock_rdlock(&r->tenants_mu);
    *n = r->ntenants;
    recv_tenant **v = malloc((r->ntenants ? r->ntenants : 1) * sizeof *v);
    if (v && r->ntenants)
        memcpy(v, r->tenants, r->ntenants * sizeof *v);
    else
        *n = 0;
    pthread_rwlock_unlock(&r->tenants_mu);
    return v;
}

void recv_tenants_free(recv *r)
{
    for (size_t i = 0; i < r->ntenants; i++)
        tenant_free(r->tenants[i]);
    free(r->tenants);
    r->tenants = NULL;
    r->ntenants = r->captenants = 0;
}
