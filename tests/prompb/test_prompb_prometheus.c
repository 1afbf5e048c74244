/* Real client: Prometheus 2.42 scrapes itself and remote-writes to a small
 * HTTP server in this test, which decodes every request with the fast
 * decoder AND protoc-c and requires identical results, and all series valid.
 * Prometheus also remote-reads from it: the test queries Prometheus' API,
 * the server decodes the real ReadRequest and answers once with streamed
 * XOR chunks and once with a SAMPLES response, and the query results must
 * show the served values. Skips (77) without the prometheus binary. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prompb_ref.h"

static const char *prom_bin = "/usr/bin/prometheus";

static atomic_int writes, write_samples, metadata_reqs, reads_chunked, reads_samples, failures;
static atomic_int stale_seen;
/* vmagent, the second client: its requests are counted apart, and series
 * failing validation are counted (and the first message kept) rather than
 * failing the test: that is a fact about the client for receive to know. */
static atomic_int vm_writes, vm_samples, vm_invalid;
static char vm_first_invalid[512];
static atomic_bool stop;
static char failure_msg[512];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void failf(const char *fmt, const char *detail)
{
    pthread_mutex_lock(&mu);
    if (!failures)
        snprintf(failure_msg, sizeof(failure_msg), fmt, detail);
    failures++;
    pthread_mutex_unlock(&mu);
}

static int listen_any(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16) ||
        getsockname(s, (struct sockaddr *)&a, &l))
        return -1;
    *port = ntohs(a.sin_port);
    return s;
}

static int free_port(void)
{
    int p, s = listen_any(&p);
    if (s < 0)
        return -1;
    close(s);
    return p;
}

static int write_all(int fd, const void *b, size_t n)
{
    const char *p = b;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void respond(int fd, const char *status, const char *headers, const void *body, size_t n)
{
    char h[512];
    int hl = snprintf(h, sizeof(h), "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n\r\n", status,
                      headers, n);
    write_all(fd, h, (size_t)hl);
    if (n)
        write_all(fd, body, n);
}

static void handle_write(int fd, const char *body, size_t n, int vm)
{
    prompb_buf raw = {0};
    prompb_error err;
    prompb_write_request r;
    prompb_write_request_init(&r);
    if (prompb_snappy_uncompress(body, n, 32 << 20, &raw, &err)) {
        failf("snappy: %s", err.msg);
        goto out;
    }
    if (prompb_write_decode_v1(&r, raw.data, raw.len, &err)) {
        failf("decode: %s", err.msg);
        goto out;
    }
    Prometheus__WriteRequest *u =
        prometheus__write_request__unpack(NULL, raw.len, (uint8_t *)raw.data);
    if (!u) {
        failf("%s", "protoc-c rejected a request the fast decoder accepted");
        goto out;
    }
    char why[200];
    if (ref_compare_v1(&r, u, why, sizeof(why)))
        failf("fast decoder differs from protoc-c: %s", why);
    prometheus__write_request__free_unpacked(u, NULL);
    size_t bad = prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES | PROMPB_VALIDATE_METRIC_NAME,
                                 NULL, &err);
    if (vm) {
        if (bad) {
            pthread_mutex_lock(&mu);
            if (!vm_invalid)
                snprintf(vm_first_invalid, sizeof(vm_first_invalid), "%s", err.msg);
            pthread_mutex_unlock(&mu);
        }
        vm_invalid += (int)bad;
        vm_writes++;
        vm_samples += (int)r.sample_count;
        goto out;
    }
    if (bad)
        failf("Prometheus sent an invalid series: %s", err.msg);
    for (size_t i = 0; i < r.sample_count; i++) {
        uint64_t bits;
        memcpy(&bits, &r.samples[i].value, 8);
        if (bits == PROMPB_STALE_NAN_BITS)
            stale_seen++;
    }
    writes++;
    write_samples += (int)r.sample_count;
    if (r.metadata_count)
        metadata_reqs++;
out:
    respond(fd, "204 No Content", "", NULL, 0);
    prompb_write_request_free(&r);
    prompb_buf_free(&raw);
}

