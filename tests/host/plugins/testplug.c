/*
 * testplug: a plugin for the host's tests, built several ways:
 *   tp_good      a normal plugin (options below)
 *   tp_provider  provides service "tpsvc"
 *   tp_requires  requires service "tpsvc"
 *   tp_noentry   lacks the entry symbol
 *   tp_badabi    declares ABI version 999
 * Every lifecycle call is appended to `trace_file` as "<call> <instance>".
 * With `metrics = true` it registers a counter, a gauge and a histogram
 * whose label values (and help texts) need escaping in the text format.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aion/plugin.h>

static const aion_api *api;

struct tp {
    aion_ctx *ctx;
    const char *trace;
    const char *name;
    const char *token;
    _Atomic long writes;
    _Atomic long ticks;
    aion_timer *timer;
    int reloads;
    aion_metric *m_requests, *m_duration;   /* NULL unless `metrics` */
};

/* Label values with every character the text format must escape. */
#define TP_AWKWARD "say \"hi\" \\ back\\slash\nline 2"

static void trace(struct tp *t, const char *what)
{
    if (!t->trace)
        return;
    FILE *f = fopen(t->trace, "a");
    if (f) {
        fprintf(f, "%s %s\n", what, t->name);
        fclose(f);
    }
}

static int on_write(const char *topic, aion_msg *msg, void *result, void *arg)
{
    struct tp *t = arg;
    (void)topic;
    const aion_write_batch *b = api->msg_payload(msg);
    atomic_fetch_add(&t->writes, (long)b->nseries);
    aion_write_result *r = result;
    if (r)
        for (size_t i = 0; i < b->nseries; i++)
            r->samples_stored += b->series[i].nsamples;
    return 0;
}

static void handle(aion_http_req *req, void *arg)
{
    struct tp *t = arg;
    const aion_identity *id = api->http_identity(req);
    if (t->m_requests) {
        const char *v[] = { t->name, TP_AWKWARD, NULL };
        api->metric_add(t->m_requests, v, 1);
        const char *hv[] = { api->http_path(req), NULL };
        api->metric_observe(t->m_duration, hv, 0.042);
    }
    api->http_reply_text(req, 200, "%s writes=%ld ticks=%ld reloads=%d tenant=%s", t->name,
                         atomic_load(&t->writes), atomic_load(&t->ticks), t->reloads,
                         id->tenant ? id->tenant : "-");
}

/* POST /tp/<name>/write: publishes one series with one sample per body
 * byte on the write topic and answers with what the subscribers stored. */
