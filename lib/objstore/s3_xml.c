/* A small tolerant XML scanner (elements, text, entities, CDATA; skips
 * declarations, comments, DOCTYPE and attributes) and the S3 response
 * parsers built on it. Elements are matched by local name, so any namespace
 * (real S3 and s3rver differ) or prefix works. */
#include "s3_xml.h"
#include "s3_sign.h" /* objstore_s3_str */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XML_MAX_DEPTH 32
#define XML_NAME_MAX 64

enum { EV_START, EV_END };

/* Called at element start (text empty) and end (text = the element's own
 * character data since its start or its last child's end). names[0..depth)
 * are the local names of the open elements, innermost last. */
typedef int (*xml_handler)(void *ud, int ev, int depth, char names[][XML_NAME_MAX],
                           const char *text, size_t textlen);

static const char *find(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);
    while ((size_t)(end - p) >= n) {
        if (!memcmp(p, needle, n))
            return p;
        p++;
    }
    return NULL;
}

static int put_utf8(objstore_s3_str *t, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp > 0x10FFFF || cp == 0)
        return -EINVAL;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return objstore_s3_str_add(t, b, n);
}

/* Appends character data, decoding entities; unknown entities stay as is. */
static int add_text(objstore_s3_str *t, const char *p, const char *end)
{
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp)
            return objstore_s3_str_add(t, p, (size_t)(end - p));
        if (objstore_s3_str_add(t, p, (size_t)(amp - p)))
            return -ENOMEM;
        const char *semi = memchr(amp, ';', (size_t)(end - amp) < 12 ? (size_t)(end - amp) : 12);
        int rc = 1; /* 1 = not an entity we know */
        if (semi) {
            size_t n = (size_t)(semi - amp - 1);
            const char *e = amp + 1;
            if (n == 2 && !memcmp(e, "lt", 2))
                rc = objstore_s3_str_add(t, "<", 1);
            else if (n == 2 && !memcmp(e, "gt", 2))
                rc = objstore_s3_str_add(t, ">", 1);
            else if (n == 3 && !memcmp(e, "amp", 3))
                rc = objstore_s3_str_add(t, "&", 1);
            else if (n == 4 && !memcmp(e, "quot", 4))
                rc = objstore_s3_str_add(t, "\"", 1);
            else if (n == 4 && !memcmp(e, "apos", 4))
                rc = objstore_s3_str_add(t, "'", 1);
            else if (n >= 2 && e[0] == '#') {
                int hexa = e[1] == 'x' || e[1] == 'X';
                unsigned long cp = 0;
                size_t i = hexa ? 2 : 1;
                int ok = i < n;
                for (; i < n && ok; i++) {
                    char c = e[i];
                    int d = c >= '0' && c <= '9' ? c - '0'
                            : hexa && c >= 'a' && c <= 'f' ? c - 'a' + 10
                            : hexa && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                           : -1;
                    if (d < 0 || cp > 0x10FFFF)
                        ok = 0;
                    else
                        cp = cp * (hexa ? 16 : 10) + (unsigned long)d;
                }
                if (ok && put_utf8(t, cp) == 0)
                    rc = 0;
            }
        }
        if (rc < 0)
            return rc;
        if (rc == 0) {
            p = semi + 1;
        } else {
            if (objstore_s3_str_add(t, "&", 1))
                return -ENOMEM;
            p = amp + 1;
        }
    }
    return 0;
}

static int is_name_char(char c)
{
    return c && c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\r' && c != '\n' &&
           c != '=' && c != '<';
}

/* Reads a tag name at *pp; copies its local name (after the last ':'). */
static void read_name(const char **pp, const char *end, char out[XML_NAME_MAX])
{
    const char *p = *pp, *s = p;
    while (p < end && is_name_char(*p))
        p++;
    const char *local = s;
    for (const char *q = s; q < p; q++)
        if (*q == ':')
            local = q + 1;
    size_t n = (size_t)(p - local);
    if (n >= XML_NAME_MAX)
        n = XML_NAME_MAX - 1;
    memcpy(out, local, n);
    out[n] = 0;
    *pp = p;
}

