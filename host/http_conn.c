/* host/http_conn.c: connection tracking (accept hook, close callback),
 * per-connection phases and their timeouts, request intake. Everything
 * here runs on the connection's I/O thread. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "metrics.h"

/* ---- connection phases (loop thread) ---- */

static void ms_tv(int64_t ms, struct timeval *tv)
{
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
}

void http_conn_set_phase(http_conn *c, int phase)
{
    struct timeval tv;
    c->phase = phase;
    if (!c->timer || !c->evcon)
        return;
    evtimer_del(c->timer);
    switch (phase) {
    case CONN_READING:
        /* inactivity limit from evhttp, total limit from our timer */
        ms_tv(c->lst->header_ms, &tv);
        evhttp_connection_set_timeout_tv(c->evcon, &tv);
        ms_tv(c->lst->request_ms, &tv);
        evtimer_add(c->timer, &tv);
        break;
    case CONN_BUSY:
        /* the handler may take long: the client must not be timed out meanwhile */
        tv = (struct timeval){ 86400, 0 };
        evhttp_connection_set_timeout_tv(c->evcon, &tv);
        break;
    case CONN_WRITING:
        /* a client reading the reply slowly is bounded like one sending
         * slowly: write inactivity limit, plus the request deadline. It sends
         * nothing meanwhile, so no read limit (evhttp 2.1 sets both). */
        ms_tv(c->lst->header_ms, &tv);
        evhttp_connection_set_timeout_tv(c->evcon, &tv);
        {
            struct timeval day = { 86400, 0 };
            bufferevent_set_timeouts(c->bev, &day, &tv);
        }
        ms_tv(c->lst->request_ms, &tv);
        evtimer_add(c->timer, &tv);
        break;
    case CONN_IDLE:
        ms_tv(c->lst->idle_ms, &tv);
        evhttp_connection_set_timeout_tv(c->evcon, &tv);
        evtimer_add(c->timer, &tv);
        break;
    }
}

void http_conn_on_complete(struct evhttp_request *ev, void *arg)
{
    http_conn *c = arg;
    (void)ev;
    if (c->counted) {
        c->counted = false;
        http_inflight_done(c->counted_bytes);
    }
    /* a pipelined request may already be (partly) buffered */
    size_t pending = evbuffer_get_length(bufferevent_get_input(c->bev));
    http_conn_set_phase(c, pending ? CONN_READING : CONN_IDLE);
}

/* ---- connections (loop thread) ---- */

static size_t conn_bucket(const struct evhttp_connection *evcon)
{
    return ((uintptr_t)evcon >> 4) % HTTP_CONN_BUCKETS;
}

static http_conn *conn_find(http_loop *lp, const struct evhttp_connection *evcon)
{
    for (http_conn *c = lp->conns[conn_bucket(evcon)]; c; c = c->hnext)
        if (c->evcon == evcon)
            return c;
    return NULL;
}

static void conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    http_conn *c = arg;
    (void)buf;
    if (info->n_added && c->phase == CONN_IDLE)
        http_conn_set_phase(c, CONN_READING); /* next request on a keep-alive connection */
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    http_conn *c = arg;
    hreq *r = c->cur;
    if (r) {
        /* The handler still owns r: forget the evhttp request. If evhttp has
         * detached it from the connection (client gone) nobody else frees it. */
        if (r->ev && !evhttp_request_get_connection(r->ev))
            evhttp_request_free(r->ev);
        r->ev = NULL;
        r->conn = NULL;
        c->cur = NULL;
    }
    for (http_conn **pp = &c->loop->conns[conn_bucket(evcon)]; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    }
    if (c->counted) /* a reply was being written */
        http_inflight_done(c->counted_bytes);
    evbuffer_remove_cb(bufferevent_get_input(c->bev), conn_input, c);
    if (c->timer)
        event_free(c->timer);
    atomic_fetch_sub(&c->lst->nconns, 1);
    if (host_http_g->m_conns) {
        const char *lv[] = { c->lst->name, NULL };
        host_metric_add(host_http_g->m_conns, lv, -1);
    }
    free(c);
}

