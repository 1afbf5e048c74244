/* A real Prometheus' WAL (snappy-compressed records, its own series refs,
 * checkpoint naming) replays into lib/tsdb: Prometheus scrapes itself every
 * second for a few seconds and is stopped; a copy of its data directory is
 * opened with tsdb_open, and every raw sample Prometheus itself serves
 * (restarted on the original directory without scraping) is found in the
 * head, timestamps and value bits exact. Skips (77) without prometheus/curl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test_head_util.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int p = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        p = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return p;
}

/* GET with curl; NULL on failure. */
static char *get(int port, const char *path, const char *query)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "curl -s -f -G 'http://127.0.0.1:%d%s' %s%s%s 2>/dev/null", port, path,
             query ? "--data-urlencode '" : "", query ? query : "", query ? "'" : "");
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 1024)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0;
    if (pclose(p) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static pid_t start(const char *root, int port, bool scrape)
{
    char cfg[600], logf[600], a_cfg[700], a_data[700], a_listen[64];
    snprintf(cfg, sizeof(cfg), "%s/prometheus-%d.yml", root, scrape);
    snprintf(logf, sizeof(logf), "%s/prometheus-%d.log", root, scrape);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f, "global:\n  scrape_interval: 1s\n");
    if (scrape)
        fprintf(f, "scrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
                port);
    fclose(f);
    snprintf(a_cfg, sizeof(a_cfg), "--config.file=%s", cfg);
    snprintf(a_data, sizeof(a_data), "--storage.tsdb.path=%s/data", root);
    snprintf(a_listen, sizeof(a_listen), "--web.listen-address=127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(logf, "w", stdout))
            _exit(127);
        dup2(fileno(stdout), 2);
        execlp("prometheus", "prometheus", a_cfg, a_data, a_listen, "--storage.tsdb.wal-compression",
               (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool wait_ready(int port)
{
    for (int i = 0; i < 300; i++) {
        char *r = get(port, "/-/ready", NULL);
        if (r) {
            free(r);
            return true;
        }
        usleep(100000);
    }
    return false;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* Our samples of the series with exactly these labels (stale markers left
 * out, as Prometheus' range selection does). */
static size_t our_samples(tsdb_db *db, json_t *metric, int64_t *ts, double *vs, size_t max)
{
    size_t nm = json_object_size(metric), k = 0;
    labels_matcher **ms = calloc(nm, sizeof(*ms));
    const char *key;
    json_t *val;
    json_object_foreach(metric, key, val) ms[k++] = th_m(LABELS_MATCH_EQ, key, json_string_value(val));
    tsdb_querier *q;
    assert_int_equal(tsdb_querier_new(db, INT64_MIN, INT64_MAX, &q), 0);
    tsdb_series_set *ss;
    char err[256];
    assert_int_equal(tsdb_select(q, (const labels_matcher *const *)ms, nm, &ss, err, sizeof(err)), 0);
    size_t n = 0;
    int found = 0;
    while (tsdb_series_set_next(ss) == 1) {
        size_t nl, nc;
        tsdb_series_set_labels(ss, &nl);
        if (nl != nm)
            continue; /* a series with more labels */
        found++;
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        while (tsdb_sample_iter_next(&it, &t, &v) == 1)
            if (!tsdb_is_stale_nan(v) && n < max) {
                ts[n] = t;
                vs[n++] = v;
            }
        tsdb_sample_iter_free(&it);
    }
    assert_int_equal(found, 1);
    tsdb_series_set_free(ss);
    tsdb_querier_free(q);
    for (size_t i = 0; i < nm; i++)
        labels_matcher_free(ms[i]);
    free(ms);
    return n;
}

static void test_replay_prometheus_wal(void **state)
{
    if (system("command -v prometheus >/dev/null 2>&1 && command -v curl >/dev/null 2>&1") != 0) {
        printf("SKIPPED: prometheus or curl not installed\n");
        exit(77);
    }
    char *root = th_tmpdir("walprom");
    int port = free_port();
    assert_true(port > 0);
    /* 1. Prometheus scrapes itself for a few seconds */
    pid_t pid = start(root, port, true);
    if (!wait_ready(port)) {
        stop(pid);
        fail_msg("prometheus did not start (see %s)", root);
    }
    /* the scrape manager applies targets after ~5 s, then scrapes every
     * second: wait until `up` has 3 samples (bounded, for loaded machines) */
    for (int i = 0; i < 60; i++) {
        sleep(1);
        char *b = get(port, "/api/v1/query", "query=count_over_time(up[1h]) >= 3");
        bool enough = b && strstr(b, "\"value\"") != NULL;
        free(b);
        if (enough)
            break;
    }
    stop(pid);
    /* 2. a copy of its data directory for us */
    char cmd[1400], copy[700];
    snprintf(copy, sizeof(copy), "%s/copy", root);
    snprintf(cmd, sizeof(cmd), "cp -r '%s/data' '%s'", root, copy);
    assert_int_equal(system(cmd), 0);
    /* 3. Prometheus again, on its directory, without scraping: what it has */
    pid = start(root, port, false);
    if (!wait_ready(port)) {
        stop(pid);
        fail_msg("prometheus did not restart (see %s)", root);
    }
    char *body = get(port, "/api/v1/query",
                     "query={__name__=~\"up|scrape_samples_scraped|scrape_duration_seconds|"
                     "prometheus_tsdb_head_series|go_goroutines|process_resident_memory_bytes\"}[1h]");
    stop(pid);
    assert_non_null(body);
    json_error_t je;
    json_t *r = json_loads(body, 0, &je);
    assert_non_null(r);
    json_t *res = json_object_get(json_object_get(r, "data"), "result");
    assert_true(json_is_array(res));
    assert_true(json_array_size(res) >= 4);

    /* 4. our replay of the copy */
    tsdb_options o;
    tsdb_options_init(&o);
    o.wal_fsync = TSDB_FSYNC_NEVER;
    tsdb_db *db;
    char err[256];
    if (tsdb_open(copy, &o, &db, err, sizeof(err)))
        fail_msg("open: %s", err);
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(res); i++) {
        json_t *e = json_array_get(res, i);
        json_t *values = json_object_get(e, "values");
        int64_t ts[64];
        double vs[64];
        size_t n = our_samples(db, json_object_get(e, "metric"), ts, vs, 64);
        assert_int_equal(n, json_array_size(values));
        for (size_t k = 0; k < n; k++) {
            json_t *pair = json_array_get(values, k);
            int64_t t = (int64_t)llround(json_number_value(json_array_get(pair, 0)) * 1000);
            double v = strtod(json_string_value(json_array_get(pair, 1)), NULL);
            assert_int_equal(ts[k], t);
            if (memcmp(&vs[k], &v, 8) != 0)
                fail_msg("t=%lld: ours %.17g, prometheus %.17g", (long long)t, vs[k], v);
            total++;
        }
    }
    assert_true(total >= 3 * 4);
    printf("%zu samples of %zu series match\n", total, json_array_size(res));
    json_decref(r);
    free(body);
    tsdb_close(db);
    th_rmrf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_prometheus_wal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
