/* Assembles host_conf from the parsed conf.d files: the `host` group (which
 * may be split across files, each key set once) and the `plugins` lists. */
#include "config.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const aion_option host_options[] = {
    { "log_level", AION_OPT_STRING, "info", "debug, info, warn or error", 0 },
    { "data_dir", AION_OPT_STRING, "./data", "where plugins keep their data", 0 },
    { "plugin_dir", AION_OPT_STRING, NULL, "where plugin paths without '/' are looked up", 0 },
    { "worker_threads", AION_OPT_INT, "0", "worker pool size (0 = two per core, at least 4)", 0 },
    { "io_threads", AION_OPT_INT, "0", "HTTP event loops (0 = one per core)", 0 },
    { "stop_timeout", AION_OPT_DURATION, "30s", "deadline for a graceful stop", 0 },
    { "max_inflight_body_size", AION_OPT_SIZE, "512MiB", "request bodies waiting for handlers past this get 503", 0 },
    { "listeners", AION_OPT_GROUP_LIST, NULL, "HTTP listeners", 0 },
    AION_OPTION_END
};

static const aion_option listener_options[] = {
    { "name", AION_OPT_STRING, NULL, "listener name routes refer to", AION_OPT_REQUIRED },
    { "address", AION_OPT_STRING, NULL, "host:port to listen on", AION_OPT_REQUIRED },
    { "tls_cert_file", AION_OPT_STRING, NULL, "PEM certificate (enables TLS)", 0 },
    { "tls_key_file", AION_OPT_STRING, NULL, "PEM private key", 0 },
    { "tls_client_ca_file", AION_OPT_STRING, NULL, "require client certificates signed by this CA", 0 },
    { "max_body_size", AION_OPT_SIZE, "64MiB", "larger request bodies get 413", 0 },
    { "read_timeout", AION_OPT_DURATION, "30s", "close a connection that sends nothing this long", 0 },
    { "request_timeout", AION_OPT_DURATION, "60s", "a whole request must arrive within this", 0 },
    { "idle_timeout", AION_OPT_DURATION, "120s", "close idle keep-alive connections after this", 0 },
    { "max_connections", AION_OPT_INT, "4096", "connections past this are refused", 0 },
    AION_OPTION_END
};

