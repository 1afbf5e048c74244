/*
 * aion/bus.h: the in-process message bus: topics (publish/subscribe) and
 * services (named, versioned interfaces provided by plugins).
 *
 * TOPICS. A message is typed (a type name agreed between publisher and
 * subscribers) and reference-counted. publish() delivers SYNCHRONOUSLY on the
 * publisher's thread to every subscriber of the topic, in subscription order
 * (which follows plugin start order), and returns the first failure, so a
 * publisher learns whether storage took the data (receive answers 5xx when it
 * did not). Subscribers may be called from many threads at once and must be
 * thread-safe. A subscriber that needs the message after returning takes a
 * reference (aion_api.msg_ref) and releases it later (msg_unref).
 *
 * THE WRITE TOPIC ("write", message type "aion.write.v1", payload
 * aion_write_batch) carries series to storage. Producers: remote write,
 * federation, third-party plugins. Consumers: storage (receive's TSDB). Each
 * subscriber adds its outcome into the aion_write_result passed to publish.
 *
 * SERVICES. A provider registers (name, version, vtable, instance); any
 * plugin can list every provider of a name (e.g. every "store"). Registration
 * happens in init() or start(); lookups are safe from any thread after
 * start. The vtable and instance must stay valid until the provider's stop()
 * returns; the host unregisters them before stop().
 */
#ifndef AION_BUS_H
#define AION_BUS_H

#include <stdint.h>
#include <aion/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AION_TOPIC_WRITE "write"
#define AION_MSG_WRITE_V1 "aion.write.v1"

/* Payload of a write message. Everything it points to is owned by the
 * message (kept alive by its reference count), never by the subscriber. */
typedef struct aion_write_batch {
    const char *tenant;          /* never NULL; "default-tenant" when none was given */
    const aion_series *series;
    size_t nseries;
} aion_write_batch;

/* Outcome of a write, summed over subscribers. Samples refused for being
 * out of order, duplicate, too old or too new are counted, not errors: the
 * rest of the batch is stored. `status` is 0, or the worst failure as an
 * HTTP-like code: 400 bad series, 413/429 limits, 500/503 storage failure. */
typedef struct aion_write_result {
    uint64_t samples_stored;
    uint64_t series_refused;     /* refused series (limits, invalid) */
    uint64_t out_of_order;
    uint64_t duplicate;
    uint64_t too_old;
    uint64_t too_new;
    uint64_t limited;            /* samples of series refused by limits */
    int status;
    char message[256];           /* first failure's message, if any */
} aion_write_result;

/* A message; opaque. Created with aion_api.msg_new, refcount 1. */
typedef struct aion_msg aion_msg;

/* Called when the last reference goes: frees the payload. */
typedef void (*aion_msg_free_fn)(void *payload, void *free_arg);

/* A subscriber. `result` is the publisher's result object (for the write
 * topic an aion_write_result*; NULL when the publisher passed none).
 * Returns 0 or a negative errno; the first failure is returned by publish. */
typedef int (*aion_subscriber_fn)(const char *topic, aion_msg *msg, void *result, void *arg);

#ifdef __cplusplus
}
#endif
#endif
