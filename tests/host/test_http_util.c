/* tests/host/test_http_util.c: see test_http_util.h */
#include "test_http_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

int64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned th_worker_threads = 4;
size_t th_worker_queue = 256;

int th_start(const host_http_listener_cfg *cfg, void (*register_fn)(void))
{
    char err[256] = "";
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(host_workers_start(th_worker_threads, th_worker_queue), 0);
    int rc = host_http_init(2, err, sizeof(err));
    if (rc)
        fail_msg("host_http_init: %s", err);
    host_http_listener_cfg c;
    if (cfg)
        c = *cfg;
    else
        host_http_listener_defaults(&c);
    c.address = "127.0.0.1:0";
    rc = host_http_add_listener(&c, err, sizeof(err));
    if (rc)
        fail_msg("add_listener: %s", err);
    if (register_fn)
        register_fn();
    rc = host_http_start(err, sizeof(err));
    if (rc)
        fail_msg("host_http_start: %s", err);
    int port = host_http_port("main");
    assert_true(port > 0);
    return port;
}

void th_stop(void)
{
    host_http_stop_accepting();
    host_http_shutdown(2000);
    host_workers_stop(2000);
    host_http_free();
    host_workers_free();
}

int th_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int th_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

const char *th_body(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : "";
}

int th_read_response(int fd, char *resp, size_t cap, int timeout_ms)
{
    size_t len = 0;
    int64_t end = th_now_ms() + timeout_ms;
    resp[0] = 0;
    for (;;) {
        char *hend = strstr(resp, "\r\n\r\n");
        if (hend) {
            size_t clen = 0;
            for (const char *h = resp; h < hend;) {
                const char *eol = strstr(h, "\r\n");
                if (strncasecmp(h, "Content-Length:", 15) == 0)
                    clen = strtoul(h + 15, NULL, 10);
                h = eol + 2;
            }
            size_t have = len - (size_t)(hend + 4 - resp);
            if (have >= clen || len >= cap - 1)
                return atoi(resp + 9);
        }
        int left = (int)(end - th_now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, left);
        if (pr <= 0)
            continue;
        if (len >= cap - 1)
            return atoi(resp + 9);
        ssize_t n = recv(fd, resp + len, cap - 1 - len, 0);
        if (n <= 0)
            return len > 9 ? atoi(resp + 9) : 0;
        len += (size_t)n;
        resp[len] = 0;
    }
}

int th_roundtrip(int port, const char *raw, char *resp, size_t cap)
{
    int fd = th_connect(port);
    if (fd < 0)
        return -1;
    int st = -1;
    if (th_send(fd, raw, strlen(raw)) == 0)
        st = th_read_response(fd, resp, cap, 5000);
    close(fd);
    return st;
}

int th_get(int port, const char *path, char *resp, size_t cap)
{
    char raw[1024];
    snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    return th_roundtrip(port, raw, resp, cap);
}

int th_wait_closed(int fd, int timeout_ms)
{
    int64_t start = th_now_ms();
    char buf[4096];
    for (;;) {
        int left = (int)(start + timeout_ms - th_now_ms());
        if (left <= 0)
            return -1;
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return (int)(th_now_ms() - start);
    }
}

int th_listen_port;

static int listen_any(int reuseport)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof(reuseport));
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    th_listen_port = ntohs(sa.sin_port);
    return fd;
}

int th_listen_any(void)
{
    return listen_any(0);
}

int th_listen_any_reuseport(void)
{
    return listen_any(1);
}
