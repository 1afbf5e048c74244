/* tests/host/test_http_auth.c: the "authenticator" service (aion/auth.h)
 * over real sockets: providers registered on a real bus and found through
 * host_plugins_init's wiring; first non-abstaining provider decides; 401
 * with challenge, 403, identity attached before middleware, route scope
 * flags enforced for identities only, NO_AUTH routes skip providers. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <aion/auth.h>

#include "bus.h"
#include "host.h"
#include "test_http_util.h"

static char resp[65536];
static int port;
static host h;
static atomic_int calls_a, calls_b;

/* A: guards /g/ only; knows tokens w (write), r (read), forbidden (403);
 * no header: 401 with a challenge; any other token: abstains for B. */
static aion_auth_decision auth_a(void *self, const aion_auth_request *req, aion_auth_result *out)
{
    assert_ptr_equal(self, &calls_a);
    atomic_fetch_add(&calls_a, 1);
    if (strncmp(req->path, "/g/", 3) != 0)
        return AION_AUTH_ABSTAIN;
    assert_string_equal(req->listener, "main");
    assert_non_null(req->remote_addr);
    const char *a = req->header(req, "authorization");
    if (!a) {
        out->status = 401;
        snprintf(out->message, sizeof out->message, "missing bearer token");
        snprintf(out->challenge, sizeof out->challenge, "Bearer realm=\"aion\"");
        return AION_AUTH_DENY;
    }
    if (strcmp(a, "Bearer w") == 0 || strcmp(a, "Bearer r") == 0) {
        bool w = a[7] == 'w';
        snprintf(out->subject, sizeof out->subject, "%s", w ? "writer" : "reader");
        snprintf(out->tenant, sizeof out->tenant, "t1");
        out->scopes = w ? AION_SCOPE_WRITE : AION_SCOPE_READ;
        /* the route's needs are passed on */
        if (strcmp(req->path, "/g/write") == 0)
            assert_int_equal(req->route_scopes, AION_SCOPE_WRITE);
        return AION_AUTH_ALLOW;
    }
    if (strcmp(a, "Bearer forbidden") == 0) {
        out->status = 403;
        snprintf(out->message, sizeof out->message, "token revoked");
        return AION_AUTH_DENY;
    }
    return AION_AUTH_ABSTAIN;
}

/* B: any request with a token: b is bob (read+write, no tenant), else 401
 * without a challenge; no token: abstains. */
static aion_auth_decision auth_b(void *self, const aion_auth_request *req, aion_auth_result *out)
{
    assert_ptr_equal(self, &calls_b);
    atomic_fetch_add(&calls_b, 1);
    const char *a = req->header(req, "Authorization");
    if (!a)
        return AION_AUTH_ABSTAIN;
    if (strcmp(a, "Bearer b") == 0) {
        snprintf(out->subject, sizeof out->subject, "bob");
        out->scopes = AION_SCOPE_READ | AION_SCOPE_WRITE;
        return AION_AUTH_ALLOW;
    }
    out->status = 401;
    snprintf(out->message, sizeof out->message, "invalid token");
    return AION_AUTH_DENY;
}

static const aion_authenticator_vtable vt_a = { auth_a };
static const aion_authenticator_vtable vt_b = { auth_b };

static void h_identity(aion_http_req *req, void *arg)
{
    (void)arg;
    const aion_identity *id = host_http_identity(req);
    host_http_reply_text(req, 200, "subject=%s tenant=%s scopes=%u",
                         id->subject ? id->subject : "(anon)", id->tenant ? id->tenant : "(none)",
                         id->scopes);
}

/* middleware runs after the providers and sees their identity */
static int mw_echo(aion_http_req *req, void *arg)
{
    (void)arg;
    if (!host_http_header(req, "X-Mw"))
        return 0;
    const aion_identity *id = host_http_identity(req);
    host_http_reply_text(req, 299, "mw saw %s", id->subject ? id->subject : "(anon)");
    return 1;
}

