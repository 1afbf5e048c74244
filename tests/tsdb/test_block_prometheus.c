/* A block written by tsdb_block_write (with a thanos section in meta.json)
 * is loaded by a real Prometheus 2.42 server and instant queries at sample
 * timestamps return exactly the values written (stale markers: no result;
 * NaN/Inf by text; others parsed and compared bit-exactly). Label values
 * come back too. Skips (77) when prometheus or curl is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test_block_data.h"

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &l))
        return -1;
    int p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static char *http_get(int port, const char *path, const char *query)
{
    char cmd[4096];
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

static pid_t start_prometheus(const char *root, int port)
{
    char cfg[600], data[600], logf[600], listen[64], path_arg[700];
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", root);
    snprintf(data, sizeof(data), "%s/data", root);
    snprintf(logf, sizeof(logf), "%s/prometheus.log", root);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", port);
    snprintf(path_arg, sizeof(path_arg), "--storage.tsdb.path=%s", data);
    FILE *f = fopen(cfg, "w");
    fprintf(f, "global:\n  scrape_interval: 1h\n");
    fclose(f);
    char cfg_arg[700];
    snprintf(cfg_arg, sizeof(cfg_arg), "--config.file=%s", cfg);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *lf = freopen(logf, "w", stdout);
        (void)lf;
        dup2(fileno(stdout), 2);
        execlp("prometheus", "prometheus", cfg_arg, path_arg, listen, "--storage.tsdb.retention.time=100y",
               (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void test_prometheus_reads_block(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    char data[600];
    snprintf(data, sizeof(data), "%s/data", root);
    assert_int_equal(mkdir(data, 0755), 0);
    td_data d;
    td_generate(&d, 12, 480, 1700006400000);
    labels_label ext[] = {labels_make("replica", "r0")};
    tsdb_block_write_opts o = {.external_labels = ext, .n_external_labels = 1, .thanos_source = "receive"};
    char ulid[27];
    assert_int_equal(td_write(&d, data, ulid, &o), 0);

    int port = free_port();
    assert_true(port > 0);
    pid_t pid = start_prometheus(root, port);
    assert_true(pid > 0);
    char *ready = NULL;
    for (int i = 0; i < 300 && !ready; i++) {
        usleep(100000);
        ready = http_get(port, "/-/ready", NULL);
    }
    if (!ready) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("prometheus did not become ready (see %s/prometheus.log)", root);
    }
    free(ready);

    size_t checked = 0, stale = 0;
    for (size_t k = 0; k < d.n; k++) {
        const td_series *s = &d.s[k];
        char sel[512];
        size_t o2 = (size_t)snprintf(sel, sizeof(sel), "query={");
        for (size_t i = 0; i < s->nls; i++)
            o2 += (size_t)snprintf(sel + o2, sizeof(sel) - o2, "%s%.*s=\"%.*s\"", i ? "," : "",
                                   (int)s->ls[i].name_len, s->ls[i].name, (int)s->ls[i].value_len, s->ls[i].value);
        snprintf(sel + o2, sizeof(sel) - o2, "}");
        for (size_t j = 0; j < 12; j++) {
            size_t i = j == 0 ? 0 : (j == 11 ? s->n - 1 : td_rand() % s->n);
            char q[700];
            snprintf(q, sizeof(q), "%s' --data-urlencode 'time=%lld.%03lld", sel, (long long)(s->ts[i] / 1000),
                     (long long)(s->ts[i] % 1000));
            char *body = http_get(port, "/api/v1/query", q);
            assert_non_null(body);
            json_error_t je;
            json_t *r = json_loads(body, 0, &je);
            assert_non_null(r);
            json_t *res = json_object_get(json_object_get(r, "data"), "result");
            assert_true(json_is_array(res));
            double want = s->vs[i];
            if (tsdb_is_stale_nan(want)) {
                assert_int_equal(json_array_size(res), 0);
                stale++;
            } else {
                if (json_array_size(res) != 1)
                    fail_msg("series %zu sample %zu: %s", k, i, body);
                json_t *val = json_object_get(json_array_get(res, 0), "value");
                const char *txt = json_string_value(json_array_get(val, 1));
                assert_non_null(txt);
                if (isnan(want)) {
                    assert_string_equal(txt, "NaN");
                } else {
                    double got = strtod(txt, NULL);
                    uint64_t a, b;
                    memcpy(&a, &got, 8);
                    memcpy(&b, &want, 8);
                    if (a != b)
                        fail_msg("value %s, want %.17g", txt, want);
                }
            }
            checked++;
            json_decref(r);
            free(body);
        }
    }
    assert_int_equal(checked, d.n * 12);
    printf("prometheus answered %zu instant queries (%zu at stale markers)\n", checked, stale);

    char *body = http_get(port, "/api/v1/label/job/values", "start=1700006400");
    assert_non_null(body);
    assert_non_null(strstr(body, "\"job0\""));
    assert_non_null(strstr(body, "\"job1\""));
    assert_non_null(strstr(body, "\"caf\xc3\xa9 bar\""));
    free(body);

    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

int main(void)
{
    if (system("prometheus --version >/dev/null 2>&1") != 0 || system("curl --version >/dev/null 2>&1") != 0) {
        printf("SKIPPED: prometheus or curl not installed (scripts/install-deps --test)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_reads_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
