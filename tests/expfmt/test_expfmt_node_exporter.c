/* Real output: starts prometheus-node-exporter on a free port, fetches
 * /metrics and parses it completely. Checks the sample count against the
 * line count, and that writing every parsed line back with the writer
 * reproduces the exposition byte for byte (Go's own formatter wrote it).
 * Skips (77) when the binary is missing. */
#include <arpa/inet.h>
#include <errno.h>
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

#define FAIL(...)                                                                             \
    do {                                                                                      \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                \
        fprintf(stderr, "\n");                                                                \
        rc = 1;                                                                               \
        goto out;                                                                             \
    } while (0)

static const char *exporter = "/usr/bin/prometheus-node-exporter";

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || getsockname(s, (struct sockaddr *)&a, &l))
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

/* GET path over HTTP/1.0 (no chunking, no gzip); returns malloc'd response. */
static char *http_get(int port, const char *path, const char *accept, size_t *len)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0)
        return NULL;
    if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
        close(s);
        return NULL;
    }
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
                     accept ? "Accept: " : "", accept ? accept : "", accept ? "\r\n" : "");
    if (write(s, req, (size_t)n) != n) {
        close(s);
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *b = malloc(cap);
    for (;;) {
        if (used + 4096 > cap)
            b = realloc(b, cap *= 2);
        ssize_t r = read(s, b + used, cap - used - 1);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(s);
    b[used] = '\0';
    *len = used;
    return b;
}

typedef struct {
    char *out;          /* re-rendered exposition */
    size_t len, cap;
    size_t samples, types, helps;
    size_t histogram_buckets, bad_family;
    char last_type[256];  /* name of the last # TYPE */
} ctx_t;

static void append(ctx_t *c, size_t need, size_t (*render)(ctx_t *, char *, size_t))
{
    if (c->len + need + 1 > c->cap) {
        c->cap = (c->len + need + 1) * 2;
        c->out = realloc(c->out, c->cap);
    }
    c->len += render(c, c->out + c->len, c->cap - c->len);
}

static const expfmt_sample *cur_s;
static size_t r_sample(ctx_t *c, char *d, size_t cap)
{
    const expfmt_sample *s = cur_s;
    return expfmt_format_sample(d, cap, s->name, s->name_len, s->labels, s->label_count,
                                s->value, s->has_timestamp ? &s->timestamp_ms : NULL);
}

static int on_sample(void *vc, const expfmt_sample *s)
{
    ctx_t *c = vc;
    c->samples++;
    if (s->type == EXPFMT_HISTOGRAM && s->name_len > 7 &&
        memcmp(s->name + s->name_len - 7, "_bucket", 7) == 0) {
        c->histogram_buckets++;
        /* every bucket has an le label */
        int has_le = 0;
        for (size_t k = 0; k < s->label_count; k++)
            has_le |= s->labels[k].name_len == 2 && memcmp(s->labels[k].name, "le", 2) == 0;
        if (!has_le)
            c->bad_family++;
    }
    /* node_exporter sends # TYPE before each family: every sample's family
     * is the last TYPE's name (for _sum/_count/_bucket too). */
    if (s->family_len != strlen(c->last_type) ||
        memcmp(s->family, c->last_type, s->family_len) != 0)
        c->bad_family++;
    cur_s = s;
    append(c, 64 + s->name_len + 8 * s->label_count + 1024, r_sample);
    return 0;
}

static const char *cur_name, *cur_help;
static size_t cur_name_len, cur_help_len;
static expfmt_type cur_type;
static size_t r_type(ctx_t *c, char *d, size_t cap)
{
    return expfmt_format_type(d, cap, cur_name, cur_name_len, cur_type);
}
static size_t r_help(ctx_t *c, char *d, size_t cap)
{
    return expfmt_format_help(d, cap, cur_name, cur_name_len, cur_help, cur_help_len);
}

static int on_type(void *vc, const char *n, size_t nl, expfmt_type t, size_t line)
{
    ctx_t *c = vc;
    c->types++;
    snprintf(c->last_type, sizeof(c->last_type), "%.*s", (int)nl, n);
    cur_name = n;
    cur_name_len = nl;
    cur_type = t;
    append(c, nl + 64, r_type);
    return 0;
}

static int on_help(void *vc, const char *n, size_t nl, const char *h, size_t hl, size_t line)
{
    ctx_t *c = vc;
    c->helps++;
    cur_name = n;
    cur_name_len = nl;
    cur_help = h;
    cur_help_len = hl;
    append(c, nl + 2 * hl + 64, r_help);
    return 0;
}

int main(void)
{
    int rc = 0;
    pid_t pid = -1;
    char *resp = NULL;
    ctx_t c = {0};
    if (access(exporter, X_OK) != 0) {
        printf("SKIPPED: %s not installed\n", exporter);
        return 77;
    }
    int port = free_port();
    if (port < 0) {
        printf("SKIPPED: no free port\n");
        return 77;
    }
    char addr[64];
    snprintf(addr, sizeof(addr), "--web.listen-address=127.0.0.1:%d", port);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(exporter, exporter, addr, "--no-collector.systemd", "--no-collector.hwmon",
              "--no-collector.thermal_zone", (char *)NULL);
        _exit(127);
    }
    size_t len = 0;
    for (int tries = 0; tries < 100 && !resp; tries++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        resp = http_get(port, "/metrics", NULL, &len);
    }
    if (!resp)
        FAIL("node exporter did not answer on port %d", port);
    char *body = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.0 200", 12) != 0 && strncmp(resp, "HTTP/1.1 200", 12) != 0)
        FAIL("status: %.40s", resp);
    if (!body || !strstr(resp, "text/plain; version=0.0.4"))
        FAIL("unexpected headers: %.300s", resp);
    body += 4;
    size_t blen = len - (size_t)(body - resp);

    /* Line census of the raw body. */
    size_t lines = 0, comment_type = 0, comment_help = 0;
    for (char *p = body; p < body + blen;) {
        char *nl = memchr(p, '\n', (size_t)(body + blen - p));
        if (!nl)
            FAIL("body does not end with a newline");
        if (nl > p && *p != '#')
            lines++;
        comment_type += strncmp(p, "# TYPE ", 7) == 0;
        comment_help += strncmp(p, "# HELP ", 7) == 0;
        p = nl + 1;
    }

    expfmt_callbacks cb = {on_sample, on_type, on_help};
    expfmt_error err;
    int prc = expfmt_parse(body, blen, EXPFMT_TEXT, &cb, &c, &err);
    if (prc)
        FAIL("parse: %s", err.msg);
    printf("node_exporter: %zu bytes, %zu samples, %zu families, %zu histogram buckets\n", blen,
           c.samples, c.types, c.histogram_buckets);
    if (c.samples != lines)
        FAIL("parsed %zu samples, body has %zu sample lines", c.samples, lines);
    if (c.types != comment_type || c.helps != comment_help)
        FAIL("TYPE %zu/%zu HELP %zu/%zu", c.types, comment_type, c.helps, comment_help);
    if (c.samples < 200)
        FAIL("suspiciously few samples: %zu", c.samples);
    if (c.bad_family)
        FAIL("%zu samples without a matching family", c.bad_family);
    if (c.len != blen || memcmp(c.out, body, blen) != 0) {
        size_t k = 0;
        while (k < c.len && k < blen && c.out[k] == body[k])
            k++;
        size_t ls = k;
        while (ls > 0 && body[ls - 1] != '\n')
            ls--;
        FAIL("re-rendered output differs at byte %zu:\n orig: %.120s\n ours: %.120s", k,
             body + ls, c.out + ls);
    }

    /* Streaming in odd-sized pieces gives the same result. */
    {
        ctx_t c2 = {0};
        expfmt_parser *p = expfmt_parser_new(EXPFMT_TEXT, &cb, &c2);
        size_t off = 0, have = 0;
        char *buf = malloc(blen + 1);
        while (off < blen) {
            size_t take = blen - off < 997 ? blen - off : 997;
            memcpy(buf + have, body + off, take);
            have += take;
            off += take;
            size_t used;
            if (expfmt_parser_feed(p, buf, have, &used, &err))
                FAIL("stream: %s", err.msg);
            memmove(buf, buf + used, have - used);
            have -= used;
        }
        if (expfmt_parser_finish(p, buf, have, &err))
            FAIL("stream finish: %s", err.msg);
        expfmt_parser_free(p);
        free(buf);
        if (c2.len != c.len || memcmp(c2.out, c.out, c.len) != 0)
            FAIL("streamed parse differs");
        free(c2.out);
    }
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    free(resp);
    free(c.out);
    if (rc == 0)
        printf("OK\n");
    return rc;
}
