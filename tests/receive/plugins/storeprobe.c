/*
 * storeprobe: a test plugin that reads through every "store" service
 * provider and prints what it gets, so tests can check receive's store
 * service over HTTP:
 *   GET /probe/info                         name, kind, external labels, mint/maxt per store
 *   GET /probe/select?m=NAME=VALUE[&m=NAME=~RE][&tenant=T]
 *                                           one line per series: labels then t:v samples
 *   GET /probe/values?name=N[&tenant=T]     label values, one per line
 *   GET /probe/names[?tenant=T]             label names, one per line
 *   POST /probe/publish?tenant=T            publishes on the write topic, as federate
 *                                           would: {__name__="pub", n="i"} i=0..2 with
 *                                           samples t=1000*(k+1), and one series with
 *                                           unsorted labels; prints the aion_write_result
 * It also provides an authenticator: a request with "X-Test-Identity: T"
 * gets an identity bound to tenant T (as an auth plugin would attach).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aion/plugin.h>

static const aion_api *api;

typedef struct out {
    char *p;
    size_t n, cap;
} out;

static void put(out *o, const char *fmt, ...) AION_PRINTF(2, 3);
static void put(out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[4096];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k >= sizeof tmp)
        k = sizeof tmp - 1;
    if (o->n + (size_t)k + 1 > o->cap) {
        o->cap = (o->n + (size_t)k + 1) * 2;
        o->p = realloc(o->p, o->cap);
    }
    memcpy(o->p + o->n, tmp, (size_t)k);
    o->n += (size_t)k;
}

static size_t stores(aion_ctx *ctx, const aion_store_vtable **vt, void **self, size_t max)
{
    return api->service_list(ctx, AION_SERVICE_STORE, AION_STORE_VERSION, (const void **)vt, self, max);
}

static void h_info(aion_http_req *req, void *arg)
{
    aion_ctx *ctx = arg;
    const aion_store_vtable *vt[8];
    void *self[8];
    size_t n = stores(ctx, vt, self, 8);
    out o = { 0 };
    put(&o, "stores=%zu\n", n);
    for (size_t i = 0; i < n && i < 8; i++) {
        aion_store_info info;
        vt[i]->info(self[i], &info);
        put(&o, "name=%s kind=%s healthy=%d mint=%" PRId64 " maxt=%" PRId64 " labels=", info.name, info.kind,
            info.healthy, info.mint, info.maxt);
        for (size_t k = 0; k < info.n_external_labels; k++)
            put(&o, "%.*s=%.*s,", (int)info.external_labels[k].name_len, info.external_labels[k].name,
                (int)info.external_labels[k].value_len, info.external_labels[k].value);
        put(&o, "\n");
    }
    api->http_reply_take(req, 200, "text/plain", o.p, o.n);
}

static void h_select(aion_http_req *req, void *arg)
{
    aion_ctx *ctx = arg;
    const char **ms;
    size_t nm = api->http_query_all(req, "m", &ms);
    aion_matcher m[16];
    char buf[16][256];
    if (nm > 16)
        nm = 16;
    for (size_t i = 0; i < nm; i++) {
        snprintf(buf[i], sizeof buf[i], "%s", ms[i]);
        char *op = strpbrk(buf[i], "=!");
        if (!op) {
            api->http_reply_text(req, 400, "bad matcher %s", ms[i]);
            return;
        }
        m[i].name = buf[i];
        if (op[0] == '=' && op[1] == '~') {
            m[i].type = AION_MATCH_RE;
            m[i].value = op + 2;
        } else if (op[0] == '!' && op[1] == '=') {
            m[i].type = AION_MATCH_NEQ;
            m[i].value = op + 2;
        } else if (op[0] == '!' && op[1] == '~') {
            m[i].type = AION_MATCH_NRE;
            m[i].value = op + 2;
        } else {
            m[i].type = AION_MATCH_EQ;
            m[i].value = op + 1;
        }
        *op = '\0';
    }
    const char *tenant = api->http_query(req, "tenant");
    const aion_store_vtable *vt[8];
    void *self[8];
    size_t n = stores(ctx, vt, self, 8);
    out o = { 0 };
    put(&o, "%s", "");
    for (size_t i = 0; i < n && i < 8; i++) {
        aion_series_set *ss;
        char err[256];
        aion_select_hints h = { .start = INT64_MIN / 2, .end = INT64_MAX / 2 };
        if (vt[i]->select(self[i], tenant, m, nm, INT64_MIN / 2, INT64_MAX / 2, &h, &ss, err, sizeof err) < 0) {
            free(o.p);
            api->http_reply_text(req, 500, "select: %s", err);
            return;
        }
        int rc;
        while ((rc = ss->ops->next(ss)) == 1) {
            size_t nl, ns;
            const aion_label *ls = ss->ops->labels(ss, &nl);
            put(&o, "{");
            for (size_t k = 0; k < nl; k++)
                put(&o, "%s%.*s=\"%.*s\"", k ? ", " : "", (int)ls[k].name_len, ls[k].name, (int)ls[k].value_len,
                    ls[k].value);
            put(&o, "}");
            const aion_sample *sm;
            if (ss->ops->samples(ss, &sm, &ns) == 0)
                for (size_t k = 0; k < ns; k++)
                    put(&o, " %" PRId64 ":%g", sm[k].t, sm[k].v);
            put(&o, "\n");
        }
        if (rc < 0)
            put(&o, "error: %s\n", ss->ops->error(ss));
        ss->ops->free(ss);
    }
    api->http_reply_take(req, 200, "text/plain", o.p, o.n);
}

static void h_strings(aion_http_req *req, void *arg)
{
    aion_ctx *ctx = arg;
    bool values = strcmp(api->http_path(req), "/probe/values") == 0;
    const char *tenant = api->http_query(req, "tenant"), *name = api->http_query(req, "name");
    const aion_store_vtable *vt[8];
    void *self[8];
    size_t n = stores(ctx, vt, self, 8);
    out o = { 0 };
    put(&o, "%s", "");
    for (size_t i = 0; i < n && i < 8; i++) {
        char **s = NULL, err[256];
        size_t ns = 0;
        int rc = values ? vt[i]->label_values(self[i], tenant, name ? name : "", NULL, 0, INT64_MIN / 2,
                                              INT64_MAX / 2, &s, &ns, err, sizeof err)
                        : vt[i]->label_names(self[i], tenant, NULL, 0, INT64_MIN / 2, INT64_MAX / 2, &s, &ns,
                                             err, sizeof err);
        if (rc < 0) {
            put(&o, "error: %s\n", err);
            continue;
        }
        for (size_t k = 0; k < ns; k++)
            put(&o, "%s\n", s[k]);
        vt[i]->free_strings(self[i], s, ns);
    }
    api->http_reply_take(req, 200, "text/plain", o.p, o.n);
}

static void h_publish(aion_http_req *req, void *arg)
{
    aion_ctx *ctx = arg;
    const char *tenant = api->http_query(req, "tenant");
    const char *tq = api->http_query(req, "t0");
    int64_t t0 = tq ? strtoll(tq, NULL, 10) : 1000;
    static const char *nv[] = { "0", "1", "2" };
    aion_label ls[4][2];
    aion_sample sm[4][3];
    aion_series series[4];
    for (int i = 0; i < 3; i++) {
        ls[i][0] = (aion_label){ "__name__", "pub", 8, 3 };
        ls[i][1] = (aion_label){ "n", nv[i], 1, 1 };
        for (int k = 0; k < 3; k++)
            sm[i][k] = (aion_sample){ t0 + 1000 * k, i * 10 + k };
        series[i] = (aion_series){ ls[i], 2, sm[i], 3 };
    }
    /* not a valid label set: names out of order */
    ls[3][0] = (aion_label){ "z", "1", 1, 1 };
    ls[3][1] = (aion_label){ "a", "2", 1, 1 };
    sm[3][0] = (aion_sample){ t0, 1 };
    series[3] = (aion_series){ ls[3], 2, sm[3], 1 };
    aion_write_batch b = { tenant ? tenant : "default-tenant", series, 4 };
    aion_msg *m = api->msg_new(AION_MSG_WRITE_V1, &b, NULL, NULL);
    aion_write_result r;
    memset(&r, 0, sizeof r);
    int rc = m ? api->publish(ctx, AION_TOPIC_WRITE, m, &r) : -ENOMEM;
    api->msg_unref(m);
    api->http_reply_text(req, 200, "rc=%d status=%d stored=%llu refused=%llu msg=%s", rc, r.status,
                         (unsigned long long)r.samples_stored, (unsigned long long)r.series_refused, r.message);
}

