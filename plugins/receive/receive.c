/*
 * receive: Prometheus remote write in (1.0 and 2.0), durable per-tenant
 * storage (lib/tsdb), completed blocks to a bucket (lib/objstore), and a
 * "store" service over heads and local blocks. This file: the descriptor,
 * the option table, configuration and the lifecycle. See docs/receive.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <prompb/write.h>

#include "receive.h"

const aion_api *recv_api;
#define api recv_api

static const aion_option recv_options[] = {
    { "listener", AION_OPT_STRING, "main", "host listener serving POST /api/v1/receive and /api/v1/write", 0 },
    { "data_dir", AION_OPT_STRING, NULL, "tenant TSDBs go to <data_dir>/<tenant>/ (default: <host.data_dir>/receive)", 0 },
    { "tenant_header", AION_OPT_STRING, "THANOS-TENANT", "request header naming the tenant (case-insensitive); an auth plugin's identity tenant wins", 0 },
    { "default_tenant", AION_OPT_STRING, "default-tenant", "tenant of requests without tenant header or identity", 0 },
    { "tenant_label", AION_OPT_STRING, "tenant_id", "label holding the tenant in blocks' meta.json and on series read through the store service", 0 },
    { "external_labels", AION_OPT_GROUP, NULL, "labels of this receiver, e.g. { receive_replica = \"0\"; }: meta.json thanos.labels and store series", 0 },
    { "bucket", AION_OPT_GROUP, NULL, "where blocks are uploaded: { type = \"FILESYSTEM\"|\"S3\"; prefix = \"\"; config = { ... }; } (docs/objstore.md); absent = keep blocks local", 0 },
    { "block_duration", AION_OPT_DURATION, "2h", "length of the TSDB blocks cut from the head", 0 },
    { "retention", AION_OPT_DURATION, "15d", "delete local blocks this long after their end (shipped ones only when a bucket is set); 0 = keep", 0 },
    { "wal_fsync", AION_OPT_STRING, "commit", "commit (fsync before every 2xx), interval (write before 2xx, fsync every wal_fsync_interval) or never", 0 },
    { "wal_fsync_interval", AION_OPT_DURATION, "1s", "fsync period for wal_fsync = interval", 0 },
    { "wal_segment_size", AION_OPT_SIZE, "128MiB", "WAL segment size", 0 },
    { "out_of_order_window", AION_OPT_DURATION, "0", "accept samples up to this much older than a series' newest sample; 0 = none", 0 },
    { "future_window", AION_OPT_DURATION, "10m", "samples later than now + this are refused (409), never stored", 0 },
    { "max_series_per_request", AION_OPT_INT, "0", "requests with more series get 413; 0 = no limit", 0 },
    { "max_labels_per_series", AION_OPT_INT, "0", "series with more labels are refused (400); 0 = no limit", 0 },
    { "max_label_name_length", AION_OPT_INT, "0", "series with a longer label name are refused (400); 0 = no limit", 0 },
    { "max_label_value_length", AION_OPT_INT, "0", "series with a longer label value are refused (400); 0 = no limit", 0 },
    { "max_series_per_tenant", AION_OPT_INT, "0", "active (head) series per tenant; new series past it get 429, existing ones flow; 0 = no limit", 0 },
    { "max_head_bytes_per_tenant", AION_OPT_SIZE, "0", "head memory budget per tenant (also during WAL replay); new series past it get 429; 0 = no limit", 0 },
    { "max_decompressed_size", AION_OPT_SIZE, "256MiB", "larger decompressed request bodies get 413", 0 },
    { "legacy_name_validation", AION_OPT_BOOL, "false", "also refuse label names outside [a-zA-Z_][a-zA-Z0-9_]* and metric names outside [a-zA-Z_:][a-zA-Z0-9_:]*", 0 },
    { "maintenance_interval", AION_OPT_DURATION, "1m", "how often heads are cut into blocks, the WAL checkpointed, blocks shipped and retention applied", 0 },
    { "flush_on_shutdown", AION_OPT_BOOL, "true", "on SIGTERM cut the head into a block and upload it (within shutdown_upload_timeout)", 0 },
    { "shutdown_upload_timeout", AION_OPT_DURATION, "20s", "bound on uploads during stop (keep below host.stop_timeout)", 0 },
    AION_OPTION_END
};

static const char *const recv_provides[] = { AION_SERVICE_STORE, NULL };

/* ---- configuration ------------------------------------------------------------ */

