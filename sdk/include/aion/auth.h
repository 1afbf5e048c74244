/*
 * aion/auth.h: the "authenticator" service, the auth path's one interface.
 *
 * An auth plugin (auth-bearer, or a third party's) registers a provider of
 * AION_SERVICE_AUTHENTICATOR on the bus. The host calls every provider, in
 * registration order, for each HTTP request before the route's middleware
 * and handler (routes flagged AION_ROUTE_NO_AUTH excepted):
 *   - the first provider that does not ABSTAIN decides;
 *   - DENY: the host replies with out->status (401 or 403; anything else is
 *     taken as 401) and out->message, plus a `WWW-Authenticate` header when
 *     out->challenge is set; nothing else runs;
 *   - ALLOW: the host attaches out->subject, out->tenant and out->scopes as
 *     the request's identity (aion_api.http_identity), then checks the
 *     route's scope flags (AION_ROUTE_READ / WRITE / ADMIN in http.h): an
 *     identity lacking one gets 403 naming it;
 *   - all ABSTAIN (or no provider): the request goes on anonymously; scope
 *     flags are not enforced for anonymous requests, so a set-up without any
 *     authenticator stays open, as Prometheus and Thanos are by default.
 * A provider guards only what it chooses (e.g. some listeners or paths) by
 * abstaining elsewhere. Register it in init(): HTTP serves before plugins
 * start, so service_register refuses an authenticator later (-EBUSY).
 *
 * Because the decision is a pure function of the request's metadata, other
 * transports can use the same providers (list them with aion_api.service_list).
 *
 * THREADS. authenticate() is called from worker threads, many at once: it
 * must be thread-safe and should not block for long (no network calls on
 * the hot path; cache what it needs, refresh it in reload()).
 *
 * LIFETIME. Everything `req` points to is owned by the host and valid only
 * during the call. `out` is zeroed by the host before the call; the provider
 * fills fixed-size strings (NUL-terminated, truncated if too long).
 */
#ifndef AION_AUTH_H
#define AION_AUTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AION_SERVICE_AUTHENTICATOR "authenticator"
#define AION_AUTHENTICATOR_VERSION 1

typedef enum aion_auth_decision {
    AION_AUTH_ABSTAIN = 0, /* not this provider's request: the next one decides */
    AION_AUTH_ALLOW = 1,   /* identity in out */
    AION_AUTH_DENY = 2,    /* status, message (and challenge) in out */
} aion_auth_decision;

typedef struct aion_auth_request aion_auth_request;
struct aion_auth_request {
    const char *listener;     /* host listener name, e.g. "main" */
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* decoded path, no query */
    const char *remote_addr;  /* peer address, "ip:port" */
    uint32_t route_scopes;    /* AION_SCOPE_* the route needs (from its AION_ROUTE_* flags) */
    /* Request header by name (case-insensitive), NULL when absent. */
    const char *(*header)(const aion_auth_request *req, const char *name);
    void *host_data;          /* for header(); opaque */
};

typedef struct aion_auth_result {
    int status;               /* DENY: 401 (no or bad credentials) or 403 (not allowed) */
    char message[256];        /* DENY: reply body, names the problem; never echo secrets */
    char challenge[128];      /* DENY 401: WWW-Authenticate value, e.g. `Bearer realm="aion"` */
    char subject[128];        /* ALLOW: who (e.g. the token's name) */
    char tenant[128];         /* ALLOW: tenant bound to the identity, "" = none */
    uint32_t scopes;          /* ALLOW: AION_SCOPE_* granted */
} aion_auth_result;

/* The vtable a provider registers (name AION_SERVICE_AUTHENTICATOR, version
 * AION_AUTHENTICATOR_VERSION); `self` is its registered instance. */
typedef struct aion_authenticator_vtable {
    aion_auth_decision (*authenticate)(void *self, const aion_auth_request *req,
                                       aion_auth_result *out);
} aion_authenticator_vtable;

#ifdef __cplusplus
}
#endif
#endif