/* Skips attributes to the closing '>' (quotes honoured). Returns a pointer
 * past '>', and *selfclose set, or NULL when unterminated. */
static const char *skip_tag(const char *p, const char *end, int *selfclose)
{
    char quote = 0;
    for (; p < end; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            *selfclose = p[-1] == '/';
            return p + 1;
        }
    }
    return NULL;
}

static int xml_walk(const char *buf, size_t len, xml_handler fn, void *ud)
{
    const char *p = buf, *end = buf + len;
    char names[XML_MAX_DEPTH][XML_NAME_MAX];
    int depth = 0, seen_root = 0, rc = 0;
    objstore_s3_str text = {0};
    if (objstore_s3_str_add(&text, "", 0))
        return -ENOMEM;
    while (p < end && rc == 0) {
        if (*p != '<') {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            if (!lt)
                lt = end;
            if (depth > 0)
                rc = add_text(&text, p, lt);
            p = lt;
            continue;
        }
        const char *q;
        if ((size_t)(end - p) >= 2 && p[1] == '?') {
            q = find(p + 2, end, "?>");
            p = q ? q + 2 : end;
        } else if ((size_t)(end - p) >= 4 && !memcmp(p, "<!--", 4)) {
            q = find(p + 4, end, "-->");
            p = q ? q + 3 : end;
        } else if ((size_t)(end - p) >= 9 && !memcmp(p, "<![CDATA[", 9)) {
            q = find(p + 9, end, "]]>");
            if (!q) {
                rc = -EINVAL;
                break;
            }
            if (depth > 0)
                rc = objstore_s3_str_add(&text, p + 9, (size_t)(q - p - 9));
            p = q + 3;
        } else if ((size_t)(end - p) >= 2 && p[1] == '!') {
            q = memchr(p, '>', (size_t)(end - p));
            p = q ? q + 1 : end;
        } else if ((size_t)(end - p) >= 2 && p[1] == '/') {
            const char *s = p + 2;
            char nm[XML_NAME_MAX];
            read_name(&s, end, nm);
            q = memchr(s, '>', (size_t)(end - s));
            if (!q || depth == 0) {
                rc = -EINVAL;
                break;
            }
            if (strcmp(nm, names[depth - 1]) != 0) {
                rc = -EINVAL; /* mismatched end tag */
                break;
            }
            rc = fn(ud, EV_END, depth, names, text.p, text.len);
            depth--;
            text.len = 0;
            text.p[0] = 0;
            p = q + 1;
        } else {
            const char *s = p + 1;
            if (depth >= XML_MAX_DEPTH || (depth == 0 && seen_root)) {
                rc = -EINVAL;
                break;
            }
            read_name(&s, end, names[depth]);
            if (!names[depth][0]) {
                rc = -EINVAL;
                break;
            }
            int selfclose = 0;
            q = skip_tag(s, end, &selfclose);
            if (!q) {
                rc = -EINVAL;
                break;
            }
            depth++;
            seen_root = 1;
            text.len = 0;
            text.p[0] = 0;
            rc = fn(ud, EV_START, depth, names, "", 0);
            if (rc == 0 && selfclose) {
                rc = fn(ud, EV_END, depth, names, "", 0);
                depth--;
            }
            p = q;
        }
    }
    free(text.p);
    if (rc == 0 && (depth != 0 || !seen_root))
        rc = -EINVAL;
    return rc;
}

/* ---- root ---- */

typedef struct root_ctx {
    char *name;
    size_t cap;
} root_ctx;

static int root_handler(void *ud, int ev, int depth, char names[][XML_NAME_MAX],
                        const char *text, size_t textlen)
{
    root_ctx *r = ud;
    if (ev == EV_START && depth == 1)
        snprintf(r->name, r->cap, "%s", names[0]);
    return 0;
}

