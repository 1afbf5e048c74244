/* tests/host/test_http_limits.c: slow clients, timeouts, max connections,
 * keep-alive idle timeout, graceful shutdown, over real sockets. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics.h"
#include "test_http_util.h"

static char resp[8192];
static int port;

static void h_ok(aion_http_req *req, void *arg)
{
    (void)arg;
    size_t n;
    host_http_body(req, &n);
    host_http_reply_text(req, 200, "ok %zu", n);
}

static void h_sleep(aion_http_req *req, void *arg)
{
    (void)arg;
    usleep(700 * 1000);
    host_http_reply_text(req, 200, "done");
}

static void h_big(aion_http_req *req, void *arg)
{
    (void)arg;
    size_t n = 32u << 20;
    char *b = malloc(n);
    assert_non_null(b);
    memset(b, 'b', n);
    host_http_reply_take(req, 200, "application/octet-stream", b, n);
}

static void register_routes(void)
{
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/big", 0, h_big, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_ANY, "/ok", 0, h_ok, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/sleep", 0, h_sleep, NULL, "test"), 0);
}

static int setup(void **state)
{
    (void)state;
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.header_timeout_ms = 1500;  /* no byte for 1.5 s: cut */
    c.request_timeout_ms = 3000; /* whole request within 3 s */
    c.idle_timeout_ms = 1000;
    c.max_connections = 400;
    port = th_start(&c, register_routes);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_stop();
    return 0;
}

static void wait_conns(int want, int ms)
{
    for (int i = 0; i < ms / 10 && host_http_connections(NULL) != want; i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_connections(NULL), want);
}

typedef struct slow_arg {
    int fd;
    int closed_after_ms;
    int sent;
} slow_arg;

/* A slowloris: one header byte every 700 ms (under the inactivity limit). */
static void *slow_sender(void *p)
{
    slow_arg *a = p;
    const char *raw = "GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    int64_t t0 = th_now_ms();
    a->closed_after_ms = -1;
    for (size_t i = 0; i < strlen(raw); i++) {
        if (th_send(a->fd, raw + i, 1) != 0)
            break;
        a->sent++;
        usleep(700 * 1000);
        char c;
        if (recv(a->fd, &c, 1, MSG_DONTWAIT) == 0) {
            a->closed_after_ms = (int)(th_now_ms() - t0);
            return NULL;
        }
        if (th_now_ms() - t0 > 10000)
            break;
    }
    int w = th_wait_closed(a->fd, 1000);
    if (w >= 0)
        a->closed_after_ms = (int)(th_now_ms() - t0);
    return NULL;
}

static void test_slow_client_cut_off(void **state)
{
    (void)state;
    slow_arg a = { .fd = th_connect(port) };
    assert_true(a.fd >= 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_sender, &a), 0);
    /* others are served meanwhile, quickly */
    for (int i = 0; i < 5; i++) {
        int64_t t0 = th_now_ms();
        assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
        assert_true(th_now_ms() - t0 < 500);
        usleep(200 * 1000);
    }
    pthread_join(t, NULL);
    close(a.fd);
    /* cut at the 3 s request deadline although it kept sending */
    assert_true(a.closed_after_ms >= 2500);
    assert_true(a.closed_after_ms <= 5000);
    assert_true(a.sent >= 3);
}

static void test_slow_body_cut_off(void **state)
{
    (void)state;
    int fd = th_connect(port);
    const char *hdr = "POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n";
    assert_int_equal(th_send(fd, hdr, strlen(hdr)), 0);
    int64_t t0 = th_now_ms();
    int closed = -1;
    for (int i = 0; i < 20; i++) {
        if (th_send(fd, "x", 1) != 0)
            break;
        if (th_wait_closed(fd, 600) >= 0) {
            closed = (int)(th_now_ms() - t0);
            break;
        }
    }
    close(fd);
    assert_true(closed >= 2000 && closed <= 5000);
}

static void test_header_inactivity_timeout(void **state)
{
    (void)state;
    int fd = th_connect(port);
    assert_int_equal(th_send(fd, "GET /ok HT", 10), 0);
    int ms = th_wait_closed(fd, 5000);
    close(fd);
    /* the 1.5 s inactivity limit, before the 3 s request deadline */
    assert_true(ms >= 1200 && ms < 2900);
}

