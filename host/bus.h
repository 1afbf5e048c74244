/*
 * host/bus.h: topics and services behind aion_api (see sdk aion/bus.h for the
 * contract plugins see).
 *
 * Subscriptions and registrations happen on the main thread during
 * init/start. Delivery holds a per-topic read lock, so deactivating a
 * plugin's subscriptions (before its stop) waits for in-flight deliveries
 * to it and no delivery reaches a stopped plugin.
 */
#ifndef AION_HOST_BUS_H
#define AION_HOST_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <aion/bus.h>

typedef struct host_bus host_bus;

host_bus *host_bus_new(void);
void host_bus_free(host_bus *b);

aion_msg *host_msg_new(const char *type, void *payload, aion_msg_free_fn fn, void *arg);
void host_msg_ref(aion_msg *m);
void host_msg_unref(aion_msg *m);
const char *host_msg_type(const aion_msg *m);
void *host_msg_payload(const aion_msg *m);

/* owner identifies the subscribing plugin instance (for deactivation). */
int host_bus_subscribe(host_bus *b, const char *topic, aion_subscriber_fn fn, void *arg,
                       const void *owner);
int host_bus_publish(host_bus *b, const char *topic, aion_msg *msg, void *result);
/* Number of active subscribers of a topic. */
size_t host_bus_subscribers(host_bus *b, const char *topic);

int host_bus_service_register(host_bus *b, const char *name, uint32_t version,
                              const void *vtable, void *self, const void *owner);
size_t host_bus_service_list(host_bus *b, const char *name, uint32_t version,
                             const void **vtables, void **selves, size_t max);

/* Deactivates every subscription and service of owner; waits for in-flight
 * deliveries to them. */
void host_bus_deactivate(host_bus *b, const void *owner);

#endif