static void register_routes(void)
{
    h.bus = host_bus_new();
    assert_non_null(h.bus);
    assert_int_equal(host_plugins_init(&h), 0); /* no plugins: wires the bus only */
    assert_int_equal(host_bus_service_register(h.bus, AION_SERVICE_AUTHENTICATOR, AION_AUTHENTICATOR_VERSION,
                                               &vt_a, &calls_a, &vt_a), 0);
    /* another version is not listed */
    assert_int_equal(host_bus_service_register(h.bus, AION_SERVICE_AUTHENTICATOR, 99, &vt_a, NULL, &vt_a), 0);
    assert_int_equal(host_bus_service_register(h.bus, AION_SERVICE_AUTHENTICATOR, AION_AUTHENTICATOR_VERSION,
                                               &vt_b, &calls_b, &vt_b), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_POST | AION_HTTP_GET, "/g/write", AION_ROUTE_WRITE,
                                     h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/g/read", AION_ROUTE_READ, h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/anonwrite", AION_ROUTE_WRITE, h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/g/open", AION_ROUTE_NO_AUTH, h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_middleware(NULL, mw_echo, NULL, "echo"), 0);
}

static int get(const char *path, const char *auth, const char *extra)
{
    char raw[512];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%s%sConnection: close\r\n\r\n", path,
             auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "", extra ? extra : "");
    return th_roundtrip(port, raw, resp, sizeof resp);
}

static void test_decisions(void **state)
{
    (void)state;
    /* no token on a guarded path: A denies with a challenge */
    assert_int_equal(get("/g/write", NULL, NULL), 401);
    assert_non_null(strstr(resp, "WWW-Authenticate: Bearer realm=\"aion\"\r\n"));
    assert_string_equal(th_body(resp), "missing bearer token\n");
    /* A allows; the identity reaches the handler */
    assert_int_equal(get("/g/write", "Bearer w", NULL), 200);
    assert_string_equal(th_body(resp), "subject=writer tenant=t1 scopes=2\n");
    /* a read token on a write route: 403 naming the scope */
    assert_int_equal(get("/g/write", "Bearer r", NULL), 403);
    assert_non_null(strstr(th_body(resp), "identity 'reader' lacks the write scope"));
    assert_int_equal(get("/g/read", "Bearer r", NULL), 200);
    assert_string_equal(th_body(resp), "subject=reader tenant=t1 scopes=1\n");
    /* A denies 403, B is not asked */
    int b0 = atomic_load(&calls_b);
    assert_int_equal(get("/g/read", "Bearer forbidden", NULL), 403);
    assert_string_equal(th_body(resp), "token revoked\n");
    assert_int_equal(atomic_load(&calls_b), b0);
    /* A abstains, B decides */
    assert_int_equal(get("/g/read", "Bearer b", NULL), 200);
    assert_string_equal(th_body(resp), "subject=bob tenant=(none) scopes=3\n");
    assert_int_equal(get("/g/read", "Bearer zzz", NULL), 401);
    assert_string_equal(th_body(resp), "invalid token\n");
    assert_null(strstr(resp, "WWW-Authenticate"));
    /* everyone abstains: anonymous, scope flags not enforced */
    assert_int_equal(get("/anonwrite", NULL, NULL), 200);
    assert_string_equal(th_body(resp), "subject=(anon) tenant=(none) scopes=0\n");
    /* middleware sees the identity; it runs after the providers */
    assert_int_equal(get("/g/read", "Bearer r", "X-Mw: 1\r\n"), 299);
    assert_string_equal(th_body(resp), "mw saw reader\n");
    assert_int_equal(get("/g/read", NULL, "X-Mw: 1\r\n"), 401);
    /* NO_AUTH: no provider is called */
    int a0 = atomic_load(&calls_a);
    b0 = atomic_load(&calls_b);
    assert_int_equal(get("/g/open", "Bearer forbidden", NULL), 200);
    assert_int_equal(atomic_load(&calls_a), a0);
    assert_int_equal(atomic_load(&calls_b), b0);
}

static int setup(void **state)
{
    (void)state;
    port = th_start(NULL, register_routes);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_stop();
    host_bus_free(h.bus);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decisions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
