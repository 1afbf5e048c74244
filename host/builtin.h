/* host/builtin.h: the host's own routes and process metrics. */
#ifndef AION_HOST_BUILTIN_H
#define AION_HOST_BUILTIN_H
#include "host.h"
/* Registers /-/healthy, /-/ready, /metrics on the default listener ("main"
 * if configured, else the first) and the process metrics. Returns 0 or a
 * negative errno from host_http_route. */
int host_builtin_register(host *h);
#endif