static int parse_fsync(const char *s, tsdb_fsync_policy *p)
{
    if (!s || strcmp(s, "commit") == 0)
        *p = TSDB_FSYNC_COMMIT;
    else if (strcmp(s, "interval") == 0)
        *p = TSDB_FSYNC_INTERVAL;
    else if (strcmp(s, "never") == 0)
        *p = TSDB_FSYNC_NEVER;
    else
        return -EINVAL;
    return 0;
}

/* Fills an objstore config from the bucket group; NULL group = no bucket. */
static int bucket_config(aion_ctx *ctx, aion_config *g, objstore_config *oc, bool report)
{
    objstore_config_init(oc);
    char err[512];
    const char **keys;
    size_t n = api->cfg_keys(ctx, g, &keys);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i], "config") == 0)
            continue;
        const char *v = api->cfg_text(ctx, g, keys[i]);
        if (!v || objstore_config_set(oc, keys[i], v, err, sizeof err) < 0) {
            if (report)
                api->config_error(ctx, g, keys[i], "bucket: %s", v ? err : "must be a value");
            return -EINVAL;
        }
    }
    aion_config *c = api->cfg_group(ctx, g, "config");
    if (c) {
        n = api->cfg_keys(ctx, c, &keys);
        for (size_t i = 0; i < n; i++) {
            const char *v = api->cfg_text(ctx, c, keys[i]);
            if (!v || objstore_config_set(oc, keys[i], v, err, sizeof err) < 0) {
                if (report)
                    api->config_error(ctx, c, keys[i], "bucket: %s", v ? err : "must be a value");
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* External labels from the free-form group, sorted; names validated. */
static int external_labels(aion_ctx *ctx, const char *tenant_label, labels_label **out,
                           size_t *nout, bool report)
{
    aion_config *g = api->cfg_group(ctx, NULL, "external_labels");
    const char **keys = NULL;
    size_t n = g ? api->cfg_keys(ctx, g, &keys) : 0;
    labels_label *ls = calloc(n ? n : 1, sizeof *ls);
    if (!ls)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *v = api->cfg_text(ctx, g, keys[i]);
        if (!labels_valid_name(keys[i], strlen(keys[i])))
            rc = report ? api->config_error(ctx, g, keys[i], "external label name '%s' is not valid", keys[i]) : -EINVAL;
        else if (!v || !*v)
            rc = report ? api->config_error(ctx, g, keys[i], "external label '%s' needs a non-empty value", keys[i]) : -EINVAL;
        else if (tenant_label && strcmp(keys[i], tenant_label) == 0)
            rc = report ? api->config_error(ctx, g, keys[i], "external label '%s' is the tenant label", keys[i]) : -EINVAL;
        else
            ls[i] = labels_make(keys[i], v);
    }
    if (rc == 0) {
        labels_sort(ls, n);
        *out = labels_copy(ls, n);
        *nout = n;
        if (!*out)
            rc = -ENOMEM;
    }
    free(ls);
    return rc;
}

static int recv_check(aion_ctx *ctx)
{
    api = aion_api_get(ctx);
    int rc = 0;
    tsdb_fsync_policy p;
    if (parse_fsync(api->cfg_string(ctx, NULL, "wal_fsync"), &p) < 0)
        rc = api->config_error(ctx, NULL, "wal_fsync", "wal_fsync must be commit, interval or never");
    const char *tl = api->cfg_string(ctx, NULL, "tenant_label");
    if (!tl || !labels_valid_name(tl, strlen(tl)))
        rc = api->config_error(ctx, NULL, "tenant_label", "tenant_label is not a valid label name");
    const char *dt = api->cfg_string(ctx, NULL, "default_tenant");
    char err[128];
    if (!dt || recv_tenant_check(dt, strlen(dt), err, sizeof err) < 0)
        rc = api->config_error(ctx, NULL, "default_tenant", "default_tenant: %s", dt ? err : "missing");
    const char *th = api->cfg_string(ctx, NULL, "tenant_header");
    if (!th || !*th)
        rc = api->config_error(ctx, NULL, "tenant_header", "tenant_header must not be empty");
    labels_label *ext = NULL;
    size_t next = 0;
    if (external_labels(ctx, tl, &ext, &next, true) < 0)
        rc = -EINVAL;
    free(ext);
    aion_config *b = api->cfg_group(ctx, NULL, "bucket");
    objstore_config oc;
    if (b && bucket_config(ctx, b, &oc, true) < 0)
        rc = -EINVAL;
    if (api->cfg_duration_ms(ctx, NULL, "block_duration", 0) < 60000)
        rc = api->config_error(ctx, NULL, "block_duration", "block_duration must be at least 1m");
    if (api->cfg_duration_ms(ctx, NULL, "maintenance_interval", 0) < 10)
        rc = api->config_error(ctx, NULL, "maintenance_interval", "maintenance_interval must be at least 10ms");
    const char *ints[] = { "max_series_per_request", "max_labels_per_series", "max_label_name_length",
                           "max_label_value_length", "max_series_per_tenant" };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (api->cfg_int(ctx, NULL, ints[i], 0) < 0)
            rc = api->config_error(ctx, NULL, ints[i], "%s must not be negative", ints[i]);
    return rc;
}

static void tsdb_log(void *arg, tsdb_log_level level, const char *msg)
{
    recv *r = arg;
    aion_log_level l = level == TSDB_LOG_DEBUG ? AION_LOG_DEBUG
                     : level == TSDB_LOG_INFO  ? AION_LOG_INFO
                     : level == TSDB_LOG_WARN  ? AION_LOG_WARN : AION_LOG_ERROR;
    api->log(r->ctx, l, "tsdb: %s", msg);
}

static void collect_head_series(aion_metric *m, void *arg)
{
    recv *r = arg;
    size_t n;
    recv_tenant **ts = recv_tenants_snapshot(r, &n);
    for (size_t i = 0; ts && i < n; i++) {
        tsdb_stats st;
        tsdb_get_stats(ts[i]->db, &st);
        const char *lv[] = { ts[i]->name, NULL };
        api->metric_set(m, lv, (double)st.head_series);
    }
    free(ts);
}

static void register_metrics(recv *r)
{
    static const char *const code[] = { "code", NULL };
    static const char *const tenant[] = { "tenant", NULL };
    static const char *const reason[] = { "reason", NULL };
    aion_ctx *c = r->ctx;
    r->m_requests = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_requests_total",
                                    "Remote-write requests by HTTP status.", code, NULL, 0);
    r->m_duration = api->metric_new(c, AION_METRIC_HISTOGRAM, "aion_receive_request_duration_seconds",
                                    "Time from handler start to reply of remote-write requests.", NULL, NULL, 0);
    r->m_samples = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_samples_total",
                                   "Samples stored, by tenant.", tenant, NULL, 0);
    r->m_series = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_series_total",
                                  "Series received in write batches, by tenant.", tenant, NULL, 0);
    r->m_refused = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_refused_samples_total",
                                   "Samples not stored, by reason (out_of_order, duplicate, too_old, too_new, limit, invalid).",
                                   reason, NULL, 0);
    r->m_invalid = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_invalid_series_total",
                                   "Series refused by validation or request limits.", NULL, NULL, 0);
    r->m_head_series = api->metric_new(c, AION_METRIC_GAUGE, "aion_receive_head_series",
                                       "Active (head) series, by tenant.", tenant, NULL, 0);
    if (r->m_head_series)
        api->metric_on_collect(r->m_head_series, collect_head_series, r);
    r->m_uploads = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_shipper_uploads_total",
                                   "Blocks uploaded to the bucket, by tenant.", tenant, NULL, 0);
    r->m_upload_failures = api->metric_new(c, AION_METRIC_COUNTER, "aion_receive_shipper_upload_failures_total",
                                           "Failed block uploads (retried with backoff), by tenant.", tenant, NULL, 0);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static int recv_init(aion_ctx *ctx)
{
    api = aion_api_get(ctx);
    recv *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->ctx = ctx;
    api->set_data(ctx, r);
    pthread_rwlock_init(&r->tenants_mu, NULL);
    pthread_mutex_init(&r->open_mu, NULL);
    pthread_cond_init(&r->open_cv, NULL);

    r->listener = api->cfg_string(ctx, NULL, "listener");
    r->tenant_header = api->cfg_string(ctx, NULL, "tenant_header");
    r->default_tenant = api->cfg_string(ctx, NULL, "default_tenant");
    r->tenant_label = api->cfg_string(ctx, NULL, "tenant_label");
    const char *dd = api->cfg_string(ctx, NULL, "data_dir");
    if (dd)
        snprintf(r->dir, sizeof r->dir, "%s", dd);
    else
        snprintf(r->dir, sizeof r->dir, "%s/receive", api->data_dir(ctx));
    if (external_labels(ctx, r->tenant_label, &r->ext, &r->next, false) < 0) {
        api->set_error(ctx, "bad external_labels");
        return -EINVAL;
    }

    tsdb_options_init(&r->topts);
    r->topts.block_duration_ms = api->cfg_duration_ms(ctx, NULL, "block_duration", 7200000);
    r->retention_ms = api->cfg_duration_ms(ctx, NULL, "retention", 0);
    r->topts.retention_ms = r->retention_ms;
    if (parse_fsync(api->cfg_string(ctx, NULL, "wal_fsync"), &r->topts.wal_fsync) < 0) {
        api->set_error(ctx, "bad wal_fsync");
        return -EINVAL;
    }
    r->topts.wal_fsync_interval_ms = api->cfg_duration_ms(ctx, NULL, "wal_fsync_interval", 1000);
    r->topts.wal_segment_size = (size_t)api->cfg_size(ctx, NULL, "wal_segment_size", 128 << 20);
    r->topts.out_of_order_window_ms = api->cfg_duration_ms(ctx, NULL, "out_of_order_window", 0);
    r->topts.max_series = (size_t)api->cfg_int(ctx, NULL, "max_series_per_tenant", 0);
    r->topts.max_head_bytes = (size_t)api->cfg_size(ctx, NULL, "max_head_bytes_per_tenant", 0);
    r->topts.thanos_source = "receive";
    r->topts.log = tsdb_log;
    r->topts.log_ctx = r;
    r->future_window_ms = api->cfg_duration_ms(ctx, NULL, "future_window", 600000);
    r->maint_interval_ms = api->cfg_duration_ms(ctx, NULL, "maintenance_interval", 60000);
    r->shutdown_upload_ms = api->cfg_duration_ms(ctx, NULL, "shutdown_upload_timeout", 20000);
    r->lim.max_series_per_request = (size_t)api->cfg_int(ctx, NULL, "max_series_per_request", 0);
    r->lim.max_labels_per_series = (size_t)api->cfg_int(ctx, NULL, "max_labels_per_series", 0);
    r->lim.max_name_len = (size_t)api->cfg_int(ctx, NULL, "max_label_name_length", 0);
    r->lim.max_value_len = (size_t)api->cfg_int(ctx, NULL, "max_label_value_length", 0);
    r->lim.max_decompressed = (size_t)api->cfg_size(ctx, NULL, "max_decompressed_size", 256 << 20);
    if (api->cfg_bool(ctx, NULL, "legacy_name_validation", false))
        r->lim.validate_flags = PROMPB_VALIDATE_LEGACY_NAMES | PROMPB_VALIDATE_METRIC_NAME;
    r->flush_on_shutdown = api->cfg_bool(ctx, NULL, "flush_on_shutdown", true);

    aion_config *b = api->cfg_group(ctx, NULL, "bucket");
    if (b) {
        objstore_config oc;
        char err[512];
        if (bucket_config(ctx, b, &oc, false) < 0) {
            api->set_error(ctx, "bad bucket configuration");
            return -EINVAL;
        }
        if (objstore_bucket_open(&oc, &r->bucket, err, sizeof err) < 0) {
            api->set_error(ctx, "bucket: %s", err);
            return -EINVAL;
        }
    }
    if (mkdir(r->dir, 0755) < 0 && errno != EEXIST) {
        /* create parents: data_dir may not exist yet */
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", r->dir);
        for (char *p = tmp + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(tmp, 0755);
                *p = '/';
            }
        if (mkdir(r->dir, 0755) < 0 && errno != EEXIST) {
            api->set_error(ctx, "cannot create %s: %s", r->dir, strerror(errno));
            return -errno;
        }
    }
    register_metrics(r);
    int rc = api->subscribe(ctx, AION_TOPIC_WRITE, recv_on_write, r);
    if (rc == 0)
        rc = api->service_register(ctx, AION_SERVICE_STORE, AION_STORE_VERSION, &recv_store_vtable, r);
    if (rc == 0)
        rc = recv_http_register(r);
    if (rc < 0)
        api->set_error(ctx, "cannot register: %s", strerror(-rc));
    return rc;
}

