/* Built-in routes (/-/healthy, /-/ready, /metrics) and process metrics. */
#include "builtin.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "metrics.h"

static void healthy(aion_http_req *req, void *arg)
{
    (void)arg;
    host_http_reply_text(req, 200, "Aion is Healthy.");
}

static void ready(aion_http_req *req, void *arg)
{
    host *h = arg;
    char why[256];
    if (host_plugins_ready(h, why, sizeof why))
        host_http_reply_text(req, 200, "Aion is Ready.");
    else
        host_http_reply_text(req, 503, "Service Unavailable: %s", why);
}

static void metrics(aion_http_req *req, void *arg)
{
    (void)arg;
    char *buf;
    size_t len;
    if (host_metrics_render(&buf, &len) != 0) {
        host_http_reply_text(req, 500, "out of memory rendering metrics");
        return;
    }
    host_http_reply_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

static double start_time;

static void collect_process(aion_metric *m, void *arg)
{
    const char *which = arg;
    if (strcmp(which, "rss") == 0) {
        FILE *f = fopen("/proc/self/statm", "r");
        long pages = 0, rss = 0;
        if (f) {
            if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
                rss = 0;
            fclose(f);
        }
        host_metric_set(m, NULL, (double)rss * (double)sysconf(_SC_PAGESIZE));
    } else if (strcmp(which, "cpu") == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        host_metric_set(m, NULL, s);
    } else if (strcmp(which, "fds") == 0) {
        DIR *d = opendir("/proc/self/fd");
        double n = 0;
        if (d) {
            while (readdir(d))
                n++;
            closedir(d);
            n -= 3;  /* ., .., and the DIR's own fd */
        }
        host_metric_set(m, NULL, n);
    } else if (strcmp(which, "start") == 0) {
        host_metric_set(m, NULL, start_time);
    }
}

int host_builtin_register(host *h)
{
    /* NULL listener: "main" if configured, else the first listener. */
    int rc = host_http_route(NULL, AION_HTTP_GET | AION_HTTP_HEAD, "/-/healthy",
                             AION_ROUTE_INLINE | AION_ROUTE_NO_AUTH, healthy, h, "host");
    if (rc == 0)
        rc = host_http_route(NULL, AION_HTTP_GET | AION_HTTP_HEAD, "/-/ready",
                             AION_ROUTE_INLINE | AION_ROUTE_NO_AUTH, ready, h, "host");
    if (rc == 0)
        rc = host_http_route(NULL, AION_HTTP_GET, "/metrics", AION_ROUTE_NO_AUTH, metrics,
                             h, "host");
    if (rc != 0)
        return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    static const char *const info_labels[] = { "version", NULL };
    static const char *const info_values[] = { AION_VERSION, NULL };
    aion_metric *m = host_metric_new(AION_METRIC_GAUGE, "aion_build_info",
                                     "A metric with a constant '1' value labeled by version.",
                                     info_labels, NULL, 0);
    host_metric_set(m, info_values, 1);
    static const struct { const char *name, *help, *which; aion_metric_type type; } pm[] = {
        { "process_resident_memory_bytes", "Resident memory size in bytes.", "rss", AION_METRIC_GAUGE },
        { "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "cpu", AION_METRIC_COUNTER },
        { "process_open_fds", "Number of open file descriptors.", "fds", AION_METRIC_GAUGE },
        { "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "start", AION_METRIC_GAUGE },
    };
    for (size_t i = 0; i < sizeof pm / sizeof pm[0]; i++) {
        aion_metric *x = host_metric_new(pm[i].type, pm[i].name, pm[i].help, NULL, NULL, 0);
        host_metric_on_collect(x, collect_process, (void *)pm[i].which);
    }
    return 0;
}
