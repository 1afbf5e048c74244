/* tests/host/test_http.c: routing, params, headers, middleware, body limit,
 * deferred and abandoned replies, keep-alive, metrics, over real sockets. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "log.h"
#include "metrics.h"
#include "test_http_util.h"

static char resp[65536];

/* ---- handlers ---- */

static void h_name(aion_http_req *req, void *arg)
{
    host_http_reply_text(req, 200, "%s %s", (const char *)arg, host_http_path(req));
}

static void h_params(aion_http_req *req, void *arg)
{
    (void)arg;
    const char **v = NULL;
    size_t n = host_http_query_all(req, "match[]", &v);
    char out[1024];
    int o = snprintf(out, sizeof(out), "n=%zu", n);
    for (size_t i = 0; i < n; i++)
        o += snprintf(out + o, sizeof(out) - (size_t)o, " [%s]", v[i]);
    const char *q = host_http_query(req, "query");
    snprintf(out + o, sizeof(out) - (size_t)o, " query=[%s] missing=%s", q ? q : "(null)",
             host_http_query(req, "nope") ? "no" : "yes");
    host_http_reply_text(req, 200, "%s", out);
}

static void h_headers(aion_http_req *req, void *arg)
{
    (void)arg;
    const char *v = host_http_header(req, "x-TeSt-HeAdEr");
    host_http_add_header(req, "X-Reply", "yes");
    host_http_add_header(req, "X-Bad", "a\r\nInjected: 1"); /* refused */
    size_t blen;
    const uint8_t *b = host_http_body(req, &blen);
    host_http_reply_text(req, 200, "hdr=[%s] body=%zu:%.*s remote=%s", v ? v : "(null)", blen,
                         (int)blen, (const char *)b, host_http_remote_addr(req));
}

static void h_identity(aion_http_req *req, void *arg)
{
    (void)arg;
    const aion_identity *id = host_http_identity(req);
    host_http_reply_text(req, 200, "subject=%s tenant=%s scopes=%u",
                         id->subject ? id->subject : "(anon)", id->tenant ? id->tenant : "(none)",
                         id->scopes);
}

static atomic_int mw_calls;

static int mw_auth(aion_http_req *req, void *arg)
{
    (void)arg;
    atomic_fetch_add(&mw_calls, 1);
    const char *a = host_http_header(req, "Authorization");
    if (!a || strcmp(a, "Bearer good") != 0) {
        host_http_add_header(req, "WWW-Authenticate", "Bearer");
        host_http_reply_text(req, 401, "unauthorized");
        return 1;
    }
    host_http_set_identity(req, "alice", "team-a", AION_SCOPE_READ | AION_SCOPE_WRITE);
    return 0;
}

static int mw_silent(aion_http_req *req, void *arg)
{
    (void)arg;
    /* a buggy middleware: stops without replying; the host answers 500 */
    return host_http_header(req, "X-Silent-Stop") ? 1 : 0;
}

static int mw_second(aion_http_req *req, void *arg)
{
    (void)arg;
    /* runs after mw_auth: sees its identity */
    const aion_identity *id = host_http_identity(req);
    return id->subject && strcmp(id->subject, "alice") == 0 ? 0 : (host_http_reply_text(req, 500, "order"), 1);
}

/* deferred reply from another thread */
static void *late_reply(void *arg)
{
    usleep(200 * 1000);
    host_http_reply(arg, 202, "application/json", "{\"late\":true}", 13);
    return NULL;
}

static void h_deferred(aion_http_req *req, void *arg)
{
    (void)arg;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_reply, req), 0);
    pthread_detach(t);
}

/* held request: replied by the test after the client went away */
static aion_http_req *_Atomic held;

static void h_hold(aion_http_req *req, void *arg)
{
    (void)arg;
    atomic_store(&held, req);
}

static void h_slow(aion_http_req *req, void *arg)
{
    usleep((useconds_t)(intptr_t)arg * 1000);
    host_http_reply_text(req, 200, "slept");
}

static pthread_t inline_thread;
static void h_inline(aion_http_req *req, void *arg)
{
    (void)arg;
    inline_thread = pthread_self();
    host_http_reply_text(req, 200, "inline");
}

