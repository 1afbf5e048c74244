/*
 * host/http.h: the host's HTTP server (internal to aiond).
 *
 * One process-wide server: listeners (declared by config), routes and
 * middleware (registered by the host and by plugins during init), N I/O
 * threads each running a libevent event_base with one evhttp per listener
 * on its own SO_REUSEPORT socket, and the worker pool (host/workers.h) that
 * runs middleware and handlers. See docs/threading.md.
 *
 * Lifecycle, main thread only, in this order:
 *   host_http_init            - empty server (no listener yet)
 *   host_http_add_listener    - once per configured listener
 *   host_http_route / host_http_middleware  - during plugin init
 *   (host_http_set_max_inflight_bytes) - optional, before start
 *   host_http_start           - binds sockets, starts I/O threads
 *   (host_http_reload_tls)    - optional, e.g. on SIGHUP
 *   host_http_stop_accepting  - step one of SIGTERM: listening sockets closed
 *   host_http_shutdown        - waits for in-flight requests (deadline), stops I/O threads
 *   (host_workers_stop)       - after this, no handler can still be running
 *   host_http_free            - frees everything
 * The worker pool must be started before host_http_start and stopped
 * after host_http_shutdown and before host_http_free.
 *
 * The request accessors and replies (host_http_method ... host_http_reply_text)
 * have exactly the aion_api signatures and semantics of sdk/include/aion/plugin.h
 * and may go straight into the table. They are called by the one thread
 * that currently owns the request (the handler's, or whoever it handed the
 * request to); the reply may come from any thread. Strings, arrays and the
 * body they return are owned by the request; after the reply the request
 * and all of them are gone.
 */
#ifndef AION_HOST_HTTP_H
#define AION_HOST_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <aion/http.h>

#define HOST_HTTP_DEFAULT_ADDRESS "127.0.0.1:10902"

/* One listener. Strings are copied by host_http_add_listener. */
typedef struct host_http_listener_cfg {
    const char *name;            /* e.g. "main" */
    const char *address;         /* "host:port", "[v6]:port" or ":port" (all interfaces); port 0 = any free port */
    const char *tls_cert_file;   /* PEM; TLS on when set (then tls_key_file is required) */
    const char *tls_key_file;    /* PEM */
    const char *tls_client_ca_file; /* PEM; when set clients must present a cert signed by it */
    int64_t max_body_bytes;      /* request body limit, 413 past it */
    int64_t header_timeout_ms;   /* no progress for that long while reading a request or writing its reply */
    int64_t request_timeout_ms;  /* whole request (headers, body) from its first byte; the first
                                  * request of a connection from accept (covers TLS). Writing
                                  * the reply has the same limit (slow readers). The handler's
                                  * own time is not limited. */
    int64_t idle_timeout_ms;     /* keep-alive connection with no request */
    int max_connections;         /* connections past it are closed at once */
} host_http_listener_cfg;

/* Fills cfg with the defaults: "main", 127.0.0.1:10902, no TLS, 32 MiB
 * body, 10 s header, 60 s request, 120 s idle, 1024 connections. */
void host_http_listener_defaults(host_http_listener_cfg *cfg);

/* io_threads: number of event loops (0 = number of online CPUs). Returns 0,
 * -EALREADY, -ENOMEM. */
int host_http_init(unsigned io_threads, char *err, size_t errlen);

/* Adds a listener (before host_http_start). Validates the address and, for
 * TLS, loads the cert/key/CA now so errors show at start-up. Returns 0,
 * -EEXIST (duplicate name), -EINVAL (bad address/values), -EIO (TLS files),
 * -ENOMEM; err says why. */
int host_http_add_listener(const host_http_listener_cfg *cfg, char *err, size_t errlen);

/* Registers a route (before host_http_start). listener NULL = the default
 * listener ("main" if configured, else the first one). owner
 * (e.g. the plugin instance name, NULL = host) is kept for messages.
 * Exact paths beat prefixes; the longest prefix wins. Returns 0, -ENOENT
 * (unknown listener), -EEXIST (same path/kind with overlapping methods),
 * -EINVAL, -EBUSY (server already started), -ENOMEM. */
int host_http_route(const char *listener, unsigned methods, const char *path, int flags,
                    aion_http_handler handler, void *arg, const char *owner);

