/* Plugin instances through their lifecycle: prepare (load + validate +
 * order), init, start, stop (reverse), destroy. */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "api_io.h"
#include "http.h"
#include <aion/auth.h>

int host_plugins_prepare(host *h, bool check_only)
{
    int rc = 0;
    size_t n = 0;
    for (size_t i = 0; i < h->conf.nplugins; i++)
        n += h->conf.plugins[i].enabled;
    h->plugins = calloc(n ? n : 1, sizeof *h->plugins);
    if (!h->plugins)
        return -ENOMEM;
    for (size_t i = 0; i < h->conf.nplugins; i++) {
        host_plugin_conf *pc = &h->conf.plugins[i];
        if (!pc->enabled)
            continue;
        aion_ctx *ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return -ENOMEM;
        ctx->api = host_api();
        pthread_mutex_init(&ctx->timers_mu, NULL);
        ctx->host = h;
        ctx->conf = pc;
        h->plugins[h->nplugins++] = ctx;
        if (host_plugin_load(ctx, h->plugin_dir, &h->diag) != 0) {
            rc = -1;
            continue;
        }
        if (host_config_validate(pc->config, ctx->desc->options, pc->name, &h->diag) > 0)
            rc = -1;
        if (check_only && ctx->desc->check_config) {
            ctx->diag = &h->diag;
            size_t before = h->diag.n;
            if (ctx->desc->check_config(ctx) != 0) {
                if (h->diag.n == before)
                    host_diag_add(&h->diag, pc->file, pc->line, "plugin %s: invalid configuration%s%s",
                                  pc->name, ctx->error[0] ? ": " : "", ctx->error);
                rc = -1;
            }
            ctx->diag = NULL;
        }
    }
    if (rc == 0 && host_plugins_order(h->plugins, h->nplugins, &h->diag) != 0)
        rc = -1;
    return rc;
}

static size_t bus_authenticators(void *bus, const void **vtables, void **selves, size_t max)
{
    return host_bus_service_list(bus, AION_SERVICE_AUTHENTICATOR, AION_AUTHENTICATOR_VERSION,
                                 vtables, selves, max);
}

int host_plugins_init(host *h)
{
    /* before any plugin can register one, and before HTTP starts */
    host_http_set_auth_source(bus_authenticators, h->bus);
    for (size_t i = 0; i < h->nplugins; i++) {
        aion_ctx *ctx = h->plugins[i];
        ctx->diag = &h->diag;
        size_t before = h->diag.n;
        int rc = 0;
        if (ctx->desc->check_config)
            rc = ctx->desc->check_config(ctx);
        if (rc == 0) {
            ctx->init_called = true;
            rc = ctx->desc->init(ctx);
        }
        ctx->diag = NULL;
        if (rc != 0) {
            if (h->diag.n == before)
                host_diag_add(&h->diag, ctx->conf->file, ctx->conf->line,
                              "plugin %s (%s): init failed: %s", ctx->conf->name, ctx->so_path,
                              ctx->error[0] ? ctx->error : strerror(rc < 0 ? -rc : EINVAL));
            return -1;
        }
        ctx->state = HOST_PLUGIN_INITED;
        host_log(AION_LOG_DEBUG, ctx->conf->name, "initialized");
    }
    return 0;
}

int host_plugins_start(host *h)
{
    for (size_t i = 0; i < h->nplugins; i++) {
        aion_ctx *ctx = h->plugins[i];
        int rc = ctx->desc->start ? ctx->desc->start(ctx) : 0;
        if (rc != 0) {
            host_diag_add(&h->diag, ctx->conf->file, ctx->conf->line,
                          "plugin %s (%s): start failed: %s", ctx->conf->name, ctx->so_path,
                          ctx->error[0] ? ctx->error : strerror(rc < 0 ? -rc : EINVAL));
            return -1;
        }
        ctx->state = HOST_PLUGIN_STARTED;
        if (!ctx->ready_explicit)
            atomic_store(&ctx->ready, true);
        const char *kv[] = { "version", ctx->desc->version ? ctx->desc->version : "", "path",
                             ctx->so_path, NULL };
        host_log_kv(AION_LOG_INFO, ctx->conf->name, "started", kv);
    }
    return 0;
}

void host_plugins_stop(host *h)
{
    for (size_t i = h->nplugins; i-- > 0;) {
        aion_ctx *ctx = h->plugins[i];
        if (ctx->state != HOST_PLUGIN_STARTED)
            continue;
        host_io_cancel_timers(h, ctx);       /* no timer callback runs past this */
        host_bus_deactivate(h->bus, ctx);    /* no delivery reaches a stopped plugin */
        int rc = ctx->desc->stop ? ctx->desc->stop(ctx) : 0;
        ctx->state = HOST_PLUGIN_STOPPED;
        atomic_store(&ctx->ready, false);
        if (rc != 0)
            host_log(AION_LOG_WARN, ctx->conf->name, "stop returned %d", rc);
        else
            host_log(AION_LOG_INFO, ctx->conf->name, "stopped");
    }
}

void host_plugins_reload(host *h)
{
    for (size_t i = 0; i < h->nplugins; i++) {
        aion_ctx *ctx = h->plugins[i];
        if (ctx->state != HOST_PLUGIN_STARTED || !ctx->desc->reload)
            continue;
        int rc = ctx->desc->reload(ctx);
        if (rc != 0)
            host_log(AION_LOG_ERROR, ctx->conf->name, "reload failed: %s",
                     ctx->error[0] ? ctx->error : strerror(rc < 0 ? -rc : EINVAL));
        else
            host_log(AION_LOG_INFO, ctx->conf->name, "reloaded");
    }
}

void host_plugins_destroy(host *h)
{
    for (size_t i = h->nplugins; i-- > 0;) {
        aion_ctx *ctx = h->plugins[i];
        if (ctx->init_called && ctx->desc->destroy)
            ctx->desc->destroy(ctx);
        host_plugin_unload(ctx);
        free(ctx->timers);
        pthread_mutex_destroy(&ctx->timers_mu);
        free(ctx);
    }
    free(h->plugins);
    h->plugins = NULL;
    h->nplugins = 0;
}

bool host_plugins_ready(host *h, char *why, size_t whylen)
{
    for (size_t i = 0; i < h->nplugins; i++) {
        aion_ctx *ctx = h->plugins[i];
        if (ctx->state != HOST_PLUGIN_STARTED || !atomic_load(&ctx->ready)) {
            snprintf(why, whylen, "plugin %s is not ready", ctx->conf->name);
            return false;
        }
    }
    return true;
}
