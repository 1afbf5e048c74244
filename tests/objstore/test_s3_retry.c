/* S3 client behaviour that a healthy server never shows, against a scripted
 * HTTP server in a thread: retries on 5xx/429/SlowDown and none on other 4xx,
 * the retry bound, resumed downloads after a cut body, a 200
 * CompleteMultipartUpload carrying an <Error>, and aborts of failed
 * multipart uploads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "objstore/objstore.h"

typedef struct reply {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
    int cut;             /* > 0: announce the full body, send cut bytes, close */
} reply;

#define MAXREQ 16

static struct {
    int fd, port;
    pthread_t thread;
    const reply *script;
    int nscript;
    int nreq;
    char req[MAXREQ][256];   /* "METHOD /path?query" */
    char range[MAXREQ][64];  /* Range header value */
    char host[MAXREQ][128];  /* Host header value */
    int authorized[MAXREQ];  /* had Authorization + x-amz-content-sha256 */
} srv;

static const char *reason(int st)
{
    return st == 200 ? "OK" : st == 206 ? "Partial Content" : st == 204 ? "No Content" : "Err";
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[1 << 16];
        size_t n = 0;
        char *end = NULL;
        while (!end && n < sizeof buf - 1) {
            ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            buf[n] = 0;
            end = strstr(buf, "\r\n\r\n");
        }
        if (!end) {
            close(c);
            continue;
        }
        /* Drain the body. */
        size_t clen = 0;
        char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (cl && cl < end)
            clen = strtoul(cl + 17, NULL, 10);
        size_t have = n - (size_t)(end + 4 - buf);
        while (have < clen) {
            char tmp[65536];
            ssize_t r = read(c, tmp, sizeof tmp);
            if (r <= 0)
                break;
            have += (size_t)r;
        }
        int i = srv.nreq++;
        if (i < MAXREQ) {
            char *sp = strchr(buf, ' ');
            char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
            if (sp2)
                snprintf(srv.req[i], sizeof srv.req[i], "%.*s", (int)(sp2 - buf), buf);
            char *hh = strcasestr(buf, "\r\nhost:");
            if (hh && hh < end)
                sscanf(hh + 7, " %127[^\r]", srv.host[i]);
            char *rg = strcasestr(buf, "\r\nrange:");
            if (rg && rg < end)
                sscanf(rg + 8, " %63[^\r]", srv.range[i]);
            srv.authorized[i] = strcasestr(buf, "\r\nauthorization: AWS4-HMAC-SHA256") &&
                                strcasestr(buf, "\r\nx-amz-content-sha256:");
        }
        reply r = i < srv.nscript ? srv.script[i] : (reply){500, NULL, "no script", 0};
        size_t bl = r.body ? strlen(r.body) : 0;
        char head[1024];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                          r.status, reason(r.status), bl, r.headers ? r.headers : "");
        ssize_t w = write(c, head, (size_t)hl);
        if (w >= 0 && bl)
            w = write(c, r.body, r.cut > 0 ? (size_t)r.cut : bl);
        (void)w;
        close(c);
    }
}

static void start(const reply *script, int n)
{
    memset(&srv, 0, sizeof srv);
    srv.script = script;
    srv.nscript = n;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(srv.fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(srv.fd, 16), 0);
    assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &l), 0);
    srv.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void stop(void)
{
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(srv.thread, NULL);
}

static objstore_bucket *open_bucket_at(int max_retries, const char *host, objstore_lookup lk)
{
    objstore_config c;
    objstore_config_init(&c);
    c.type = OBJSTORE_S3;
    c.lookup = lk;
    snprintf(c.bucket, sizeof c.bucket, "b");
    snprintf(c.endpoint, sizeof c.endpoint, "%s:%d", host, srv.port);
    snprintf(c.access_key, sizeof c.access_key, "AK");
    snprintf(c.secret_key, sizeof c.secret_key, "SK");
    c.insecure = true;
    c.part_size = 5u << 20;
    c.part_concurrency = 1; /* the script expects parts in order */
    c.max_retries = max_retries;
    c.retry_max_time_ms = 20000;
    objstore_bucket *b;
    char err[256];
    assert_int_equal(objstore_bucket_open(&c, &b, err, sizeof err), 0);
    return b;
}

static objstore_bucket *open_bucket(int max_retries)
{
    return open_bucket_at(max_retries, "127.0.0.1", OBJSTORE_LOOKUP_AUTO);
}

#define XERR(code) "<?xml version=\"1.0\"?><Error><Code>" code "</Code><Message>msg " code \
                   "</Message></Error>"

