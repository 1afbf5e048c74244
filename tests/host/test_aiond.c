/* aiond end to end: the real binary with test plugins, over real sockets. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static char aiond[1024], plugdir[1024], tmp[256];

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static void write_file(const char *dir, const char *name, const char *fmt, ...)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Creates a fresh config dir; returns its path (static buffer per call site). */
static void new_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", tmp, name);
    mkdir(out, 0755);
}

/* Runs aiond with args to completion (timeout 20 s); output in *out. */
static int run_aiond(char **out, const char *a1, const char *a2, const char *a3)
{
    char log[512];
    snprintf(log, sizeof log, "%s/run.log", tmp);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(aiond, "aiond", "--plugin-dir", plugdir, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            *out = read_all(log);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    *out = read_all(log);
    return -1;
}

/* Starts aiond in the background; extra (may be NULL) is one more argument
 * pair, e.g. "--log-level", "debug". */
static pid_t start_aiond_with(const char *confdir, const char *log, const char *x1, const char *x2)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(aiond, "aiond", "--plugin-dir", plugdir, "--config-dir", confdir, x1, x2,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t start_aiond(const char *confdir, const char *log)
{
    return start_aiond_with(confdir, log, NULL, NULL);
}

struct resp {
    long code;
    char body[65536];
    size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t k = sz * n;
    if (r->len + k >= sizeof r->body)
        k = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return sz * n;
}

static long http_auth(int port, const char *method, const char *path, const char *body,
                      const char *auth, struct resp *r);
static long http(int port, const char *method, const char *path, const char *body, struct resp *r)
{
    return http_auth(port, method, path, body, NULL, r);
}

static long http_auth(int port, const char *method, const char *path, const char *body,
                      const char *auth, struct resp *r)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    struct curl_slist *hdrs = NULL;
    if (auth) {
        hdrs = curl_slist_append(hdrs, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    }
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
    else
        r->code = -1;
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    return r->code;
}

static bool wait_ready(int port, int expect)
{
    struct resp r;
    for (int i = 0; i < 100; i++) {
        if (http(port, "GET", "/-/ready", NULL, &r) == expect)
            return true;
        usleep(100000);
    }
    return false;
}

static int stop_aiond(pid_t pid, int sig)
{
    kill(pid, sig);
    int st = 0;
    for (int i = 0; i < 150; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void test_check_config(void **state)
{
    (void)state;
    char d[512], *out;
    new_dir(d, sizeof d, "check-ok");
    write_file(d, "10-a.conf", "plugins = ( { name = \"a\"; path = \"tp_good.so\"; config = { tick = \"1s\"; }; } );\n");
    assert_int_equal(run_aiond(&out, "--check-config", "--config-dir", d), 0);
    assert_non_null(strstr(out, "configuration OK (1 plugin)"));
    free(out);

    new_dir(d, sizeof d, "check-bad");
    write_file(d, "10-a.conf",
               "plugins = ( { name = \"a\"; path = \"tp_good.so\";\n"
               "  config = {\n"
               "    listne = \"x\";\n"
               "    answer = 41;\n"
               "  }; },\n"
               "  { name = \"b\"; path = \"tp_noentry.so\"; },\n"
               "  { name = \"c\"; path = \"tp_badabi.so\"; },\n"
               "  { name = \"a\"; path = \"tp_good.so\"; } );\n");
    write_file(d, "20-b.conf", "host = { log_level = \"info\" \n");
    assert_int_equal(run_aiond(&out, "--check-config", "--config-dir", d), 2);
    /* every problem, each with file:line */
    assert_non_null(strstr(out, "20-b.conf:2: syntax error"));
    assert_non_null(strstr(out, "10-a.conf:8: duplicate plugin instance name 'a' (first defined at"));
    free(out);
    /* fix the duplicate and the syntax error: now plugin-level problems show */
    write_file(d, "20-b.conf", "host = { log_level = \"info\"; };\n");
    write_file(d, "10-a.conf",
               "plugins = ( { name = \"a\"; path = \"tp_good.so\";\n"
               "  config = {\n"
               "    listne = \"x\";\n"
               "    answer = 41;\n"
               "  }; },\n"
               "  { name = \"b\"; path = \"tp_noentry.so\"; },\n"
               "  { name = \"c\"; path = \"tp_badabi.so\"; } );\n");
    assert_int_equal(run_aiond(&out, "--check-config", "--config-dir", d), 2);
    assert_non_null(strstr(out, "10-a.conf:3: plugin a: unknown option 'listne'"));
    assert_non_null(strstr(out, "10-a.conf:4: plugin a: answer must be 42, not 41"));
    assert_non_null(strstr(out, "10-a.conf:6: plugin b: "));
    assert_non_null(strstr(out, "is not an Aion plugin: no symbol 'aion_plugin_entry'"));
    assert_non_null(strstr(out, "10-a.conf:7: plugin c: "));
    assert_non_null(strstr(out, "ABI version 999"));
    free(out);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist", tmp);
    assert_int_equal(run_aiond(&out, "--config-dir", missing, NULL), 2);
    char want[700];
    snprintf(want, sizeof want, "config directory %s: No such file or directory\n", missing);
    assert_non_null(strstr(out, want));
    free(out);

    assert_int_equal(run_aiond(&out, "--bogus", NULL, NULL), 2);
    free(out);
    assert_int_equal(run_aiond(&out, "--version", NULL, NULL), 0);
    assert_non_null(strstr(out, "aiond "));
    free(out);
}

static void test_list_plugins(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run_aiond(&out, "--list-plugins", NULL, NULL), 0);
    assert_non_null(strstr(out, "testplug 0.0.1 (tp_good.so)"));
    assert_non_null(strstr(out, "trace_file"));
    assert_non_null(strstr(out, "provides service: tpsvc"));
    assert_non_null(strstr(out, "tp_noentry.so: not loadable"));
    free(out);
}

static void test_run_and_stop(void **state)
{
    (void)state;
    char d[512], trace[600], log[600];
    new_dir(d, sizeof d, "run");
    snprintf(trace, sizeof trace, "%s/trace.txt", tmp);
    snprintf(log, sizeof log, "%s/run-aiond.log", tmp);
    remove(trace);
    int port = free_port();
    write_file(d, "00-host.conf",
               "host = { listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; max_body_size = \"1KiB\"; } ); stop_timeout = \"10s\"; };\n",
               port);
    /* config order: user (requires tpsvc), a, prov (provides tpsvc) */
    write_file(d, "10-plugins.conf",
               "plugins = (\n"
               "  { name = \"user\"; path = \"tp_requires.so\"; config = { trace_file = \"%s\"; }; },\n"
               "  { name = \"a\"; path = \"tp_good.so\"; config = { trace_file = \"%s\"; tick = \"100ms\"; }; },\n"
               "  { name = \"prov\"; path = \"tp_provider.so\"; config = { trace_file = \"%s\"; }; }\n"
               ");\n",
               trace, trace, trace);
    pid_t pid = start_aiond(d, log);
    assert_true(wait_ready(port, 200));
    struct resp r;
    assert_int_equal(http(port, "GET", "/-/healthy", NULL, &r), 200);
    assert_int_equal(http(port, "GET", "/tp/a", NULL, &r), 200);
    assert_non_null(strstr(r.body, "a writes=0"));
    /* publish through the bus: three subscribers each count 3 samples */
    assert_int_equal(http(port, "POST", "/tp/a/write", "abc", &r), 200);
    assert_non_null(strstr(r.body, "stored=9"));
    assert_int_equal(http(port, "GET", "/tp/prov", NULL, &r), 200);
    assert_non_null(strstr(r.body, "prov writes=1"));
    /* body limit */
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(http(port, "POST", "/tp/a/write", big, &r), 413);
    assert_int_equal(http(port, "GET", "/nope", NULL, &r), 404);
    usleep(600000);
    assert_int_equal(http(port, "GET", "/tp/a", NULL, &r), 200);
    long ticks = 0;
    char *tp = strstr(r.body, "ticks=");
    assert_non_null(tp);
    ticks = strtol(tp + 6, NULL, 10);
    assert_true(ticks >= 3);
    assert_int_equal(http(port, "GET", "/metrics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "aion_build_info{version="));
    assert_non_null(strstr(r.body, "process_resident_memory_bytes "));
    /* SIGHUP: reload */
    kill(pid, SIGHUP);
    usleep(300000);
    assert_int_equal(http(port, "GET", "/tp/a", NULL, &r), 200);
    assert_non_null(strstr(r.body, "reloads=1"));
    /* SIGTERM: exit 0, stop in reverse start order */
    assert_int_equal(stop_aiond(pid, SIGTERM), 0);
    char *t = read_all(trace);
    const char *want =
        "init prov\ninit user\ninit a\nstart prov\nstart user\nstart a\n"
        "reload prov\nreload user\nreload a\n"
        "stop a\nstop user\nstop prov\ndestroy a\ndestroy user\ndestroy prov\n";
    if (strcmp(t, want) != 0)
        fprintf(stderr, "trace was:\n%s\n", t);
    assert_string_equal(t, want);
    free(t);
    char *l = read_all(log);
    assert_non_null(strstr(l, "level=info msg=listening"));
    assert_non_null(strstr(l, "msg=\"aiond stopped\""));
    assert_null(strstr(l, "level=debug"));   /* default level: info */
    free(l);
}

/* A plugin's middleware guards every other plugin's routes and attaches an
 * identity their handlers see; NO_AUTH routes stay open. */
static void test_middleware(void **state)
{
    (void)state;
    char d[512], log[600];
    new_dir(d, sizeof d, "mw");
    snprintf(log, sizeof log, "%s/mw.log", tmp);
    int port = free_port();
    write_file(d, "00.conf",
               "host = { listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; } ); };\n"
               "plugins = ( { name = \"guard\"; path = \"tp_good.so\"; config = { require_token = \"${AION_TEST_TOKEN}\"; }; },\n"
               "            { name = \"app\"; path = \"tp_provider.so\"; } );\n",
               port);
    setenv("AION_TEST_TOKEN", "s3cr3t", 1);
    pid_t pid = start_aiond(d, log);
    assert_true(wait_ready(port, 200));   /* /-/ready is NO_AUTH */
    struct resp r;
    assert_int_equal(http(port, "GET", "/tp/app", NULL, &r), 401);
    assert_non_null(strstr(r.body, "missing or wrong bearer token"));
    assert_int_equal(http_auth(port, "GET", "/tp/app", NULL, "Authorization: Bearer wrong", &r), 401);
    assert_int_equal(http_auth(port, "GET", "/tp/app", NULL, "Authorization: Bearer s3cr3t", &r), 200);
    assert_non_null(strstr(r.body, "tenant=t-guard"));
    assert_int_equal(http(port, "GET", "/-/healthy", NULL, &r), 200);
    assert_int_equal(http(port, "GET", "/metrics", NULL, &r), 200);
    assert_int_equal(stop_aiond(pid, SIGTERM), 0);
}

static void test_not_ready_and_failing(void **state)
{
    (void)state;
    char d[512], log[600], *out;
    new_dir(d, sizeof d, "notready");
    snprintf(log, sizeof log, "%s/nr.log", tmp);
    int port = free_port();
    write_file(d, "00.conf",
               "host = { listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; } ); };\n"
               "plugins = ( { name = \"lazy\"; path = \"tp_good.so\"; config = { not_ready = true; }; } );\n",
               port);
    pid_t pid = start_aiond(d, log);
    assert_true(wait_ready(port, 503));
    struct resp r;
    http(port, "GET", "/-/ready", NULL, &r);
    assert_non_null(strstr(r.body, "plugin lazy is not ready"));
    assert_int_equal(stop_aiond(pid, SIGINT), 0);

    new_dir(d, sizeof d, "failing");
    write_file(d, "00.conf",
               "host = { listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; } ); };\n"
               "plugins = ( { name = \"bad\"; path = \"tp_good.so\"; config = { fail_init = true; }; } );\n",
               port);
    int rc = run_aiond(&out, "--config-dir", d, NULL);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "plugin bad ("));
    assert_non_null(strstr(out, "tp_good.so): init failed: told to fail by fail_init"));
    free(out);
}

/* No listener named "main": the built-in routes (and plugin routes with no
 * listener named) go on the first listener; a start-up failure says why. */
static void test_no_main_listener(void **state)
{
    (void)state;
    char d[512], log[600], *out;
    new_dir(d, sizeof d, "nomain");
    snprintf(log, sizeof log, "%s/nomain.log", tmp);
    int port = free_port(), port2 = free_port();
    write_file(d, "00.conf",
               "host = { listeners = ( { name = \"api\"; address = \"127.0.0.1:%d\"; },\n"
               "                       { name = \"other\"; address = \"127.0.0.1:%d\"; } ); };\n"
               "plugins = ( { name = \"a\"; path = \"tp_good.so\"; } );\n",
               port, port2);
    assert_int_equal(run_aiond(&out, "--check-config", "--config-dir", d), 0);
    free(out);
    pid_t pid = start_aiond(d, log);
    bool up = wait_ready(port, 200);
    if (!up) {
        char *l = read_all(log);
        fprintf(stderr, "aiond log:\n%s\n", l);
        free(l);
    }
    assert_true(up);
    struct resp r;
    assert_int_equal(http(port, "GET", "/-/healthy", NULL, &r), 200);
    assert_int_equal(http(port, "GET", "/metrics", NULL, &r), 200);
    assert_non_null(strstr(r.body, "aion_build_info{"));
    assert_int_equal(http(port, "GET", "/tp/a", NULL, &r), 200);
    assert_int_equal(http(port2, "GET", "/-/healthy", NULL, &r), 404);
    assert_int_equal(stop_aiond(pid, SIGTERM), 0);

    /* the address is taken: exit 1 with a message naming it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    int rc = run_aiond(&out, "--config-dir", d, NULL);
    close(fd);
    if (rc != 1 || !strstr(out, "level=error"))
        fprintf(stderr, "aiond output:\n%s\n", out);
    assert_int_equal(rc, 1);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    assert_non_null(strstr(out, want));
    free(out);
}

/* A plugin whose stop outlasts host.stop_timeout: the watchdog names the
 * step and exits 1. Also --log-level: debug shows debug lines, a bad level
 * is refused. */
static void test_stop_watchdog_and_log_level(void **state)
{
    (void)state;
    char d[512], log[600], *out;
    new_dir(d, sizeof d, "slowstop");
    snprintf(log, sizeof log, "%s/slowstop.log", tmp);
    int port = free_port();
    write_file(d, "00.conf",
               "host = { stop_timeout = \"1s\"; listeners = ( { name = \"main\"; address = \"127.0.0.1:%d\"; } ); };\n"
               "plugins = ( { name = \"slow\"; path = \"tp_good.so\"; config = { slow_stop = \"20s\"; }; } );\n",
               port);
    pid_t pid = start_aiond_with(d, log, "--log-level", "debug");
    assert_true(wait_ready(port, 200));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = stop_aiond(pid, SIGTERM);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char *l = read_all(log);
    if (rc != 1 || !strstr(l, "stop deadline"))
        fprintf(stderr, "aiond log:\n%s\n", l);
    assert_int_equal(rc, 1);
    assert_true(secs < 10);   /* not the 20 s the plugin wanted */
    assert_non_null(strstr(l, "level=error msg=\"stop deadline of 1000 ms exceeded while stopping plugins; exiting\""));
    assert_non_null(strstr(l, "level=debug plugin=slow msg=initialized"));
    assert_null(strstr(l, "msg=\"aiond stopped\""));
    free(l);

    assert_int_equal(run_aiond(&out, "--log-level", "loud", NULL), 2);
    assert_non_null(strstr(out, "--log-level: unknown level 'loud' (debug, info, warn, error)"));
    free(out);
}

int main(void)
{
    const char *b = getenv("AION_BINARY_DIR");
    snprintf(aiond, sizeof aiond, "%s/host/aiond", b ? b : ".");
    snprintf(plugdir, sizeof plugdir, "%s/tests/host/plugins", b ? b : ".");
    snprintf(tmp, sizeof tmp, "/tmp/aion-test-aiond-XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_list_plugins),
        cmocka_unit_test(test_run_and_stop),
        cmocka_unit_test(test_middleware),
        cmocka_unit_test(test_not_ready_and_failing),
        cmocka_unit_test(test_no_main_listener),
        cmocka_unit_test(test_stop_watchdog_and_log_level),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (rc == 0 && system(cmd) != 0)
        rc = 1;
    return rc;
}
