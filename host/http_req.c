/* host/http_req.c: request objects, accessors, URL/form decoding. */
#include "http_internal.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

/* ---- pure parsers ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t host_http_unescape(const char *src, size_t len, char *dst, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
            dst[o++] = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            i += 2;
        } else if (c == '+' && plus) {
            dst[o++] = ' ';
        } else {
            dst[o++] = c;
        }
    }
    dst[o] = '\0';
    return o;
}

int host_http_parse_form(const char *buf, size_t len,
                         int (*fn)(const char *name, const char *value, void *arg), void *arg)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && buf[end] != '&' && buf[end] != ';')
            end++;
        if (end > i) {
            size_t eq = i;
            while (eq < end && buf[eq] != '=')
                eq++;
            size_t nlen = eq - i;
            size_t vlen = eq < end ? end - eq - 1 : 0;
            char *n = malloc(nlen + 1), *v = malloc(vlen + 1);
            if (!n || !v) {
                free(n);
                free(v);
                return -ENOMEM;
            }
            host_http_unescape(buf + i, nlen, n, 1);
            host_http_unescape(eq < end ? buf + eq + 1 : "", vlen, v, 1);
            int rc = fn(n, v, arg);
            free(n);
            free(v);
            if (rc)
                return rc;
        }
        i = end + 1;
    }
    return 0;
}

/* ---- request objects ---- */

hreq *http_req_new(http_conn *c, http_lctx *lc, struct evhttp_request *ev)
{
    hreq *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    r->ev = ev;
    r->conn = c;
    r->loop = lc->loop;
    r->lst = lc->lst;
    r->start_ns = http_now_ns();
    if (http_method_from_evhttp(evhttp_request_get_command(ev), &r->method))
        r->method = 0;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *p = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!p || !*p)
        p = "/";
    size_t plen = strlen(p);
    r->path = malloc(plen + 1);
    if (!r->path)
        goto fail;
    host_http_unescape(p, plen, r->path, 0);
    if (q && !(r->query = strdup(q)))
        goto fail;

    struct evkeyvalq *h = evhttp_request_get_input_headers(ev);
    size_t n = 0;
    for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next)
        n++;
    if (n) {
        r->hdrs = calloc(n, sizeof(http_kv));
        if (!r->hdrs)
            goto fail;
        for (struct evkeyval *kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
            http_kv *d = &r->hdrs[r->nhdrs++];
            d->name = strdup(kv->key);
            d->value = strdup(kv->value);
            if (!d->name || !d->value)
                goto fail;
        }
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    if (in && evbuffer_get_length(in) > 0) {
        /* move the chains, no copy on the I/O thread */
        r->body_buf = evbuffer_new();
        if (!r->body_buf || evbuffer_add_buffer(r->body_buf, in) != 0)
            goto fail;
    }
    if (c)
        memcpy(r->remote, c->remote, sizeof(r->remote));
    else {
        struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
        char *addr = NULL;
        ev_uint16_t port = 0;
        if (evcon)
            evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(r->remote, sizeof(r->remote), addr && strchr(addr, ':') ? "[%s]:%u" : "%s:%u",
                 addr ? addr : "?", port);
    }
    return r;
fail:
    r->ev = NULL;
    http_req_unref(r);
    return NULL;
}

