/*
 * host/plugins.h: plugin instances (aion_ctx) and their lifecycle.
 */
#ifndef AION_HOST_PLUGINS_H
#define AION_HOST_PLUGINS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <aion/plugin.h>
#include "config.h"

struct host;

typedef enum host_plugin_state {
    HOST_PLUGIN_LOADED = 0,
    HOST_PLUGIN_INITED,
    HOST_PLUGIN_STARTED,
    HOST_PLUGIN_STOPPED,
} host_plugin_state;

struct aion_ctx {
    const aion_api *api;            /* MUST stay first: aion_api_get() reads it */
    struct host *host;
    host_plugin_conf *conf;         /* borrowed from host_conf */
    const aion_plugin *desc;
    void *dl;
    char *so_path;
    void *data;
    _Atomic bool ready;
    bool ready_explicit;            /* the plugin called set_ready at least once */
    host_plugin_state state;
    bool init_called;               /* destroy() is due */
    host_diag *diag;                /* where config_error writes while checking */
    pthread_mutex_t timers_mu;      /* guards timers */
    aion_timer **timers;            /* the plugin's live timers, cancelled at stop */
    size_t ntimers;
    char error[512];
};

/* Resolves a plugin path: with a '/', as given; otherwise under plugin_dir. */
char *host_plugin_resolve(const char *path, const char *plugin_dir);

/* dlopens and checks the descriptor; problems go to diag with the entry's
 * file:line. On success fills ctx->dl, ->desc, ->so_path. */
int host_plugin_load(aion_ctx *ctx, const char *plugin_dir, host_diag *diag);
void host_plugin_unload(aion_ctx *ctx);

/* Orders ctxs so that every plugin comes after the providers of the services
 * it requires, keeping config order otherwise. Reports missing providers and
 * cycles to diag. Returns 0 or -1. */
int host_plugins_order(aion_ctx **ctxs, size_t n, host_diag *diag);

/* The default plugin directory: build/plugins when running from a build tree
 * (build/host/aiond); else <dir of the executable>/../<libdir>/aion/plugins
 * when it exists (an installed, possibly relocated prefix); else the
 * configured <prefix>/<libdir>/aion/plugins. Returns a static buffer or a
 * constant (main thread only). */
const char *host_default_plugin_dir(const char *argv0);

#endif