static void handle_write(aion_http_req *req, void *arg)
{
    struct tp *t = arg;
    size_t len;
    api->http_body(req, &len);
    aion_sample *samples = calloc(len ? len : 1, sizeof *samples);
    if (!samples) {
        api->http_reply_text(req, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < len; i++)
        samples[i] = (aion_sample){ (int64_t)i, (double)i };
    aion_label l = { "__name__", "tp_test", 8, 7 };
    aion_series s = { &l, 1, samples, (uint32_t)len };
    aion_write_batch b = { "default-tenant", &s, 1 };
    aion_msg *m = api->msg_new(AION_MSG_WRITE_V1, &b, NULL, NULL);
    aion_write_result r = { 0 };
    int rc = m ? api->publish(t->ctx, AION_TOPIC_WRITE, m, &r) : -ENOMEM;
    api->msg_unref(m);
    free(samples);
    if (rc != 0)
        api->http_reply_text(req, 500, "publish failed: %d", rc);
    else
        api->http_reply_text(req, 200, "stored=%llu", (unsigned long long)r.samples_stored);
}

/* Middleware: with require_token set, requests need "Authorization: Bearer
 * <token>"; accepted ones get tenant "t-<instance>". */
static int auth_mw(aion_http_req *req, void *arg)
{
    struct tp *t = arg;
    const char *h = api->http_header(req, "authorization");
    char want[256];
    snprintf(want, sizeof want, "Bearer %s", t->token);
    if (!h || strcmp(h, want) != 0) {
        api->http_add_header(req, "WWW-Authenticate", "Bearer");
        api->http_reply_text(req, 401, "missing or wrong bearer token");
        return 1;
    }
    char tenant[128];
    snprintf(tenant, sizeof tenant, "t-%s", t->name);
    api->http_set_identity(req, "tester", tenant, AION_SCOPE_READ | AION_SCOPE_WRITE);
    return 0;
}

static void tick(void *arg)
{
    struct tp *t = arg;
    atomic_fetch_add(&t->ticks, 1);
}

static int tp_init(aion_ctx *ctx)
{
    api = aion_api_get(ctx);
    struct tp *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->ctx = ctx;
    api->set_data(ctx, t);
    t->trace = api->cfg_string(ctx, NULL, "trace_file");
    t->name = api->instance_name(ctx);
    trace(t, "init");
    if (api->cfg_bool(ctx, NULL, "fail_init", false)) {
        api->set_error(ctx, "told to fail by fail_init");
        return -EINVAL;
    }
    char path[256];
    snprintf(path, sizeof path, "/tp/%s", t->name);
    int rc = api->http_route(ctx, NULL, AION_HTTP_GET, path, 0, handle, t);
    snprintf(path, sizeof path, "/tp/%s/write", t->name);
    if (rc == 0)
        rc = api->http_route(ctx, NULL, AION_HTTP_POST, path, 0, handle_write, t);
    if (rc == 0)
        rc = api->subscribe(ctx, AION_TOPIC_WRITE, on_write, t);
    if (rc == 0 && api->cfg_bool(ctx, NULL, "metrics", false)) {
        static const char *const rl[] = { "instance", "note", NULL };
        static const char *const gl[] = { "where", NULL };
        static const char *const hl[] = { "path", NULL };
        static const double bounds[] = { 0.01, 0.05, 0.1 };
        t->m_requests = api->metric_new(ctx, AION_METRIC_COUNTER, "tp_requests_total",
                                        "Requests to the test plugin, with a \\ backslash\nand a newline.",
                                        rl, NULL, 0);
        aion_metric *g = api->metric_new(ctx, AION_METRIC_GAUGE, "tp_temperature_celsius",
                                         "A gauge with \"quotes\" in its help.", gl, NULL, 0);
        t->m_duration = api->metric_new(ctx, AION_METRIC_HISTOGRAM, "tp_request_duration_seconds",
                                        "Made-up request durations.", hl, bounds, 3);
        if (!t->m_requests || !g || !t->m_duration)
            rc = -ENOMEM;
        else {
            const char *gv[] = { TP_AWKWARD, NULL };
            api->metric_set(g, gv, -3.5);
            const char *gv2[] = { "plain", NULL };
            api->metric_set(g, gv2, 21);
        }
    }
    t->token = api->cfg_string(ctx, NULL, "require_token");
    if (rc == 0 && t->token)
        rc = api->http_middleware(ctx, NULL, auth_mw, t);
#ifdef TP_PROVIDER
    static const int vtable = 42;
    if (rc == 0)
        rc = api->service_register(ctx, "tpsvc", 1, &vtable, t);
#endif
    return rc;
}

static int tp_start(aion_ctx *ctx)
{
    struct tp *t = api->get_data(ctx);
    trace(t, "start");
    int64_t every = api->cfg_duration_ms(ctx, NULL, "tick", 0);
    if (every > 0)
        t->timer = api->timer_add(ctx, every, tick, t);
    if (api->cfg_bool(ctx, NULL, "not_ready", false))
        api->set_ready(ctx, false);
    return 0;
}

static int tp_stop(aion_ctx *ctx)
{
    struct tp *t = api->get_data(ctx);
    trace(t, "stop");
    int64_t slow = api->cfg_duration_ms(ctx, NULL, "slow_stop", 0);
    if (slow > 0) {
        struct timespec ts = { slow / 1000, (slow % 1000) * 1000000 };
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int tp_reload(aion_ctx *ctx)
{
    struct tp *t = api->get_data(ctx);
    t->reloads++;
    trace(t, "reload");
    return 0;
}

static void tp_destroy(aion_ctx *ctx)
{
    struct tp *t = api->get_data(ctx);
    if (!t)
        return;
    trace(t, "destroy");
    free(t);
}

static int tp_check(aion_ctx *ctx)
{
    api = aion_api_get(ctx);   /* check_config runs before init */
    int64_t n = api->cfg_int(ctx, NULL, "answer", 42);
    if (n != 42)
        return api->config_error(ctx, NULL, "answer", "answer must be 42, not %lld", (long long)n);
    return 0;
}

static const aion_option tp_options[] = {
    { "trace_file", AION_OPT_STRING, NULL, "append lifecycle calls here", 0 },
    { "fail_init", AION_OPT_BOOL, "false", "make init fail", 0 },
    { "not_ready", AION_OPT_BOOL, "false", "report not ready after start", 0 },
    { "tick", AION_OPT_DURATION, "0", "timer interval", 0 },
    { "slow_stop", AION_OPT_DURATION, "0", "sleep this long in stop", 0 },
    { "answer", AION_OPT_INT, "42", "must be 42 (check_config)", 0 },
    { "metrics", AION_OPT_BOOL, "false", "register test metrics with awkward label values", 0 },
    { "size", AION_OPT_SIZE, "1MiB", "a size", 0 },
    { "tags", AION_OPT_STRING_LIST, NULL, "a list", 0 },
    { "require_token", AION_OPT_STRING, NULL, "middleware: require this bearer token", AION_OPT_SECRET },
    AION_OPTION_END
};

#ifdef TP_PROVIDER
static const char *const tp_provides[] = { "tpsvc", NULL };
#endif
#ifdef TP_REQUIRES
static const char *const tp_requires[] = { "tpsvc", NULL };
#endif

static const aion_plugin tp_plugin = {
#ifdef TP_BADABI
    .abi_version = 999,
#else
    .abi_version = AION_ABI_VERSION,
#endif
    .name = "testplug",
    .version = "0.0.1",
    .description = "plugin for host tests",
    .options = tp_options,
#ifdef TP_PROVIDER
    .provides = tp_provides,
#endif
#ifdef TP_REQUIRES
    .requires = tp_requires,
#endif
    .init = tp_init,
    .start = tp_start,
    .stop = tp_stop,
    .destroy = tp_destroy,
    .reload = tp_reload,
    .check_config = tp_check,
};

#ifndef TP_NOENTRY
AION_PLUGIN_DEFINE(tp_plugin)
#else
AION_EXPORT const aion_plugin *not_the_entry(void);
AION_EXPORT const aion_plugin *not_the_entry(void) { return &tp_plugin; }
#endif