static void register_routes(void)
{
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/a", 0, h_name, "exact-a", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_POST, "/a", 0, h_name, "post-a", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/a", 0, h_name, "dup", "test"), -EEXIST);
    assert_int_equal(host_http_route("nope", AION_HTTP_GET, "/x", 0, h_name, "x", "test"), -ENOENT);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/api/", AION_ROUTE_PREFIX, h_name, "api", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/api/v1/", AION_ROUTE_PREFIX, h_name, "apiv1", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/api/v1/exact", 0, h_name, "exact-v1", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_PUT, "/put-only", 0, h_name, "put", "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET | AION_HTTP_POST, "/params", 0, h_params, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_ANY, "/headers", 0, h_headers, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/deferred", 0, h_deferred, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/hold", AION_ROUTE_NO_AUTH, h_hold, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/slow", AION_ROUTE_NO_AUTH, h_slow, (void *)(intptr_t)1500, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/-/healthy", AION_ROUTE_INLINE | AION_ROUTE_NO_AUTH, h_inline, NULL, "test"), 0);
}

static int port;

static int setup_plain(void **state)
{
    (void)state;
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.max_body_bytes = 1000;
    c.header_timeout_ms = 500; /* shorter than /slow: a busy handler must not be cut off */
    port = th_start(&c, register_routes);
    return 0;
}

static int teardown_plain(void **state)
{
    (void)state;
    th_stop();
    return 0;
}

/* ---- tests ---- */

