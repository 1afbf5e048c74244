/* host/http_route.c: route and middleware tables, route matching. */
#include "http_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* name NULL = the default listener: the one named "main" if configured,
 * else the first one (a config may name its only listener otherwise). */
static http_listener *find_listener(const char *name)
{
    http_server *s = host_http_g;
    if (!s)
        return NULL;
    const char *want = name ? name : AION_LISTENER_DEFAULT;
    for (size_t i = 0; i < s->nlisteners; i++)
        if (strcmp(s->listeners[i]->name, want) == 0)
            return s->listeners[i];
    return !name && s->nlisteners > 0 ? s->listeners[0] : NULL;
}

int host_http_route(const char *listener, unsigned methods, const char *path, int flags,
                    aion_http_handler handler, void *arg, const char *owner)
{
    if (!host_http_g)
        return -ENOENT;
    if (host_http_g->started)
        return -EBUSY;
    if (!path || path[0] != '/' || !handler || (methods & AION_HTTP_ANY) == 0)
        return -EINVAL;
    http_listener *l = find_listener(listener);
    if (!l)
        return -ENOENT;
    bool prefix = (flags & AION_ROUTE_PREFIX) != 0;
    for (size_t i = 0; i < l->nroutes; i++) {
        const http_route *r = &l->routes[i];
        if (((r->flags & AION_ROUTE_PREFIX) != 0) == prefix && strcmp(r->path, path) == 0 &&
            (r->methods & methods))
            return -EEXIST;
    }
    http_route *nr = realloc(l->routes, (l->nroutes + 1) * sizeof(*nr));
    if (!nr)
        return -ENOMEM;
    l->routes = nr;
    http_route *r = &nr[l->nroutes];
    *r = (http_route){ .path = strdup(path), .plen = strlen(path), .methods = methods & AION_HTTP_ANY,
                       .flags = flags, .handler = handler, .arg = arg,
                       .owner = strdup(owner ? owner : "host") };
    if (!r->path || !r->owner) {
        free(r->path);
        free(r->owner);
        return -ENOMEM;
    }
    l->nroutes++;
    return 0;
}

static int add_mw(http_listener *l, aion_http_middleware fn, void *arg, const char *owner)
{
    http_mw *nm = realloc(l->mws, (l->nmws + 1) * sizeof(*nm));
    if (!nm)
        return -ENOMEM;
    l->mws = nm;
    nm[l->nmws] = (http_mw){ fn, arg, strdup(owner ? owner : "host") };
    if (!nm[l->nmws].owner)
        return -ENOMEM;
    l->nmws++;
    return 0;
}

int host_http_middleware(const char *listener, aion_http_middleware fn, void *arg,
                         const char *owner)
{
    http_server *s = host_http_g;
    if (!s)
        return -ENOENT;
    if (s->started)
        return -EBUSY;
    if (!fn)
        return -EINVAL;
    if (listener) {
        http_listener *l = find_listener(listener);
        return l ? add_mw(l, fn, arg, owner) : -ENOENT;
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        int rc = add_mw(s->listeners[i], fn, arg, owner);
        if (rc)
            return rc;
    }
    return 0;
}

/* Exact routes first; then the longest matching prefix. A route whose path
 * matches but whose methods do not adds its methods to *allow (for 405).
 * HEAD is served by a GET route when no route takes HEAD itself. */
const http_route *http_route_match(const http_listener *l, const char *path,
                                   aion_http_method m, unsigned *allow)
{
    const http_route *best = NULL, *head_via_get = NULL;
    size_t best_len = 0;
    bool exact_seen = false;
    *allow = 0;
    for (size_t i = 0; i < l->nroutes; i++) {
        const http_route *r = &l->routes[i];
        if (r->flags & AION_ROUTE_PREFIX)
            continue;
        if (strcmp(r->path, path) != 0)
            continue;
        exact_seen = true;
        *allow |= r->methods;
        if (r->methods & m)
            return r;
        if (m == AION_HTTP_HEAD && (r->methods & AION_HTTP_GET))
            head_via_get = r;
    }
    if (head_via_get)
        return head_via_get;
    if (exact_seen)
        return NULL;
    for (size_t i = 0; i < l->nroutes; i++) {
        const http_route *r = &l->routes[i];
        if (!(r->flags & AION_ROUTE_PREFIX) || strncmp(r->path, path, r->plen) != 0)
            continue;
        *allow |= r->methods;
        bool ok = (r->methods & m) || (m == AION_HTTP_HEAD && (r->methods & AION_HTTP_GET));
        if (ok && (!best || r->plen > best_len)) {
            best = r;
            best_len = r->plen;
        }
    }
    return best;
}

void http_routes_free(http_listener *l)
{
    for (size_t i = 0; i < l->nroutes; i++) {
        free(l->routes[i].path);
        free(l->routes[i].owner);
    }
    free(l->routes);
    for (size_t i = 0; i < l->nmws; i++)
        free(l->mws[i].owner);
    free(l->mws);
    l->routes = NULL;
    l->mws = NULL;
    l->nroutes = l->nmws = 0;
}

int http_method_from_evhttp(int cmd, aion_http_method *out)
{
    switch (cmd) {
    case EVHTTP_REQ_GET: *out = AION_HTTP_GET; return 0;
    case EVHTTP_REQ_POST: *out = AION_HTTP_POST; return 0;
    case EVHTTP_REQ_PUT: *out = AION_HTTP_PUT; return 0;
    case EVHTTP_REQ_DELETE: *out = AION_HTTP_DELETE; return 0;
    case EVHTTP_REQ_HEAD: *out = AION_HTTP_HEAD; return 0;
    case EVHTTP_REQ_OPTIONS: *out = AION_HTTP_OPTIONS; return 0;
    default: return -1;
    }
}
