/* Helpers for the receive tests (see recv_util.h). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <prompb/snappy.h>
#include <tsdb/tsdb.h>

#include "recv_util.h"

int64_t ru_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

char *ru_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void ru_init(ru_aiond *a, const char *name)
{
    memset(a, 0, sizeof *a);
    snprintf(a->dir, sizeof a->dir, "/tmp/aion-test-receive-%s-XXXXXX", name);
    assert_non_null(mkdtemp(a->dir));
    snprintf(a->log, sizeof a->log, "%s/aiond.log", a->dir);
}

static void write_conf(ru_aiond *a, const char *receive_config, const char *others)
{
    char path[700];
    snprintf(path, sizeof path, "%s/conf", a->dir);
    mkdir(path, 0755);
    a->port = free_port();
    snprintf(path, sizeof path, "%s/conf/00.conf", a->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "host = { data_dir = \"%s/data\"; stop_timeout = \"20s\"; worker_threads = 2; io_threads = 1;\n"
               "  listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; max_body_size = \"1MiB\"; } ); };\n",
            a->dir, a->port);
    fclose(f);
    snprintf(path, sizeof path, "%s/conf/20-receive.conf", a->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "plugins = ( %s { name = \"receive\"; config = {\n%s\n}; } );\n", others ? others : "",
            receive_config);
    fclose(f);
}

static long http_req(ru_aiond *a, const char *method, const char *path, const void *body, size_t len,
                     const char *const *headers, ru_resp *r);

void ru_restart(ru_aiond *a)
{
    const char *b = getenv("AION_BINARY_DIR");
    char aiond[600], plugdir[600], conf[700];
    snprintf(aiond, sizeof aiond, "%s/host/aiond", b ? b : ".");
    snprintf(plugdir, sizeof plugdir, "%s/plugins", b ? b : ".");
    snprintf(conf, sizeof conf, "%s/conf", a->dir);
    a->pid = fork();
    if (a->pid == 0) {
        int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(aiond, "aiond", "--plugin-dir", plugdir, "--config-dir", conf, (char *)NULL);
        _exit(127);
    }
    ru_resp r;
    for (int i = 0; i < 300; i++) {
        if (http_req(a, "GET", "/-/ready", NULL, 0, NULL, &r) == 200)
            return;
        int st;
        if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
            char *l = ru_read_file(a->log);
            fprintf(stderr, "aiond exited:\n%s\n", l ? l : "");
            free(l);
            fail();
        }
        usleep(50000);
    }
    fail_msg("aiond did not become ready");
}

void ru_start(ru_aiond *a, const char *receive_config)
{
    write_conf(a, receive_config, NULL);
    ru_restart(a);
}

void ru_start_with(ru_aiond *a, const char *receive_config, const char *others)
{
    write_conf(a, receive_config, others);
    ru_restart(a);
}

const char *ru_test_plugin(const char *name)
{
    static char path[700];
    const char *b = getenv("AION_BINARY_DIR");
    snprintf(path, sizeof path, "%s/tests/receive/plugins/%s.so", b ? b : ".", name);
    return path;
}

int ru_stop(ru_aiond *a, int sig)
{
    kill(a->pid, sig);
    int st = 0;
    for (int i = 0; i < 400; i++) {
        if (waitpid(a->pid, &st, WNOHANG) == a->pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50000);
    }
    kill(a->pid, SIGKILL);
    waitpid(a->pid, &st, 0);
    return -1;
}

void ru_cleanup(ru_aiond *a)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", a->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", a->dir);
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    ru_resp *r = arg;
    size_t k = sz * n;
    if (r->len + k >= sizeof r->body)
        k = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    ru_resp *r = arg;
    size_t have = strlen(r->headers), k = sz * n;
    if (have + k < sizeof r->headers)
        memcpy(r->headers + have, p, k), r->headers[have + k] = '\0';
    return sz * n;
}

static long http_req(ru_aiond *a, const char *method, const char *path, const void *body, size_t len,
                     const char *const *headers, ru_resp *r)
{
    char url[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", a->port, path);
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    struct curl_slist *hl = NULL;
    bool has_ct = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        if (strncasecmp(headers[i], "Content-Type:", 13) == 0)
            has_ct = true;
    }
    if (strcmp(method, "POST") == 0) {
        if (!has_ct)
            hl = curl_slist_append(hl, "Content-Type: application/x-protobuf");
        hl = curl_slist_append(hl, "Expect:");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    else
        r->code = -1;
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    return r->code;
}

long ru_post(ru_aiond *a, const char *path, const void *body, size_t len,
             const char *const *headers, ru_resp *r)
{
    return http_req(a, "POST", path, body, len, headers, r);
}

long ru_get(ru_aiond *a, const char *path, ru_resp *r)
{
    return http_req(a, "GET", path, NULL, 0, NULL, r);
}

/* ---- encoders ---- */

static size_t nlabels(const ru_series *s)
{
    size_t n = 0;
    while (n < 16 && s->labels[n])
        n += 2;
    return n / 2;
}

void *ru_snappy(const void *raw, size_t n, size_t *len)
{
    prompb_buf out = { 0 };
    prompb_error e;
    assert_int_equal(prompb_snappy_compress(raw, n, &out, &e), 0);
    *len = out.len;
    return out.data;
}

