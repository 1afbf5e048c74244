/*
 * host/host.h: the running host: config, bus, HTTP, workers and the plugin
 * instances. One per process (main.c); tests create their own.
 */
#ifndef AION_HOST_HOST_H
#define AION_HOST_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include "bus.h"
#include "config.h"
#include "plugins.h"

typedef struct host {
    host_conf conf;
    host_bus *bus;
    aion_ctx **plugins;      /* in start order */
    size_t nplugins;
    const char *plugin_dir;
    host_diag diag;
} host;

/* The API table handed to every plugin. */
const aion_api *host_api(void);

/* Creates contexts for the enabled plugin entries of h->conf, loads their .so
 * files, validates their config and orders them. Problems go to h->diag.
 * check_only: also call each plugin's check_config. Returns 0 or -1. */
int host_plugins_prepare(host *h, bool check_only);

/* init all, in order; on failure destroys what was created. */
int host_plugins_init(host *h);
int host_plugins_start(host *h);
/* stop in reverse order (each after deactivating its bus subscriptions). */
void host_plugins_stop(host *h);
void host_plugins_reload(host *h);
void host_plugins_destroy(host *h);
/* true when every started plugin reports ready. */
bool host_plugins_ready(host *h, char *why, size_t whylen);

#endif
