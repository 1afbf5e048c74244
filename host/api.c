/* The aion_api table: what plugins call. ctx-taking entries are thin
 * wrappers over the host's parts (bus, config, http, metrics, workers). */
#include "host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "api_io.h"
#include <aion/auth.h>
#include "http.h"

/* ---- instance ---- */

static void api_set_data(aion_ctx *ctx, void *data) { ctx->data = data; }
static void *api_get_data(aion_ctx *ctx) { return ctx->data; }
static const char *api_instance_name(aion_ctx *ctx) { return ctx->conf->name; }
static const char *api_data_dir(aion_ctx *ctx) { return ctx->host->conf.data_dir; }

static void api_set_ready(aion_ctx *ctx, bool ready)
{
    ctx->ready_explicit = true;
    atomic_store(&ctx->ready, ready);
}

static void api_set_error(aion_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
    va_end(ap);
}

/* ---- logging ---- */

static void api_log(aion_ctx *ctx, aion_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_logv(level, ctx ? ctx->conf->name : NULL, fmt, ap);
    va_end(ap);
}

static void api_log_kv(aion_ctx *ctx, aion_log_level level, const char *msg, const char *const *kv)
{
    host_log_kv(level, ctx ? ctx->conf->name : NULL, msg, kv);
}

static bool api_log_enabled(aion_ctx *ctx, aion_log_level level)
{
    (void)ctx;
    return level >= host_log_get_level();
}

/* ---- config ---- */

static aion_config *api_cfg_root(aion_ctx *ctx) { return ctx->conf->config; }

/* The node for name in cfg, and the option (root only) for defaults. */
static const struct aion_config *lookup(aion_ctx *ctx, aion_config *cfg, const char *name,
                                        const aion_option **opt)
{
    aion_config *g = cfg ? cfg : ctx->conf->config;
    *opt = (g == ctx->conf->config && ctx->desc) ? host_option_find(ctx->desc->options, name) : NULL;
    return host_config_get(g, name);
}

static const char *api_cfg_string(aion_ctx *ctx, aion_config *cfg, const char *name)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (v)
        return v->kind == HOST_CFG_GROUP || v->kind == HOST_CFG_LIST ? NULL : v->text;
    return o ? o->default_value : NULL;
}

static int64_t api_cfg_int(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fb)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (v)
        return v->kind == HOST_CFG_INT ? v->ival : v->kind == HOST_CFG_FLOAT ? (int64_t)v->dval : fb;
    return o && o->default_value ? strtoll(o->default_value, NULL, 0) : fb;
}

static bool api_cfg_bool(aion_ctx *ctx, aion_config *cfg, const char *name, bool fb)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (v)
        return v->kind == HOST_CFG_BOOL ? v->bval : fb;
    if (o && o->default_value)
        return strcmp(o->default_value, "true") == 0;
    return fb;
}

static double api_cfg_double(aion_ctx *ctx, aion_config *cfg, const char *name, double fb)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (v)
        return v->kind == HOST_CFG_INT || v->kind == HOST_CFG_FLOAT ? v->dval : fb;
    return o && o->default_value ? strtod(o->default_value, NULL) : fb;
}

static int64_t api_cfg_duration_ms(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fb)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    int64_t out;
    if (v && v->kind == HOST_CFG_INT)
        return v->ival * 1000;
    const char *s = v && v->kind == HOST_CFG_STRING ? v->text : (!v && o ? o->default_value : NULL);
    return s && host_parse_duration_ms(s, &out) == 0 ? out : fb;
}

static int64_t api_cfg_size(aion_ctx *ctx, aion_config *cfg, const char *name, int64_t fb)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    int64_t out;
    if (v && v->kind == HOST_CFG_INT)
        return v->ival;
    const char *s = v && v->kind == HOST_CFG_STRING ? v->text : (!v && o ? o->default_value : NULL);
    return s && host_parse_size(s, &out) == 0 ? out : fb;
}

static size_t api_cfg_list_len(aion_ctx *ctx, aion_config *cfg, const char *name)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    return v && v->kind == HOST_CFG_LIST ? v->nchildren : 0;
}

static const char *api_cfg_list_string(aion_ctx *ctx, aion_config *cfg, const char *name, size_t i)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (!v || v->kind != HOST_CFG_LIST || i >= v->nchildren)
        return NULL;
    const struct aion_config *e = v->children[i];
    return e->kind == HOST_CFG_GROUP || e->kind == HOST_CFG_LIST ? NULL : e->text;
}

static aion_config *api_cfg_group(aion_ctx *ctx, aion_config *cfg, const char *name)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    return v && v->kind == HOST_CFG_GROUP ? (aion_config *)v : NULL;
}

static aion_config *api_cfg_list_group(aion_ctx *ctx, aion_config *cfg, const char *name, size_t i)
{
    const aion_option *o;
    const struct aion_config *v = lookup(ctx, cfg, name, &o);
    if (!v || v->kind != HOST_CFG_LIST || i >= v->nchildren)
        return NULL;
    return v->children[i]->kind == HOST_CFG_GROUP ? v->children[i] : NULL;
}

