/* Real /federate output: starts Prometheus 2.42 scraping itself with
 * external labels, fetches /federate (what Aion's federate plugin reads) and
 * parses it completely: sample count equals the line count, every sample
 * has a timestamp and the external labels, and writing the parsed lines
 * back with the writer reproduces the body byte for byte.
 * Skips (77) without the prometheus binary. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <expfmt/expfmt.h>
#include <expfmt/writer.h>

static const char *prom_bin = "/usr/bin/prometheus";

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(s, (struct sockaddr *)&a, &l))
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

static char *http_get(int port, const char *path, size_t *len)
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
    if (write(s, req, (size_t)n) != n) {
        close(s);
        return NULL;
    }
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
    *len = used;
    return b;
}

typedef struct {
    char *out;
    size_t len, cap;
    size_t samples, no_ts, no_ext;
} ctx_t;

static void grow(ctx_t *c, size_t need)
{
    if (c->len + need + 1 > c->cap) {
        c->cap = (c->len + need + 1) * 2;
        c->out = realloc(c->out, c->cap);
    }
}

static int has(const expfmt_sample *s, const char *n, const char *v)
{
    for (size_t k = 0; k < s->label_count; k++)
        if (s->labels[k].name_len == strlen(n) && !memcmp(s->labels[k].name, n, strlen(n)) &&
            s->labels[k].value_len == strlen(v) && !memcmp(s->labels[k].value, v, strlen(v)))
            return 1;
    return 0;
}

static int on_sample(void *vc, const expfmt_sample *s)
{
    ctx_t *c = vc;
    c->samples++;
    c->no_ts += !s->has_timestamp;
    c->no_ext += !(has(s, "cluster", "eco-a") && has(s, "replica", "0"));
    size_t need = expfmt_format_sample(NULL, 0, s->name, s->name_len, s->labels, s->label_count,
                                       s->value, s->has_timestamp ? &s->timestamp_ms : NULL);
    grow(c, need);
    c->len += expfmt_format_sample(c->out + c->len, c->cap - c->len, s->name, s->name_len,
                                   s->labels, s->label_count, s->value,
                                   s->has_timestamp ? &s->timestamp_ms : NULL);
    return 0;
}

static int on_type(void *vc, const char *n, size_t nl, expfmt_type t, size_t line)
{
    ctx_t *c = vc;
    grow(c, nl + 64);
    c->len += expfmt_format_type(c->out + c->len, c->cap - c->len, n, nl, t);
    return 0;
}

int main(void)
{
    int rc = 1;
    if (access(prom_bin, X_OK) != 0) {
        printf("SKIPPED: %s not installed\n", prom_bin);
        return 77;
    }
    int port = free_port();
    char dir[] = "/tmp/aion-expfmt-fed-XXXXXX";
    if (port < 0 || !mkdtemp(dir)) {
        printf("SKIPPED: no free port or temp dir\n");
        return 77;
    }
    char cfg[300], a1[320], a2[320], a3[64];
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  external_labels: {cluster: eco-a, replica: \"0\"}\n"
            "scrape_configs:\n  - job_name: prometheus\n"
            "    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
            port);
    fclose(f);
    snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
    snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s/data", dir);
    snprintf(a3, sizeof(a3), "--web.listen-address=127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        dup2(dn, 2);
        execl(prom_bin, prom_bin, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    char *resp = NULL, *body = NULL;
    size_t len = 0;
    /* The first scrape comes ~6 s after start; poll until data is there. */
    for (int t = 0; t < 60; t++) {
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
        free(resp);
        resp = http_get(port, "/federate?match%5B%5D=%7Bjob%3D%22prometheus%22%7D", &len);
        body = resp ? strstr(resp, "\r\n\r\n") : NULL;
        if (body && strstr(body, "prometheus_build_info"))
            break;
        body = NULL;
    }
    ctx_t c = {0};
    if (!body) {
        fprintf(stderr, "FAIL: no federate data\n");
        goto out;
    }
    body += 4;
    size_t blen = len - (size_t)(body - resp), lines = 0;
    for (char *p = body; p < body + blen;) {
        char *nl = memchr(p, '\n', (size_t)(body + blen - p));
        if (!nl)
            break;
        lines += nl > p && *p != '#';
        p = nl + 1;
    }
    expfmt_callbacks cb = {on_sample, on_type, NULL};
    expfmt_error err;
    if (expfmt_parse(body, blen, EXPFMT_TEXT, &cb, &c, &err)) {
        fprintf(stderr, "FAIL: parse: %s\n", err.msg);
        goto out;
    }
    printf("federate: %zu bytes, %zu samples\n", blen, c.samples);
    if (c.samples != lines || c.samples < 100 || c.no_ts || c.no_ext) {
        fprintf(stderr, "FAIL: %zu samples / %zu lines, %zu without timestamp, %zu without "
                        "external labels\n", c.samples, lines, c.no_ts, c.no_ext);
        goto out;
    }
    if (c.len != blen || memcmp(c.out, body, blen) != 0) {
        size_t k = 0;
        while (k < c.len && k < blen && c.out[k] == body[k])
            k++;
        fprintf(stderr, "FAIL: re-rendered output differs at byte %zu:\n orig: %.120s\n ours: "
                        "%.120s\n", k, body + k, c.out + k);
        goto out;
    }
    rc = 0;
    printf("OK\n");
out:
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(resp);
    free(c.out);
    char cmd[320];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