static const aion_option plugin_entry_options[] = {
    { "name", AION_OPT_STRING, NULL, "instance name (unique)", AION_OPT_REQUIRED },
    { "path", AION_OPT_STRING, NULL, "the .so file; default <name>.so in the plugin directory", 0 },
    { "enabled", AION_OPT_BOOL, "true", "false skips this entry", 0 },
    { "config", AION_OPT_GROUP, NULL, "the plugin's own options", 0 },
    AION_OPTION_END
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static const char *str_or(const struct aion_config *g, const char *name, const char *def)
{
    const struct aion_config *v = host_config_get(g, name);
    return v && v->kind == HOST_CFG_STRING ? v->text : def;
}

static int64_t dur_or(const struct aion_config *g, const char *name, const char *def)
{
    const struct aion_config *v = host_config_get(g, name);
    int64_t out = 0;
    if (v && v->kind == HOST_CFG_INT)
        return v->ival * 1000;
    host_parse_duration_ms(v && v->kind == HOST_CFG_STRING ? v->text : def, &out);
    return out;
}

static int64_t size_or(const struct aion_config *g, const char *name, const char *def)
{
    const struct aion_config *v = host_config_get(g, name);
    int64_t out = 0;
    if (v && v->kind == HOST_CFG_INT)
        return v->ival;
    host_parse_size(v && v->kind == HOST_CFG_STRING ? v->text : def, &out);
    return out;
}

static int64_t int_or(const struct aion_config *g, const char *name, int64_t def)
{
    const struct aion_config *v = host_config_get(g, name);
    return v && v->kind == HOST_CFG_INT ? v->ival : def;
}

/* Where each host key was first set, to report duplicates across files. */
struct seen {
    const struct aion_config *node[16];
};

static int add_listener(host_conf *c, const struct aion_config *g, host_diag *d)
{
    if (host_config_validate(g, listener_options, "host (listener)", d) > 0)
        return -1;
    const char *name = str_or(g, "name", NULL);
    for (size_t i = 0; i < c->nlisteners; i++)
        if (strcmp(c->listeners[i].name, name) == 0) {
            host_diag_add(d, g->file, g->line, "duplicate listener name '%s' (first defined at %s:%d)",
                          name, c->listeners[i].file, c->listeners[i].line);
            return -1;
        }
    host_listener_conf *nl = realloc(c->listeners, (c->nlisteners + 1) * sizeof *nl);
    if (!nl)
        return -ENOMEM;
    c->listeners = nl;
    host_listener_conf *l = &c->listeners[c->nlisteners];
    memset(l, 0, sizeof *l);
    l->name = xstrdup(name);
    l->address = xstrdup(str_or(g, "address", NULL));
    l->tls_cert_file = xstrdup(str_or(g, "tls_cert_file", NULL));
    l->tls_key_file = xstrdup(str_or(g, "tls_key_file", NULL));
    l->tls_client_ca_file = xstrdup(str_or(g, "tls_client_ca_file", NULL));
    l->max_body_size = size_or(g, "max_body_size", "64MiB");
    l->read_timeout_ms = dur_or(g, "read_timeout", "30s");
    l->request_timeout_ms = dur_or(g, "request_timeout", "60s");
    l->idle_timeout_ms = dur_or(g, "idle_timeout", "120s");
    l->max_connections = int_or(g, "max_connections", 4096);
    l->file = g->file;
    l->line = g->line;
    c->nlisteners++;
    if (!l->name || !l->address)
        return -ENOMEM;
    if (!!l->tls_cert_file != !!l->tls_key_file) {
        host_diag_add(d, g->file, g->line, "listener '%s': tls_cert_file and tls_key_file go together",
                      name);
        return -1;
    }
    if (l->tls_client_ca_file && !l->tls_cert_file) {
        host_diag_add(d, g->file, g->line, "listener '%s': tls_client_ca_file needs tls_cert_file",
                      name);
        return -1;
    }
    return 0;
}

static int apply_host(host_conf *c, const struct aion_config *g, struct seen *seen, host_diag *d)
{
    int bad = host_config_validate(g, host_options, "host", d) > 0;
    if (g->kind != HOST_CFG_GROUP)
        return -1;
    for (size_t i = 0; i < g->nchildren; i++) {
        const struct aion_config *v = g->children[i];
        size_t k = 0;
        for (; host_options[k].name; k++)
            if (strcmp(host_options[k].name, v->name) == 0)
                break;
        if (!host_options[k].name || k >= 16)
            continue;
        if (strcmp(v->name, "listeners") != 0) {
            if (seen->node[k]) {
                host_diag_add(d, v->file, v->line, "host: '%s' is already set at %s:%d", v->name,
                              seen->node[k]->file, seen->node[k]->line);
                bad = 1;
                continue;
            }
            seen->node[k] = v;
        }
    }
    if (bad)
        return -1;
    const char *s;
    if ((s = str_or(g, "log_level", NULL))) {
        free(c->log_level);
        c->log_level = xstrdup(s);
    }
    if ((s = str_or(g, "data_dir", NULL))) {
        free(c->data_dir);
        c->data_dir = xstrdup(s);
    }
    if ((s = str_or(g, "plugin_dir", NULL))) {
        free(c->plugin_dir);
        c->plugin_dir = xstrdup(s);
    }
    if (host_config_get(g, "worker_threads"))
        c->worker_threads = int_or(g, "worker_threads", 0);
    if (host_config_get(g, "io_threads"))
        c->io_threads = int_or(g, "io_threads", 0);
    if (host_config_get(g, "stop_timeout"))
        c->stop_timeout_ms = dur_or(g, "stop_timeout", "30s");
    if (host_config_get(g, "max_inflight_body_size"))
        c->max_inflight_body_size = size_or(g, "max_inflight_body_size", "512MiB");
    if (c->worker_threads < 0 || c->worker_threads > 1024 || c->io_threads < 0 || c->io_threads > 256) {
        host_diag_add(d, g->file, g->line, "host: worker_threads must be 0..1024 and io_threads 0..256");
        return -1;
    }
    const struct aion_config *ls = host_config_get(g, "listeners");
    int rc = 0;
    for (size_t i = 0; ls && i < ls->nchildren; i++)
        if (add_listener(c, ls->children[i], d) != 0)
            rc = -1;
    return rc;
}

static int add_plugin(host_conf *c, const struct aion_config *e, host_diag *d)
{
    if (e->kind != HOST_CFG_GROUP) {
        host_diag_add(d, e->file, e->line, "plugins: each entry must be a group { name = ...; }");
        return -1;
    }
    if (host_config_validate(e, plugin_entry_options, "entry", d) > 0)
        return -1;
    const char *name = str_or(e, "name", NULL);
    if (!*name) {
        host_diag_add(d, e->file, e->line, "plugins: empty instance name");
        return -1;
    }
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0) {
            host_diag_add(d, e->file, e->line,
                          "duplicate plugin instance name '%s' (first defined at %s:%d)", name,
                          c->plugins[i].file, c->plugins[i].line);
            return -1;
        }
    host_plugin_conf *np = realloc(c->plugins, (c->nplugins + 1) * sizeof *np);
    if (!np)
        return -ENOMEM;
    c->plugins = np;
    host_plugin_conf *p = &c->plugins[c->nplugins];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    const char *path = str_or(e, "path", NULL);
    if (path) {
        p->path = xstrdup(path);
    } else if (p->name && (p->path = malloc(strlen(name) + 4))) {
        sprintf(p->path, "%s.so", name);
    }
    const struct aion_config *en = host_config_get(e, "enabled");
    p->enabled = en ? en->bval : true;
    p->file = e->file;
    p->line = e->line;
    p->config = host_config_get(e, "config");
    c->nplugins++;
    if (!p->name || !p->path)
        return -ENOMEM;
    if (!p->config) {
        /* an empty group, owned by the entry's node list via a synthetic child */
        struct aion_config *g = calloc(1, sizeof *g);
        struct aion_config **nc = g ? realloc(e->children, (e->nchildren + 1) * sizeof *nc) : NULL;
        if (!nc) {
            free(g);
            return -ENOMEM;
        }
        g->kind = HOST_CFG_GROUP;
        g->name = strdup("config");
        g->file = e->file;
        g->line = e->line;
        ((struct aion_config *)e)->children = nc;
        ((struct aion_config *)e)->children[((struct aion_config *)e)->nchildren++] = g;
        p->config = g;
    }
    return 0;
}

