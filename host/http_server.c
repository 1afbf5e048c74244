/* host/http_server.c: listeners, I/O threads (one event_base per thread,
 * one evhttp per listener on a SO_REUSEPORT socket), start and shutdown. */
#include "http_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "log.h"
#include "metrics.h"

http_server *host_http_g;

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void host_http_listener_defaults(host_http_listener_cfg *cfg)
{
    *cfg = (host_http_listener_cfg){
        .name = AION_LISTENER_DEFAULT,
        .address = HOST_HTTP_DEFAULT_ADDRESS,
        .max_body_bytes = 32 << 20,
        .header_timeout_ms = 10000,
        .request_timeout_ms = 60000,
        .idle_timeout_ms = 120000,
        .max_connections = 1024,
    };
}

int host_http_init(unsigned io_threads, char *err, size_t errlen)
{
    if (host_http_g)
        return -EALREADY;
    if (evthread_use_pthreads() != 0) {
        seterr(err, errlen, "libevent: cannot enable pthreads support");
        return -ENOSYS;
    }
    if (io_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        io_threads = n > 0 ? (unsigned)n : 1;
    }
    http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        seterr(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->nloops = io_threads;
    s->max_inflight_bytes = HOST_HTTP_DEFAULT_MAX_INFLIGHT_BYTES;
    pthread_mutex_init(&s->wait_mu, NULL);
    pthread_cond_init(&s->wait_cv, NULL);
    static const char *const req_labels[] = { "listener", "route", "method", "code", NULL };
    static const char *const dur_labels[] = { "listener", "route", NULL };
    static const char *const conn_labels[] = { "listener", NULL };
    s->m_requests = host_metric_new(AION_METRIC_COUNTER, "aion_http_requests_total",
                                    "HTTP requests answered, by listener, route, method and code.",
                                    req_labels, NULL, 0);
    s->m_duration = host_metric_new(AION_METRIC_HISTOGRAM, "aion_http_request_duration_seconds",
                                    "Time from a request fully read to its reply.", dur_labels,
                                    NULL, 0);
    s->m_conns = host_metric_new(AION_METRIC_GAUGE, "aion_http_connections",
                                 "Open HTTP connections.", conn_labels, NULL, 0);
    s->m_inflight = host_metric_new(AION_METRIC_GAUGE, "aion_http_requests_in_flight",
                                    "HTTP requests being handled.", NULL, NULL, 0);
    s->m_refused = host_metric_new(AION_METRIC_COUNTER, "aion_http_connections_refused_total",
                                   "Connections closed at once because the listener was full.",
                                   conn_labels, NULL, 0);
    host_http_g = s;
    return 0;
}

/* "host:port", "[v6]:port", ":port" */
static int parse_address(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
                         char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon[1] == 0) {
        seterr(err, errlen, "address '%s': expected host:port", addr);
        return -EINVAL;
    }
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof(host)) {
        seterr(err, errlen, "address '%s': host too long", addr);
        return -EINVAL;
    }
    memcpy(host, addr, hl);
    host[hl] = 0;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = 0;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        seterr(err, errlen, "address '%s': bad port", addr);
        return -EINVAL;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (rc || !res) {
        seterr(err, errlen, "address '%s': %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int host_http_add_listener(const host_http_listener_cfg *cfg, char *err, size_t errlen)
{
    http_server *s = host_http_g;
    if (!s || s->started) {
        seterr(err, errlen, "HTTP server not initialised or already started");
        return -EBUSY;
    }
    if (!cfg || !cfg->name || !cfg->name[0] || !cfg->address) {
        seterr(err, errlen, "listener needs a name and an address");
        return -EINVAL;
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (strcmp(s->listeners[i]->name, cfg->name) == 0) {
            seterr(err, errlen, "listener '%s' declared twice", cfg->name);
            return -EEXIST;
        }
    }
    if (cfg->max_body_bytes <= 0 || cfg->header_timeout_ms <= 0 || cfg->request_timeout_ms <= 0 ||
        cfg->idle_timeout_ms <= 0 || cfg->max_connections <= 0) {
        seterr(err, errlen, "listener '%s': limits and timeouts must be positive", cfg->name);
        return -EINVAL;
    }
    http_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        seterr(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = parse_address(cfg->address, &l->ss, &l->sslen, err, errlen);
    if (rc) {
        free(l);
        return rc;
    }
    if (cfg->tls_cert_file || cfg->tls_key_file) {
        char terr[384];
        l->ssl = host_tls_server_ctx(cfg->tls_cert_file, cfg->tls_key_file,
                                     cfg->tls_client_ca_file, terr, sizeof(terr));
        if (!l->ssl) {
            seterr(err, errlen, "listener '%s': %s", cfg->name, terr);
            free(l);
            return -EIO;
        }
    } else if (cfg->tls_client_ca_file) {
        seterr(err, errlen, "listener '%s': client CA without a TLS certificate", cfg->name);
        free(l);
        return -EINVAL;
    }
    l->tls = l->ssl != NULL;
    pthread_mutex_init(&l->ssl_mu, NULL);
    if (l->tls) {
        l->tls_cert = strdup(cfg->tls_cert_file);
        l->tls_key = strdup(cfg->tls_key_file);
        l->tls_ca = cfg->tls_client_ca_file ? strdup(cfg->tls_client_ca_file) : NULL;
    }
    l->name = strdup(cfg->name);
    l->address = strdup(cfg->address);
    http_listener **nl = realloc(s->listeners, (s->nlisteners + 1) * sizeof(*nl));
    if (!l->name || !l->address || !nl ||
        (l->tls && (!l->tls_cert || !l->tls_key || (cfg->tls_client_ca_file && !l->tls_ca)))) {
        if (nl)
            s->listeners = nl;
        if (l->ssl)
            SSL_CTX_free(l->ssl);
        free(l->tls_cert);
        free(l->tls_key);
        free(l->tls_ca);
        pthread_mutex_destroy(&l->ssl_mu);
        free(l->name);
        free(l->address);
        free(l);
        seterr(err, errlen, "out of memory");
        return -ENOMEM;
    }
    l->max_body = cfg->max_body_bytes;
    l->header_ms = cfg->header_timeout_ms;
    l->request_ms = cfg->request_timeout_ms;
    l->idle_ms = cfg->idle_timeout_ms;
    l->max_conns = cfg->max_connections;
    atomic_init(&l->nconns, 0);
    s->listeners = nl;
    s->listeners[s->nlisteners++] = l;
    return 0;
}

int host_http_port(const char *listener)
{
    http_server *s = host_http_g;
    if (!s)
        return -ENOENT;
    for (size_t i = 0; i < s->nlisteners; i++)
        if (strcmp(s->listeners[i]->name, listener ? listener : AION_LISTENER_DEFAULT) == 0)
            return s->listeners[i]->port;
    return -ENOENT;
}

int host_http_connections(const char *listener)
{
    http_server *s = host_http_g;
    if (!s)
        return -ENOENT;
    for (size_t i = 0; i < s->nlisteners; i++)
        if (strcmp(s->listeners[i]->name, listener ? listener : AION_LISTENER_DEFAULT) == 0)
            return atomic_load(&s->listeners[i]->nconns);
    return -ENOENT;
}

int host_http_reload_tls(char *err, size_t errlen)
{
    http_server *s = host_http_g;
    int rc = 0;
    for (size_t i = 0; s && i < s->nlisteners; i++) {
        http_listener *l = s->listeners[i];
        if (!l->tls)
            continue;
        char terr[384];
        SSL_CTX *ctx = host_tls_server_ctx(l->tls_cert, l->tls_key, l->tls_ca, terr, sizeof(terr));
        if (!ctx) {
            if (!rc)
                seterr(err, errlen, "listener '%s': %s (keeping the previous certificate)",
                       l->name, terr);
            rc = -EIO;
            continue;
        }
        pthread_mutex_lock(&l->ssl_mu);
        SSL_CTX *old = l->ssl;
        l->ssl = ctx;
        pthread_mutex_unlock(&l->ssl_mu);
        SSL_CTX_free(old); /* live connections hold their own reference */
        host_log(AION_LOG_INFO, "http", "listener %s: TLS certificate reloaded", l->name);
    }
    return rc;
}

void host_http_set_max_inflight_bytes(int64_t bytes)
{
    if (host_http_g)
        host_http_g->max_inflight_bytes = bytes > 0 ? bytes : 0;
}

long host_http_in_flight(void)
{
    return host_http_g ? atomic_load(&host_http_g->in_flight) : 0;
}

/* ---- loops ---- */

/* SO_REUSEPORT would let us share a port another process (a second aiond)
 * also opened with SO_REUSEPORT, silently splitting the traffic: before the
 * first bind of a fixed port, make sure nobody holds it. */
static int probe_port_free(http_listener *l, char *err, size_t errlen)
{
    int fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) != 0 && errno == EADDRINUSE) {
        seterr(err, errlen, "listener '%s': cannot listen on %s: address already in use",
               l->name, l->address);
        rc = -EADDRINUSE;
    }
    close(fd);
    return rc;
}

static int bind_socket(http_listener *l, char *err, size_t errlen)
{
    if (!l->port) {
        uint16_t want = ntohs(l->ss.ss_family == AF_INET ? ((struct sockaddr_in *)&l->ss)->sin_port
                                                         : ((struct sockaddr_in6 *)&l->ss)->sin6_port);
        int rc = want ? probe_port_free(l, err, errlen) : 0;
        if (rc)
            return rc;
    }
    int fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        seterr(err, errlen, "listener '%s': socket: %s", l->name, strerror(errno));
        return -errno;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (l->port) { /* later loops bind the port the first one got */
        if (l->ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&l->ss)->sin_port = htons((uint16_t)l->port);
        else
            ((struct sockaddr_in6 *)&l->ss)->sin6_port = htons((uint16_t)l->port);
    }
    if (bind(fd, (struct sockaddr *)&l->ss, l->sslen) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        seterr(err, errlen, "listener '%s': cannot listen on %s: %s", l->name, l->address,
               strerror(e));
        close(fd);
        return -e;
    }
    if (!l->port) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
    http_lctx *lc = arg;
    (void)fd;
    (void)what;
    if (lc->bound) /* not closed by stop_accepting meanwhile */
        evconnlistener_enable(evhttp_bound_socket_get_listener(lc->bound));
}

/* accept() failed for another reason than "try again", typically EMFILE:
 * the listening socket stays readable, so pause it briefly instead of
 * spinning, and say why (once per pause). */
static void accept_error(struct evconnlistener *el, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    http_server *s = host_http_g;
    http_lctx *lc = NULL;
    for (unsigned i = 0; s && i < s->nloops && !lc; i++) /* arg is the evhttp */
        for (size_t k = 0; k < s->nlisteners && !lc; k++)
            if (s->loops[i].lctx && s->loops[i].lctx[k].http == arg)
                lc = &s->loops[i].lctx[k];
    if (!lc)
        return;
    evconnlistener_disable(el);
    host_log(AION_LOG_WARN, "http", "listener %s: accept failed (%s), pausing accepts for 100 ms",
             lc->lst->name, strerror(e));
    struct timeval tv = { 0, 100000 };
    if (event_base_once(lc->loop->base, -1, EV_TIMEOUT, accept_resume, lc, &tv) != 0)
        evconnlistener_enable(el);
}

static int loop_setup(http_server *s, http_loop *lp, char *err, size_t errlen)
{
    lp->base = event_base_new();
    lp->lctx = calloc(s->nlisteners ? s->nlisteners : 1, sizeof(http_lctx));
    if (!lp->base || !lp->lctx) {
        seterr(err, errlen, "cannot create event loop");
        return -ENOMEM;
    }
    lp->wake_ev = event_new(lp->base, -1, 0, http_loop_wake, lp);
    if (!lp->wake_ev) {
        seterr(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        http_listener *l = s->listeners[i];
        http_lctx *lc = &lp->lctx[i];
        lc->loop = lp;
        lc->lst = l;
        lc->fd = -1;
        lc->http = evhttp_new(lp->base);
        if (!lc->http) {
            seterr(err, errlen, "out of memory");
            return -ENOMEM;
        }
        struct timeval tv = { l->header_ms / 1000, (l->header_ms % 1000) * 1000 };
        evhttp_set_timeout_tv(lc->http, &tv);
        evhttp_set_max_body_size(lc->http, l->max_body);
        evhttp_set_max_headers_size(lc->http, 64 * 1024);
        evhttp_set_allowed_methods(lc->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                                 EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                                 EVHTTP_REQ_OPTIONS);
        evhttp_set_default_content_type(lc->http, "text/plain; charset=utf-8");
        evhttp_set_bevcb(lc->http, http_make_bev, lc);
        evhttp_set_gencb(lc->http, http_on_request, lc);
        int fd = bind_socket(l, err, errlen);
        if (fd < 0)
            return fd;
        struct evconnlistener *el =
            evconnlistener_new(lp->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
        if (!el) {
            close(fd);
            seterr(err, errlen, "listener '%s': evconnlistener failed", l->name);
            return -ENOMEM;
        }
        lc->bound = evhttp_bind_listener(lc->http, el);
        if (!lc->bound) {
            evconnlistener_free(el);
            seterr(err, errlen, "listener '%s': evhttp_bind_listener failed", l->name);
            return -ENOMEM;
        }
        lc->fd = fd;
        evconnlistener_set_error_cb(el, accept_error);
    }
    return 0;
}

static void close_listeners(http_loop *lp)
{
    http_server *s = host_http_g;
    for (size_t i = 0; i < s->nlisteners; i++) {
        http_lctx *lc = &lp->lctx[i];
        if (lc->http && lc->bound) {
            evhttp_del_accept_socket(lc->http, lc->bound);
            lc->bound = NULL;
            lc->fd = -1;
        }
    }
}

/* Frees everything the loop owns; runs on the loop thread after its loop
 * ended (or on the main thread when start failed). */
static void loop_teardown(http_loop *lp)
{
    http_server *s = host_http_g;
    if (!lp->lctx) {
        if (lp->base)
            event_base_free(lp->base);
        lp->base = NULL;
        return;
    }
    close_listeners(lp);
    if (lp->base)
        event_base_loop(lp->base, EVLOOP_NONBLOCK); /* run pending conn_attach */
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (lp->lctx[i].http)
            evhttp_free(lp->lctx[i].http); /* closes connections: conn_closed */
        lp->lctx[i].http = NULL;
    }
    pthread_mutex_lock(&lp->mu);
    lp->closed = true;
    hreq *r = lp->replies_head;
    lp->replies_head = lp->replies_tail = NULL;
    pthread_mutex_unlock(&lp->mu);
    while (r) { /* their connections are gone (ev cleared by conn_closed) */
        hreq *next = r->next;
        r->ev = NULL;
        http_reply_dropped(r);
        r = next;
    }
    if (lp->wake_ev)
        event_free(lp->wake_ev);
    lp->wake_ev = NULL;
    if (lp->base)
        event_base_free(lp->base);
    lp->base = NULL;
}

static void *loop_main(void *arg)
{
    http_loop *lp = arg;
    event_base_loop(lp->base, EVLOOP_NO_EXIT_ON_EMPTY);
    loop_teardown(lp);
    return NULL;
}

int host_http_start(char *err, size_t errlen)
{
    http_server *s = host_http_g;
    if (!s || s->started) {
        seterr(err, errlen, "HTTP server not initialised or already started");
        return -EBUSY;
    }
    s->loops = calloc(s->nloops, sizeof(http_loop));
    if (!s->loops) {
        seterr(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->started = true;
    for (unsigned i = 0; i < s->nloops; i++)
        pthread_mutex_init(&s->loops[i].mu, NULL);
    int rc = 0;
    for (unsigned i = 0; i < s->nloops && !rc; i++) {
        s->loops[i].idx = i;
        rc = loop_setup(s, &s->loops[i], err, errlen);
    }
    for (unsigned i = 0; i < s->nloops && !rc; i++) {
        http_loop *lp = &s->loops[i];
        rc = -pthread_create(&lp->thread, NULL, loop_main, lp);
        if (rc)
            seterr(err, errlen, "cannot start I/O thread: %s", strerror(-rc));
        else
            lp->thread_started = true;
    }
    if (rc) {
        host_http_shutdown(0);
        return rc;
    }
    return 0;
}

/* ---- stop ---- */

static pthread_mutex_t g_stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_stop_cv = PTHREAD_COND_INITIALIZER;
static unsigned g_stop_pending;

static void stop_accepting_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    close_listeners(arg);
    pthread_mutex_lock(&g_stop_mu);
    g_stop_pending--;
    pthread_cond_broadcast(&g_stop_cv);
    pthread_mutex_unlock(&g_stop_mu);
}

void host_http_stop_accepting(void)
{
    http_server *s = host_http_g;
    if (!s || !s->loops || atomic_exchange(&s->draining, true))
        return;
    for (unsigned i = 0; i < s->nloops; i++) {
        http_loop *lp = &s->loops[i];
        if (!lp->thread_started) {
            if (lp->lctx)
                close_listeners(lp);
            continue;
        }
        pthread_mutex_lock(&g_stop_mu);
        g_stop_pending++;
        pthread_mutex_unlock(&g_stop_mu);
        if (event_base_once(lp->base, -1, EV_TIMEOUT, stop_accepting_cb, lp, NULL) != 0) {
            pthread_mutex_lock(&g_stop_mu);
            g_stop_pending--;
            pthread_mutex_unlock(&g_stop_mu);
        }
    }
    pthread_mutex_lock(&g_stop_mu);
    while (g_stop_pending > 0)
        pthread_cond_wait(&g_stop_cv, &g_stop_mu);
    pthread_mutex_unlock(&g_stop_mu);
    host_log(AION_LOG_INFO, NULL, "HTTP listeners closed");
}

int host_http_shutdown(int64_t deadline_ms)
{
    http_server *s = host_http_g;
    if (!s || !s->loops)
        return 0;
    host_http_stop_accepting();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += deadline_ms / 1000;
    ts.tv_nsec += (deadline_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->wait_mu);
    while (atomic_load(&s->in_flight) > 0) {
        if (pthread_cond_timedwait(&s->wait_cv, &s->wait_mu, &ts) != 0)
            break;
    }
    pthread_mutex_unlock(&s->wait_mu);
    long left = atomic_load(&s->in_flight);
    if (left > 0)
        host_log(AION_LOG_WARN, NULL, "HTTP shutdown: %ld requests still running, dropped", left);
    for (unsigned i = 0; i < s->nloops; i++) {
        http_loop *lp = &s->loops[i];
        if (lp->thread_started) {
            event_base_loopbreak(lp->base);
            pthread_join(lp->thread, NULL);
            lp->thread_started = false;
        } else {
            loop_teardown(lp);
        }
    }
    return (int)left;
}

void host_http_free(void)
{
    http_server *s = host_http_g;
    if (!s)
        return;
    host_http_set_auth_source(NULL, NULL); /* the bus it reads may go next */
    if (s->loops) {
        host_http_shutdown(0);
        for (unsigned i = 0; i < s->nloops; i++) {
            free(s->loops[i].lctx);
            pthread_mutex_destroy(&s->loops[i].mu);
        }
        free(s->loops);
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        http_listener *l = s->listeners[i];
        http_routes_free(l);
        if (l->ssl)
            SSL_CTX_free(l->ssl);
        free(l->tls_cert);
        free(l->tls_key);
        free(l->tls_ca);
        pthread_mutex_destroy(&l->ssl_mu);
        free(l->name);
        free(l->address);
        free(l);
    }
    free(s->listeners);
    pthread_mutex_destroy(&s->wait_mu);
    pthread_cond_destroy(&s->wait_cv);
    host_http_g = NULL;
    free(s);
}