static int count_names(void *ud, const char *name)
{
    (void)name;
    (*(int *)ud)++;
    return 0;
}

static void retries_5xx_429_slowdown(void **state)
{
    const reply s[] = {{503, NULL, XERR("SlowDown"), 0},
                       {500, NULL, XERR("InternalError"), 0},
                       {429, NULL, "", 0},
                       {200, NULL, "hello", 0}};
    start(s, 4);
    objstore_bucket *b = open_bucket(10);
    void *d;
    size_t n;
    objstore_err e;
    assert_int_equal(objstore_get(b, "k", 0, -1, &d, &n, &e), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    free(d);
    assert_int_equal(srv.nreq, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(srv.req[i], "GET /b/k");
        assert_true(srv.authorized[i]);
    }
    /* This server closes every connection: each attempt opens a new one. */
    objstore_stats st;
    objstore_bucket_stats(b, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.connections, 4);
    objstore_bucket_close(b);
    stop();
}

static void no_retry_on_4xx(void **state)
{
    const reply s[] = {{400, NULL, XERR("InvalidArgument"), 0}, {200, NULL, "x", 0}};
    start(s, 2);
    objstore_bucket *b = open_bucket(10);
    void *d;
    size_t n;
    objstore_err e;
    assert_int_equal(objstore_get(b, "k", 0, -1, &d, &n, &e), -EIO);
    assert_int_equal(e.cls, OBJSTORE_ERR_FATAL);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "InvalidArgument");
    assert_non_null(strstr(e.msg, "msg InvalidArgument"));
    assert_int_equal(srv.nreq, 1);
    objstore_bucket_close(b);
    stop();
}

static void retry_bound(void **state)
{
    const reply s[] = {{503, NULL, XERR("SlowDown"), 0}, {503, NULL, XERR("SlowDown"), 0},
                       {503, NULL, XERR("SlowDown"), 0}, {200, NULL, "late", 0}};
    start(s, 4);
    objstore_bucket *b = open_bucket(2);
    bool ex;
    objstore_err e;
    assert_int_equal(objstore_exists(b, "k", &ex, &e), -EAGAIN);
    assert_int_equal(e.cls, OBJSTORE_ERR_RETRYABLE);
    assert_int_equal(e.status, 503);
    assert_non_null(strstr(e.msg, "3 attempts"));
    assert_int_equal(srv.nreq, 3);
    objstore_bucket_close(b);
    stop();
}

static void head_404_not_found(void **state)
{
    const reply s[] = {{404, NULL, NULL, 0}};
    start(s, 1);
    objstore_bucket *b = open_bucket(2);
    bool ex = true;
    objstore_err e;
    assert_int_equal(objstore_exists(b, "k", &ex, &e), 0);
    assert_false(ex);
    assert_string_equal(srv.req[0], "HEAD /b/k");
    objstore_bucket_close(b);
    stop();
}