static void handle_read(int fd, const char *body, size_t n)
{
    prompb_buf raw = {0}, out = {0}, z = {0};
    prompb_error err;
    prompb_read_request r;
    prompb_read_request_init(&r);
    if (prompb_snappy_uncompress(body, n, 32 << 20, &raw, &err) ||
        prompb_read_request_decode(&r, raw.data, raw.len, &err)) {
        failf("read request: %s", err.msg);
        respond(fd, "400 Bad Request", "", err.msg, strlen(err.msg));
        goto out;
    }
    /* The query is aion_rr_test at t=7200s: one EQ matcher on __name__ and
     * a range ending at 7200000 ms. */
    int ok = r.query_count == 1 && r.matcher_count >= 1 && r.queries[0].end_ms == 7200000;
    for (size_t k = 0; ok && k < r.matcher_count; k++) {
        const prompb_matcher *m = &r.matchers[k];
        if (m->name_len == 8 && memcmp(m->name, "__name__", 8) == 0)
            ok = m->type == PROMPB_MATCH_EQ && m->value_len == 12 &&
                 memcmp(m->value, "aion_rr_test", 12) == 0;
    }
    if (!ok)
        failf("%s", "unexpected ReadRequest content");
    /* Answer in the type negotiated: Prometheus 2.42's client sends no
     * accepted_response_types (= SAMPLES only); newer ones accept chunks. */
    int mode = prompb_read_negotiate(&r, 3);
    if (mode < 0)
        failf("%s", "no response type negotiated");
    if (mode == PROMPB_READ_STREAMED_XOR_CHUNKS) {
        /* Real XOR chunk: one sample t=7200000 ms, v=12000. */
        static const uint8_t xor1[] = {0x00, 0x01, 0x80, 0xf4, 0xee, 0x06, 0x40,
                                       0xc7, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00};
        prompb_label l[] = {{"__name__", "aion_rr_test", 8, 12}, {"src", "chunks", 3, 6}};
        prompb_chunk c = {7200000, 7200000, 1, xor1, sizeof(xor1)};
        prompb_chunked_frame_append(&out, 0, l, 2, &c, 1, NULL);
        reads_chunked++;   /* counted before answering: the query may return at once */
        respond(fd, "200 OK",
                "Content-Type: application/x-streamed-protobuf; "
                "proto=prometheus.ChunkedReadResponse\r\n",
                out.data, out.len);
    } else {
        prompb_label l[] = {{"__name__", "aion_rr_test", 8, 12}, {"src", "samples", 3, 7}};
        prompb_sample s = {7200000, 34.5};
        prompb_series_data sd = {l, 2, &s, 1};
        prompb_query_result q = {&sd, 1};
        prompb_read_response_encode(&q, 1, &out, NULL);
        prompb_snappy_compress(out.data, out.len, &z, NULL);
        reads_samples++;
        respond(fd, "200 OK", "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n",
                z.data, z.len);
    }
out:
    prompb_read_request_free(&r);
    prompb_buf_free(&raw);
    prompb_buf_free(&out);
    prompb_buf_free(&z);
}

/* One keep-alive connection: requests until the peer closes. */
static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    size_t cap = 1 << 20, have = 0;
    char *b = malloc(cap);
    for (;;) {
        char *hend = NULL;
        while (!(hend = memmem(b, have, "\r\n\r\n", 4))) {
            if (have == cap)
                b = realloc(b, cap *= 2);
            ssize_t r = read(fd, b + have, cap - have);
            if (r <= 0)
                goto done;
            have += (size_t)r;
        }
        size_t hlen = (size_t)(hend - b) + 4, clen = 0;
        b[hlen - 1] = '\0';
        char *cl = strcasestr(b, "\r\nContent-Length:");
        if (cl)
            clen = strtoul(cl + 17, NULL, 10);
        while (have < hlen + clen) {
            if (hlen + clen > cap)
                b = realloc(b, cap = hlen + clen);
            ssize_t r = read(fd, b + have, cap - have);
            if (r <= 0)
                goto done;
            have += (size_t)r;
        }
        if (strncmp(b, "POST /api/v1/write ", 19) == 0)
            handle_write(fd, b + hlen, clen, strcasestr(b, "\r\nUser-Agent: vmagent") != NULL);
        else if (strncmp(b, "POST /api/v1/read ", 18) == 0)
            handle_read(fd, b + hlen, clen);
        else
            respond(fd, "404 Not Found", "", NULL, 0);
        memmove(b, b + hlen + clen, have - hlen - clen);
        have -= hlen + clen;
    }
done:
    free(b);
    close(fd);
    return NULL;
}

