/* host/http_reply.c: dispatch to workers, middleware, replies handed back
 * to the owning I/O thread, connection phases and timeouts. */
#include "http_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "metrics.h"
#include "workers.h"

int64_t http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

const char *http_method_name(aion_http_method m)
{
    switch (m) {
    case AION_HTTP_GET: return "GET";
    case AION_HTTP_POST: return "POST";
    case AION_HTTP_PUT: return "PUT";
    case AION_HTTP_DELETE: return "DELETE";
    case AION_HTTP_HEAD: return "HEAD";
    case AION_HTTP_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

/* A dispatched request stops counting as in flight once its reply is
 * written (or dropped): shutdown waits for that, not just for the handler. */
void http_inflight_done(size_t bytes)
{
    http_server *s = host_http_g;
    if (!s)
        return;
    atomic_fetch_sub(&s->inflight_bytes, (long long)bytes);
    if (s->m_inflight)
        host_metric_add(s->m_inflight, NULL, -1);
    if (atomic_fetch_sub(&s->in_flight, 1) == 1) {
        pthread_mutex_lock(&s->wait_mu);
        pthread_cond_broadcast(&s->wait_cv);
        pthread_mutex_unlock(&s->wait_mu);
    }
}

void http_reply_dropped(hreq *r)
{
    if (r->dispatched)
        http_inflight_done(r->in_bytes);
    http_req_unref(r);
}

/* ---- sending (loop thread) ---- */

static void free_ref(const void *data, size_t len, void *extra)
{
    (void)len;
    (void)extra;
    free((void *)data);
}

static void send_on_loop(hreq *r)
{
    struct evhttp_request *ev = r->ev;
    http_conn *c = r->conn;
    r->ev = NULL;
    r->conn = NULL;
    if (c && c->cur == r)
        c->cur = NULL;
    if (!ev) { /* the client went away */
        http_reply_dropped(r);
        return;
    }
    struct evkeyvalq *oh = evhttp_request_get_output_headers(ev);
    if (r->ctype)
        evhttp_add_header(oh, "Content-Type", r->ctype);
    for (size_t i = 0; i < r->nout; i++)
        evhttp_add_header(oh, r->out[i].name, r->out[i].value);
    if (host_http_g && atomic_load(&host_http_g->draining))
        evhttp_add_header(oh, "Connection", "close");
    if (r->method == AION_HTTP_HEAD) {
        /* the length a GET would have, without the body */
        char cl[32];
        snprintf(cl, sizeof(cl), "%zu", r->rlen);
        evhttp_add_header(oh, "Content-Length", cl);
        r->rlen = 0;
    }
    struct evbuffer *buf = evbuffer_new();
    if (buf && r->rlen) {
        if (evbuffer_add_reference(buf, r->rbody, r->rlen, free_ref, NULL) == 0)
            r->rbody = NULL; /* the evbuffer frees it once written */
    }
    if (c) {
        http_conn_set_phase(c, CONN_WRITING);
        evhttp_request_set_on_complete_cb(ev, http_conn_on_complete, c);
        c->counted = r->dispatched; /* done when written or when the connection dies */
        c->counted_bytes = r->in_bytes;
    }
    evhttp_send_reply(ev, r->status, reason(r->status), buf);
    if (buf)
        evbuffer_free(buf);
    if (!c && r->dispatched)
        http_inflight_done(r->in_bytes);
    http_req_unref(r);
}

void http_loop_wake(evutil_socket_t fd, short what, void *arg)
{
    http_loop *lp = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&lp->mu);
    hreq *r = lp->replies_head;
    lp->replies_head = lp->replies_tail = NULL;
    pthread_mutex_unlock(&lp->mu);
    while (r) {
        hreq *next = r->next;
        send_on_loop(r);
        r = next;
    }
}

static void post_reply(hreq *r)
{
    if (!host_http_g) { /* server freed: nothing to send on, nothing to count */
        http_req_unref(r);
        return;
    }
    http_loop *lp = r->loop;
    if (lp->thread_started && pthread_equal(pthread_self(), lp->thread)) {
        send_on_loop(r);
        return;
    }
    pthread_mutex_lock(&lp->mu);
    if (lp->closed) {
        /* the loop is gone, and with it the connection (ev already cleared) */
        pthread_mutex_unlock(&lp->mu);
        http_reply_dropped(r);
        return;
    }
    r->next = NULL;
    if (lp->replies_tail)
        lp->replies_tail->next = r;
    else
        lp->replies_head = r;
    lp->replies_tail = r;
    event_active(lp->wake_ev, EV_READ, 0);
    pthread_mutex_unlock(&lp->mu);
}

/* ---- replies (any thread) ---- */

static void finish(hreq *r)
{
    http_server *s = host_http_g;
    if (s) {
        char code[16];
        snprintf(code, sizeof(code), "%d", r->status);
        const char *route = r->route ? r->route->path : "none";
        const char *lv[] = { r->lst->name, route, http_method_name(r->method), code, NULL };
        if (s->m_requests)
            host_metric_add(s->m_requests, lv, 1);
        const char *dv[] = { r->lst->name, route, NULL };
        double secs = (double)(http_now_ns() - r->start_ns) / 1e9;
        if (s->m_duration)
            host_metric_observe(s->m_duration, dv, secs);
        if (host_log_get_level() <= AION_LOG_DEBUG) { /* access log */
            char dur[32];
            snprintf(dur, sizeof(dur), "%.6f", secs);
            const char *kv[] = { "listener", r->lst->name, "method", http_method_name(r->method),
                                 "path", r->path, "code", code, "duration", dur,
                                 "remote", r->remote, NULL };
            host_log_kv(AION_LOG_DEBUG, "http", "request", kv);
        }
    }
    post_reply(r);
}

void host_http_reply_take(aion_http_req *req, int status, const char *content_type, void *body,
                          size_t len)
{
    if (!req) {
        free(body);
        return;
    }
    bool expect = false;
    if (!atomic_compare_exchange_strong(&req->replied, &expect, true)) {
        host_log(AION_LOG_WARN, "http", "second reply to %s ignored", req->path);
        free(body);
        return;
    }
    if (status < 100 || status > 999)
        status = 500;
    req->status = status;
    req->ctype = content_type ? strdup(content_type) : NULL;
    req->rbody = body;
    req->rlen = body ? len : 0;
    finish(req);
}

void host_http_reply(aion_http_req *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    void *copy = NULL;
    if (body && len) {
        copy = malloc(len);
        if (!copy) {
            host_http_reply_take(req, 500, NULL, NULL, 0);
            return;
        }
        memcpy(copy, body, len);
    }
    host_http_reply_take(req, status, content_type, copy, copy ? len : 0);
}

void host_http_reply_text(aion_http_req *req, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        host_http_reply_take(req, 500, NULL, NULL, 0);
        return;
    }
    char *t = realloc(s, (size_t)n + 2);
    if (!t) {
        free(s);
        host_http_reply_take(req, 500, NULL, NULL, 0);
        return;
    }
    t[n] = '\n';
    t[n + 1] = 0;
    host_http_reply_take(req, status, "text/plain; charset=utf-8", t, (size_t)n + 1);
}