static size_t api_cfg_keys(aion_ctx *ctx, aion_config *cfg, const char ***keys)
{
    aion_config *g = cfg ? cfg : ctx->conf->config;
    if (!g || g->kind != HOST_CFG_GROUP) {
        *keys = NULL;
        return 0;
    }
    /* Built on first use; config is read on the main thread during init. */
    if (!g->keys && g->nchildren) {
        g->keys = calloc(g->nchildren, sizeof *g->keys);
        if (!g->keys) {
            *keys = NULL;
            return 0;
        }
        for (size_t i = 0; i < g->nchildren; i++)
            g->keys[i] = g->children[i]->name;
    }
    *keys = g->keys;
    return g->nchildren;
}

static const char *api_cfg_text(aion_ctx *ctx, aion_config *cfg, const char *name)
{
    return api_cfg_string(ctx, cfg, name);
}

static int api_config_error(aion_ctx *ctx, aion_config *cfg, const char *name, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    aion_config *g = cfg ? cfg : ctx->conf->config;
    const struct aion_config *v = name ? host_config_get(g, name) : NULL;
    const char *file = v ? v->file : g ? g->file : ctx->conf->file;
    int line = v ? v->line : g ? g->line : ctx->conf->line;
    if (ctx->diag) {
        host_diag_add(ctx->diag, file, line, "plugin %s: %s", ctx->conf->name, msg);
    } else {
        char full[1100];
        snprintf(full, sizeof full, "%s:%d: plugin %s: %s", file, line, ctx->conf->name, msg);
        host_log_kv(AION_LOG_ERROR, ctx->conf->name, full, NULL);
    }
    return -EINVAL;
}

/* ---- bus ---- */

static int api_subscribe(aion_ctx *ctx, const char *topic, aion_subscriber_fn fn, void *arg)
{
    return host_bus_subscribe(ctx->host->bus, topic, fn, arg, ctx);
}

static int api_publish(aion_ctx *ctx, const char *topic, aion_msg *msg, void *result)
{
    return host_bus_publish(ctx->host->bus, topic, msg, result);
}

static int api_service_register(aion_ctx *ctx, const char *name, uint32_t version,
                                const void *vtable, void *self)
{
    /* HTTP serves from before start(): an authenticator registered later
     * would leave the first requests unguarded */
    if (name && strcmp(name, AION_SERVICE_AUTHENTICATOR) == 0 && ctx->state != HOST_PLUGIN_LOADED) {
        host_log(AION_LOG_ERROR, ctx->conf->name,
                 "an authenticator must be registered in init(), before HTTP starts");
        return -EBUSY;
    }
    return host_bus_service_register(ctx->host->bus, name, version, vtable, self, ctx);
}

static size_t api_service_list(aion_ctx *ctx, const char *name, uint32_t version,
                               const void **vtables, void **selves, size_t max)
{
    return host_bus_service_list(ctx->host->bus, name, version, vtables, selves, max);
}

/* ---- metrics ---- */

static aion_metric *api_metric_new(aion_ctx *ctx, aion_metric_type type, const char *name,
                                   const char *help, const char *const *label_names,
                                   const double *buckets, size_t nbuckets)
{
    (void)ctx;
    return host_metric_new(type, name, help, label_names, buckets, nbuckets);
}

static int64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const aion_api the_api = {
    .abi_version = AION_ABI_VERSION,
    .size = sizeof(aion_api),
    .set_data = api_set_data,
    .get_data = api_get_data,
    .instance_name = api_instance_name,
    .data_dir = api_data_dir,
    .set_ready = api_set_ready,
    .set_error = api_set_error,
    .log = api_log,
    .log_kv = api_log_kv,
    .log_enabled = api_log_enabled,
    .cfg_root = api_cfg_root,
    .cfg_string = api_cfg_string,
    .cfg_int = api_cfg_int,
    .cfg_bool = api_cfg_bool,
    .cfg_double = api_cfg_double,
    .cfg_duration_ms = api_cfg_duration_ms,
    .cfg_size = api_cfg_size,
    .cfg_list_len = api_cfg_list_len,
    .cfg_list_string = api_cfg_list_string,
    .cfg_group = api_cfg_group,
    .cfg_list_group = api_cfg_list_group,
    .cfg_keys = api_cfg_keys,
    .cfg_text = api_cfg_text,
    .config_error = api_config_error,
    .msg_new = host_msg_new,
    .msg_ref = host_msg_ref,
    .msg_unref = host_msg_unref,
    .msg_type = host_msg_type,
    .msg_payload = host_msg_payload,
    .subscribe = api_subscribe,
    .publish = api_publish,
    .service_register = api_service_register,
    .service_list = api_service_list,
    API_IO_ENTRIES
    .metric_new = api_metric_new,
    .metric_add = host_metric_add,
    .metric_set = host_metric_set,
    .metric_observe = host_metric_observe,
    .metric_on_collect = host_metric_on_collect,
    .now_ms = api_now_ms,
};

const aion_api *host_api(void) { return &the_api; }
