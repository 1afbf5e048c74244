/* tests/host/test_http_stress.c: concurrent keep-alive clients against
 * worker, inline and deferred (other-thread) handlers, with clients that
 * vanish before their reply. Checks nothing leaks or hangs (ASan/LSan),
 * every answered request is correct, and prints the throughput. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics.h"
#include "test_http_util.h"

/* ---- deferred replies from a separate thread ---- */

#define QCAP 4096
static aion_http_req *queue[QCAP];
static size_t qhead, qlen;
static bool qstop;
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcv = PTHREAD_COND_INITIALIZER;

static void *replier(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qmu);
    for (;;) {
        while (!qlen && !qstop)
            pthread_cond_wait(&qcv, &qmu);
        if (!qlen)
            break;
        aion_http_req *r = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_mutex_unlock(&qmu);
        usleep(1000);
        host_http_reply_text(r, 200, "deferred %s", host_http_query(r, "id"));
        pthread_mutex_lock(&qmu);
    }
    pthread_mutex_unlock(&qmu);
    return NULL;
}

static void h_defer(aion_http_req *req, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&qmu);
    if (qlen == QCAP) {
        pthread_mutex_unlock(&qmu);
        host_http_reply_text(req, 503, "full");
        return;
    }
    queue[(qhead + qlen) % QCAP] = req;
    qlen++;
    pthread_cond_signal(&qcv);
    pthread_mutex_unlock(&qmu);
}

static void h_echo(aion_http_req *req, void *arg)
{
    host_http_reply_text(req, 200, "%s %s", (const char *)arg, host_http_query(req, "id"));
}

static void register_routes(void)
{
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/fast", 0, h_echo, "fast", "t"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/inline", AION_ROUTE_INLINE, h_echo, "inline", "t"), 0);
    assert_int_equal(host_http_route(NULL, AION_HTTP_GET, "/defer", 0, h_defer, NULL, "t"), 0);
}

static int port;
static atomic_long ok_count, bad_count;

static void *client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg, me = seed;
    static const char *const paths[] = { "/fast", "/inline", "/defer" };
    static const char *const expect[] = { "fast", "inline", "deferred" };
    char req[256], resp[2048], want[64];
    int64_t end = th_now_ms() + 3000;
    int id = 0;
    /* AION_HTTP_BENCH=1: worker route only, no vanishing clients (throughput figure) */
    bool bench = getenv("AION_HTTP_BENCH") != NULL;
    while (th_now_ms() < end) {
        int fd = th_connect(port);
        if (fd < 0) {
            atomic_fetch_add(&bad_count, 1);
            continue;
        }
        for (int k = 0; k < 20; k++) {
            int p = bench ? 0 : (int)(rand_r(&seed) % 3);
            int n = snprintf(req, sizeof(req), "GET %s?id=%u-%d HTTP/1.1\r\nHost: t\r\n\r\n",
                             paths[p], me, ++id);
            if (th_send(fd, req, (size_t)n) != 0) {
                atomic_fetch_add(&bad_count, 1);
                break;
            }
            if (!bench && rand_r(&seed) % 16 == 0)
                break; /* vanish before the reply */
            int st = th_read_response(fd, resp, sizeof(resp), 5000);
            snprintf(want, sizeof(want), "%s %u-%d\n", expect[p], me, id);
            if (st == 200 && strcmp(th_body(resp), want) == 0)
                atomic_fetch_add(&ok_count, 1);
            else if (atomic_fetch_add(&bad_count, 1) < 3)
                fprintf(stderr, "bad answer %d to %s: want [%s] got [%s]\n", st, req, want, resp);
        }
        close(fd);
    }
    return NULL;
}

/* Garbage and truncated requests: the server must shrug them off. */
static void *garbage_client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    static const char *const starts[] = {
        "GET /fast?id=", "POST /fast HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "GET /fast HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /%%%%%00%ff HTTP/1.1\r\nHost: t\r\n\r\n", "\r\n\r\n\r\n",
        "GET /inline?a=%zz&&&==& HTTP/1.0\r\n\r\n", "BREW /fast HTTP/1.1\r\n\r\n",
        "GET /fast HTTP/9.9\r\n\r\n", "GET /fast HTTP/1.1\r\nX: \x01\x02\xff\r\n\r\n",
    };
    char buf[512], sink[4096];
    for (int i = 0; i < 150; i++) {
        int fd = th_connect(port);
        if (fd < 0)
            continue;
        const char *st = starts[rand_r(&seed) % (sizeof(starts) / sizeof(starts[0]))];
        size_t n = strlen(st);
        memcpy(buf, st, n);
        size_t extra = rand_r(&seed) % 64;
        for (size_t k = 0; k < extra && n < sizeof(buf); k++)
            buf[n++] = (char)(rand_r(&seed) & 0xff);
        th_send(fd, buf, n);
        if (rand_r(&seed) % 2) { /* read whatever comes back, briefly */
            struct timeval tv = { 0, 20000 };
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            while (recv(fd, sink, sizeof(sink), 0) > 0)
                ;
        }
        close(fd);
    }
    return NULL;
}

static void test_garbage(void **state)
{
    (void)state;
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.header_timeout_ms = 500;
    c.request_timeout_ms = 1000;
    port = th_start(&c, register_routes);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, garbage_client, (void *)(uintptr_t)(100 + i)), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    char resp[1024];
    assert_int_equal(th_get(port, "/fast?id=x", resp, sizeof(resp)), 200);
    assert_string_equal(th_body(resp), "fast x\n");
    /* partial requests die by their deadline at the latest */
    for (int i = 0; i < 300 && host_http_connections(NULL) > 0; i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_connections(NULL), 0);
    assert_int_equal(host_http_in_flight(), 0);
    th_stop();
}

static void test_stress(void **state)
{
    (void)state;
    port = th_start(NULL, register_routes);
    pthread_t rep;
    assert_int_equal(pthread_create(&rep, NULL, replier, NULL), 0);
    enum { NCLIENTS = 6 };
    pthread_t t[NCLIENTS];
    int64_t t0 = th_now_ms();
    for (int i = 0; i < NCLIENTS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, client, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < NCLIENTS; i++)
        pthread_join(t[i], NULL);
    int64_t took = th_now_ms() - t0;
    long ok = atomic_load(&ok_count), bad = atomic_load(&bad_count);
    printf("stress: %ld ok, %ld bad in %lld ms: %.0f req/s (%d clients, 2 I/O threads, 4 workers)\n",
           ok, bad, (long long)took, ok * 1000.0 / (double)took, NCLIENTS);
    assert_int_equal(bad, 0);
    assert_true(ok > 100);
    /* everything settles: no connection, no request left */
    for (int i = 0; i < 500 && (host_http_connections(NULL) || host_http_in_flight()); i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_connections(NULL), 0);
    assert_int_equal(host_http_in_flight(), 0);
    pthread_mutex_lock(&qmu);
    qstop = true;
    pthread_cond_broadcast(&qcv);
    pthread_mutex_unlock(&qmu);
    pthread_join(rep, NULL);
    th_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress),
        cmocka_unit_test(test_garbage),
    };
    int rc = cmocka_run_group_tests_name("http_stress", tests, NULL, NULL);
    host_metrics_free_all();
    return rc;
}