/* ---- dispatch ---- */

static void run_request(void *arg)
{
    hreq *r = arg;
    atomic_fetch_add(&r->refs, 1); /* keep r readable after a middleware reply */
    if (!(r->route->flags & AION_ROUTE_NO_AUTH)) {
        if (http_authenticate(r) != 0) {
            http_req_unref(r);
            return;
        }
        for (size_t i = 0; i < r->lst->nmws; i++) {
            const http_mw *mw = &r->lst->mws[i];
            if (mw->fn(r, mw->arg) != 0) {
                if (!atomic_load(&r->replied)) {
                    host_log(AION_LOG_ERROR, "http", "middleware of %s stopped %s without a reply",
                             mw->owner, r->path);
                    host_http_reply_text(r, 500, "request refused");
                }
                http_req_unref(r);
                return;
            }
        }
    }
    r->route->handler(r, r->route->arg);
    http_req_unref(r);
}

static void drop_request(void *arg)
{
    hreq *r = arg;
    host_http_add_header(r, "Retry-After", "1");
    host_http_reply_text(r, 503, "shutting down");
}

void http_dispatch(hreq *r)
{
    unsigned allow = 0;
    r->route = r->method ? http_route_match(r->lst, r->path, r->method, &allow) : NULL;
    if (!r->route) {
        if (allow) {
            char buf[80] = "";
            static const char *names[] = { "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS" };
            for (int i = 0; i < 6; i++) {
                if (!(allow & (1u << i)))
                    continue;
                if (buf[0])
                    strcat(buf, ", ");
                strcat(buf, names[i]);
            }
            host_http_add_header(r, "Allow", buf);
            host_http_reply_text(r, 405, "method not allowed");
        } else {
            host_http_reply_text(r, 404, "not found");
        }
        return;
    }
    http_server *s = host_http_g;
    size_t bytes = r->body_buf ? evbuffer_get_length(r->body_buf) : 0;
    long long held = atomic_fetch_add(&s->inflight_bytes, (long long)bytes);
    if (s->max_inflight_bytes > 0 && bytes > 0 && held > 0 &&
        held + (long long)bytes > s->max_inflight_bytes) {
        /* bodies waiting for handlers are bounded: shed load instead of memory */
        atomic_fetch_sub(&s->inflight_bytes, (long long)bytes);
        host_http_add_header(r, "Retry-After", "1");
        host_http_reply_text(r, 503, "server busy");
        return;
    }
    r->in_bytes = bytes;
    r->dispatched = true;
    atomic_fetch_add(&s->in_flight, 1);
    if (s->m_inflight)
        host_metric_add(s->m_inflight, NULL, 1);
    bool can_inline = (r->route->flags & AION_ROUTE_INLINE) &&
                      ((r->route->flags & AION_ROUTE_NO_AUTH) || r->lst->nmws == 0);
    if (can_inline) {
        run_request(r);
        return;
    }
    int rc = host_work_submit_ex(run_request, drop_request, r);
    if (rc) {
        host_http_add_header(r, "Retry-After", "1");
        host_http_reply_text(r, 503, rc == -EAGAIN ? "server busy" : "shutting down");
    }
}
