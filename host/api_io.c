/* aion_api entries for HTTP, timers and work items. Timers are recorded per
 * plugin so the host can cancel them before the plugin's stop(). */
#include "api_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "workers.h"

int api_http_route(aion_ctx *ctx, const char *listener, unsigned methods, const char *path,
                   int flags, aion_http_handler handler, void *arg)
{
    return host_http_route(listener, methods, path, flags, handler, arg, ctx->conf->name);
}

int api_http_middleware(aion_ctx *ctx, const char *listener, aion_http_middleware fn, void *arg)
{
    return host_http_middleware(listener, fn, arg, ctx->conf->name);
}

/* A timer handle given to plugins: remembers its owner for cancel. */
struct ptimer {
    aion_timer *t;
    aion_ctx *ctx;
};

aion_timer *api_timer_add(aion_ctx *ctx, int64_t interval_ms, aion_work_fn fn, void *arg)
{
    aion_timer *t = host_timer_add(interval_ms, fn, arg);
    if (!t)
        return NULL;
    pthread_mutex_lock(&ctx->timers_mu);
    aion_timer **nt = realloc(ctx->timers, (ctx->ntimers + 1) * sizeof *nt);
    if (!nt) {
        pthread_mutex_unlock(&ctx->timers_mu);
        host_timer_cancel(t);
        return NULL;
    }
    ctx->timers = nt;
    ctx->timers[ctx->ntimers++] = t;
    pthread_mutex_unlock(&ctx->timers_mu);
    return t;
}

/* The plugin cancels its own timer: forget it in whichever ctx holds it. */
static struct host *g_host;

void host_io_bind(struct host *h) { g_host = h; }

void api_timer_cancel(aion_timer *t)
{
    if (!t)
        return;
    struct host *h = g_host;
    for (size_t i = 0; h && i < h->nplugins; i++) {
        aion_ctx *ctx = h->plugins[i];
        pthread_mutex_lock(&ctx->timers_mu);
        for (size_t k = 0; k < ctx->ntimers; k++)
            if (ctx->timers[k] == t) {
                ctx->timers[k] = ctx->timers[--ctx->ntimers];
                break;
            }
        pthread_mutex_unlock(&ctx->timers_mu);
    }
    host_timer_cancel(t);
}

void host_io_cancel_timers(struct host *h, aion_ctx *ctx)
{
    (void)h;
    pthread_mutex_lock(&ctx->timers_mu);
    aion_timer **ts = ctx->timers;
    size_t n = ctx->ntimers;
    ctx->timers = NULL;
    ctx->ntimers = 0;
    pthread_mutex_unlock(&ctx->timers_mu);
    for (size_t i = 0; i < n; i++)
        host_timer_cancel(ts[i]);
    free(ts);
}

int api_work_submit(aion_ctx *ctx, aion_work_fn fn, void *arg)
{
    (void)ctx;
    return host_work_submit(fn, arg);
}
