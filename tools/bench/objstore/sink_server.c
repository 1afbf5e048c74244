/* A minimal keep-alive HTTP/1.1 server for the benchmark: PUT/POST bodies
 * are read and dropped (200 + ETag), GET answers with zero bytes of a fixed
 * object size honouring "Range: bytes=a-b", HEAD gives the size. It checks
 * nothing, so the figures show what the client side costs (signing, SHA-256
 * and MD5 of bodies, libcurl) without a real server's storage work. */
#include "sink_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_fd = -1;
static uint64_t object_size;

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static const char zeros[65536];
    char *buf = malloc(1 << 16);
    size_t have = 0;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (buf) {
        char *end;
        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            if (have == (1 << 16))
                goto out;
            ssize_t r = recv(fd, buf + have, (1 << 16) - have, 0);
            if (r <= 0)
                goto out;
            have += (size_t)r;
        }
        size_t hlen = (size_t)(end + 4 - buf);
        buf[hlen - 1] = 0;
        uint64_t clen = 0, a = 0, b = object_size ? object_size - 1 : 0;
        char *h = strcasestr(buf, "\r\ncontent-length:");
        if (h)
            clen = strtoull(h + 17, NULL, 10);
        int ranged = 0;
        h = strcasestr(buf, "\r\nrange: bytes=");
        if (h) {
            char *dash;
            a = strtoull(h + 15, &dash, 10);
            if (*dash == '-' && dash[1] >= '0' && dash[1] <= '9')
                b = strtoull(dash + 1, NULL, 10);
            ranged = 1;
        }
        int is_get = !strncmp(buf, "GET ", 4), is_head = !strncmp(buf, "HEAD ", 5);
        /* Drop the request body. */
        uint64_t body_have = have - hlen;
        if (body_have > clen)
            body_have = clen;
        size_t extra = have - hlen - (size_t)body_have;
        memmove(buf, buf + hlen + body_have, extra);
        have = extra;
        while (body_have < clen) {
            char tmp[65536];
            size_t want = clen - body_have < sizeof tmp ? (size_t)(clen - body_have) : sizeof tmp;
            ssize_t r = recv(fd, tmp, want, 0);
            if (r <= 0)
                goto out;
            body_have += (uint64_t)r;
        }
        char head[256];
        uint64_t n = is_get || is_head ? (b >= a ? b - a + 1 : 0) : 0;
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d OK\r\nContent-Length: %llu\r\nETag: \"0\"\r\n"
                          "Last-Modified: Wed, 25 Nov 2026 00:00:00 GMT\r\n\r\n",
                          ranged && is_get ? 206 : 200, (unsigned long long)n);
        if (write_all(fd, head, (size_t)hl))
            goto out;
        if (is_get) {
            while (n) {
                size_t c = n < sizeof zeros ? (size_t)n : sizeof zeros;
                if (write_all(fd, zeros, c))
                    goto out;
                n -= c;
            }
        }
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static void *acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(listen_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_t t;
        if (pthread_create(&t, NULL, conn, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

int sink_server_start(uint64_t size)
{
    object_size = size;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(listen_fd, 64) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &l) != 0)
        return -1;
    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, NULL) != 0)
        return -1;
    pthread_detach(t);
    return ntohs(a.sin_port);
}