/* Worker: opens the tenants on disk (WAL replay), then reports ready. */
static void opener(void *arg)
{
    recv *r = arg;
    int64_t t0 = api->now_ms();
    int rc = recv_tenants_open_all(r);
    size_t n;
    free(recv_tenants_snapshot(r, &n));
    if (rc == 0 && !atomic_load(&r->stopping)) {
        atomic_store(&r->ready, true);
        api->set_ready(r->ctx, true);
        api->log(r->ctx, AION_LOG_INFO, "ready: %zu tenant(s) opened from %s in %lld ms", n, r->dir,
                 (long long)(api->now_ms() - t0));
    } else if (rc < 0) {
        api->log(r->ctx, AION_LOG_ERROR, "opening tenants under %s failed: %s; staying not ready",
                 r->dir, strerror(-rc));
    }
    pthread_mutex_lock(&r->open_mu);
    r->opener_running = false;
    pthread_cond_broadcast(&r->open_cv);
    pthread_mutex_unlock(&r->open_mu);
}

static void maintain(void *arg)
{
    recv *r = arg;
    if (!atomic_load(&r->ready) || atomic_load(&r->stopping))
        return;
    size_t n;
    recv_tenant **ts = recv_tenants_snapshot(r, &n);
    for (size_t i = 0; ts && i < n; i++) {
        char err[512];
        int64_t now = api->now_ms();
        if (tsdb_maintain(ts[i]->db, recv_shipper_retention_now(ts[i], now), err, sizeof err) < 0)
            api->log(r->ctx, AION_LOG_ERROR, "tenant %s: maintenance: %s", ts[i]->name, err);
        recv_shipper_sync(ts[i], false, 0);
        tsdb_stats st;
        tsdb_get_stats(ts[i]->db, &st);
        recv_refcache_trim(ts[i]->refs, st.head_series);
    }
    free(ts);
}

