/*
 * host/config.h: the host's view of conf.d.
 *
 * Every *.conf file of the config directory is parsed (lexical order) with
 * libconfig and converted into an owned tree of aion_config nodes, each with
 * its file and line, with ${VAR} references in strings expanded from the
 * environment. Nothing here keeps libconfig objects alive.
 *
 * All problems are collected in a host_diag list as `file:line: message`
 * lines, so --check-config can print every problem at once.
 */
#ifndef AION_HOST_CONFIG_H
#define AION_HOST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <aion/config.h>

typedef enum host_cfg_kind {
    HOST_CFG_STRING = 1,
    HOST_CFG_INT,
    HOST_CFG_FLOAT,
    HOST_CFG_BOOL,
    HOST_CFG_GROUP,
    HOST_CFG_LIST,      /* ( ... ) or [ ... ] */
} host_cfg_kind;

/* A node. Owned by its parent; the root by the host_conf. */
struct aion_config {
    host_cfg_kind kind;
    char *name;             /* key in the parent group; NULL for list elements */
    const char *file;       /* owned by host_conf (interned file name) */
    int line;
    char *text;             /* scalars: the value as text (expanded string, formatted number) */
    int64_t ival;
    double dval;
    bool bval;
    struct aion_config **children;  /* groups and lists */
    size_t nchildren;
    const char **keys;      /* cached key array for aion_api.cfg_keys (groups) */
};

/* Diagnostics: a growable list of lines. */
typedef struct host_diag {
    char **lines;
    size_t n, cap;
} host_diag;
void host_diag_add(host_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void host_diag_free(host_diag *d);

typedef struct host_listener_conf {
    char *name;
    char *address;          /* host:port */
    char *tls_cert_file, *tls_key_file, *tls_client_ca_file;
    int64_t max_body_size;  /* bytes */
    int64_t read_timeout_ms;     /* no progress on a connection for this long: close */
    int64_t request_timeout_ms;  /* a whole request (headers + body) must arrive within this */
    int64_t idle_timeout_ms;     /* keep-alive idle */
    int64_t max_connections;
    const char *file;
    int line;
} host_listener_conf;

typedef struct host_plugin_conf {
    char *name;             /* instance name, unique */
    char *path;             /* as written (default "<name>.so") */
    bool enabled;
    struct aion_config *config;  /* the `config` group (an empty group when absent) */
    const char *file;
    int line;
} host_plugin_conf;

typedef struct host_conf {
    char *config_dir;
    char *log_level;
    char *data_dir;
    char *plugin_dir;       /* NULL = default */
    int64_t worker_threads; /* 0 = one per core */
    int64_t io_threads;     /* 0 = one per core */
    int64_t stop_timeout_ms;
    int64_t max_inflight_body_size; /* bytes of request bodies waiting for handlers; 0 = default */
    host_listener_conf *listeners;
    size_t nlisteners;
    host_plugin_conf *plugins;
    size_t nplugins;
    /* internals */
    struct aion_config **roots;  /* one per file */
    size_t nroots;
    char **files;
    size_t nfiles;
} host_conf;

/* Parses one file's text (pure: no filesystem access) into a tree.
 * file is the name used in messages. Returns NULL and adds to diag on error. */
struct aion_config *host_config_parse_buffer(const char *file, const char *text, size_t len,
                                             host_diag *diag);
void host_config_node_free(struct aion_config *n);

/* Loads every *.conf of dir into conf. Returns 0, or -1 with problems in diag
 * (conf is still filled as far as possible and must be freed). */
int host_conf_load_dir(host_conf *conf, const char *dir, host_diag *diag);
/* Same from in-memory files (tests, fuzzing): names[i] holds texts[i]. */
int host_conf_load_buffers(host_conf *conf, const char *const *names, const char *const *texts,
                           size_t n, host_diag *diag);
void host_conf_free(host_conf *conf);

/* Validates a plugin's config group against its option table; problems go
 * to diag as `file:line: plugin NAME: ...`. Returns the number of problems. */
int host_config_validate(const struct aion_config *group, const aion_option *opts,
                         const char *plugin, host_diag *diag);

/* Child lookup by key (groups). NULL if absent. */
struct aion_config *host_config_get(const struct aion_config *group, const char *name);

/* Value parsers (pure). Return 0 or -EINVAL. */
int host_parse_duration_ms(const char *s, int64_t *out);
int host_parse_size(const char *s, int64_t *out);
/* Expands ${VAR} from the environment into a malloc'ed string; on an unset
 * variable or bad syntax returns NULL and writes a message to err. */
char *host_expand_env(const char *s, char *err, size_t errlen);

/* Default value of an option as the typed getters see it. */
const aion_option *host_option_find(const aion_option *opts, const char *name);

#endif