static void test_slow_reader_cut_off(void **state)
{
    (void)state;
    int fd = th_connect(port);
    wait_conns(1, 2000);
    const char *raw = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(fd, raw, strlen(raw)), 0);
    /* read 256 KB every 50 ms (~5 MB/s): steady progress (no inactivity
     * timeout) but too slow for 32 MB within the 3 s request deadline. The
     * server side closes (what the kernel had buffered may still arrive). */
    int64_t t0 = th_now_ms();
    size_t got = 0;
    int closed_ms = -1;
    static char buf[256 * 1024];
    while (th_now_ms() - t0 < 8000) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        if (host_http_connections(NULL) == 0) {
            closed_ms = (int)(th_now_ms() - t0);
            break;
        }
        usleep(50 * 1000);
    }
    close(fd);
    printf("slow reader: cut after %d ms, %zu bytes read\n", closed_ms, got);
    assert_true(closed_ms >= 2500 && closed_ms <= 6000);
    assert_true(got < (32u << 20));
}

static void test_idle_keepalive_timeout(void **state)
{
    (void)state;
    int fd = th_connect(port);
    const char *raw = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(fd, raw, strlen(raw)), 0);
    assert_int_equal(th_read_response(fd, resp, sizeof(resp), 3000), 200);
    int ms = th_wait_closed(fd, 5000);
    close(fd);
    assert_true(ms >= 800 && ms < 2500);
    wait_conns(0, 2000);
}

static void test_many_slow_connections(void **state)
{
    (void)state;
    enum { N = 300 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = th_connect(port);
        assert_true(fds[i] >= 0);
        assert_int_equal(th_send(fds[i], "GET /ok HTTP/1.1\r\nHo", 20), 0);
    }
    int64_t t0 = th_now_ms();
    assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
    int64_t took = th_now_ms() - t0;
    assert_true(took < 3000); /* bounded well under 10 s */
    wait_conns(N, 3000);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    wait_conns(0, 3000);
}

static void test_connection_count_returns_to_zero(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        int fd = th_connect(port);
        if (i % 3 == 0)
            th_send(fd, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n", 29);
        close(fd);
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
    wait_conns(0, 3000);
}

/* ---- max connections (own server) ---- */

static void test_max_connections(void **state)
{
    (void)state;
    th_stop();
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.max_connections = 5;
    port = th_start(&c, register_routes);
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = th_connect(port);
        assert_true(fds[i] >= 0);
    }
    wait_conns(5, 2000);
    /* the sixth is closed at once */
    int extra = th_connect(port);
    assert_true(extra >= 0);
    int ms = th_wait_closed(extra, 2000);
    close(extra);
    assert_true(ms >= 0 && ms < 1000);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(host_metrics_render(&out, &len), 0);
    const char *needle = "aion_http_connections_refused_total{listener=\"main\"} ";
    char *p = strstr(out, needle);
    assert_non_null(p);
    assert_true(atof(p + strlen(needle)) >= 1);
    assert_non_null(strstr(out, "aion_http_connections{listener=\"main\"} 5\n"));
    free(out);
    /* the first five still work */
    const char *raw = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(fds[0], raw, strlen(raw)), 0);
    assert_int_equal(th_read_response(fds[0], resp, sizeof(resp), 3000), 200);
    /* after one closes, a new connection is served */
    close(fds[1]);
    wait_conns(4, 2000);
    assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
    for (int i = 0; i < 5; i++)
        if (i != 1)
            close(fds[i]);
    wait_conns(0, 2000);
}

/* ---- graceful shutdown ---- */

typedef struct sleeper {
    int port;
    int status;
} sleeper;

static void *get_sleep(void *p)
{
    sleeper *s = p;
    char r[1024];
    s->status = th_get(s->port, "/sleep", r, sizeof(r));
    return NULL;
}

static void test_graceful_shutdown(void **state)
{
    (void)state;
    /* a keep-alive connection opened before */
    int ka = th_connect(port);
    const char *raw = "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(th_send(ka, raw, strlen(raw)), 0);
    assert_int_equal(th_read_response(ka, resp, sizeof(resp), 3000), 200);
    assert_null(strstr(resp, "Connection: close"));
    /* (a request counts as in flight until its reply is written) */
    for (int i = 0; i < 200 && host_http_in_flight() > 0; i++)
        usleep(5 * 1000);
    assert_int_equal(host_http_in_flight(), 0);
    sleeper s = { .port = port };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, get_sleep, &s), 0);
    for (int i = 0; i < 200 && host_http_in_flight() == 0; i++)
        usleep(5 * 1000);
    assert_int_equal(host_http_in_flight(), 1);
    host_http_stop_accepting();
    /* the port is closed now */
    assert_int_equal(th_connect(port), -1);
    /* the open connection is still served, told to close, and closed */
    assert_int_equal(th_send(ka, raw, strlen(raw)), 0);
    assert_int_equal(th_read_response(ka, resp, sizeof(resp), 3000), 200);
    assert_non_null(strstr(resp, "Connection: close\r\n"));
    assert_true(th_wait_closed(ka, 1000) >= 0);
    close(ka);
    int64_t t0 = th_now_ms();
    assert_int_equal(host_http_shutdown(5000), 0);
    assert_true(th_now_ms() - t0 < 2000);
    pthread_join(t, NULL);
    assert_int_equal(s.status, 200); /* the in-flight request was answered */
}