static void conn_timeout(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->phase == CONN_BUSY)
        return;
    evhttp_connection_free(c->evcon); /* calls conn_closed, which frees c */
}

/* Runs right after evhttp accepted the connection (activated from the
 * bufferevent callback, before the loop polls again). */
static void conn_attach(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    (void)fd;
    (void)what;
    bufferevent_data_cb rcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(c->bev, &rcb, NULL, NULL, &cbarg);
    if (!rcb || !cbarg) { /* evhttp already dropped it */
        bufferevent_decref(c->bev);
        free(c);
        return;
    }
    struct evhttp_connection *evcon = cbarg;
    http_loop *lp = c->loop;
    c->evcon = evcon;
    int n = atomic_fetch_add(&c->lst->nconns, 1) + 1;
    if (host_http_g->m_conns) {
        const char *lv[] = { c->lst->name, NULL };
        host_metric_add(host_http_g->m_conns, lv, 1);
    }
    c->timer = evtimer_new(lp->base, conn_timeout, c);
    evhttp_connection_set_closecb(evcon, conn_closed, c);
    size_t b = conn_bucket(evcon);
    c->hnext = lp->conns[b];
    lp->conns[b] = c;
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(c->remote, sizeof(c->remote), addr && strchr(addr, ':') ? "[%s]:%u" : "%s:%u",
                 addr ? addr : "?", port);
    evbuffer_add_cb(bufferevent_get_input(c->bev), conn_input, c);
    bufferevent_decref(c->bev);
    if (n > c->lst->max_conns || !c->timer || c->refuse) {
        if (n > c->lst->max_conns && host_http_g->m_refused) {
            const char *lv[] = { c->lst->name, NULL };
            host_metric_add(host_http_g->m_refused, lv, 1);
        }
        evhttp_connection_free(evcon); /* over the limit: close now */
        return;
    }
    http_conn_set_phase(c, CONN_READING);
}

/* evhttp asks for the bufferevent of every accepted connection: TLS or
 * plain, and the hook that lets us track the connection. */
struct bufferevent *http_make_bev(struct event_base *base, void *arg)
{
    http_lctx *lc = arg;
    struct bufferevent *bev = NULL;
    bool refuse = false;
    if (lc->lst->tls) {
        pthread_mutex_lock(&lc->lst->ssl_mu); /* the context may be swapped by a reload */
        SSL *ssl = SSL_new(lc->lst->ssl);
        pthread_mutex_unlock(&lc->lst->ssl_mu);
        if (ssl) {
            bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
            if (!bev)
                SSL_free(ssl);
            else
                bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        }
        /* never serve plain HTTP on a TLS listener: close it in conn_attach */
        refuse = bev == NULL;
    }
    if (!bev)
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL; /* evhttp makes its own; on_request refuses it on TLS listeners */
    http_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return bev;
    c->loop = lc->loop;
    c->lst = lc->lst;
    c->bev = bev;
    c->phase = CONN_READING;
    c->refuse = refuse;
    bufferevent_incref(bev); /* keeps bev valid until conn_attach looks at it */
    if (event_base_once(base, -1, EV_TIMEOUT, conn_attach, c, NULL) != 0) {
        bufferevent_decref(bev);
        free(c);
    }
    return bev;
}

void http_on_request(struct evhttp_request *ev, void *arg)
{
    http_lctx *lc = arg;
    http_conn *c = conn_find(lc->loop, evhttp_request_get_connection(ev));
    if (!c && lc->lst->tls) { /* untracked means no TLS bufferevent: never answer in clear */
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    if (c)
        http_conn_set_phase(c, CONN_BUSY);
    hreq *r = http_req_new(c, lc, ev);
    if (!r) {
        if (c)
            evhttp_request_set_on_complete_cb(ev, http_conn_on_complete, c);
        evhttp_send_error(ev, 500, NULL);
        return;
    }
    if (c)
        c->cur = r;
    http_dispatch(r);
}

