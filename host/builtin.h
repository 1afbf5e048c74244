/* host/builtin.h: the host's own routes and process metrics. */
#ifndef AION_HOST_BUILTIN_H
#define AION_HOST_BUILTIN_H
#include "host.h"
/* Registers /-/healthy, /-/ready, /metrics on the default listener. */
int host_builtin_register(host *h);
#endif
