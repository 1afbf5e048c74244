/* aiond: loads the plugins listed in conf.d and runs them until SIGTERM. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_io.h"
#include "builtin.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "workers.h"

enum { EXIT_CONFIG = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: aiond [options]\n"
            "  --config-dir DIR   read every *.conf in DIR (default ./conf.d)\n"
            "  --plugin-dir DIR   where plugin paths without '/' are looked up\n"
            "  --check-config     validate the configuration and plugins, print every problem, exit\n"
            "  --list-plugins     list the plugins found in the plugin directory with their options\n"
            "  --log-level LEVEL  debug, info, warn or error (overrides host.log_level)\n"
            "  --version          print the version\n"
            "  --help             this text\n");
}

static void print_diag(const host_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s\n", d->lines[i]);
}

/* Start-up failures are never silent: the collected problems, or `what`
 * when a step failed without describing itself (e.g. out of memory). */
static void report_failure(const host_diag *d, const char *what)
{
    if (d->n)
        print_diag(d);
    else
        host_error("%s", what);
}

static const char *type_name(aion_opt_type t)
{
    static const char *names[] = { "?", "string", "int", "bool", "double", "duration",
                                   "size", "string list", "group", "group list" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_plugins(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "aiond: cannot open plugin directory %s: %s\n", dir, strerror(errno));
        return EXIT_CONFIG;
    }
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) {
        size_t l = strlen(e->d_name);
        if (l > 3 && strcmp(e->d_name + l - 3, ".so") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    printf("Plugins in %s:\n", dir);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        void *sym = dl ? dlsym(dl, AION_PLUGIN_ENTRY_SYMBOL) : NULL;
        if (!sym) {
            printf("\n%s: not loadable: %s\n", names[i], dl ? "no aion_plugin_entry" : dlerror());
            free(names[i]);
            continue;
        }
        aion_plugin_entry_fn fn;
        memcpy(&fn, &sym, sizeof fn);
        const aion_plugin *p = fn();
        if (!p || p->abi_version != AION_ABI_VERSION) {
            printf("\n%s: ABI version %u (this aiond: %u)\n", names[i], p ? p->abi_version : 0,
                   AION_ABI_VERSION);
            free(names[i]);
            continue;
        }
        printf("\n%s %s (%s)\n  %s\n", p->name, p->version ? p->version : "", names[i],
               p->description ? p->description : "");
        for (const char *const *s = p->provides; s && *s; s++)
            printf("  provides service: %s\n", *s);
        for (const char *const *s = p->requires; s && *s; s++)
            printf("  requires service: %s\n", *s);
        if (p->options && p->options->name)
            printf("  options:\n");
        for (const aion_option *o = p->options; o && o->name; o++)
            printf("    %-24s %-12s default %-14s %s%s\n", o->name, type_name(o->type),
                   o->default_value ? o->default_value : "-", o->description ? o->description : "",
                   (o->flags & AION_OPT_REQUIRED) ? " (required)" : "");
        free(names[i]);
    }
    return 0;
}

/* Many connections (remote-write clients, slow ones) and many block files
 * need descriptors: take the hard limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Watchdog for the stop sequence: if stopping takes longer than the
 * deadline, say which step hung and exit non-zero. */
static int64_t stop_deadline_ms;
static const char *volatile stop_step = "";

