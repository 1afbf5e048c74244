/* tests/host/test_http_tls.c: TLS listeners, with and without client
 * certificates. The CA and certificates are made by the openssl CLI at
 * test time; libcurl is the client. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "metrics.h"
#include "test_http_util.h"

static char dir[] = "/tmp/aion-tls-XXXXXX";
static const char *ca_file = "ca.crt"; /* the client's trust anchor */
static int port_tls, port_mtls;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static const char *path(const char *name)
{
    static char bufs[8][512];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

/* key + cert for CN, signed by the CA named ca (files <ca>.crt/.key) */
static void make_cert(const char *ca, const char *name, const char *cn, const char *ext)
{
    int rc = sh("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                "-keyout %s.key -out %s.csr -subj /CN=%s >/dev/null 2>&1 && "
                "printf '%s\\n' > %s.ext && "
                "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial "
                "-out %s.crt -days 2 -extfile %s.ext >/dev/null 2>&1",
                dir, name, name, cn, ext, name, name, ca, ca, name, name);
    assert_int_equal(rc, 0);
}

static void make_ca(const char *name)
{
    int rc = sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                "-nodes -keyout %s.key -out %s.crt -days 2 -subj /CN=%s >/dev/null 2>&1",
                dir, name, name, name);
    assert_int_equal(rc, 0);
}

static void h_hello(aion_http_req *req, void *arg)
{
    host_http_reply_text(req, 200, "hello %s", (const char *)arg);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    assert_non_null(mkdtemp(dir));
    make_ca("ca");
    make_ca("otherca");
    make_cert("ca", "server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    make_cert("ca", "client", "client1", "extendedKeyUsage=clientAuth");
    make_cert("otherca", "stranger", "stranger", "extendedKeyUsage=clientAuth");
    curl_global_init(CURL_GLOBAL_DEFAULT);

    char err[512] = "";
    assert_int_equal(host_workers_start(2, 64), 0);
    assert_int_equal(host_http_init(2, err, sizeof(err)), 0);
    host_http_listener_cfg c;
    host_http_listener_defaults(&c);
    c.address = "127.0.0.1:0";
    c.tls_cert_file = path("server.crt");
    c.tls_key_file = path("server.key");
    if (host_http_add_listener(&c, err, sizeof(err)))
        fail_msg("%s", err);
    c.name = "mtls";
    c.tls_client_ca_file = path("ca.crt");
    if (host_http_add_listener(&c, err, sizeof(err)))
        fail_msg("%s", err);
    /* broken TLS files are refused up front */
    c.name = "broken";
    c.tls_key_file = path("client.key");
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "broken"));
    c.tls_key_file = path("nope.key");
    assert_int_equal(host_http_add_listener(&c, err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "nope.key"));

    assert_int_equal(host_http_route("main", AION_HTTP_GET, "/hello", 0, h_hello, "tls", "test"), 0);
    assert_int_equal(host_http_route("mtls", AION_HTTP_GET, "/hello", 0, h_hello, "mtls", "test"), 0);
    if (host_http_start(err, sizeof(err)))
        fail_msg("%s", err);
    port_tls = host_http_port("main");
    port_mtls = host_http_port("mtls");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    th_stop();
    curl_global_cleanup();
    sh("rm -rf %s", dir);
    return 0;
}

typedef struct buf {
    char data[4096];
    size_t len;
} buf;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    buf *b = arg;
    size_t k = sz * n;
    if (b->len + k >= sizeof(b->data))
        k = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, p, k);
    b->len += k;
    b->data[b->len] = 0;
    return sz * n;
}

/* Returns the HTTP status, or -(curl error). */
static int fetch(const char *scheme, int port, const char *cert, buf *out)
{
    char url[256];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d/hello", scheme, port);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    out->len = 0;
    out->data[0] = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, path(ca_file));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (cert) {
        char crt[64], key[64];
        snprintf(crt, sizeof(crt), "%s.crt", cert);
        snprintf(key, sizeof(key), "%s.key", cert);
        curl_easy_setopt(c, CURLOPT_SSLCERT, path(crt));
        curl_easy_setopt(c, CURLOPT_SSLKEY, path(key));
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? (int)code : -(int)rc;
}

static void test_tls(void **state)
{
    (void)state;
    buf b;
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
    assert_string_equal(b.data, "hello tls\n");
    /* keep going: several in a row (new handshakes) */
    for (int i = 0; i < 5; i++)
        assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
    /* plain HTTP to a TLS port gets no HTTP answer */
    assert_true(fetch("http", port_tls, NULL, &b) < 0);
}

static void test_client_cert_required(void **state)
{
    (void)state;
    buf b;
    assert_true(fetch("https", port_mtls, NULL, &b) < 0);
    assert_true(fetch("https", port_mtls, "stranger", &b) < 0);
    assert_int_equal(fetch("https", port_mtls, "client", &b), 200);
    assert_string_equal(b.data, "hello mtls\n");
    /* failed handshakes leave no connection behind */
    for (int i = 0; i < 200 && host_http_connections("mtls") > 0; i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_connections("mtls"), 0);
}

static void test_broken_handshakes(void **state)
{
    (void)state;
    /* clients that vanish mid-handshake or speak garbage leave nothing behind */
    static const char hello_start[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    for (int i = 0; i < 30; i++) {
        int fd = th_connect(port_tls);
        assert_true(fd >= 0);
        if (i % 3 == 0)
            th_send(fd, hello_start, sizeof(hello_start) - 1);
        else if (i % 3 == 1)
            th_send(fd, "GET / HTTP/1.1\r\n\r\n", 18);
        close(fd);
    }
    buf b;
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
    for (int i = 0; i < 300 && host_http_connections("main") > 0; i++)
        usleep(10 * 1000);
    assert_int_equal(host_http_connections("main"), 0);
}

static void test_reload(void **state)
{
    (void)state;
    buf b;
    char err[512] = "";
    /* rotate the "main" server certificate to one signed by another CA */
    make_cert("otherca", "rotated", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    assert_int_equal(sh("cd %s && cp server.crt server.crt.bak && cp server.key server.key.bak && "
                        "cp rotated.crt server.crt && cp rotated.key server.key", dir), 0);
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200); /* not reloaded yet */
    assert_int_equal(host_http_reload_tls(err, sizeof(err)), 0);
    assert_true(fetch("https", port_tls, NULL, &b) < 0); /* ca.crt no longer vouches for it */
    ca_file = "otherca.crt";
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
    /* broken files: the previous context stays */
    assert_int_equal(sh("cd %s && echo garbage > server.crt", dir), 0);
    assert_int_equal(host_http_reload_tls(err, sizeof(err)), -EIO);
    assert_non_null(strstr(err, "main"));
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
    ca_file = "ca.crt";
    assert_int_equal(sh("cd %s && mv server.crt.bak server.crt && mv server.key.bak server.key", dir), 0);
    assert_int_equal(host_http_reload_tls(err, sizeof(err)), 0);
    assert_int_equal(fetch("https", port_tls, NULL, &b), 200);
}

int main(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        printf("SKIPPED: the openssl command line tool is needed to make test certificates\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_client_cert_required),
        cmocka_unit_test(test_broken_handshakes),
        cmocka_unit_test(test_reload),
    };
    int rc = cmocka_run_group_tests_name("http_tls", tests, setup, teardown);
    host_metrics_free_all();
    return rc;
}