static void *server_main(void *arg)
{
    int ls = (int)(intptr_t)arg;
    while (!stop) {
        struct pollfd p = {ls, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

static char *http_get(int port, const char *path)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
        close(s);
        return NULL;
    }
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    write_all(s, req, (size_t)n);
    size_t cap = 1 << 16, used = 0;
    char *b = malloc(cap);
    ssize_t r;
    while ((r = read(s, b + used, cap - used - 1)) > 0) {
        used += (size_t)r;
        if (used + 1 == cap)
            b = realloc(b, cap *= 2);
    }
    close(s);
    b[used] = '\0';
    return b;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    int rc = 1, sport, pport;
    if (access(prom_bin, X_OK) != 0) {
        printf("SKIPPED: %s not installed\n", prom_bin);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = listen_any(&sport);
    pport = free_port();
    if (ls < 0 || pport < 0) {
        printf("SKIPPED: no free port\n");
        return 77;
    }
    char dir[] = "/tmp/aion-prompb-prom-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char cfg[256], data[256], addr[64], cfgarg[300], dataarg[300];
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: prometheus\n"
            "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
            "remote_write:\n  - url: http://127.0.0.1:%d/api/v1/write\n"
            "    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 2000}\n"
            "    metadata_config: {send: true, send_interval: 2s}\n"
            "remote_read:\n  - url: http://127.0.0.1:%d/api/v1/read\n    read_recent: true\n",
            pport, sport, sport);
    fclose(f);
    snprintf(addr, sizeof(addr), "--web.listen-address=127.0.0.1:%d", pport);
    snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", cfg);
    snprintf(dataarg, sizeof(dataarg), "--storage.tsdb.path=%s", data);

    pthread_t srv;
    pthread_create(&srv, NULL, server_main, (void *)(intptr_t)ls);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        dup2(dn, 2);
        execl(prom_bin, prom_bin, cfgarg, dataarg, addr, (char *)NULL);
        _exit(127);
    }

    /* vmagent scrapes the same Prometheus and remote-writes here too. */
    pid_t vpid = -1;
    if (access("/usr/bin/vmagent", X_OK) == 0) {
        char scfg[300], va[320], vb[320], vc[320], vd[64];
        snprintf(scfg, sizeof(scfg), "%s/scrape.yml", dir);
        f = fopen(scfg, "w");
        fprintf(f, "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: via-vmagent\n"
                   "    static_configs: [{targets: ['127.0.0.1:%d']}]\n", pport);
        fclose(f);
        snprintf(va, sizeof(va), "-promscrape.config=%s", scfg);
        snprintf(vb, sizeof(vb), "-remoteWrite.tmpDataPath=%s/vm", dir);
        snprintf(vc, sizeof(vc), "-remoteWrite.url=http://127.0.0.1:%d/api/v1/write", sport);
        snprintf(vd, sizeof(vd), "-httpListenAddr=127.0.0.1:%d", free_port());
        vpid = fork();
        if (vpid == 0) {
            int dn = open("/dev/null", O_WRONLY);
            dup2(dn, 1);
            dup2(dn, 2);
            execl("/usr/bin/vmagent", "vmagent", va, vb, vc, vd, "-remoteWrite.label=agent=vmagent",
                  "-remoteWrite.flushInterval=1s", "-loggerLevel=ERROR", (char *)NULL);
            _exit(127);
        }
    } else {
        printf("vmagent not installed: second client skipped\n");
    }

    /* Remote write: wait for several sample batches and a metadata request. */
    for (int t = 0; t < 400 && !(writes >= 4 && metadata_reqs >= 1 && (vpid < 0 || vm_writes >= 2)) &&
                    !failures; t++)
        sleep_ms(100);
    if (vpid > 0) {
        printf("vmagent: %d requests, %d samples, %d series failing validation%s%s\n",
               (int)vm_writes, (int)vm_samples, (int)vm_invalid, vm_invalid ? ", first: " : "",
               vm_first_invalid);
        if (vm_writes < 2) {
            fprintf(stderr, "FAIL: too little traffic from vmagent\n");
            goto out;
        }
    }
    printf("remote write: %d requests, %d samples, %d with metadata, %d stale markers\n",
           (int)writes, (int)write_samples, (int)metadata_reqs, (int)stale_seen);
    if (failures) {
        fprintf(stderr, "FAIL: %s\n", failure_msg);
        goto out;
    }
    if (writes < 4 || write_samples < 100 || metadata_reqs < 1) {
        fprintf(stderr, "FAIL: too little remote-write traffic\n");
        goto out;
    }

    /* Remote read: the served series must come back in the query result. */
    char *r1 = http_get(pport, "/api/v1/query?query=aion_rr_test&time=7200");
    int ok = r1 && !failures && reads_chunked + reads_samples >= 1 &&
             (reads_chunked ? strstr(r1, "\"src\":\"chunks\"") && strstr(r1, "\"12000\"")
                            : strstr(r1, "\"src\":\"samples\"") && strstr(r1, "\"34.5\""));
    if (!ok) {
        fprintf(stderr, "FAIL: remote read: %s\n answer: %.600s\n", failures ? failure_msg : "",
                r1 ? r1 : "(none)");
    } else {
        printf("remote read: %s answer reached the query result\n",
               reads_chunked ? "STREAMED_XOR_CHUNKS" : "SAMPLES");
        rc = 0;
    }
    free(r1);
out:
    if (vpid > 0) {
        kill(vpid, SIGTERM);
        waitpid(vpid, NULL, 0);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    stop = true;
    pthread_join(srv, NULL);
    close(ls);
    char cmd[320];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (rc == 0)
        printf("OK\n");
    return rc;
}
