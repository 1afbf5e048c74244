/* receive/content_type.c: which remote write version a request's
 * Content-Type asks for, as Prometheus' handler decides it: split on ';',
 * the media type must be application/x-protobuf, a proto parameter picks
 * the message (none = 1.0), anything else is unsupported. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "content_type.h"

/* Trims spaces of [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* 1 or 2, or 0 when the content type is not remote write (415). */
int recv_content_version(const char *ct)
{
    if (!ct || !*ct)
        return 1;
    const char *s = ct, *e = strchr(ct, ';');
    if (!e)
        e = ct + strlen(ct);
    const char *ms = s, *me = e;
    trim(&ms, &me);
    if ((size_t)(me - ms) != strlen("application/x-protobuf") ||
        strncasecmp(ms, "application/x-protobuf", (size_t)(me - ms)) != 0)
        return 0;
    int version = 1;
    while (*e == ';') {
        s = e + 1;
        e = strchr(s, ';');
        if (!e)
            e = s + strlen(s);
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq)
            continue;
        const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if ((size_t)(ke - ks) != 5 || strncasecmp(ks, "proto", 5) != 0)
            continue;
        size_t vl = (size_t)(ve - vs);
        if (vl == strlen("prometheus.WriteRequest") && strncmp(vs, "prometheus.WriteRequest", vl) == 0)
            version = 1;
        else if (vl == strlen("io.prometheus.write.v2.Request") &&
                 strncmp(vs, "io.prometheus.write.v2.Request", vl) == 0)
            version = 2;
        else
            return 0;
    }
    return version;
}
