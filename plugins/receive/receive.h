/*
 * receive: private header shared by the receive plugin's files (not installed).
 *
 * Ownership: one `recv` per plugin instance, allocated in init and freed in
 * destroy. Tenants are created on first write (or found on disk at start)
 * and live until destroy: pointers to them never dangle while the plugin
 * runs, so readers may keep them after dropping tenants_mu.
 *
 * Threads: handlers, the write-topic subscriber, the store service and the
 * maintenance timer run on host worker threads concurrently. tenants_mu (a
 * rwlock) guards only the tenant array; each tenant's TSDB is thread-safe
 * itself, so writes to different tenants never share a lock. The shipper
 * state of a tenant is touched by the maintenance timer (never overlapping
 * itself) and by stop (after timers are cancelled) only.
 */
#ifndef AION_RECEIVE_PRIV_H
#define AION_RECEIVE_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <aion/plugin.h>
#include <labels/labels.h>
#include <objstore/objstore.h>
#include <tsdb/tsdb.h>

#include "decode.h"
#include "refcache.h"

extern const aion_api *recv_api;

typedef struct recv recv;

typedef struct recv_tenant {
    recv *r;
    char *name;                 /* NUL-terminated, validated */
    char *dir;                  /* <data_dir>/<name> */
    tsdb_db *db;
    recv_refcache *refs;        /* label set -> series ref, for the write path */
    labels_label *ext;          /* config external labels + tenant label, sorted (labels_copy block) */
    size_t next;
    /* shipper (maintenance thread / stop only) */
    char **shipped;             /* sorted ULIDs recorded in thanos.shipper.json */
    size_t nshipped, capshipped;
    int64_t next_try_ms, backoff_ms;
} recv_tenant;

struct recv {
    aion_ctx *ctx;
    /* options */
    const char *listener, *tenant_header, *default_tenant, *tenant_label;
    char dir[PATH_MAX];         /* tenants live in dir/<tenant>/ */
    labels_label *ext;          /* configured external labels, sorted (labels_copy block) */
    size_t next;
    tsdb_options topts;         /* template for every tenant's TSDB */
    int64_t future_window_ms, maint_interval_ms, retention_ms, shutdown_upload_ms;
    recv_limits lim;            /* request/series limits (decode.h) */
    bool flush_on_shutdown;
    objstore_bucket *bucket;    /* NULL: blocks stay local */

    /* state */
    atomic_bool ready;
    atomic_bool stopping;
    pthread_mutex_t open_mu;    /* opener done flag */
    pthread_cond_t open_cv;
    bool opener_running;
    pthread_rwlock_t tenants_mu;
    recv_tenant **tenants;
    size_t ntenants, captenants;
    aion_timer *timer;

    /* metrics */
    aion_metric *m_requests, *m_duration, *m_samples, *m_series, *m_refused;
    aion_metric *m_invalid, *m_head_series, *m_uploads, *m_upload_failures;
};

/* ---- tenants.c ---- */
/* 0 if `name` (len bytes) may be a tenant: 1..RECV_TENANT_MAX bytes, no '/',
 * no control characters, not "." or "..". Else -EINVAL and a reason. */
int recv_tenant_check(const char *name, size_t len, char *err, size_t errlen);
/* Finds the tenant, creating it (directory + TSDB) when absent and create is
 * set. -EINVAL bad name, -ENOENT absent, -EAGAIN not ready, other <0 open failure. */
int recv_tenant_get(recv *r, const char *name, bool create, recv_tenant **out,
                    char *err, size_t errlen);
/* Opens every tenant directory found under r->dir (WAL replay). */
int recv_tenants_open_all(recv *r);
/* A malloc'ed copy of the tenant array (tenants stay valid until destroy). */
recv_tenant **recv_tenants_snapshot(recv *r, size_t *n);
/* Closes and frees every tenant (destroy). */
void recv_tenants_free(recv *r);

/* ---- ingest.c ---- */
typedef struct recv_outcome {
    int status;                 /* HTTP status */
    char msg[768];
    uint64_t samples_written;
} recv_outcome;
/* Decodes, validates and publishes one remote-write body (version 1 or 2). */
void recv_ingest(recv *r, const char *tenant, int version, const void *body, size_t len,
                 recv_outcome *out);
/* The storage side: subscriber of AION_TOPIC_WRITE. */
int recv_on_write(const char *topic, aion_msg *msg, void *result, void *arg);

/* ---- http.c ---- */
int recv_http_register(recv *r);

/* ---- shipper.c ---- */
/* Loads thanos.shipper.json of a tenant. */
int recv_shipper_load(recv_tenant *t);
/* Uploads every complete, not yet shipped block of the tenant (oldest first,
 * meta.json last). force ignores the retry backoff; deadline_ms (0 = none)
 * bounds the pass. Returns the number of failures (0 = all shipped). */
int recv_shipper_sync(recv_tenant *t, bool force, int64_t deadline_ms);
/* The clock to give tsdb_maintain so retention never removes a block that
 * is not shipped yet (or a block about to be cut from the head). */
int64_t recv_shipper_retention_now(recv_tenant *t, int64_t now_ms);
void recv_shipper_free(recv_tenant *t);

/* ---- store.c ---- */
extern const aion_store_vtable recv_store_vtable;

#endif