static void resume_cut_download(void **state)
{
    /* Whole object: 4 of 10 bytes arrive, then the rest from byte 4. */
    const reply s[] = {{200, NULL, "0123456789", 4},
                       {206, "Content-Range: bytes 4-9/10\r\n", "456789", 0}};
    start(s, 2);
    objstore_bucket *b = open_bucket(3);
    void *d;
    size_t n;
    objstore_err e;
    assert_int_equal(objstore_get(b, "k", 0, -1, &d, &n, &e), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(d, "0123456789", 10);
    free(d);
    assert_int_equal(srv.nreq, 2);
    assert_string_equal(srv.range[0], "");
    assert_string_equal(srv.range[1], "bytes=4-");
    objstore_bucket_close(b);
    stop();

    /* A range: bytes 2..7, cut after 3, resumed at 5..7. */
    const reply r[] = {{206, NULL, "234567", 3}, {206, NULL, "567", 0}};
    start(r, 2);
    b = open_bucket(3);
    assert_int_equal(objstore_get(b, "k", 2, 6, &d, &n, &e), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(d, "234567", 6);
    free(d);
    assert_string_equal(srv.range[0], "bytes=2-7");
    assert_string_equal(srv.range[1], "bytes=5-7");
    objstore_bucket_close(b);
    stop();

    /* A server ignoring Range (200, whole body): the client cuts it itself. */
    const reply w[] = {{200, NULL, "0123456789", 0}};
    start(w, 1);
    b = open_bucket(3);
    assert_int_equal(objstore_get(b, "k", 3, 4, &d, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "3456", 4);
    free(d);
    objstore_bucket_close(b);
    stop();
}

static unsigned char *big(size_t n)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    memset(d, 'a', n);
    return d;
}

#define INIT_OK "<InitiateMultipartUploadResult><UploadId>UP1</UploadId></InitiateMultipartUploadResult>"

static void complete_200_with_error(void **state)
{
    /* InternalError inside a 200: the complete is retried and succeeds. */
    const reply s[] = {{200, NULL, INIT_OK, 0},
                       {200, "ETag: \"e1\"\r\n", "", 0},
                       {200, "ETag: \"e2\"\r\n", "", 0},
                       {200, NULL, "\n \n" XERR("InternalError"), 0},
                       {200, NULL, "<CompleteMultipartUploadResult/>", 0}};
    start(s, 5);
    objstore_bucket *b = open_bucket(3);
    size_t n = (5u << 20) + 10;
    unsigned char *d = big(n);
    objstore_err e;
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), 0);
    assert_int_equal(srv.nreq, 5);
    assert_string_equal(srv.req[0], "POST /b/mp?uploads=");
    assert_string_equal(srv.req[1], "PUT /b/mp?partNumber=1&uploadId=UP1");
    assert_string_equal(srv.req[2], "PUT /b/mp?partNumber=2&uploadId=UP1");
    assert_string_equal(srv.req[3], "POST /b/mp?uploadId=UP1");
    assert_string_equal(srv.req[4], "POST /b/mp?uploadId=UP1");
    objstore_bucket_close(b);
    stop();

    /* InvalidPart inside a 200: not retried, the upload is aborted. */
    const reply f[] = {{200, NULL, INIT_OK, 0},
                       {200, "ETag: \"e1\"\r\n", "", 0},
                       {200, "ETag: \"e2\"\r\n", "", 0},
                       {200, NULL, XERR("InvalidPart"), 0},
                       {204, NULL, NULL, 0}};
    start(f, 5);
    b = open_bucket(3);
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_int_equal(e.cls, OBJSTORE_ERR_FATAL);
    assert_string_equal(e.code, "InvalidPart");
    assert_non_null(strstr(e.msg, "msg InvalidPart"));
    assert_int_equal(srv.nreq, 5);
    assert_string_equal(srv.req[4], "DELETE /b/mp?uploadId=UP1");
    free(d);
    objstore_bucket_close(b);
    stop();
}

static void failed_part_aborts(void **state)
{
    const reply s[] = {{200, NULL, INIT_OK, 0},
                       {400, NULL, XERR("EntityTooSmall"), 0},
                       {204, NULL, NULL, 0}};
    start(s, 3);
    objstore_bucket *b = open_bucket(3);
    size_t n = (5u << 20) + 10;
    unsigned char *d = big(n);
    objstore_err e;
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_string_equal(e.code, "EntityTooSmall");
    assert_int_equal(srv.nreq, 3);
    assert_string_equal(srv.req[2], "DELETE /b/mp?uploadId=UP1");
    assert_null(strstr(e.msg, "may remain"));
    objstore_stats st;
    objstore_bucket_stats(b, &st);
    assert_int_equal(st.aborts, 1);
    assert_int_equal(st.aborts_failed, 0);
    objstore_bucket_close(b);
    stop();

    /* The abort itself meets a transient error: retried until it succeeds. */
    const reply r[] = {{200, NULL, INIT_OK, 0},
                       {400, NULL, XERR("EntityTooSmall"), 0},
                       {503, NULL, XERR("SlowDown"), 0},
                       {204, NULL, NULL, 0}};
    start(r, 4);
    b = open_bucket(3);
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_string_equal(e.code, "EntityTooSmall");
    assert_null(strstr(e.msg, "may remain"));
    assert_int_equal(srv.nreq, 4);
    assert_string_equal(srv.req[3], "DELETE /b/mp?uploadId=UP1");
    objstore_bucket_stats(b, &st);
    assert_int_equal(st.aborts, 1);
    assert_int_equal(st.aborts_failed, 0);
    objstore_bucket_close(b);
    stop();

    /* NoSuchUpload: the upload is already gone, which is what we wanted. */
    const reply g[] = {{200, NULL, INIT_OK, 0},
                       {400, NULL, XERR("EntityTooSmall"), 0},
                       {404, NULL, XERR("NoSuchUpload"), 0}};
    start(g, 3);
    b = open_bucket(3);
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_null(strstr(e.msg, "may remain"));
    objstore_bucket_stats(b, &st);
    assert_int_equal(st.aborts, 1);
    objstore_bucket_close(b);
    stop();

    /* The abort keeps failing (retries exhausted; 405 as s3rver 5 answers is
     * not retried at all): the upload's error keeps its own class and code
     * and says that the parts may remain, with the upload ID. */
    const reply x[] = {{200, NULL, INIT_OK, 0},
                       {400, NULL, XERR("EntityTooSmall"), 0},
                       {503, NULL, XERR("SlowDown"), 0},
                       {503, NULL, XERR("SlowDown"), 0},
                       {405, NULL, XERR("MethodNotAllowed"), 0}};
    start(x, 5);
    b = open_bucket(1);
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_int_equal(e.cls, OBJSTORE_ERR_FATAL);
    assert_string_equal(e.code, "EntityTooSmall");
    print_message("expected: %s\n", e.msg);
    assert_non_null(strstr(e.msg, "msg EntityTooSmall"));
    assert_non_null(strstr(e.msg, "abort multipart upload mp: HTTP 503 SlowDown"));
    assert_non_null(strstr(e.msg, "upload ID UP1 may remain"));
    assert_non_null(strstr(e.msg, "AbortIncompleteMultipartUpload"));
    assert_int_equal(srv.nreq, 4); /* max_retries 1: two abort attempts */
    objstore_bucket_stats(b, &st);
    assert_int_equal(st.aborts, 0);
    assert_int_equal(st.aborts_failed, 1);
    objstore_bucket_close(b);
    stop();
    const reply y[] = {{200, NULL, INIT_OK, 0},
                       {400, NULL, XERR("EntityTooSmall"), 0},
                       {405, NULL, XERR("MethodNotAllowed"), 0}};
    start(y, 3);
    b = open_bucket(3);
    assert_int_equal(objstore_upload_buffer(b, "mp", d, n, &e), -EIO);
    assert_non_null(strstr(e.msg, "HTTP 405 MethodNotAllowed"));
    assert_non_null(strstr(e.msg, "may remain"));
    assert_int_equal(srv.nreq, 3);
    free(d);
    objstore_bucket_close(b);
    stop();
}