/* An authenticator provider (aion/auth.h), as an auth plugin would be:
 * "X-Test-Identity: T" is an identity bound to tenant T with read and write
 * scopes ("X-Test-Scopes: read" = read only); no header: abstain. */
static aion_auth_decision probe_auth(void *self, const aion_auth_request *req, aion_auth_result *out)
{
    (void)self;
    const char *t = req->header(req, "X-Test-Identity");
    if (!t || !*t)
        return AION_AUTH_ABSTAIN;
    const char *sc = req->header(req, "X-Test-Scopes");
    snprintf(out->subject, sizeof out->subject, "tester");
    snprintf(out->tenant, sizeof out->tenant, "%s", t);
    out->scopes = sc && strcmp(sc, "read") == 0 ? AION_SCOPE_READ : AION_SCOPE_READ | AION_SCOPE_WRITE;
    return AION_AUTH_ALLOW;
}

static const aion_authenticator_vtable probe_auth_vt = { probe_auth };

static int probe_init(aion_ctx *ctx)
{
    api = aion_api_get(ctx);
    int rc = api->http_route(ctx, NULL, AION_HTTP_GET, "/probe/info", 0, h_info, ctx);
    if (rc == 0)
        rc = api->http_route(ctx, NULL, AION_HTTP_GET, "/probe/select", 0, h_select, ctx);
    if (rc == 0)
        rc = api->http_route(ctx, NULL, AION_HTTP_GET, "/probe/values", 0, h_strings, ctx);
    if (rc == 0)
        rc = api->http_route(ctx, NULL, AION_HTTP_GET, "/probe/names", 0, h_strings, ctx);
    if (rc == 0)
        rc = api->http_route(ctx, NULL, AION_HTTP_POST, "/probe/publish", 0, h_publish, ctx);
    if (rc == 0)
        rc = api->service_register(ctx, AION_SERVICE_AUTHENTICATOR, AION_AUTHENTICATOR_VERSION,
                                   &probe_auth_vt, NULL);
    return rc;
}

static const aion_plugin probe_plugin = {
    .abi_version = AION_ABI_VERSION,
    .name = "storeprobe",
    .version = "0.0.1",
    .description = "receive tests: reads every store service over HTTP",
    .init = probe_init,
};

AION_PLUGIN_DEFINE(probe_plugin)
