/* host/http_auth.c: runs the bus's "authenticator" providers (aion/auth.h)
 * before a route's middleware and handler, attaches the identity and
 * enforces the route's scope flags. */
#include "http_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <aion/auth.h>

#include "log.h"

/* A provider list larger than this is a configuration mistake; the rest are
 * ignored with a log line (no allocation per request). */
#define MAX_AUTHENTICATORS 16

static _Atomic(host_http_auth_list_fn) auth_list;
static void *_Atomic auth_list_ctx;

void host_http_set_auth_source(host_http_auth_list_fn fn, void *ctx)
{
    atomic_store(&auth_list_ctx, ctx);
    atomic_store(&auth_list, fn);
}

static const char *auth_header(const aion_auth_request *req, const char *name)
{
    return host_http_header(req->host_data, name);
}

uint32_t http_route_scopes(int flags)
{
    uint32_t s = 0;
    if (flags & AION_ROUTE_READ)
        s |= AION_SCOPE_READ;
    if (flags & AION_ROUTE_WRITE)
        s |= AION_SCOPE_WRITE;
    if (flags & AION_ROUTE_ADMIN)
        s |= AION_SCOPE_ADMIN;
    return s;
}

static const char *scope_name(uint32_t s)
{
    return s & AION_SCOPE_WRITE ? "write" : s & AION_SCOPE_ADMIN ? "admin" : "read";
}

int http_authenticate(hreq *r)
{
    host_http_auth_list_fn list = atomic_load(&auth_list);
    if (!list)
        return 0;
    const void *vts[MAX_AUTHENTICATORS];
    void *selves[MAX_AUTHENTICATORS];
    size_t n = list(atomic_load(&auth_list_ctx), vts, selves, MAX_AUTHENTICATORS);
    if (n > MAX_AUTHENTICATORS) {
        host_log(AION_LOG_WARN, "http", "more than 16 authenticators registered: the rest are ignored");
        n = MAX_AUTHENTICATORS;
    }
    uint32_t need = http_route_scopes(r->route->flags);
    aion_auth_request in = {
        .listener = r->lst->name,
        .method = http_method_name(r->method),
        .path = r->path,
        .remote_addr = r->remote,
        .route_scopes = need,
        .header = auth_header,
        .host_data = r,
    };
    for (size_t i = 0; i < n; i++) {
        const aion_authenticator_vtable *vt = vts[i];
        if (!vt || !vt->authenticate)
            continue;
        aion_auth_result out;
        memset(&out, 0, sizeof out);
        aion_auth_decision d = vt->authenticate(selves[i], &in, &out);
        out.message[sizeof out.message - 1] = 0;
        out.challenge[sizeof out.challenge - 1] = 0;
        out.subject[sizeof out.subject - 1] = 0;
        out.tenant[sizeof out.tenant - 1] = 0;
        if (d == AION_AUTH_ABSTAIN)
            continue;
        if (d == AION_AUTH_ALLOW) {
            host_http_set_identity(r, out.subject[0] ? out.subject : NULL,
                                   out.tenant[0] ? out.tenant : NULL, out.scopes);
            uint32_t missing = need & ~out.scopes;
            if (missing) {
                host_http_reply_text(r, 403, "forbidden: %s%s%s lacks the %s scope this route needs",
                                     out.subject[0] ? "identity '" : "this identity",
                                     out.subject[0] ? out.subject : "", out.subject[0] ? "'" : "",
                                     scope_name(missing));
                return 1;
            }
            return 0;
        }
        /* DENY, or an unknown decision: refuse rather than let it through */
        int status = out.status == 403 ? 403 : 401;
        if (status == 401 && out.challenge[0])
            host_http_add_header(r, "WWW-Authenticate", out.challenge);
        host_http_reply_text(r, status, "%s",
                             out.message[0] ? out.message : status == 401 ? "unauthorized" : "forbidden");
        return 1;
    }
    return 0;
}