int objstore_s3_xml_root(const char *buf, size_t len, char *name, size_t namelen)
{
    if (!namelen)
        return -EINVAL;
    name[0] = 0;
    root_ctx r = {name, namelen};
    /* Only the root is needed, but a truncated body is no Error document. */
    int rc = xml_walk(buf, len, root_handler, &r);
    if (rc < 0)
        name[0] = 0;
    return rc < 0 ? rc : 0;
}

/* ---- Error ---- */

typedef struct err_ctx {
    int is_error;
    char *code, *msg;
    size_t codelen, msglen;
} err_ctx;

static void copy_text(char *dst, size_t cap, const char *text, size_t len)
{
    if (!cap)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, text, len);
    dst[len] = 0;
}

static int err_handler(void *ud, int ev, int depth, char names[][XML_NAME_MAX],
                       const char *text, size_t textlen)
{
    err_ctx *e = ud;
    if (ev == EV_START && depth == 1)
        e->is_error = !strcmp(names[0], "Error");
    if (ev == EV_END && depth == 2 && e->is_error) {
        if (!strcmp(names[1], "Code"))
            copy_text(e->code, e->codelen, text, textlen);
        else if (!strcmp(names[1], "Message"))
            copy_text(e->msg, e->msglen, text, textlen);
    }
    return 0;
}

int objstore_s3_xml_parse_error(const char *buf, size_t len, char *code, size_t codelen,
                                char *msg, size_t msglen)
{
    if (codelen)
        code[0] = 0;
    if (msglen)
        msg[0] = 0;
    err_ctx e = {0, code, msg, codelen, msglen};
    int rc = xml_walk(buf, len, err_handler, &e);
    if (rc < 0 || !e.is_error) {
        if (codelen)
            code[0] = 0;
        if (msglen)
            msg[0] = 0;
        return rc == -ENOMEM ? rc : -EINVAL;
    }
    return 0;
}

/* ---- InitiateMultipartUploadResult ---- */

typedef struct init_ctx {
    int ok;
    char *id;
} init_ctx;

static int init_handler(void *ud, int ev, int depth, char names[][XML_NAME_MAX],
                        const char *text, size_t textlen)
{
    init_ctx *c = ud;
    if (ev == EV_START && depth == 1)
        c->ok = !strcmp(names[0], "InitiateMultipartUploadResult");
    if (ev == EV_END && depth == 2 && c->ok && !strcmp(names[1], "UploadId")) {
        free(c->id);
        c->id = strndup(text, textlen);
        if (!c->id)
            return -ENOMEM;
    }
    return 0;
}

int objstore_s3_xml_parse_initiate(const char *buf, size_t len, char **upload_id)
{
    *upload_id = NULL;
    init_ctx c = {0, NULL};
    int rc = xml_walk(buf, len, init_handler, &c);
    if (rc == 0 && (!c.ok || !c.id || !c.id[0]))
        rc = -EINVAL;
    if (rc < 0) {
        free(c.id);
        return rc;
    }
    *upload_id = c.id;
    return 0;
}

/* ---- ListBucketResult ---- */

typedef struct list_ctx {
    objstore_s3_list *l;
    int ok, url;
    size_t ccap, pcap;
    objstore_s3_list_entry cur;
    int in_contents;
} list_ctx;

static int64_t parse_iso8601(const char *t)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, s;
    if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
        return 0;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