void *ru_encode_v1(const ru_series *s, size_t n, size_t *len)
{
    prompb_series_data *sd = calloc(n ? n : 1, sizeof *sd);
    prompb_label *ls = calloc(n * 8 + 1, sizeof *ls);
    assert_non_null(sd);
    assert_non_null(ls);
    for (size_t i = 0; i < n; i++) {
        size_t nl = nlabels(&s[i]);
        for (size_t k = 0; k < nl; k++) {
            const char *nm = s[i].labels[2 * k], *v = s[i].labels[2 * k + 1];
            ls[i * 8 + k] = (prompb_label){ nm, v, (uint32_t)strlen(nm), (uint32_t)strlen(v) };
        }
        sd[i] = (prompb_series_data){ &ls[i * 8], nl, s[i].samples, s[i].nsamples };
    }
    prompb_buf scratch = { 0 }, out = { 0 };
    prompb_error e;
    assert_int_equal(prompb_write_encode_v1_snappy(sd, n, &scratch, &out, &e), 0);
    prompb_buf_free(&scratch);
    free(sd);
    free(ls);
    *len = out.len;
    return out.data;
}

/* A hand-written v2 encoder (independent of the decoder under test). */
typedef struct wb {
    uint8_t *p;
    size_t n, cap;
} wb;

static void wb_put(wb *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void wb_varint(wb *b, uint64_t v)
{
    uint8_t t[10];
    size_t k = 0;
    do {
        t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    wb_put(b, t, k);
}

static void wb_len(wb *b, int field, const void *d, size_t n)
{
    wb_varint(b, (uint64_t)field << 3 | 2);
    wb_varint(b, n);
    wb_put(b, d, n);
}

static uint32_t sym(const char **syms, size_t *nsyms, const char *s)
{
    for (size_t i = 0; i < *nsyms; i++)
        if (strcmp(syms[i], s) == 0)
            return (uint32_t)i;
    syms[*nsyms] = s;
    return (uint32_t)(*nsyms)++;
}

void *ru_encode_v2(const ru_series *s, size_t n, size_t *len)
{
    const char **syms = calloc(n * 16 + 2, sizeof *syms);
    size_t nsyms = 0;
    sym(syms, &nsyms, "");
    wb series = { 0 };
    for (size_t i = 0; i < n; i++) {
        wb ts = { 0 }, refs = { 0 };
        size_t nl = nlabels(&s[i]);
        for (size_t k = 0; k < nl; k++) {
            wb_varint(&refs, sym(syms, &nsyms, s[i].labels[2 * k]));
            wb_varint(&refs, sym(syms, &nsyms, s[i].labels[2 * k + 1]));
        }
        if (refs.n)
            wb_len(&ts, 1, refs.p, refs.n);
        for (size_t k = 0; k < s[i].nsamples; k++) {
            wb sm = { 0 };
            uint8_t tag = 0x09;
            wb_put(&sm, &tag, 1);
            wb_put(&sm, &s[i].samples[k].value, 8); /* little-endian host */
            tag = 0x10;
            wb_put(&sm, &tag, 1);
            wb_varint(&sm, (uint64_t)s[i].samples[k].timestamp_ms);
            wb_len(&ts, 2, sm.p, sm.n);
            free(sm.p);
        }
        uint8_t meta[] = { 0x08, 0x02 }; /* Metadata{type: GAUGE} */
        wb_len(&ts, 5, meta, sizeof meta);
        wb_len(&series, 5, ts.p, ts.n);
        free(ts.p);
        free(refs.p);
    }
    wb req = { 0 };
    for (size_t i = 0; i < nsyms; i++)
        wb_len(&req, 4, syms[i], strlen(syms[i]));
    wb_put(&req, series.p, series.n);
    void *out = ru_snappy(req.p, req.n, len);
    free(req.p);
    free(series.p);
    free(syms);
    return out;
}

/* ---- readback ---- */

static int open_db(const char *dir, tsdb_db **db)
{
    tsdb_options o;
    tsdb_options_init(&o);
    char err[256];
    int rc = tsdb_open(dir, &o, db, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "tsdb_open %s: %s\n", dir, err);
    return rc;
}

int ru_read_series(const char *dir, const char *const *labels, prompb_sample *out, size_t max)
{
    tsdb_db *db;
    assert_int_equal(open_db(dir, &db), 0);
    labels_matcher *ms[8];
    size_t nm = 0;
    char err[256];
    for (; labels[2 * nm]; nm++)
        assert_int_equal(labels_matcher_new(LABELS_MATCH_EQ, labels[2 * nm], strlen(labels[2 * nm]),
                                            labels[2 * nm + 1], strlen(labels[2 * nm + 1]), &ms[nm], err,
                                            sizeof err), 0);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN / 2, INT64_MAX / 2, &q), 0);
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, (const labels_matcher *const *)ms, nm, &ss, err, sizeof err), 0);
    int found = -1;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl;
        tsdb_series_set_labels(ss, &nl);
        if (nl != nm)
            continue; /* a superset of the labels: another series */
        size_t nc;
        const tsdb_chunk *ch = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, ch, nc, INT64_MIN / 2, INT64_MAX / 2);
        found = 0;
        int64_t t;
        double v;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1)
            if ((size_t)found < max)
                out[found++] = (prompb_sample){ t, v };
        tsdb_sample_iter_free(&it);
    }
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    for (size_t i = 0; i < nm; i++)
        labels_matcher_free(ms[i]);
    tsdb_close(db);
    return found;
}

int ru_count_series(const char *dir)
{
    tsdb_db *db;
    assert_int_equal(open_db(dir, &db), 0);
    labels_matcher *m;
    char err[256];
    assert_int_equal(labels_matcher_new(LABELS_MATCH_RE, "__name__", 8, ".*", 2, &m, err, sizeof err), 0);
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN / 2, INT64_MAX / 2, &q), 0);
    tsdb_series_set *ss;
    assert_int_equal(tsdb_select(q, (const labels_matcher *const *)&m, 1, &ss, err, sizeof err), 0);
    int n = 0;
    while (tsdb_series_set_next(ss) == 1)
        n++;
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    labels_matcher_free(m);
    tsdb_close(db);
    return n;
}
