/*
 * receive/http.c: POST /api/v1/receive (Thanos' path) and /api/v1/write
 * (Prometheus' path). Content negotiation as Prometheus' handler does it:
 * the Content-Type's proto parameter picks remote write 1.0 or 2.0 (none =
 * 1.0, unknown = 415), a Content-Encoding other than snappy is 415. The
 * tenant comes from an auth plugin's identity, else the tenant header, else
 * the default tenant. Status codes: docs/receive.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "content_type.h"
#include "receive.h"

#define api recv_api

/* Monotonic seconds: request durations are often below a millisecond. */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reply(recv *r, aion_http_req *req, int version, double t0, const recv_outcome *o)
{
    if (version == 2) {
        char n[32];
        snprintf(n, sizeof n, "%" PRIu64, o->samples_written);
        api->http_add_header(req, "X-Prometheus-Remote-Write-Samples-Written", n);
        api->http_add_header(req, "X-Prometheus-Remote-Write-Histograms-Written", "0");
        api->http_add_header(req, "X-Prometheus-Remote-Write-Exemplars-Written", "0");
    }
    if (o->status == 429 || o->status == 503)
        api->http_add_header(req, "Retry-After", "1");
    char code[8];
    snprintf(code, sizeof code, "%d", o->status);
    const char *lv[] = { code, NULL };
    api->metric_add(r->m_requests, lv, 1);
    api->metric_observe(r->m_duration, NULL, mono_s() - t0);
    if (o->status == 204 || o->status == 200)
        api->http_reply(req, o->status, NULL, NULL, 0);
    else
        api->http_reply_text(req, o->status, "%s", o->msg);
}

static void handle_write(aion_http_req *req, void *arg)
{
    recv *r = arg;
    double t0 = mono_s();
    recv_outcome o;
    memset(&o, 0, sizeof o);
    int version = recv_content_version(api->http_header(req, "Content-Type"));
    const char *enc = api->http_header(req, "Content-Encoding");
    if (!version) {
        o.status = 415;
        snprintf(o.msg, sizeof o.msg, "unsupported Content-Type \"%s\": want application/x-protobuf "
                 "(proto=prometheus.WriteRequest or proto=io.prometheus.write.v2.Request)",
                 api->http_header(req, "Content-Type"));
        reply(r, req, 0, t0, &o);
        return;
    }
    if (enc && *enc && strcasecmp(enc, "snappy") != 0) {
        o.status = 415;
        snprintf(o.msg, sizeof o.msg, "unsupported Content-Encoding \"%s\": want snappy", enc);
        reply(r, req, version, t0, &o);
        return;
    }
    if (!atomic_load(&r->ready)) {
        o.status = 503;
        snprintf(o.msg, sizeof o.msg, "receive is not ready (replaying the WAL)");
        reply(r, req, version, t0, &o);
        return;
    }
    const aion_identity *id = api->http_identity(req);
    const char *tenant = id && id->tenant && *id->tenant ? id->tenant : NULL;
    if (!tenant) {
        tenant = api->http_header(req, r->tenant_header);
        if (!tenant || !*tenant)
            tenant = r->default_tenant;
    }
    char err[256];
    if (recv_tenant_check(tenant, strlen(tenant), err, sizeof err) < 0) {
        o.status = 400;
        snprintf(o.msg, sizeof o.msg, "bad tenant: %s", err);
        reply(r, req, version, t0, &o);
        return;
    }
    size_t len = 0;
    const uint8_t *body = api->http_body(req, &len);
    recv_ingest(r, tenant, version, body, len, &o);
    if (o.status >= 400 && o.status != 409 && api->log_enabled(r->ctx, AION_LOG_DEBUG))
        api->log(r->ctx, AION_LOG_DEBUG, "tenant %s: %d %s", tenant, o.status, o.msg);
    reply(r, req, version, t0, &o);
}

int recv_http_register(recv *r)
{
    int rc = api->http_route(r->ctx, r->listener, AION_HTTP_POST, "/api/v1/receive", AION_ROUTE_WRITE, handle_write, r);
    if (rc == 0)
        rc = api->http_route(r->ctx, r->listener, AION_HTTP_POST, "/api/v1/write", AION_ROUTE_WRITE, handle_write, r);
    return rc;
}