static void addressing_styles(void **state)
{
    /* Path style (auto for a non-AWS host): bucket in the path, also for a
     * bucket-level list (no slash after the bucket). Virtual-host style:
     * bucket in the Host header. curl resolves *.localhost to loopback. */
    const char *list = "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>";
    const reply s[] = {{200, NULL, "x", 0}, {200, NULL, list, 0},
                       {200, NULL, "y", 0}, {200, NULL, list, 0}};
    start(s, 4);
    objstore_bucket *b = open_bucket_at(1, "localhost", OBJSTORE_LOOKUP_AUTO);
    void *d;
    size_t n;
    objstore_err e;
    int cnt = 0;
    assert_int_equal(objstore_get(b, "dir/k", 0, -1, &d, &n, &e), 0);
    free(d);
    assert_int_equal(objstore_iter(b, "dir/", 0, count_names, &cnt, &e), 0);
    objstore_bucket_close(b);
    b = open_bucket_at(1, "s3.localhost", OBJSTORE_LOOKUP_VHOST);
    assert_int_equal(objstore_get(b, "dir/k", 0, -1, &d, &n, &e), 0);
    free(d);
    assert_int_equal(objstore_iter(b, "", OBJSTORE_ITER_RECURSIVE, count_names, &cnt, &e), 0);
    objstore_bucket_close(b);
    stop();
    char want[64];
    assert_string_equal(srv.req[0], "GET /b/dir/k");
    snprintf(want, sizeof want, "localhost:%d", srv.port);
    assert_string_equal(srv.host[0], want);
    assert_string_equal(srv.req[1],
                        "GET /b?delimiter=%2F&encoding-type=url&list-type=2&max-keys=1000&"
                        "prefix=dir%2F");
    assert_string_equal(srv.req[2], "GET /dir/k");
    snprintf(want, sizeof want, "b.s3.localhost:%d", srv.port);
    assert_string_equal(srv.host[2], want);
    assert_string_equal(srv.req[3], "GET /?encoding-type=url&list-type=2&max-keys=1000");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as aiond: see objstore.h */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(retries_5xx_429_slowdown),
        cmocka_unit_test(no_retry_on_4xx),
        cmocka_unit_test(retry_bound),
        cmocka_unit_test(head_404_not_found),
        cmocka_unit_test(resume_cut_download),
        cmocka_unit_test(complete_200_with_error),
        cmocka_unit_test(failed_part_aborts),
        cmocka_unit_test(addressing_styles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
