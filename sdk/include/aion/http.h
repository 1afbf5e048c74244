/*
 * aion/http.h: HTTP routes and middleware on the host's listeners.
 *
 * Listeners are declared in the host config (`host.listeners`); the default
 * one is named "main" on 127.0.0.1:10902. A plugin registers routes (method,
 * exact path or path prefix) on a listener by name during init(); listener
 * NULL means "main" if the config has one, else the first listener.
 *
 * THREADS. The host reads each request completely (up to the listener's body
 * limit; 413 past it) on an I/O thread, then runs middleware and the handler
 * on a WORKER thread, so handlers may block (decode, disk, S3, queries).
 * Handlers with AION_ROUTE_INLINE run on the I/O thread and must not block.
 *
 * LIFETIME. The request and everything read from it (headers, query params,
 * body) are valid until aion_api.http_reply (or http_reply_*) is called for
 * it; exactly one reply per request. The handler may reply later from
 * another thread (keep the request, reply once): the host keeps the
 * connection until then, or until the client goes away (then the reply is
 * dropped silently).
 */
#ifndef AION_HTTP_H
#define AION_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AION_LISTENER_DEFAULT "main"

typedef struct aion_http_req aion_http_req;

enum {
    AION_ROUTE_PREFIX = 1 << 0, /* path is a prefix ("/api/v1/" matches "/api/v1/query") */
    AION_ROUTE_INLINE = 1 << 1, /* run on the I/O thread (cheap, non-blocking handlers only) */
    AION_ROUTE_NO_AUTH = 1 << 2,/* authenticators and middleware do not run (health checks) */
    /* Scopes the route needs (aion/auth.h): an authenticated identity
     * without one of them gets 403. Anonymous requests are not checked. */
    AION_ROUTE_READ = 1 << 3,   /* needs AION_SCOPE_READ (queries, series, labels) */
    AION_ROUTE_WRITE = 1 << 4,  /* needs AION_SCOPE_WRITE (remote write) */
    AION_ROUTE_ADMIN = 1 << 5,  /* needs AION_SCOPE_ADMIN */
};

typedef enum aion_http_method {
    AION_HTTP_GET = 1 << 0,
    AION_HTTP_POST = 1 << 1,
    AION_HTTP_PUT = 1 << 2,
    AION_HTTP_DELETE = 1 << 3,
    AION_HTTP_HEAD = 1 << 4,
    AION_HTTP_OPTIONS = 1 << 5,
    AION_HTTP_ANY = 0xff,
} aion_http_method;

/* A handler. It must reply exactly once (now or later). */
typedef void (*aion_http_handler)(aion_http_req *req, void *arg);

/* Middleware: runs before every handler of the listeners it is attached to
 * (except AION_ROUTE_NO_AUTH routes), in registration order. Return 0 to go
 * on (optionally after aion_api.http_set_identity); or reply (e.g. 401/403
 * via http_reply) and return 1 to stop. */
typedef int (*aion_http_middleware)(aion_http_req *req, void *arg);

/* The identity an authenticator attached. Strings are owned by the request. */
typedef struct aion_identity {
    const char *subject;   /* who; NULL when anonymous */
    const char *tenant;    /* tenant the identity is bound to; NULL = none */
    uint32_t scopes;       /* AION_SCOPE_* */
} aion_identity;

enum { AION_SCOPE_READ = 1 << 0, AION_SCOPE_WRITE = 1 << 1, AION_SCOPE_ADMIN = 1 << 2 };

#ifdef __cplusplus
}
#endif
#endif