static void test_shutdown_deadline(void **state)
{
    (void)state;
    /* a request outliving the deadline: shutdown returns, reply dropped */
    th_stop();
    port = th_start(NULL, register_routes);
    sleeper s = { .port = port };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, get_sleep, &s), 0);
    for (int i = 0; i < 200 && host_http_in_flight() == 0; i++)
        usleep(5 * 1000);
    host_http_stop_accepting();
    int64_t t0 = th_now_ms();
    assert_int_equal(host_http_shutdown(100), 1);
    assert_true(th_now_ms() - t0 < 600);
    pthread_join(t, NULL);
    assert_int_equal(s.status, 0); /* connection closed without a reply */
}

/* ---- worker pool saturated ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static atomic_int gate_waiting;

static void h_gate(aion_http_req *req, void *arg)
{
    (void)arg;
    atomic_fetch_add(&gate_waiting, 1);
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    host_http_reply_text(req, 200, "passed");
}

static void h_health(aion_http_req *req, void *arg)
{
    (void)arg;
    host_http_reply_text(req, 200, "healthy");
}

static void register_gate(void)
{
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/gate", 0, h_gate, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/-/healthy", AION_ROUTE_INLINE | AION_ROUTE_NO_AUTH, h_health, NULL, "test"), 0);
}

static void test_workers_saturated(void **state)
{
    (void)state;
    th_stop();
    th_worker_threads = 1;
    th_worker_queue = 1;
    port = th_start(NULL, register_gate);
    th_worker_threads = 4;
    th_worker_queue = 256;
    gate_open = 0;
    atomic_store(&gate_waiting, 0);
    const char *raw = "GET /gate HTTP/1.1\r\nHost: t\r\n\r\n";
    int a = th_connect(port), b = th_connect(port);
    assert_int_equal(th_send(a, raw, strlen(raw)), 0);
    for (int i = 0; i < 200 && atomic_load(&gate_waiting) == 0; i++)
        usleep(5 * 1000);
    assert_int_equal(atomic_load(&gate_waiting), 1); /* the only worker is blocked */
    assert_int_equal(th_send(b, raw, strlen(raw)), 0); /* fills the queue */
    for (int i = 0; i < 200 && host_http_in_flight() < 2; i++)
        usleep(5 * 1000);
    /* no room: 503 at once */
    assert_int_equal(th_get(port, "/gate", resp, sizeof(resp)), 503);
    assert_non_null(strstr(resp, "Retry-After: 1\r\n"));
    /* inline handlers do not need a worker */
    assert_int_equal(th_get(port, "/-/healthy", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "healthy\n");
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    assert_int_equal(th_read_response(a, resp, sizeof(resp), 3000), 200);
    assert_int_equal(th_read_response(b, resp, sizeof(resp), 3000), 200);
    close(a);
    close(b);
}

static void register_gate_ok(void)
{
    register_gate();
    assert_int_equal(host_http_route(NULL, AION_HTTP_POST, "/gate", 0, h_gate, NULL, "test"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_ANY, "/ok", 0, h_ok, NULL, "test"), 0);
    host_http_set_max_inflight_bytes(1000);
}