static void *stop_watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = { stop_deadline_ms / 1000, (stop_deadline_ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
    host_log(AION_LOG_ERROR, NULL, "stop deadline of %lld ms exceeded while %s; exiting",
             (long long)stop_deadline_ms, stop_step);
    _exit(1);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *config_dir = "./conf.d", *plugin_dir = NULL, *log_level = NULL;
    bool check = false, list = false;
    static const struct option longopts[] = {
        { "config-dir", required_argument, NULL, 'c' },
        { "plugin-dir", required_argument, NULL, 'p' },
        { "check-config", no_argument, NULL, 'k' },
        { "list-plugins", no_argument, NULL, 'l' },
        { "log-level", required_argument, NULL, 'L' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:p:klL:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_dir = optarg; break;
        case 'p': plugin_dir = optarg; break;
        case 'k': check = true; break;
        case 'l': list = true; break;
        case 'L': log_level = optarg; break;
        case 'V': printf("aiond %s (plugin ABI %d)\n", AION_VERSION, AION_ABI_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aiond: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (log_level) {
        int lv = host_log_parse_level(log_level);
        if (lv < 0) {
            fprintf(stderr, "aiond: --log-level: unknown level '%s' (debug, info, warn, error)\n", log_level);
            return EXIT_CONFIG;
        }
        host_log_set_level((aion_log_level)lv);
    }

    static host h;
    int rc = host_conf_load_dir(&h.conf, config_dir, &h.diag);
    h.plugin_dir = plugin_dir ? plugin_dir : h.conf.plugin_dir ? h.conf.plugin_dir
                                                               : host_default_plugin_dir(argv[0]);
    if (list) {
        int lrc = list_plugins(h.plugin_dir);
        host_conf_free(&h.conf);
        host_diag_free(&h.diag);
        return lrc;
    }
    if (!log_level && h.conf.log_level && host_log_parse_level(h.conf.log_level) >= 0)
        host_log_set_level((aion_log_level)host_log_parse_level(h.conf.log_level));
    h.bus = host_bus_new();
    host_io_bind(&h);
    int exit_code = 0;
    char err[512];
    if (!h.bus) {
        fprintf(stderr, "aiond: out of memory\n");
        return 1;
    }

    /* Block the signals we handle before any thread starts, so they reach
     * only the main thread's sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    raise_fd_limit();
    unsigned io = (unsigned)h.conf.io_threads;
    if (host_http_init(io, err, sizeof err) != 0) {
        host_error("http: %s", err);
        exit_code = 1;
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < h.conf.nlisteners; i++) {
        host_listener_conf *l = &h.conf.listeners[i];
        host_http_listener_cfg lc;
        host_http_listener_defaults(&lc);
        lc.name = l->name;
        lc.address = l->address;
        lc.tls_cert_file = l->tls_cert_file;
        lc.tls_key_file = l->tls_key_file;
        lc.tls_client_ca_file = l->tls_client_ca_file;
        lc.max_body_bytes = l->max_body_size;
        lc.header_timeout_ms = l->read_timeout_ms;
        lc.request_timeout_ms = l->request_timeout_ms;
        lc.idle_timeout_ms = l->idle_timeout_ms;
        lc.max_connections = (int)l->max_connections;
        if (host_http_add_listener(&lc, err, sizeof err) != 0) {
            host_diag_add(&h.diag, l->file, l->line, "listener '%s': %s", l->name, err);
            rc = -1;
        }
    }
    if (h.conf.max_inflight_body_size > 0)
        host_http_set_max_inflight_bytes(h.conf.max_inflight_body_size);
    if (host_plugins_prepare(&h, check) != 0)
        rc = -1;
    if (check) {
        print_diag(&h.diag);
        if (rc == 0 && h.diag.n == 0)
            printf("%s: configuration OK (%zu plugin%s)\n", config_dir, h.nplugins,
                   h.nplugins == 1 ? "" : "s");
        exit_code = (rc == 0 && h.diag.n == 0) ? 0 : EXIT_CONFIG;
        goto out;
    }
    if (rc != 0) {
        report_failure(&h.diag, "configuration failed (out of memory?)");
        exit_code = EXIT_CONFIG;
        goto out;
    }
    if (host_workers_start((unsigned)h.conf.worker_threads, 0) != 0) {
        host_error("cannot start worker threads");
        exit_code = 1;
        goto out;
    }
    int brc = host_builtin_register(&h);
    if (brc != 0) {
        host_error("cannot register the built-in routes (/-/healthy, /-/ready, /metrics): %s",
                   strerror(-brc));
        exit_code = 1;
        goto out_workers;
    }
    if (host_plugins_init(&h) != 0) {
        report_failure(&h.diag, "plugin init failed");
        exit_code = h.diag.n ? EXIT_CONFIG : 1;
        goto out_workers;
    }
    if (host_http_start(err, sizeof err) != 0) {
        host_error("http: %s", err);
        exit_code = 1;
        goto out_workers;
    }
    for (size_t i = 0; i < h.conf.nlisteners; i++) {
        char port[16];
        snprintf(port, sizeof port, "%d", host_http_port(h.conf.listeners[i].name));
        const char *kv[] = { "listener", h.conf.listeners[i].name, "addr", h.conf.listeners[i].address,
                             "port", port, "tls", h.conf.listeners[i].tls_cert_file ? "true" : "false", NULL };
        host_log_kv(AION_LOG_INFO, NULL, "listening", kv);
    }
    if (host_plugins_start(&h) != 0) {
        report_failure(&h.diag, "plugin start failed");
        exit_code = 1;
        goto out_stop;
    }
    {
        char np[16];
        snprintf(np, sizeof np, "%zu", h.nplugins);
        const char *kv[] = { "version", AION_VERSION, "plugins", np, "config_dir", config_dir, NULL };
        host_log_kv(AION_LOG_INFO, NULL, "aiond started", kv);
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            host_info("SIGHUP: reloading TLS certificates and plugins");
            if (host_http_reload_tls(err, sizeof err) != 0)
                host_error("TLS reload: %s (listeners keep their old certificates)", err);
            host_plugins_reload(&h);
            continue;
        }
        host_log(AION_LOG_INFO, NULL, "received %s, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }

out_stop:
    stop_deadline_ms = h.conf.stop_timeout_ms > 0 ? h.conf.stop_timeout_ms : 30000;
    {
        pthread_t wd;
        if (pthread_create(&wd, NULL, stop_watchdog, NULL) == 0)
            pthread_detach(wd);
    }
    stop_step = "closing listeners";
    host_http_stop_accepting();
    stop_step = "waiting for requests in flight";
    int left = host_http_shutdown(stop_deadline_ms / 2);
    if (left > 0)
        host_warn("%d requests were still in flight at the deadline", left);
    stop_step = "stopping plugins";
    host_plugins_stop(&h);
out_workers:
    stop_step = "stopping workers";
    host_workers_stop(stop_deadline_ms ? stop_deadline_ms / 4 : 5000);
out:
    stop_step = "freeing";
    host_plugins_destroy(&h);
    host_http_free();
    host_workers_free();
    host_bus_free(h.bus);
    host_conf_free(&h.conf);
    host_diag_free(&h.diag);
    host_metrics_free_all();
    if (exit_code == 0)
        host_info("aiond stopped");
    return exit_code;
}
