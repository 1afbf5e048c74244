/*
 * aion/plugin.h: the plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * AION_PLUGIN_ENTRY_SYMBOL ("aion_plugin_entry"), a function returning a
 * pointer to a constant aion_plugin descriptor. The host checks the ABI
 * version, validates the plugin's config against its option table, then
 * calls, for every plugin instance in config order (or the order their
 * `requires` impose):
 *
 *   init(ctx)   - read config, allocate, register routes/subscriptions/services
 *   start(ctx)  - begin work (threads, timers); the bus and HTTP are live after all starts
 *   ...         - reload(ctx) on SIGHUP (optional)
 *   stop(ctx)   - on SIGTERM/SIGINT, in REVERSE order: finish in-flight work, flush;
 *                 must return within the host's stop deadline
 *   destroy(ctx)- free everything (also called when init or start failed, after stop if started)
 *
 * A plugin links against NO host symbol: everything the host offers comes
 * through the aion_api table (in the style of Redis' module API), so the host
 * can be upgraded without relinking plugins. The table only grows: new
 * functions are appended and `api->size` tells which exist.
 *
 * Threads: init/start/stop/destroy/reload are called on the main thread, one
 * plugin at a time. HTTP handlers, subscribers, timers and work items run on
 * host worker threads (see http.h, bus.h).
 */
#ifndef AION_PLUGIN_H
#define AION_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <aion/types.h>
#include <aion/log.h>
#include <aion/config.h>
#include <aion/bus.h>
#include <aion/http.h>
#include <aion/metrics.h>
#include <aion/store.h>
#include <aion/auth.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AION_ABI_VERSION 1
#define AION_PLUGIN_ENTRY_SYMBOL "aion_plugin_entry"

#if defined(__GNUC__)
#define AION_EXPORT __attribute__((visibility("default")))
#define AION_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AION_EXPORT
#define AION_PRINTF(a, b)
#endif

/* One plugin instance, as the host sees it. Opaque to the plugin. */
typedef struct aion_ctx aion_ctx;

typedef struct aion_plugin {
    uint32_t abi_version;          /* AION_ABI_VERSION */
    const char *name;              /* e.g. "receive" */
    const char *version;           /* e.g. "0.1.0" */
    const char *description;       /* one line */
    const aion_option *options;    /* table ending with AION_OPTION_END; may be NULL */
    const char *const *requires;   /* service names needed before this plugin starts; NULL-terminated, may be NULL */
    const char *const *provides;   /* service names it registers; NULL-terminated, may be NULL */

    /* Returns 0, or a negative errno after describing the problem with
     * api->log (or api->set_error). Only init is required. */
    int (*init)(aion_ctx *ctx);
    int (*start)(aion_ctx *ctx);
    int (*stop)(aion_ctx *ctx);
    void (*destroy)(aion_ctx *ctx);
    int (*reload)(aion_ctx *ctx);

    /* Optional: extra config validation, called by `aiond --check-config`
     * and before init (so fetch the table here too: aion_api_get(ctx)).
     * Describe each problem with api->config_error. */
    int (*check_config)(aion_ctx *ctx);
} aion_plugin;

typedef const aion_plugin *(*aion_plugin_entry_fn)(void);

/* Timer and work callbacks run on worker threads. */
typedef void (*aion_work_fn)(void *arg);
typedef struct aion_timer aion_timer;

/* The host's function table. Every function is safe from any thread unless
 * its comment says otherwise. */