static int defaults(host_conf *c)
{
    c->log_level = strdup("info");
    c->data_dir = strdup("./data");
    c->stop_timeout_ms = 30000;
    return c->log_level && c->data_dir ? 0 : -ENOMEM;
}

static int assemble(host_conf *c, host_diag *d)
{
    struct seen seen = { { 0 } };
    int rc = 0;
    for (size_t f = 0; f < c->nroots; f++) {
        const struct aion_config *root = c->roots[f];
        for (size_t i = 0; i < root->nchildren; i++) {
            const struct aion_config *s = root->children[i];
            if (strcmp(s->name, "host") == 0) {
                if (s->kind != HOST_CFG_GROUP) {
                    host_diag_add(d, s->file, s->line, "'host' must be a group { ... }");
                    rc = -1;
                } else if (apply_host(c, s, &seen, d) != 0) {
                    rc = -1;
                }
            } else if (strcmp(s->name, "plugins") == 0) {
                if (s->kind != HOST_CFG_LIST) {
                    host_diag_add(d, s->file, s->line, "'plugins' must be a list ( { ... }, ... )");
                    rc = -1;
                    continue;
                }
                for (size_t k = 0; k < s->nchildren; k++)
                    if (add_plugin(c, s->children[k], d) != 0)
                        rc = -1;
            } else {
                host_diag_add(d, s->file, s->line,
                              "unknown top-level setting '%s' (expected 'host' or 'plugins')", s->name);
                rc = -1;
            }
        }
    }
    if (host_log_parse_level(c->log_level) < 0) {
        host_diag_add(d, NULL, 0, "host: log_level must be debug, info, warn or error, not '%s'",
                      c->log_level);
        rc = -1;
    }
    if (c->nlisteners == 0) {
        c->listeners = calloc(1, sizeof *c->listeners);
        if (!c->listeners)
            return -ENOMEM;
        host_listener_conf *l = c->listeners;
        l->name = strdup("main");
        l->address = strdup("127.0.0.1:10902");
        l->max_body_size = 64LL << 20;
        l->read_timeout_ms = 30000;
        l->request_timeout_ms = 60000;
        l->idle_timeout_ms = 120000;
        l->max_connections = 4096;
        c->nlisteners = 1;
        if (!l->name || !l->address)
            return -ENOMEM;
    }
    return rc;
}