static void test_inflight_body_budget(void **state)
{
    (void)state;
    th_stop();
    port = th_start(NULL, register_gate_ok);
    gate_open = 0;
    atomic_store(&gate_waiting, 0);
    char body[800], raw[1200];
    memset(body, 'x', sizeof(body));
    int n = snprintf(raw, sizeof(raw), "POST /gate HTTP/1.1\r\nHost: t\r\nContent-Length: 800\r\n\r\n");
    memcpy(raw + n, body, sizeof(body));
    int a = th_connect(port);
    assert_int_equal(th_send(a, raw, (size_t)n + sizeof(body)), 0);
    for (int i = 0; i < 200 && atomic_load(&gate_waiting) == 0; i++)
        usleep(5 * 1000);
    assert_int_equal(atomic_load(&gate_waiting), 1);
    /* 800 held + 800 > 1000: shed */
    n = snprintf(raw, sizeof(raw), "POST /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 800\r\n\r\n");
    memcpy(raw + n, body, sizeof(body));
    raw[n + (int)sizeof(body)] = 0;
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 503);
    /* small ones still fit */
    assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    assert_int_equal(th_read_response(a, resp, sizeof(resp), 3000), 200);
    close(a);
    for (int i = 0; i < 200 && host_http_in_flight() > 0; i++)
        usleep(5 * 1000);
    assert_int_equal(th_roundtrip(port, raw, resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "ok 800\n");
}

static int count_fds(void)
{
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 4096; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void test_fd_exhaustion(void **state)
{
    (void)state;
    enum { N = 40 };
    int fds[N];
    for (int i = 0; i < N; i++) { /* the client's sockets exist before the limit drops */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
    }
    struct rlimit old, rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)count_fds() + 4 + 16; /* +16: fds numbered above the count */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < N; i++)
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
    /* the server runs out of descriptors: it must pause, not spin */
    double c0 = cpu_seconds();
    usleep(1000 * 1000);
    double used = cpu_seconds() - c0;
    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    printf("fd exhaustion: %.3f s CPU in 1 s\n", used);
    assert_true(used < 0.1); /* spinning costs about 0.4 s here */
    /* and it recovers */
    usleep(300 * 1000);
    assert_int_equal(th_get(port, "/ok", resp, sizeof(resp)), 200);
    wait_conns(0, 3000);
}

static void test_listener_config_errors(void **state)
{
    (void)state;
    th_stop();
    char err[256];
    assert_int_equal(host_http_init(1, err, sizeof(err)), 0);
    assert_int_equal(host_http_init(1, err, sizeof(err)), -EALREADY);
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    assert_string_equal(c.address, "127.0.0.1:10902");
    assert_string_equal(c.name, "main");
    c.address = "127.0.0.1";
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "host:port"));
    c.address = "127.0.0.1:99999";
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EINVAL);
    c.address = "[::1]:0";
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), 0);
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EEXIST);
    c.name = "zero";
    c.max_connections = 0;
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EINVAL);
    c.max_connections = 10;
    c.tls_client_ca_file = "/nonexistent";
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EINVAL);
    host_http_free();

    /* a port taken by someone else: start fails cleanly, naming the listener */
    int taken = th_listen_any();
    assert_true(taken > 0);
    assert_int_equal(host_workers_start(1, 8), 0);
    assert_int_equal(host_http_init(2, err, sizeof(err)), 0);
    host_http_listener_defaults(&c);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", th_listen_port);
    c.address = addr;
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), 0);
    assert_int_equal(host_http_start(err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "main"));
    host_http_shutdown(0);
    host_workers_stop(0);
    host_http_free();
    host_workers_free();
    close(taken);

    /* the same with SO_REUSEPORT on the other socket (say a second aiond):
     * still refused, not silently shared */
    taken = th_listen_any_reuseport();
    assert_true(taken > 0);
    assert_int_equal(host_workers_start(1, 8), 0);
    assert_int_equal(host_http_init(2, err, sizeof(err)), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", th_listen_port);
    c.address = addr;
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), 0);
    assert_int_equal(host_http_start(err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "already in use"));
    host_http_shutdown(0);
    host_workers_stop(0);
    host_http_free();
    host_workers_free();
    close(taken);
    /* teardown's th_stop must find a running server */
    port = th_start(NULL, register_routes);
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
        rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_client_cut_off),
        cmocka_unit_test(test_slow_body_cut_off),
        cmocka_unit_test(test_header_inactivity_timeout),
        cmocka_unit_test(test_slow_reader_cut_off),
        cmocka_unit_test(test_idle_keepalive_timeout),
        cmocka_unit_test(test_many_slow_connections),
        cmocka_unit_test(test_connection_count_returns_to_zero),
        cmocka_unit_test(test_fd_exhaustion),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_graceful_shutdown),
        cmocka_unit_test(test_shutdown_deadline),
        cmocka_unit_test(test_workers_saturated),
        cmocka_unit_test(test_inflight_body_budget),
        cmocka_unit_test(test_listener_config_errors),
    };
    int rc = cmocka_run_group_tests_name("http_limits", tests, setup, teardown);
    host_metrics_free_all();
    return rc;
}