typedef struct aion_api {
    uint32_t abi_version;          /* AION_ABI_VERSION */
    uint32_t size;                 /* sizeof(aion_api) of the host; check before using newer fields */

    /* ---- plugin instance ---- */
    void (*set_data)(aion_ctx *ctx, void *data);    /* the plugin's own state */
    void *(*get_data)(aion_ctx *ctx);
    const char *(*instance_name)(aion_ctx *ctx);    /* the config entry's name (defaults to the plugin name) */
    const char *(*data_dir)(aion_ctx *ctx);         /* host.data_dir, e.g. "./data" */
    void (*set_ready)(aion_ctx *ctx, bool ready);   /* /-/ready is 200 once every plugin is ready (default: ready after start) */
    void (*set_error)(aion_ctx *ctx, const char *fmt, ...) AION_PRINTF(2, 3); /* why init/start failed */

    /* ---- logging ---- */
    void (*log)(aion_ctx *ctx, aion_log_level level, const char *fmt, ...) AION_PRINTF(3, 4);
    /* msg plus key/value pairs: kv = { "addr", "127.0.0.1:1", NULL } */
    void (*log_kv)(aion_ctx *ctx, aion_log_level level, const char *msg, const char *const *kv);
    bool (*log_enabled)(aion_ctx *ctx, aion_log_level level);

    /* ---- config (see config.h) ----
     * cfg NULL means the plugin's own `config` group. Getters return the
     * value (or default); for an absent option without default they return
     * the fallback / NULL. Strings stay valid until destroy. */
    aion_config *(*cfg_root)(aion_ctx *ctx);
    const char *(*cfg_string)(aion_ctx *ctx, aion_config *cfg, const char *name);
    int64_t (*cfg_int)(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fallback);
    bool (*cfg_bool)(aion_ctx *ctx, aion_config *cfg, const char *name, bool fallback);
    double (*cfg_double)(aion_ctx *ctx, aion_config *cfg, const char *name, double fallback);
    int64_t (*cfg_duration_ms)(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fallback);
    int64_t (*cfg_size)(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fallback);
    /* list of strings: count, and the i-th element */
    size_t (*cfg_list_len)(aion_ctx *ctx, aion_config *cfg, const char *name);
    const char *(*cfg_list_string)(aion_ctx *ctx, aion_config *cfg, const char *name, size_t i);
    /* nested group, or i-th group of a group list; NULL if absent */
    aion_config *(*cfg_group)(aion_ctx *ctx, aion_config *cfg, const char *name);
    aion_config *(*cfg_list_group)(aion_ctx *ctx, aion_config *cfg, const char *name, size_t i);
    /* keys of a free-form group, in file order; scalar values as text
     * (numbers and booleans formatted, env vars expanded) or NULL for nested groups/lists */
    size_t (*cfg_keys)(aion_ctx *ctx, aion_config *cfg, const char ***keys);
    const char *(*cfg_text)(aion_ctx *ctx, aion_config *cfg, const char *name);
    /* Reports a config problem as `file:line: plugin NAME: <message>` at the
     * setting's line (name may be NULL: the group's line); returns -EINVAL. */
    int (*config_error)(aion_ctx *ctx, aion_config *cfg, const char *name, const char *fmt, ...)
        AION_PRINTF(4, 5);

    /* ---- bus: topics ---- */
    /* Creates a message with refcount 1; free_fn(payload, free_arg) runs when
     * the count drops to 0. type is copied. NULL on allocation failure. */
    aion_msg *(*msg_new)(const char *type, void *payload, aion_msg_free_fn free_fn, void *free_arg);
    void (*msg_ref)(aion_msg *msg);
    void (*msg_unref)(aion_msg *msg);
    const char *(*msg_type)(const aion_msg *msg);
    void *(*msg_payload)(const aion_msg *msg);
    /* Subscribes during init/start (main thread only). */
    int (*subscribe)(aion_ctx *ctx, const char *topic, aion_subscriber_fn fn, void *arg);
    /* Delivers synchronously to every subscriber; returns the first failure
     * (negative errno), or -ENOENT when the topic has no subscriber. Does not
     * consume the caller's reference. */
    int (*publish)(aion_ctx *ctx, const char *topic, aion_msg *msg, void *result);

    /* ---- bus: services ---- */
    /* Registers a provider during init/start (main thread only). */
    int (*service_register)(aion_ctx *ctx, const char *name, uint32_t version,
                            const void *vtable, void *self);
    /* Lists providers: fills up to max (vtable, self) pairs, returns the total
     * number of providers (may exceed max). Only providers whose version
     * equals `version` are listed. Safe from any thread after start. */
    size_t (*service_list)(aion_ctx *ctx, const char *name, uint32_t version,
                           const void **vtables, void **selves, size_t max);

    /* ---- HTTP (see http.h) ---- */
    /* Registers a route during init (main thread only). listener NULL = the
     * default listener: "main" if configured, else the first one.
     * Returns -ENOENT for an unknown listener, -EEXIST for a duplicate route. */
    int (*http_route)(aion_ctx *ctx, const char *listener, unsigned methods, const char *path,
                      int flags, aion_http_handler handler, void *arg);
    /* Attaches middleware to a listener (NULL = every listener). */
    int (*http_middleware)(aion_ctx *ctx, const char *listener, aion_http_middleware fn, void *arg);
    aion_http_method (*http_method)(aion_http_req *req);
    const char *(*http_path)(aion_http_req *req);                 /* decoded path, no query */
    const char *(*http_query)(aion_http_req *req, const char *name);  /* first value of a URL or form param, decoded */
    /* all values of a param (e.g. match[]) from the URL and, for POST
     * application/x-www-form-urlencoded, the body; returns the count */
    size_t (*http_query_all)(aion_http_req *req, const char *name, const char ***values);
    const char *(*http_header)(aion_http_req *req, const char *name); /* case-insensitive */
    const uint8_t *(*http_body)(aion_http_req *req, size_t *len);
    const char *(*http_remote_addr)(aion_http_req *req);
    const aion_identity *(*http_identity)(aion_http_req *req);    /* never NULL */
    void (*http_set_identity)(aion_http_req *req, const char *subject, const char *tenant,
                              uint32_t scopes);                   /* copies the strings */
    void (*http_add_header)(aion_http_req *req, const char *name, const char *value);
    /* Replies: copies body. After this the request is gone. */
    void (*http_reply)(aion_http_req *req, int status, const char *content_type,
                       const void *body, size_t len);
    /* Replies and takes ownership of a malloc'ed body (freed by the host). */
    void (*http_reply_take)(aion_http_req *req, int status, const char *content_type,
                            void *body, size_t len);
    /* Replies with a printf-formatted text/plain body ending in "\n". */
    void (*http_reply_text)(aion_http_req *req, int status, const char *fmt, ...) AION_PRINTF(3, 4);

    /* ---- metrics (see metrics.h) ---- */
    /* Registers (or finds, if the same name and type exist) a metric family.
     * label_names NULL-terminated (may be NULL). buckets only for histograms
     * (NULL = AION_DURATION_BUCKETS). */
    aion_metric *(*metric_new)(aion_ctx *ctx, aion_metric_type type, const char *name,
                               const char *help, const char *const *label_names,
                               const double *buckets, size_t nbuckets);
    /* label_values NULL-terminated, same count as label_names (NULL if none) */
    void (*metric_add)(aion_metric *m, const char *const *label_values, double v); /* counter/gauge += v */
    void (*metric_set)(aion_metric *m, const char *const *label_values, double v); /* gauge = v */
    void (*metric_observe)(aion_metric *m, const char *const *label_values, double v); /* histogram */
    void (*metric_on_collect)(aion_metric *m, aion_metric_collect_fn fn, void *arg);

    /* ---- timers and workers ---- */
    /* Runs fn every interval_ms (first after interval_ms) on a worker thread,
     * never overlapping itself. Cancelled by timer_cancel or at stop. */
    aion_timer *(*timer_add)(aion_ctx *ctx, int64_t interval_ms, aion_work_fn fn, void *arg);
    /* Cancels and waits until a running callback returns (do not call from the callback). */
    void (*timer_cancel)(aion_timer *t);
    /* Runs fn(arg) on the worker pool soon. Returns 0, -EAGAIN when the
     * queue is full (shed load or retry later), or -ESHUTDOWN when stopping. */
    int (*work_submit)(aion_ctx *ctx, aion_work_fn fn, void *arg);
    /* Wall clock in ms since the epoch. */
    int64_t (*now_ms)(void);
} aion_api;

/*
 * The one exported symbol. Use:
 *
 *   static const aion_api *api;
 *   static int hello_init(aion_ctx *ctx) { api = aion_api_get(ctx); ... }
 *   AION_PLUGIN_DEFINE(hello_plugin)
 *
 * aion_api_get is how a plugin reaches the table without linking against a
 * host symbol: the host stores the table pointer in the first word of every
 * aion_ctx it hands out. Call it in init (and in check_config, which runs
 * before init); the pointer may be kept and stays valid until the process
 * exits.
 */
static inline const aion_api *aion_api_get(aion_ctx *ctx)
{
    return *(const aion_api *const *)(const void *)ctx;
}

#define AION_PLUGIN_DEFINE(descriptor)                                            \
    AION_EXPORT const aion_plugin *aion_plugin_entry(void);                      \
    AION_EXPORT const aion_plugin *aion_plugin_entry(void) { return &(descriptor); }

#ifdef __cplusplus
}
#endif
#endif