int host_conf_load_buffers(host_conf *c, const char *const *names, const char *const *texts,
                           size_t n, host_diag *d)
{
    memset(c, 0, sizeof *c);
    if (defaults(c) != 0)
        return -ENOMEM;
    c->files = calloc(n ? n : 1, sizeof *c->files);
    c->roots = calloc(n ? n : 1, sizeof *c->roots);
    if (!c->files || !c->roots)
        return -ENOMEM;
    int rc = 0;
    size_t before = d->n;
    for (size_t i = 0; i < n; i++) {
        if (!(c->files[c->nfiles] = strdup(names[i])))
            return -ENOMEM;
        const char *fname = c->files[c->nfiles++];
        struct aion_config *root = host_config_parse_buffer(fname, texts[i], strlen(texts[i]), d);
        if (!root) {
            rc = -1;
            continue;
        }
        c->roots[c->nroots++] = root;
    }
    if (assemble(c, d) != 0 || d->n > before)
        rc = -1;
    return rc;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int host_conf_load_dir(host_conf *c, const char *dir, host_diag *d)
{
    memset(c, 0, sizeof *c);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        defaults(c);
        host_diag_add(d, NULL, 0, "config directory %s: %s", dir,
                      stat(dir, &st) != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        defaults(c);
        host_diag_add(d, NULL, 0, "config directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dh)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -ENOMEM;
                break;
            }
            names = nn;
        }
        char *full = malloc(strlen(dir) + l + 2);
        if (!full) {
            rc = -ENOMEM;
            break;
        }
        sprintf(full, "%s/%s", dir, e->d_name);
        names[n++] = full;
    }
    closedir(dh);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    char **texts = calloc(n ? n : 1, sizeof *texts);
    size_t nok = 0;
    char **okn = calloc(n ? n : 1, sizeof *okn);
    if (!texts || !okn)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len;
        texts[nok] = read_file(names[i], &len);
        if (!texts[nok]) {
            host_diag_add(d, names[i], 0, "cannot read: %s", strerror(errno));
            rc = -1;
            continue;
        }
        if (strlen(texts[nok]) != len) {
            host_diag_add(d, names[i], 0, "file contains a NUL byte");
            free(texts[nok]);
            rc = -1;
            continue;
        }
        okn[nok++] = names[i];
    }
    int lrc = host_conf_load_buffers(c, (const char *const *)okn, (const char *const *)texts,
                                     rc == -ENOMEM ? 0 : nok, d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    for (size_t i = 0; i < nok; i++)
        free(texts[i]);
    free(names);
    free(texts);
    free(okn);
    if (!(c->config_dir = strdup(dir)))
        return -ENOMEM;
    return rc != 0 ? rc : lrc;
}

void host_conf_free(host_conf *c)
{
    for (size_t i = 0; i < c->nlisteners; i++) {
        host_listener_conf *l = &c->listeners[i];
        free(l->name);
        free(l->address);
        free(l->tls_cert_file);
        free(l->tls_key_file);
        free(l->tls_client_ca_file);
    }
    free(c->listeners);
    for (size_t i = 0; i < c->nplugins; i++) {
        free(c->plugins[i].name);
        free(c->plugins[i].path);
    }
    free(c->plugins);
    for (size_t i = 0; i < c->nroots; i++)
        host_config_node_free(c->roots[i]);
    free(c->roots);
    for (size_t i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->files);
    free(c->config_dir);
    free(c->log_level);
    free(c->data_dir);
    free(c->plugin_dir);
    memset(c, 0, sizeof *c);
}