static void test_routes(void **state)
{
    (void)state;
    assert_int_equal(th_get(port, "/a", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "exact-a /a\n");
    assert_int_equal(th_roundtrip(port, "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "post-a /a\n");
    /* exact path with a trailing part is not an exact match */
    assert_int_equal(th_get(port, "/a/b", resp, sizeof(resp)), 404);
    assert_int_equal(th_get(port, "/api/x", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "api /api/x\n");
    /* longest prefix wins */
    assert_int_equal(th_get(port, "/api/v1/query", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "apiv1 /api/v1/query\n");
    /* exact beats prefix */
    assert_int_equal(th_get(port, "/api/v1/exact", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "exact-v1 /api/v1/exact\n");
    /* percent-decoded path, query stripped */
    assert_int_equal(th_get(port, "/api/v1/a%20b?x=1", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "apiv1 /api/v1/a b\n");
    assert_int_equal(th_get(port, "/nothing", resp, sizeof(resp)), 404);
    /* 405 with Allow */
    assert_int_equal(th_get(port, "/put-only", resp, sizeof(resp)), 405);
    assert_non_null(strstr(resp, "Allow: PUT\r\n"));
    assert_int_equal(th_roundtrip(port, "DELETE /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 405);
    assert_non_null(strstr(resp, "Allow: GET, POST\r\n"));
    assert_int_equal(th_roundtrip(port, "DELETE /api/v1/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 405);
    /* HEAD served by the GET route, without a body */
    assert_int_equal(th_roundtrip(port, "HEAD /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "");
    /* inline route runs on an I/O thread, not a worker */
    assert_int_equal(th_get(port, "/-/healthy", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "inline\n");
}

static void test_params(void **state)
{
    (void)state;
    assert_int_equal(th_get(port, "/params?match%5B%5D=up%7Bjob%3D%22a%22%7D&match[]=b+c&query=sum(x)&empty", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "n=2 [up{job=\"a\"}] [b c] query=[sum(x)] missing=yes\n");
    /* form body params follow URL params */
    const char *form = "match[]=from+body&query=q%3D1";
    char raw[512];
    snprintf(raw, sizeof(raw),
             "POST /params?match[]=url HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(form), form);
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "n=2 [url] [from body] query=[q=1] missing=yes\n");
    /* a non-form body is not parsed */
    snprintf(raw, sizeof(raw),
             "POST /params HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s", strlen(form), form);
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "n=0 query=[(null)] missing=yes\n");
}

static void test_headers_and_body(void **state)
{
    (void)state;
    const char *raw = "PUT /headers HTTP/1.1\r\nHost: t\r\nX-Test-Header: v1\r\nConnection: close\r\n"
                      "Content-Length: 5\r\n\r\nhello";
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
    assert_non_null(strstr(resp, "X-Reply: yes\r\n"));
    assert_null(strstr(resp, "Injected"));
    assert_non_null(strstr(th_body(resp), "hdr=[v1] body=5:hello remote=127.0.0.1:"));
    /* chunked body */
    raw = "POST /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
    assert_non_null(strstr(th_body(resp), "hdr=[(null)] body=5:abcde"));
}

static void test_body_limit(void **state)
{
    (void)state;
    char raw[4096];
    char body[1500];
    memset(body, 'x', sizeof(body));
    int n = snprintf(raw, sizeof(raw), "POST /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
    memcpy(raw + n, body, sizeof(body));
    raw[n + (int)sizeof(body)] = 0;
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 413);
    /* chunked past the limit too */
    n = snprintf(raw, sizeof(raw), "POST /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", sizeof(body));
    memcpy(raw + n, body, sizeof(body));
    strcpy(raw + n + sizeof(body), "\r\n0\r\n\r\n");
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 413);
    /* announced too large with Expect: 100-continue: refused before the body is sent */
    assert_int_equal(th_roundtrip(port, "POST /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                                        "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n", resp, sizeof(resp)), 413);
    /* acceptable size: 100 Continue, then the body, then the answer */
    int fd = th_connect(port);
    const char *hdr = "POST /headers HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    assert_int_equal(th_send(fd, hdr, strlen(hdr)), 0);
    assert_int_equal(th_read_response(fd, resp, sizeof(resp), 3000), 100);
    assert_int_equal(th_send(fd, "hello", 5), 0);
    assert_int_equal(th_read_response(fd, resp, sizeof(resp), 3000), 200);
    assert_non_null(strstr(th_body(resp), "body=5:hello"));
    close(fd);
    /* exactly at the limit is fine */
    n = snprintf(raw, sizeof(raw), "POST /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n");
    memcpy(raw + n, body, 1000);
    raw[n + 1000] = 0;
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
}

static void test_deferred_reply(void **state)
{
    (void)state;
    int64_t t0 = th_now_ms();
    assert_int_equal(th_get(port, "/deferred", resp, sizeof(resp)), 202);
    assert_true(th_now_ms() - t0 >= 190);
    assert_string_equal(th_body(resp), "{\"late\":true}");
    assert_non_null(strstr(resp, "Content-Type: application/json\r\n"));
}

static void test_reply_after_disconnect(void **state)
{
    (void)state;
    atomic_store(&held, NULL);
    int fd = th_connect(port);
    const char *raw = "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(fd, raw, strlen(raw)), 0);
    for (int i = 0; i < 200 && !atomic_load(&held); i++)
        usleep(10 * 1000);
    aion_http_req *r = atomic_load(&held);
    assert_non_null(r);
    for (int i = 0; i < 200 && host_http_in_flight() != 1; i++) /* earlier replies settle */
        usleep(10 * 1000);
    assert_int_equal(host_http_in_flight(), 1);
    close(fd);
    /* let the I/O thread notice the close */
    for (int i = 0; i < 200 && host_http_connections(NULL) > 0; i++)
        usleep(10 * 1000);
    /* the request is still ours: accessors work, the reply is dropped */
    assert_string_equal(host_http_path(r), "/hold");
    host_http_reply_text(r, 200, "nobody listens");
    for (int i = 0; i < 200 && host_http_in_flight() > 0; i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_in_flight(), 0);
    /* and the server still serves */
    assert_int_equal(th_get(port, "/a", resp, sizeof(resp)), 200);
}

static void test_busy_handler_outlives_header_timeout(void **state)
{
    (void)state;
    /* /slow sleeps 1.5 s; the listener's header timeout is 0.5 s */
    assert_int_equal(th_get(port, "/slow", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "slept\n");
}

static void test_keepalive_and_pipelining(void **state)
{
    (void)state;
    int fd = th_connect(port);
    assert_true(fd >= 0);
    const char *r1 = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        assert_int_equal(th_send(fd, r1, strlen(r1)), 0);
        assert_int_equal(th_read_response(fd, resp, sizeof(resp), 5000), 200);
        assert_string_equal(th_body(resp), "exact-a /a\n");
    }
    /* two requests in one write while the first handler is busy */
    const char *two = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(fd, two, strlen(two)), 0);
    int st = th_read_response(fd, resp, sizeof(resp), 5000);
    assert_int_equal(st, 200);
    assert_non_null(strstr(resp, "slept\n"));
    /* the second answer may already be in resp (same read) or follow */
    if (!strstr(resp, "exact-a /a")) {
        assert_int_equal(th_read_response(fd, resp, sizeof(resp), 5000), 200);
        assert_string_equal(th_body(resp), "exact-a /a\n");
    }
    close(fd);
}

static void test_middleware(void **state)
{
    (void)state;
    atomic_store(&mw_calls, 0);
    assert_int_equal(th_get(port, "/ident", resp, sizeof(resp)), 401);
    assert_non_null(strstr(resp, "WWW-Authenticate: Bearer\r\n"));
    assert_int_equal(th_roundtrip(port, "GET /ident HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer bad\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 401);
    assert_int_equal(th_roundtrip(port, "GET /ident HTTP/1.1\r\nHost: t\r\nauthorization: Bearer good\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "subject=alice tenant=team-a scopes=3\n");
    assert_int_equal(th_roundtrip(port, "GET /ident HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer good\r\nX-Silent-Stop: 1\r\nConnection: close\r\n\r\n", resp, sizeof(resp)), 500);
    /* NO_AUTH route skips middleware */
    int before = atomic_load(&mw_calls);
    assert_int_equal(th_get(port, "/open", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "subject=(anon) tenant=(none) scopes=0\n");
    assert_int_equal(atomic_load(&mw_calls), before);
    /* an unknown path is 404 before any middleware */
    assert_int_equal(th_get(port, "/unknown", resp, sizeof(resp)), 404);
    assert_int_equal(atomic_load(&mw_calls), before);
}

static void register_mw_routes(void)
{
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/ident", 0, h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/open", AION_ROUTE_NO_AUTH, h_identity, NULL, "test"), 0);
    assert_int_equal(host_http_middleware(NULL, mw_auth, NULL, "auth"), 0);
    assert_int_equal(host_http_middleware("main", mw_second, NULL, "second"), 0);
    assert_int_equal(host_http_middleware("nope", mw_second, NULL, "second"), -ENOENT);
    assert_int_equal(host_http_middleware(NULL, mw_silent, NULL, "silent"), 0);
}

static int setup_mw(void **state)
{
    (void)state;
    port = th_start(NULL, register_mw_routes);
    return 0;
}

static void test_metrics(void **state)
{
    (void)state;
    host_log_set_level(AION_LOG_DEBUG); /* exercises the access log */
    for (int i = 0; i < 3; i++)
        assert_int_equal(th_get(port, "/a", resp, sizeof(resp)), 200);
    host_log_set_level(AION_LOG_INFO);
    assert_int_equal(th_get(port, "/missing", resp, sizeof(resp)), 404);
    for (int i = 0; i < 200 && host_http_in_flight() > 0; i++)
        usleep(10 * 1000);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(host_metrics_render(&out, &len), 0);
    /* counts are at least ours (other tests in this group ran before) */
    const char *needle = "aion_http_requests_total{listener=\"main\",route=\"/a\",method=\"GET\",code=\"200\"} ";
    char *p = strstr(out, needle);
    assert_non_null(p);
    assert_true(atof(p + strlen(needle)) >= 3);
    assert_non_null(strstr(out, "aion_http_requests_total{listener=\"main\",route=\"none\",method=\"GET\",code=\"404\"} "));
    assert_non_null(strstr(out, "aion_http_request_duration_seconds_bucket{listener=\"main\",route=\"/a\",le=\"0.005\"} "));
    assert_non_null(strstr(out, "aion_http_connections{listener=\"main\"} "));
    assert_non_null(strstr(out, "aion_http_requests_in_flight 0"));
    free(out);
}

static void test_ipv6_listener(void **state)
{
    (void)state;
    th_stop();
    char err[256];
    assert_int_equal(host_workers_start(2, 16), 0);
    assert_int_equal(host_http_init(1, err, sizeof(err)), 0);
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.address = "[::1]:0";
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_ANY, "/headers", 0, h_headers, NULL, "test"), 0);
    if (host_http_start(err, sizeof(err)))
        fail_msg("%s", err);
    int p6 = host_http_port(NULL);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)p6),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *raw = "GET /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(th_send(fd, raw, strlen(raw)), 0);
    assert_int_equal(th_read_response(fd, resp, sizeof(resp), 3000), 200);
    close(fd);
    assert_non_null(strstr(th_body(resp), "remote=[::1]:"));
    /* teardown stops this server */
}

static void test_register_after_start(void **state)
{
    (void)state;
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/late", 0, h_name, "late", "test"), -EBUSY);
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_headers_and_body),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_deferred_reply),
        cmocka_unit_test(test_reply_after_disconnect),
        cmocka_unit_test(test_busy_handler_outlives_header_timeout),
        cmocka_unit_test(test_keepalive_and_pipelining),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_register_after_start),
        cmocka_unit_test(test_ipv6_listener),
    };
    const struct CMUnitTest mw[] = {
        cmocka_unit_test(test_middleware),
    };
    int rc = cmocka_run_group_tests_name("http", plain, setup_plain, teardown_plain);
    rc |= cmocka_run_group_tests_name("http_middleware", mw, setup_mw, teardown_plain);
    host_metrics_free_all();
    return rc;
}