static int recv_start(aion_ctx *ctx)
{
    recv *r = api->get_data(ctx);
    api->set_ready(ctx, false);
    r->opener_running = true;
    int rc = api->work_submit(ctx, opener, r);
    if (rc < 0) {
        r->opener_running = false;
        api->set_error(ctx, "cannot start the WAL replay: %s", strerror(-rc));
        return rc;
    }
    r->timer = api->timer_add(ctx, r->maint_interval_ms, maintain, r);
    if (!r->timer) {
        api->set_error(ctx, "cannot add the maintenance timer");
        return -ENOMEM;
    }
    return 0;
}

static int recv_stop(aion_ctx *ctx)
{
    recv *r = api->get_data(ctx);
    if (!r)
        return 0;
    atomic_store(&r->stopping, true);
    r->timer = NULL; /* the host cancelled (and freed) it before calling stop */
    pthread_mutex_lock(&r->open_mu);
    while (r->opener_running)
        pthread_cond_wait(&r->open_cv, &r->open_mu);
    pthread_mutex_unlock(&r->open_mu);
    if (!atomic_load(&r->ready))
        return 0;
    atomic_store(&r->ready, false);
    int64_t deadline = api->now_ms() + r->shutdown_upload_ms;
    size_t n;
    recv_tenant **ts = recv_tenants_snapshot(r, &n);
    for (size_t i = 0; ts && i < n; i++) {
        char err[512];
        if (r->flush_on_shutdown) {
            if (tsdb_flush_head(ts[i]->db, err, sizeof err) < 0)
                api->log(ctx, AION_LOG_ERROR, "tenant %s: flushing the head: %s", ts[i]->name, err);
            int fails = recv_shipper_sync(ts[i], true, deadline);
            if (fails > 0)
                api->log(ctx, AION_LOG_WARN, "tenant %s: %d block(s) not uploaded at shutdown; they go on the next start",
                         ts[i]->name, fails);
        }
    }
    free(ts);
    return 0;
}

static void recv_destroy(aion_ctx *ctx)
{
    recv *r = api->get_data(ctx);
    if (!r)
        return;
    atomic_store(&r->stopping, true);
    pthread_mutex_lock(&r->open_mu);
    while (r->opener_running)
        pthread_cond_wait(&r->open_cv, &r->open_mu);
    pthread_mutex_unlock(&r->open_mu);
    recv_tenants_free(r);
    objstore_bucket_close(r->bucket);
    free(r->ext);
    pthread_rwlock_destroy(&r->tenants_mu);
    pthread_mutex_destroy(&r->open_mu);
    pthread_cond_destroy(&r->open_cv);
    free(r);
    api->set_data(ctx, NULL);
}

static const aion_plugin recv_plugin = {
    .abi_version = AION_ABI_VERSION,
    .name = "receive",
    .version = "0.1.0",
    .description = "Prometheus remote write 1.0/2.0 receiver: per-tenant TSDB, blocks to a bucket, store service",
    .options = recv_options,
    .provides = recv_provides,
    .init = recv_init,
    .start = recv_start,
    .stop = recv_stop,
    .destroy = recv_destroy,
    .check_config = recv_check,
};

AION_PLUGIN_DEFINE(recv_plugin)
