/* Differential test of the PromQL parser against the real Prometheus 2.42.
 * Starts `prometheus` on a free loopback port and sends every case of
 * parser_cases.h plus a few thousand generated expressions to its
 * /api/v1/format_query: where Prometheus accepts a query ours must too and
 * print it the same (promql_node_pretty); where it rejects one, ours
 * must fail with the same "line:col: parse error: ..." text.
 * Known, documented differences are skipped: our nesting limits and the
 * printer's round-trip fixes (+Inf before ^, `__name__=""`).
 * Skips (77) when the prometheus binary is not installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "promql/ast.h"
#include "promql/parse.h"

#include "parser_cases.h"

static int port;

typedef struct {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 256;
        while (c < b->len + n + 1)
            c *= 2;
        char *ns = realloc(b->s, c);
        if (!ns)
            abort();
        b->s = ns;
        b->cap = c;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &l)) {
        if (s >= 0)
            close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
}

/* One HTTP/1.0 request; returns the status code and the body in *body. */
static int http(const char *method, const char *path, const char *form, sbuf *body)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    sbuf req = {0};
    char h[256];
    snprintf(h, sizeof h,
             "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n",
             method, path, form ? strlen(form) : 0);
    sb_add(&req, h);
    if (form)
        sb_add(&req, form);
    for (size_t off = 0; off < req.len;) {
        ssize_t w = write(s, req.s + off, req.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(req.s);
    sbuf resp = {0};
    char tmp[8192];
    ssize_t r;
    while ((r = read(s, tmp, sizeof tmp)) > 0)
        sb_addn(&resp, tmp, (size_t)r);
    close(s);
    int code = -1;
    if (resp.s && sscanf(resp.s, "HTTP/%*s %d", &code) == 1) {
        char *b = strstr(resp.s, "\r\n\r\n");
        body->len = 0;
        sb_add(body, b ? b + 4 : "");
    }
    free(resp.s);
    return code;
}

static void put_utf8(sbuf *b, uint32_t c)
{
    char o[4];
    size_t n;
    if (c < 0x80) {
        o[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    sb_addn(b, o, n);
}

/* The JSON string value of "key" in a flat object. */
static bool json_str(const char *js, const char *key, sbuf *out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(js, pat);
    if (!p)
        return false;
    out->len = 0;
    sb_add(out, "");
    for (p += strlen(pat); *p && *p != '"'; p++) {
        if (*p != '\\') {
            sb_addn(out, p, 1);
            continue;
        }
        p++;
        switch (*p) {
        case 'n': sb_add(out, "\n"); break;
        case 't': sb_add(out, "\t"); break;
        case 'r': sb_add(out, "\r"); break;
        case 'b': sb_add(out, "\b"); break;
        case 'f': sb_add(out, "\f"); break;
        case 'u': {
            unsigned c = 0;
            sscanf(p + 1, "%4x", &c);
            p += 4;
            if (c >= 0xD800 && c < 0xDC00 && p[1] == '\\' && p[2] == 'u') {
                unsigned lo = 0;
                sscanf(p + 3, "%4x", &lo);
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            put_utf8(out, c);
            break;
        }
        default: sb_addn(out, p, 1);
        }
    }
    return true;
}

/* Go's JSON encoding replaces each invalid UTF-8 byte by U+FFFD. */
static void go_sanitize(const char *s, sbuf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    out->len = 0;
    sb_add(out, "");
    for (size_t i = 0; i < n;) {
        size_t need = u[i] < 0x80 ? 0 : (u[i] >= 0xC2 && u[i] <= 0xDF) ? 1
                    : (u[i] >= 0xE0 && u[i] <= 0xEF) ? 2 : (u[i] >= 0xF0 && u[i] <= 0xF4) ? 3 : 9;
        bool ok = need != 9 && i + need < n + (need == 0);
        uint32_t c = need == 0 ? u[i] : (uint32_t)(u[i] & (0x3F >> need));
        for (size_t k = 1; ok && k <= need; k++) {
            if (i + k >= n || (u[i + k] & 0xC0) != 0x80)
                ok = false;
            else
                c = (c << 6) | (u[i + k] & 0x3F);
        }
        if (ok && need > 0) {
            static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
            ok = c >= min[need] && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
        }
        if (!ok) {
            sb_add(out, "\xef\xbf\xbd");
            i++;
        } else {
            sb_addn(out, s + i, need + 1);
            i += need + 1;
        }
    }
}

static void urlencode(const char *q, size_t n, sbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    out->len = 0;
    sb_add(out, "query=");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)q[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            sb_addn(out, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_addn(out, e, 3);
        }
    }
}

static int mismatches, compared, skipped, multiline;

static void check(const char *q)
{
    sbuf form = {0}, body = {0}, prom = {0}, ours = {0};
    urlencode(q, strlen(q), &form);
    int code = http("POST", "/api/v1/format_query", form.s, &body);
    if (code < 0 || !body.s) {
        fprintf(stderr, "request failed for `%s`\n", q);
        mismatches++;
        goto out;
    }
    bool prom_ok = strstr(body.s, "\"status\":\"success\"") != NULL;
    json_str(body.s, prom_ok ? "data" : "error", &prom);
    promql_node *n = NULL;
    promql_parse_error e;
    int rc = promql_parse(q, strlen(q), &n, &e);
    char *printed = rc == 0 ? promql_node_pretty(n) : NULL;
    promql_node_free(n);
    if (rc != 0 && strstr(e.msg, "expression nesting too deep")) {
        skipped++;
    } else if (prom_ok != (rc == 0)) {
        mismatches++;
        fprintf(stderr, "MISMATCH `%s`\n  prometheus: %s %s\n  ours:       %s\n", q,
                prom_ok ? "accepts:" : "rejects:", prom.s, rc == 0 ? printed : e.text);
    } else if (rc == 0) {
        if (strstr(printed, "Inf ^") || strstr(printed, "__name__=\"\"")) {
            skipped++;
        } else {
            go_sanitize(printed, &ours);
            compared++;
            multiline += strchr(prom.s, '\n') != NULL;
            if (strcmp(prom.s, ours.s) != 0) {
                mismatches++;
                fprintf(stderr, "PRINT `%s`\n  prometheus: %s\n  ours:       %s\n", q, prom.s, ours.s);
            }
        }
    } else {
        const char *pfx = "invalid parameter \"query\": ";
        const char *pe = strncmp(prom.s, pfx, strlen(pfx)) == 0 ? prom.s + strlen(pfx) : prom.s;
        go_sanitize(e.text, &ours);
        compared++;
        if (strcmp(pe, ours.s) != 0) {
            mismatches++;
            fprintf(stderr, "ERROR TEXT `%s`\n  prometheus: %s\n  ours:       %s\n", q, pe, ours.s);
        }
    }
    free(printed);
out:
    free(form.s);
    free(body.s);
    free(prom.s);
    free(ours.s);
}

/* Metric selectors (promql_parse_metric_selector) against /api/v1/series. */
static void check_selector(const char *q)
{
    sbuf form = {0}, body = {0}, prom = {0}, ours = {0};
    sb_add(&form, "match[]=");
    sbuf enc = {0};
    urlencode(q, strlen(q), &enc);
    sb_add(&form, enc.s + 6);
    free(enc.s);
    int code = http("POST", "/api/v1/series", form.s, &body);
    promql_node *n = NULL;
    promql_parse_error e;
    int rc = promql_parse_metric_selector(q, strlen(q), &n, &e);
    promql_node_free(n);
    if (code < 0 || !body.s) {
        mismatches++;
        goto out;
    }
    bool prom_ok = strstr(body.s, "\"status\":\"success\"") != NULL;
    if (!prom_ok) {
        json_str(body.s, "error", &prom);
        /* the API's own rule, after parsing succeeded */
        if (strstr(prom.s, "must contain at least one non-empty matcher"))
            prom_ok = true;
    }
    compared++;
    if (prom_ok != (rc == 0)) {
        mismatches++;
        fprintf(stderr, "SELECTOR `%s`\n  prometheus: %s\n  ours:       %s\n", q,
                prom_ok ? "accepts" : prom.s, rc == 0 ? "accepts" : e.text);
    } else if (!prom_ok) {
        const char *pfx = "invalid parameter \"match[]\": ";
        const char *pe = strncmp(prom.s, pfx, strlen(pfx)) == 0 ? prom.s + strlen(pfx) : prom.s;
        go_sanitize(e.text, &ours);
        if (strcmp(pe, ours.s) != 0) {
            mismatches++;
            fprintf(stderr, "SELECTOR ERROR `%s`\n  prometheus: %s\n  ours:       %s\n", q, pe,
                    ours.s);
        }
    }
out:
    free(form.s);
    free(body.s);
    free(prom.s);
    free(ours.s);
}

/* Deterministic random expressions, valid and invalid alike. */
static uint64_t rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define PICK(arr) (arr)[rnd(sizeof(arr) / sizeof((arr)[0]))]

static void gen_selector(sbuf *b)
{
    static const char *names[] = {"foo", "bar", "x:y", "sum", "by", "offset", "start", ""};
    static const char *lbl[] = {"a", "b", "__name__", "job"};
    static const char *ops[] = {"=", "!=", "=~", "!~"};
    static const char *vals[] = {"\"v\"", "\"\"", "\".*\"", "\".+\"", "\"a|b\"", "'x'", "`y`", "\"(a\"",
                                 "\"\\\\d+\"", "\"\\xff\""};
    const char *name = PICK(names);
    unsigned nm = rnd(4);
    sb_add(b, name);
    if (nm || !*name || rnd(3) == 0) {
        sb_add(b, "{");
        for (unsigned i = 0; i < nm; i++) {
            if (i)
                sb_add(b, ", ");
            sb_add(b, PICK(lbl));
            sb_add(b, PICK(ops));
            sb_add(b, PICK(vals));
        }
        sb_add(b, rnd(4) == 0 ? ",}" : "}");
    }
}

static void gen_expr(sbuf *b, int d)
{
    static const char *lits[] = {"1", "-2.5", "0x10", "Inf", "NaN", "\"s\"", "1e3", ".5", "0755"};
    static const char *ranges[] = {"[5m]", "[1h]", "[5m:1m]", "[1h:]", "", "[0s]", "[5m", "[1m:x]"};
    static const char *offs[] = {" offset 5m", " offset -1h", " offset 1h30m", " offset 0s", " offset 5"};
    static const char *ats[] = {" @ 100", " @ -5.5", " @ start()", " @ end()", " @ 1e3", " @ foo"};
    static const char *binops[] = {"+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=",
                                   "<=", "and", "or", "unless"};
    static const char *bmods[] = {"", "", " bool", " on(a)", " ignoring(b)", " on(a) group_left(c)",
                                  " ignoring(a) group_right", " bool on()", " group_left", " on(a,)"};
    static const char *aggs[] = {"sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
                                 "topk", "bottomk", "quantile", "count_values", "SUM", "Max"};
    static const char *grp[] = {"", " by (a)", " without (b, c)", " by ()", " by (a", " by a"};
    static const char *params[] = {"5", "0.9", "\"v\"", "x"};
    static const char *fns[] = {"rate", "abs", "round", "clamp", "label_replace", "histogram_quantile",
                                "time", "vector", "scalar", "hour", "label_join", "predict_linear",
                                "sort", "absent_over_time", "quantile_over_time", "nope"};
    unsigned r = rnd(100);
    if (d > 4 || r < 25) {
        if (rnd(2))
            gen_selector(b);
        else
            sb_add(b, PICK(lits));
    } else if (r < 40) {
        static const char *pre[] = {"", "", "", " @ start() ", " @ 5 ", " offset 1m", " @ end()"};
        gen_selector(b);
        sb_add(b, PICK(pre));
        sb_add(b, PICK(ranges));
        if (rnd(4) == 0)
            sb_add(b, PICK(offs));
        if (rnd(4) == 0)
            sb_add(b, PICK(ats));
    } else if (r < 55) {
        gen_expr(b, d + 1);
        static const char *ws[] = {" ", " ", "\n", " # c\n  ", "\t"};
        sb_add(b, PICK(ws));
        sb_add(b, PICK(binops));
        sb_add(b, PICK(bmods));
        sb_add(b, PICK(ws));
        gen_expr(b, d + 1);
    } else if (r < 70) {
        const char *agg = PICK(aggs);
        const char *g = PICK(grp);
        bool before = rnd(2);
        sb_add(b, agg);
        if (before)
            sb_add(b, g);
        sb_add(b, "(");
        if (!strcmp(agg, "topk") || !strcmp(agg, "bottomk") || !strcmp(agg, "quantile") ||
            !strcmp(agg, "count_values") || rnd(10) == 0) {
            sb_add(b, PICK(params));
            sb_add(b, ", ");
        }
        gen_expr(b, d + 1);
        sb_add(b, ")");
        if (!before)
            sb_add(b, g);
    } else if (r < 85) {
        sb_add(b, PICK(fns));
        sb_add(b, "(");
        unsigned n = rnd(4);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                sb_add(b, rnd(20) ? ", " : ", , ");
            gen_expr(b, d + 1);
        }
        sb_add(b, ")");
    } else if (r < 93) {
        sb_add(b, "(");
        gen_expr(b, d + 1);
        sb_add(b, ")");
        static const char *sq[] = {"", "[5m:]", "[10m:1m] offset 1m", "[5m]"};
        sb_add(b, PICK(sq));
    } else {
        static const char *un[] = {"-", "+", "- -"};
        sb_add(b, PICK(un));
        gen_expr(b, d + 1);
    }
}

/* Valid instant-vector expressions, often longer than a line, to compare
 * the multi-line form. */
static void gen_valid(sbuf *b, int d)
{
    static const char *names[] = {"http_requests_total", "node_cpu_seconds_total", "up", "x:rate5m",
                                  ("a_metric_name_that_is_so_long_that_a_selector_with_it_alone_does_"
                                   "not_fit_on_one_line_of_one_hundred_bytes")};
    static const char *matchers[] = {"", "{job=\"api-server\"}", "{instance=~\"10\\\\..*\", mode!=\"idle\"}",
                                     "{a=\"b\",c!~\"d|e\"}"};
    static const char *ops[] = {" + ", " / ", " * on (instance) group_left (job) ", " and ",
                                " > bool ", " - ignoring (mode) ", " or ", " unless on () "};
    static const char *aggs[] = {"sum", "max", "avg", "count", "stddev"};
    static const char *grps[] = {"", " by (job, instance)", " without (mode)"};
    unsigned r = rnd(d > 3 ? 2 : 10);
    switch (r) {
    case 0:
    case 1:
        sb_add(b, PICK(names));
        sb_add(b, PICK(matchers));
        break;
    case 2:
        sb_add(b, "rate(");
        sb_add(b, PICK(names));
        sb_add(b, PICK(matchers));
        sb_add(b, rnd(2) ? "[5m])" : "[1h] offset 5m)");
        break;
    case 3:
        sb_add(b, PICK(aggs));
        sb_add(b, PICK(grps));
        sb_add(b, " (");
        gen_valid(b, d + 1);
        sb_add(b, ")");
        break;
    case 4:
    case 5:
        gen_valid(b, d + 1);
        sb_add(b, PICK(ops));
        gen_valid(b, d + 1);
        break;
    case 6:
        sb_add(b, "(");
        gen_valid(b, d + 1);
        sb_add(b, ")");
        break;
    case 7:
        sb_add(b, rnd(2) ? "histogram_quantile(0.99, " : "topk(5, ");
        gen_valid(b, d + 1);
        sb_add(b, ")");
        break;
    case 8:
        sb_add(b, "max_over_time(");
        sb_add(b, rnd(2) ? "(" : "rate(");
        gen_valid(b, d + 1);
        sb_add(b, rnd(2) ? ")[30m:1m])" : "[5m:])[1h:5m] @ 100)");
        break;
    default:
        if (rnd(2)) {
            sb_add(b, "-");
            gen_valid(b, d + 1);
        } else {
            sb_add(b, "label_replace(");
            gen_valid(b, d + 1);
            sb_add(b, ", \"dst\", \"$1\", \"src\", \"(.*)\")");
        }
        break;
    }
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    const char *bin = getenv("AION_PROMETHEUS");
    if (!bin)
        bin = "/usr/bin/prometheus";
    if (access(bin, X_OK) != 0) {
        printf("SKIPPED: %s not installed (scripts/install-deps --test)\n", bin);
        return 77;
    }
    char dir[] = "/tmp/aion-promql-parse-XXXXXX";
    if (!mkdtemp(dir) || (port = free_port()) < 0) {
        perror("setup");
        return 1;
    }
    char cfg[256], data[256], listen[64], logf[256];
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(logf, sizeof logf, "%s/prometheus.log", dir);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    FILE *f = fopen(cfg, "w");
    if (!f) {
        perror(cfg);
        return 1;
    }
    fputs("global:\n  scrape_interval: 1h\n", f);
    fclose(f);

    /* A free port can be taken before prometheus binds it: retry a few times. */
    pid_t pid = -1;
    int rc = 1;
    sbuf body = {0};
    bool ready = false;
    for (int attempt = 0; attempt < 3 && !ready; attempt++) {
        if (attempt > 0 && (port = free_port()) < 0)
            break;
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
        pid = fork();
        if (pid == 0) {
            int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            char a1[300], a2[300], a3[100];
            snprintf(a1, sizeof a1, "--config.file=%s", cfg);
            snprintf(a2, sizeof a2, "--storage.tsdb.path=%s", data);
            snprintf(a3, sizeof a3, "--web.listen-address=%s", listen);
            execl(bin, bin, a1, a2, a3, (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 300 && !ready; i++) {
            ready = http("GET", "/-/ready", NULL, &body) == 200;
            if (!ready && waitpid(pid, NULL, WNOHANG) == pid) {
                pid = -1; /* exited, e.g. the port was taken */
                break;
            }
            if (!ready)
                usleep(100000);
        }
        if (!ready && pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
            pid = -1;
        }
    }
    if (!ready) {
        fprintf(stderr, "prometheus did not become ready (see %s)\n", logf);
        goto done;
    }
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        check(valid[i].in);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        check(invalid[i].in);
    const char *seed = getenv("AION_PARSER_SEED"); /* to explore other inputs locally */
    if (seed && strtoull(seed, NULL, 10))
        rng = strtoull(seed, NULL, 10);
    for (int i = 0; i < 4000; i++) {
        sbuf q = {0};
        sb_add(&q, "");
        gen_expr(&q, 0);
        check(q.s);
        free(q.s);
    }
    for (int i = 0; i < 1500; i++) {
        sbuf q = {0};
        sb_add(&q, "");
        gen_valid(&q, 0);
        check(q.s);
        free(q.s);
    }
    for (int i = 0; i < 600; i++) {
        static const char *tails[] = {"", "", " ", " + 1", "[5m]", " offset 1m", "}", "{a=\"b\"}"};
        sbuf q = {0};
        sb_add(&q, "");
        gen_selector(&q);
        sb_add(&q, PICK(tails));
        check_selector(q.s);
        free(q.s);
    }
    printf("compared %d queries with prometheus (%d printed on several lines), %d skipped, %d "
           "mismatches\n",
           compared, multiline, skipped, mismatches);
    rc = mismatches == 0 && compared > 6000 && multiline > 100 ? 0 : 1;
done:
    free(body.s);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    if (rc == 0)
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s for inspection\n", dir);
    return rc;
}
