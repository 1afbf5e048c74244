/* host/api_io.h: the aion_api entries backed by the HTTP server and the
 * worker pool (api_io.c), kept apart from api.c so each stays small. */
#ifndef AION_HOST_API_IO_H
#define AION_HOST_API_IO_H

#include <aion/plugin.h>

struct host;

int api_http_route(aion_ctx *ctx, const char *listener, unsigned methods, const char *path,
                   int flags, aion_http_handler handler, void *arg);
int api_http_middleware(aion_ctx *ctx, const char *listener, aion_http_middleware fn, void *arg);
aion_timer *api_timer_add(aion_ctx *ctx, int64_t interval_ms, aion_work_fn fn, void *arg);
void api_timer_cancel(aion_timer *t);
int api_work_submit(aion_ctx *ctx, aion_work_fn fn, void *arg);

/* Tells api_timer_cancel which host's plugins to search. */
void host_io_bind(struct host *h);

/* Cancels every timer the plugin still has (before its stop). */
void host_io_cancel_timers(struct host *h, aion_ctx *ctx);

#define API_IO_ENTRIES                              \
    .http_route = api_http_route,                   \
    .http_middleware = api_http_middleware,         \
    .http_method = host_http_method,                \
    .http_path = host_http_path,                    \
    .http_query = host_http_query,                  \
    .http_query_all = host_http_query_all,          \
    .http_header = host_http_header,                \
    .http_body = host_http_body,                    \
    .http_remote_addr = host_http_remote_addr,      \
    .http_identity = host_http_identity,            \
    .http_set_identity = host_http_set_identity,    \
    .http_add_header = host_http_add_header,        \
    .http_reply = host_http_reply,                  \
    .http_reply_take = host_http_reply_take,        \
    .http_reply_text = host_http_reply_text,        \
    .timer_add = api_timer_add,                     \
    .timer_cancel = api_timer_cancel,               \
    .work_submit = api_work_submit,

#endif