static void free_kvs(http_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

void http_req_unref(hreq *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    free(r->path);
    free(r->query);
    free_kvs(r->hdrs, r->nhdrs);
    if (r->body_buf)
        evbuffer_free(r->body_buf);
    free(r->body);
    free_kvs(r->params, r->nparams);
    for (size_t i = 0; i < r->nscratch; i++)
        free(r->scratch[i]);
    free(r->scratch);
    free((char *)r->ident.subject);
    free((char *)r->ident.tenant);
    free_kvs(r->out, r->nout);
    free(r->ctype);
    free(r->rbody);
    free(r);
}

/* ---- accessors (called by the thread owning the request) ---- */

aion_http_method host_http_method(aion_http_req *req)
{
    return req->method;
}

const char *host_http_path(aion_http_req *req)
{
    return req->path;
}

const char *host_http_header(aion_http_req *req, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < req->nhdrs; i++)
        if (strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    return NULL;
}

const uint8_t *host_http_body(aion_http_req *req, size_t *len)
{
    if (!req->body && req->body_buf) {
        size_t n = evbuffer_get_length(req->body_buf);
        req->body = malloc(n + 1);
        if (!req->body) {
            if (len)
                *len = 0;
            return NULL;
        }
        evbuffer_remove(req->body_buf, req->body, n);
        req->body[n] = 0; /* convenience for text bodies; not counted in len */
        req->body_len = n;
        evbuffer_free(req->body_buf);
        req->body_buf = NULL;
    }
    if (len)
        *len = req->body_len;
    return req->body ? req->body : (const uint8_t *)"";
}

const char *host_http_remote_addr(aion_http_req *req)
{
    return req->remote;
}

const aion_identity *host_http_identity(aion_http_req *req)
{
    return &req->ident;
}

void host_http_set_identity(aion_http_req *req, const char *subject, const char *tenant,
                            uint32_t scopes)
{
    char *s = subject ? strdup(subject) : NULL;
    char *t = tenant ? strdup(tenant) : NULL;
    free((char *)req->ident.subject);
    free((char *)req->ident.tenant);
    req->ident.subject = s;
    req->ident.tenant = t;
    req->ident.scopes = scopes;
}

static int add_param(const char *name, const char *value, void *arg)
{
    hreq *r = arg;
    if (r->nparams == r->params_cap) {
        size_t nc = r->params_cap ? r->params_cap * 2 : 8;
        http_kv *np = realloc(r->params, nc * sizeof(*np));
        if (!np)
            return -ENOMEM;
        r->params = np;
        r->params_cap = nc;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    r->params[r->nparams++] = (http_kv){ n, v };
    return 0;
}

static void parse_params(hreq *r)
{
    if (r->params_done)
        return;
    r->params_done = true;
    if (r->query)
        host_http_parse_form(r->query, strlen(r->query), add_param, r);
    if (r->method == AION_HTTP_POST) {
        const char *ct = host_http_header(r, "Content-Type");
        if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
            size_t n;
            const uint8_t *b = host_http_body(r, &n);
            if (b)
                host_http_parse_form((const char *)b, n, add_param, r);
        }
    }
}

const char *host_http_query(aion_http_req *req, const char *name)
{
    if (!name)
        return NULL;
    parse_params(req);
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

size_t host_http_query_all(aion_http_req *req, const char *name, const char ***values)
{
    if (values)
        *values = NULL;
    if (!name)
        return 0;
    parse_params(req);
    size_t n = 0;
    for (size_t i = 0; i < req->nparams; i++)
        n += strcmp(req->params[i].name, name) == 0;
    if (!n || !values)
        return n;
    void **ns = realloc(req->scratch, (req->nscratch + 1) * sizeof(void *));
    if (!ns)
        return 0;
    req->scratch = ns;
    const char **arr = malloc(n * sizeof(char *));
    if (!arr)
        return 0;
    req->scratch[req->nscratch++] = arr;
    size_t k = 0;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            arr[k++] = req->params[i].value;
    *values = arr;
    return n;
}

void host_http_add_header(aion_http_req *req, const char *name, const char *value)
{
    if (!name || !value || atomic_load(&req->replied))
        return;
    /* header injection: refuse CR/LF */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    if (req->nout == req->out_cap) {
        size_t nc = req->out_cap ? req->out_cap * 2 : 4;
        http_kv *no = realloc(req->out, nc * sizeof(*no));
        if (!no)
            return;
        req->out = no;
        req->out_cap = nc;
    }
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    req->out[req->nout++] = (http_kv){ n, v };
}
