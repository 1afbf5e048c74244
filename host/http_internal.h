/*
 * host/http_internal.h: structures shared by host/http_*.c (private to the
 * HTTP server; nothing outside host/http_*.c includes this).
 *
 * Ownership and threads:
 *  - http_server, http_listener, routes, middleware: built on the main
 *    thread before start, read-only afterwards (any thread may read).
 *  - http_loop: one per I/O thread; its base, evhttps and connections are
 *    touched only on that thread, except the reply queue (mu) and wake_ev
 *    (event_active is thread-safe, evthread_use_pthreads).
 *  - http_conn: owned by its loop thread; freed in the evhttp close callback.
 *  - aion_http_req (struct hreq): reference-counted. The "reply" reference is
 *    created with it and consumed on the loop thread when the reply is sent
 *    or dropped; a worker running middleware/handler holds a second one.
 *    Fields under "loop side" are touched only on the loop thread.
 */
#ifndef AION_HOST_HTTP_INTERNAL_H
#define AION_HOST_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include <aion/metrics.h>
#include "http.h"

typedef struct http_route {
    char *path;
    size_t plen;
    unsigned methods;
    int flags;
    aion_http_handler handler;
    void *arg;
    char *owner;
} http_route;

typedef struct http_mw {
    aion_http_middleware fn;
    void *arg;
    char *owner;
} http_mw;

typedef struct http_listener {
    char *name;
    char *address;
    struct sockaddr_storage ss;  /* parsed address, port possibly 0 */
    socklen_t sslen;
    int port;                    /* bound port after start */
    bool tls;                    /* fixed at add_listener */
    SSL_CTX *ssl;                /* under ssl_mu: replaced by host_http_reload_tls */
    pthread_mutex_t ssl_mu;
    char *tls_cert, *tls_key, *tls_ca; /* paths, for reloads */
    int64_t max_body, header_ms, request_ms, idle_ms;
    int max_conns;
    atomic_int nconns;
    http_route *routes;
    size_t nroutes;
    http_mw *mws;
    size_t nmws;
} http_listener;

typedef struct http_conn http_conn;
typedef struct aion_http_req hreq;
typedef struct http_loop http_loop;

/* evhttp callback context: one per (loop, listener) */
typedef struct http_lctx {
    http_loop *loop;
    http_listener *lst;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    int fd;                      /* listening socket (owned by the evconnlistener once bound) */
} http_lctx;

#define HTTP_CONN_BUCKETS 1024

struct http_loop {
    unsigned idx;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    http_lctx *lctx;             /* [server.nlisteners] */
    struct event *wake_ev;       /* replies queued from other threads */
    pthread_mutex_t mu;          /* guards replies and closed */
    hreq *replies_head, *replies_tail;
    bool closed;                 /* loop gone: replies are dropped by the replier */
    http_conn *conns[HTTP_CONN_BUCKETS]; /* by evcon (loop thread only) */
};

typedef struct http_server {
    unsigned nloops;
    http_loop *loops;
    http_listener **listeners;
    size_t nlisteners;
    bool started;
    atomic_bool draining;        /* stop accepting: replies close connections */
    atomic_long in_flight;
    atomic_llong inflight_bytes; /* request bodies of in_flight requests */
    int64_t max_inflight_bytes;  /* 503 past it (0 = no limit) */
    pthread_mutex_t wait_mu;     /* shutdown waits for in_flight == 0 */
    pthread_cond_t wait_cv;
    aion_metric *m_requests, *m_duration, *m_conns, *m_inflight, *m_refused;
} http_server;

enum { CONN_READING = 0, CONN_BUSY = 1, CONN_IDLE = 2, CONN_WRITING = 3 };

struct http_conn {
    http_loop *loop;
    http_listener *lst;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct event *timer;         /* request deadline or keep-alive idle */
    int phase;
    hreq *cur;                   /* request being handled, or NULL */
    bool counted;                /* its reply is being written and counts as in flight */
    size_t counted_bytes;        /* request body bytes counted with it */
    bool refuse;                 /* TLS set-up failed: close at attach */
    http_conn *hnext;            /* hash chain */
    char remote[64];
};

typedef struct http_kv {
    char *name;
    char *value;
} http_kv;

struct aion_http_req {
    /* loop side */
    struct evhttp_request *ev;   /* NULL once sent or when the client went away */
    http_conn *conn;
    http_loop *loop;

    atomic_int refs;
    atomic_bool replied;
    bool dispatched;             /* counted in in_flight until its reply is written or dropped */
    size_t in_bytes;             /* body bytes counted in inflight_bytes */
    hreq *next;                  /* reply queue */

    http_listener *lst;
    const http_route *route;
    aion_http_method method;
    char *path;                  /* decoded */
    char *query;                 /* raw query string or NULL */
    http_kv *hdrs;
    size_t nhdrs;
    struct evbuffer *body_buf;   /* moved out of the evhttp request */
    uint8_t *body;               /* contiguous copy, made on first host_http_body */
    size_t body_len;
    char remote[64];
    int64_t start_ns;

    bool params_done;
    http_kv *params;
    size_t nparams, params_cap;
    void **scratch;              /* arrays returned by query_all, freed with the request */
    size_t nscratch;

    aion_identity ident;

    /* reply */
    http_kv *out;
    size_t nout, out_cap;
    int status;
    char *ctype;
    void *rbody;
    size_t rlen;
};

extern http_server *host_http_g;

/* http_route.c */
const http_route *http_route_match(const http_listener *l, const char *path,
                                   aion_http_method m, unsigned *allow);
void http_routes_free(http_listener *l);

/* http_auth.c: runs the authenticator providers for r (route not NO_AUTH).
 * 0 = go on (identity attached or anonymous); 1 = replied (401/403). */
int http_authenticate(hreq *r);
/* http_reply.c: "GET", "POST", ... ("OTHER" for anything else). */
const char *http_method_name(aion_http_method m);
/* AION_SCOPE_* bits a route's AION_ROUTE_READ/WRITE/ADMIN flags ask for. */
uint32_t http_route_scopes(int flags);
int http_method_from_evhttp(int evcmd, aion_http_method *out);

/* http_req.c */
hreq *http_req_new(http_conn *c, http_lctx *lc, struct evhttp_request *ev);
void http_req_unref(hreq *r);

/* http_reply.c */
void http_dispatch(hreq *r);                 /* loop thread: route, then inline or worker */
void http_loop_wake(evutil_socket_t fd, short what, void *arg); /* loop thread: send queued replies */
void http_inflight_done(size_t bytes);       /* any thread */
void http_reply_dropped(hreq *r);            /* consume the reply reference without sending */
int64_t http_now_ns(void);

/* http_conn.c (loop thread): evhttp callbacks, connection phases */
struct bufferevent *http_make_bev(struct event_base *base, void *arg);
void http_on_request(struct evhttp_request *ev, void *arg);
void http_conn_on_complete(struct evhttp_request *ev, void *arg);
void http_conn_set_phase(http_conn *c, int phase);

/* tls.c */
#include "tls.h"

#endif