static int list_handler(void *ud, int ev, int depth, char names[][XML_NAME_MAX],
                        const char *text, size_t textlen)
{
    list_ctx *c = ud;
    objstore_s3_list *l = c->l;
    if (depth == 1) {
        if (ev == EV_START)
            c->ok = !strcmp(names[0], "ListBucketResult");
        return 0;
    }
    if (!c->ok)
        return 0;
    const char *n = names[depth - 1];
    if (depth == 2 && !strcmp(n, "Contents")) {
        if (ev == EV_START) {
            free(c->cur.key);
            memset(&c->cur, 0, sizeof c->cur);
            c->in_contents = 1;
            return 0;
        }
        c->in_contents = 0;
        if (!c->cur.key)
            return 0; /* no Key: ignore */
        if (l->ncontents == c->ccap) {
            size_t nc = c->ccap ? c->ccap * 2 : 16;
            objstore_s3_list_entry *nv = realloc(l->contents, nc * sizeof *nv);
            if (!nv)
                return -ENOMEM;
            l->contents = nv;
            c->ccap = nc;
        }
        l->contents[l->ncontents++] = c->cur;
        memset(&c->cur, 0, sizeof c->cur);
        return 0;
    }
    if (ev != EV_END)
        return 0;
    if (depth == 3 && c->in_contents && !strcmp(names[1], "Contents")) {
        if (!strcmp(n, "Key")) {
            free(c->cur.key);
            if (!(c->cur.key = strndup(text, textlen)))
                return -ENOMEM;
        } else if (!strcmp(n, "Size")) {
            char tmp[32];
            copy_text(tmp, sizeof tmp, text, textlen);
            c->cur.size = strtoull(tmp, NULL, 10);
        } else if (!strcmp(n, "LastModified")) {
            char tmp[64];
            copy_text(tmp, sizeof tmp, text, textlen);
            c->cur.last_modified = parse_iso8601(tmp);
        }
    } else if (depth == 3 && !strcmp(names[1], "CommonPrefixes") && !strcmp(n, "Prefix")) {
        if (l->nprefixes == c->pcap) {
            size_t nc = c->pcap ? c->pcap * 2 : 16;
            char **nv = realloc(l->prefixes, nc * sizeof *nv);
            if (!nv)
                return -ENOMEM;
            l->prefixes = nv;
            c->pcap = nc;
        }
        if (!(l->prefixes[l->nprefixes] = strndup(text, textlen)))
            return -ENOMEM;
        l->nprefixes++;
    } else if (depth == 2 && !strcmp(n, "IsTruncated")) {
        l->truncated = textlen == 4 && !memcmp(text, "true", 4);
    } else if (depth == 2 && !strcmp(n, "NextContinuationToken")) {
        free(l->next_token);
        if (!(l->next_token = strndup(text, textlen)))
            return -ENOMEM;
    } else if (depth == 2 && !strcmp(n, "EncodingType")) {
        c->url = textlen == 3 && !memcmp(text, "url", 3);
    }
    return 0;
}

void objstore_s3_list_free(objstore_s3_list *l)
{
    for (size_t i = 0; i < l->ncontents; i++)
        free(l->contents[i].key);
    free(l->contents);
    for (size_t i = 0; i < l->nprefixes; i++)
        free(l->prefixes[i]);
    free(l->prefixes);
    free(l->next_token);
    memset(l, 0, sizeof *l);
}

int objstore_s3_url_decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '+') {
            *w++ = ' ';
        } else if (*r == '%') {
            int v = 0;
            for (int i = 1; i <= 2; i++) {
                char c = r[i];
                int d = c >= '0' && c <= '9' ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                    return -EINVAL;
                v = v * 16 + d;
            }
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return 0;
}

int objstore_s3_xml_parse_list(const char *buf, size_t len, objstore_s3_list *out)
{
    memset(out, 0, sizeof *out);
    list_ctx c = {.l = out};
    int rc = xml_walk(buf, len, list_handler, &c);
    free(c.cur.key);
    if (rc == 0 && !c.ok)
        rc = -EINVAL;
    if (rc == 0 && c.url) {
        for (size_t i = 0; i < out->ncontents && rc == 0; i++)
            rc = objstore_s3_url_decode(out->contents[i].key);
        for (size_t i = 0; i < out->nprefixes && rc == 0; i++)
            rc = objstore_s3_url_decode(out->prefixes[i]);
    }
    if (rc == 0 && out->truncated && (!out->next_token || !out->next_token[0]))
        rc = -EINVAL; /* would loop forever */
    if (rc < 0)
        objstore_s3_list_free(out);
    return rc;
}