/* Where the server finds the "authenticator" providers (aion/auth.h) it runs
 * before middleware: fn fills up to max (vtable, self) pairs and returns the
 * total, like host_bus_service_list. Called on worker threads for every
 * request. Set once before host_http_start (host_plugins_init does it with
 * the bus); NULL = no authenticators. */
typedef size_t (*host_http_auth_list_fn)(void *ctx, const void **vtables, void **selves, size_t max);
void host_http_set_auth_source(host_http_auth_list_fn fn, void *ctx);

/* Attaches middleware to a listener (NULL = every listener), run in
 * registration order. Same errors as host_http_route. */
int host_http_middleware(const char *listener, aion_http_middleware fn, void *arg,
                         const char *owner);

/* Binds every listener and starts the I/O threads. Returns 0 or a negative
 * errno (err says which listener/address failed). */
int host_http_start(char *err, size_t errlen);

/* Port a listener is bound to (after start; useful with port 0), or -ENOENT. */
int host_http_port(const char *listener);

/* Closes every listening socket (returns when they are closed). Requests
 * in flight go on; keep-alive connections are closed after their next reply. */
void host_http_stop_accepting(void);

/* Waits up to deadline_ms for requests in flight to be answered, then stops
 * and joins the I/O threads (connections are closed). Replies that arrive
 * later are dropped. Returns the number of requests still unanswered. */
int host_http_shutdown(int64_t deadline_ms);

/* Frees the server (after host_http_shutdown and host_workers_stop). */
void host_http_free(void);

/* Open connections of a listener (NULL = "main"), or -ENOENT. Thread-safe. */
int host_http_connections(const char *listener);

/* Reloads the certificate, key and client CA of every TLS listener from
 * the same files (e.g. on SIGHUP, after a rotation). New connections use
 * the new ones; open connections keep theirs. A listener whose files do
 * not load keeps its previous context. Returns 0, or -EIO with err naming
 * the first listener that failed. Main thread; safe while serving. */
int host_http_reload_tls(char *err, size_t errlen);

/* Bounds the request bodies held by requests in flight (all listeners):
 * a request whose body would go past it gets 503 + Retry-After (one request
 * is always admitted, whatever its size). 0 = no limit. Default
 * HOST_HTTP_DEFAULT_MAX_INFLIGHT_BYTES. Call before host_http_start. */
#define HOST_HTTP_DEFAULT_MAX_INFLIGHT_BYTES ((int64_t)512 << 20)
void host_http_set_max_inflight_bytes(int64_t bytes);

/* Requests in flight (dispatched to a handler, reply not yet written or
 * dropped). Thread-safe. */
long host_http_in_flight(void);

/* ---- request accessors and replies: see aion_api in plugin.h ---- */
aion_http_method host_http_method(aion_http_req *req);
const char *host_http_path(aion_http_req *req);
const char *host_http_query(aion_http_req *req, const char *name);
size_t host_http_query_all(aion_http_req *req, const char *name, const char ***values);
const char *host_http_header(aion_http_req *req, const char *name);
const uint8_t *host_http_body(aion_http_req *req, size_t *len);
const char *host_http_remote_addr(aion_http_req *req);
const aion_identity *host_http_identity(aion_http_req *req);
void host_http_set_identity(aion_http_req *req, const char *subject, const char *tenant,
                            uint32_t scopes);
void host_http_add_header(aion_http_req *req, const char *name, const char *value);
void host_http_reply(aion_http_req *req, int status, const char *content_type,
                     const void *body, size_t len);
void host_http_reply_take(aion_http_req *req, int status, const char *content_type,
                          void *body, size_t len);
void host_http_reply_text(aion_http_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- pure parsers (fuzzed) ---- */

/* Percent-decodes src[0..len) into dst (at least len+1 bytes); '+' becomes
 * a space when plus is set. Invalid escapes are kept as they are. Returns
 * the decoded length; dst is NUL-terminated. */
size_t host_http_unescape(const char *src, size_t len, char *dst, int plus);

/* Splits an application/x-www-form-urlencoded buffer (or URL query) into
 * name/value pairs, decoding both, and calls fn for each (strings valid
 * during the call only). Empty segments are skipped; "a" gives value "".
 * Returns 0, the first non-zero fn result, or -ENOMEM. */
int host_http_parse_form(const char *buf, size_t len,
                         int (*fn)(const char *name, const char *value, void *arg), void *arg);

#endif
