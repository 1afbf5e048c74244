/* Line parser of the text exposition format 0.0.4 and OpenMetrics 1.0. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct expfmt_parser {
    expfmt_format fmt;
    expfmt_callbacks cb;
    void *ctx;
    size_t line;
    bool eof_seen;
    bool failed;
    bool have_type;
    expfmt_type type;
    char *type_name;          /* copy: the input chunk may be gone by the next feed */
    size_t type_len, type_cap;
    expfmt_label *labels;
    size_t labels_cap;
    char *scratch;            /* unescaped strings of the current line */
    size_t scratch_cap;
};

typedef struct {
    expfmt_parser *p;
    const char *s;            /* the line, without '\n' */
    size_t n;
    size_t i;
    char *out;                /* next free byte in p->scratch */
    expfmt_error *err;
} lctx;

static const char *const type_names[] = {
    [EXPFMT_UNTYPED] = "untyped", [EXPFMT_COUNTER] = "counter",
    [EXPFMT_GAUGE] = "gauge", [EXPFMT_HISTOGRAM] = "histogram",
    [EXPFMT_SUMMARY] = "summary", [EXPFMT_GAUGEHISTOGRAM] = "gaugehistogram",
    [EXPFMT_INFO] = "info", [EXPFMT_STATESET] = "stateset",
};

const char *expfmt_type_str(expfmt_type t)
{
    if ((unsigned)t < sizeof(type_names) / sizeof(type_names[0]))
        return type_names[t];
    return "untyped";
}

expfmt_parser *expfmt_parser_new(expfmt_format fmt, const expfmt_callbacks *cb, void *ctx)
{
    expfmt_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->fmt = fmt;
    if (cb)
        p->cb = *cb;
    p->ctx = ctx;
    return p;
}

void expfmt_parser_free(expfmt_parser *p)
{
    if (!p)
        return;
    free(p->type_name);
    free(p->labels);
    free(p->scratch);
    free(p);
}

static int perr(lctx *c, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(lctx *c, size_t at, const char *fmt, ...)
{
    c->p->failed = true;
    if (!c->err)
        return -EINVAL;
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    c->err->line = c->p->line;
    c->err->column = at + 1;
    snprintf(c->err->msg, sizeof(c->err->msg), "line %zu, column %zu: %s", c->p->line, at + 1, m);
    return -EINVAL;
}

static inline bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t';
}

static void skip_ws(lctx *c)
{
    while (c->i < c->n && is_ws(c->s[c->i]))
        c->i++;
}

/* Printable rendering of a short token for messages. */
static const char *show(char *buf, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t k = 0; k < n && o + 5 < cap; k++) {
        unsigned char ch = (unsigned char)s[k];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
    }
    if (o >= cap)
        o = cap - 1;
    buf[o] = '\0';
    return buf;
}

static const char *show_char(char *buf, char ch)
{
    if ((unsigned char)ch >= 0x20 && (unsigned char)ch < 0x7f)
        snprintf(buf, 8, "'%c'", ch);
    else
        snprintf(buf, 8, "0x%02x", (unsigned char)ch);
    return buf;
}

static size_t name_span(const char *s, size_t n, bool metric)
{
    size_t k = 0;
    while (k < n) {
        char ch = s[k];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
                  (metric && ch == ':') || (k > 0 && ch >= '0' && ch <= '9');
        if (!ok)
            break;
        k++;
    }
    return k;
}

/* Reads a "..." string at c->i. Without escapes the result is a view into
 * the line; otherwise it is unescaped into scratch. \\ \" \n are decoded;
 * other escapes are kept verbatim (as Prometheus' own parser does). */
static int quoted(lctx *c, const char **str, uint32_t *len, const char *what)
{
    size_t start = c->i + 1, k = start;
    bool esc = false;
    /* Fast path: the closing quote with no backslash before it. */
    const char *q = start < c->n ? memchr(c->s + start, '"', c->n - start) : NULL;
    if (q && !memchr(c->s + start, '\\', (size_t)(q - (c->s + start)))) {
        k = (size_t)(q - c->s);
    } else {
        while (k < c->n && c->s[k] != '"') {
            if (c->s[k] == '\\') {
                esc = true;
                k++;
            }
            k++;
        }
    }
    if (k >= c->n)
        return perr(c, c->i, "unterminated quoted %s", what);
    if (!esc) {
        *str = c->s + start;
        *len = (uint32_t)(k - start);
    } else {
        char *o = c->out;
        for (size_t j = start; j < k; j++) {
            char ch = c->s[j];
            if (ch == '\\') {
                char nx = c->s[++j];
                if (nx == 'n')
                    *o++ = '\n';
                else if (nx == '\\' || nx == '"')
                    *o++ = nx;
                else {
                    *o++ = '\\';
                    *o++ = nx;
                }
            } else {
                *o++ = ch;
            }
        }
        *str = c->out;
        *len = (uint32_t)(o - c->out);
        c->out = o;
    }
    if (!expfmt_utf8_valid(*str, *len))
        return perr(c, c->i, "invalid UTF-8 in %s", what);
    c->i = k + 1;
    return 0;
}

static int push_label(lctx *c, size_t *nl, const char *name, uint32_t name_len,
                      const char *value, uint32_t value_len, size_t at)
{
    expfmt_parser *p = c->p;
    for (size_t k = 0; k < *nl; k++) {
        if (p->labels[k].name_len == name_len && p->labels[k].name[0] == name[0] &&
            memcmp(p->labels[k].name, name, name_len) == 0) {
            char b[80];
            return perr(c, at, "duplicate label name \"%s\"", show(b, sizeof(b), name, name_len));
        }
    }
    if (*nl == p->labels_cap) {
        size_t cap = p->labels_cap ? p->labels_cap * 2 : 16;
        expfmt_label *l = realloc(p->labels, cap * sizeof(*l));
        if (!l) {
            p->failed = true;
            return -ENOMEM;
        }
        p->labels = l;
        p->labels_cap = cap;
    }
    p->labels[(*nl)++] = (expfmt_label){name, value, name_len, value_len};
    return 0;
}

/* After '{': labels up to '}'. A leading quoted string followed by ',' or
 * '}' is the metric name (when none came before the brace). */
static int labels(lctx *c, const char **mname, uint32_t *mlen, size_t *nl)
{
    char b[80], cb[8];
    int rc;
    bool first = true;
    c->i++;
    for (;;) {
        skip_ws(c);
        if (c->i >= c->n)
            return perr(c, c->i, "expected label name or '}' before end of line");
        if (c->s[c->i] == '}') {
            c->i++;
            return 0;
        }
        const char *name;
        uint32_t name_len;
        size_t at = c->i;
        if (c->s[c->i] == '"') {
            if ((rc = quoted(c, &name, &name_len, "label name")))
                return rc;
            skip_ws(c);
            if (first && *mlen == 0 && c->i < c->n && (c->s[c->i] == ',' || c->s[c->i] == '}')) {
                if (name_len == 0)
                    return perr(c, at, "empty metric name");
                *mname = name;
                *mlen = name_len;
                first = false;
                if (c->s[c->i] == ',')
                    c->i++;
                continue;
            }
        } else {
            name_len = (uint32_t)name_span(c->s + c->i, c->n - c->i, false);
            if (name_len == 0)
                return perr(c, c->i, "expected label name or '}', got %s",
                            show_char(cb, c->s[c->i]));
            name = c->s + c->i;
            c->i += name_len;
            skip_ws(c);
        }
        first = false;
        if (name_len == 0)
            return perr(c, at, "empty label name");
        if (c->i >= c->n || c->s[c->i] != '=')
            return perr(c, c->i, "expected '=' after label name \"%s\"",
                        show(b, sizeof(b), name, name_len));
        c->i++;
        skip_ws(c);
        if (c->i >= c->n || c->s[c->i] != '"')
            return perr(c, c->i, "expected '\"' to start the value of label \"%s\"",
                        show(b, sizeof(b), name, name_len));
        const char *value;
        uint32_t value_len;
        if ((rc = quoted(c, &value, &value_len, "label value")))
            return rc;
        if ((rc = push_label(c, nl, name, name_len, value, value_len, at)))
            return rc;
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == '}') {
            c->i++;
            return 0;
        }
        if (c->i >= c->n)
            return perr(c, c->i, "expected ',' or '}' after the value of label \"%s\", got end "
                                 "of line", show(b, sizeof(b), name, name_len));
        return perr(c, c->i, "expected ',' or '}' after the value of label \"%s\", got %s",
                    show(b, sizeof(b), name, name_len), show_char(cb, c->s[c->i]));
    }
}

static size_t token_end(lctx *c)
{
    size_t k = c->i;
    while (k < c->n && !is_ws(c->s[k]))
        k++;
    return k;
}

/* The family a sample name belongs to, from the last # TYPE. */
static expfmt_type family_of(const expfmt_parser *p, const char *name, size_t n, size_t *flen)
{
    *flen = n;
    if (!p->have_type || n < p->type_len || memcmp(name, p->type_name, p->type_len) != 0)
        return EXPFMT_UNTYPED;
    const char *suf = name + p->type_len;
    size_t sl = n - p->type_len;
    bool om = p->fmt == EXPFMT_OPENMETRICS;
#define IS(x) (sl == sizeof(x) - 1 && memcmp(suf, x, sl) == 0)
    bool ok = sl == 0;
    switch (p->type) {
    case EXPFMT_HISTOGRAM: ok = ok || IS("_bucket") || IS("_sum") || IS("_count") ||
                                (om && IS("_created")); break;
    case EXPFMT_SUMMARY: ok = ok || IS("_sum") || IS("_count") || (om && IS("_created")); break;
    case EXPFMT_COUNTER: ok = ok || (om && (IS("_total") || IS("_created"))); break;
    case EXPFMT_GAUGEHISTOGRAM: ok = ok || IS("_bucket") || IS("_gsum") || IS("_gcount"); break;
    case EXPFMT_INFO: ok = ok || IS("_info"); break;
    default: break;
    }
#undef IS
    if (!ok)
        return EXPFMT_UNTYPED;
    *flen = p->type_len;
    return p->type;
}

/* " # {labels} value [timestamp]" after an OpenMetrics sample: checked for
 * shape and skipped. */
static int exemplar(lctx *c)
{
    char cb[8];
    c->i++;
    if (c->i >= c->n || c->s[c->i] != ' ')
        return perr(c, c->i, "expected ' ' after '#' of an exemplar");
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != '{')
        return perr(c, c->i, "expected '{' to start exemplar labels, got %s",
                    c->i < c->n ? show_char(cb, c->s[c->i]) : "end of line");
    /* Skip to the matching '}' (quoted strings may contain braces). */
    size_t k = c->i + 1;
    while (k < c->n && c->s[k] != '}') {
        if (c->s[k] == '"') {
            k++;
            while (k < c->n && c->s[k] != '"')
                k += c->s[k] == '\\' ? 2 : 1;
            if (k >= c->n)
                return perr(c, c->i, "unterminated exemplar labels");
        }
        k++;
    }
    if (k >= c->n)
        return perr(c, c->i, "expected '}' to end exemplar labels");
    c->i = c->n;       /* value and timestamp of the exemplar are not used */
    return 0;
}

static int sample_line(lctx *c)
{
    expfmt_parser *p = c->p;
    char b[80], cb[8];
    const char *name = c->s + c->i;
    uint32_t name_len = (uint32_t)name_span(c->s + c->i, c->n - c->i, true);
    size_t nl = 0;
    int rc;
    c->i += name_len;
    if (c->i < c->n && c->s[c->i] == '{') {
        if ((rc = labels(c, &name, &name_len, &nl)))
            return rc;
    }
    if (name_len == 0)
        return perr(c, c->i, "expected metric name, got %s",
                    c->i < c->n ? show_char(cb, c->s[c->i]) : "end of line");
    if (c->i >= c->n)
        return perr(c, c->i, "expected value after metric \"%s\"",
                    show(b, sizeof(b), name, name_len));
    if (!is_ws(c->s[c->i]))
        return perr(c, c->i, "unexpected %s after metric name \"%s\"", show_char(cb, c->s[c->i]),
                    show(b, sizeof(b), name, name_len));
    skip_ws(c);
    size_t e = token_end(c);
    if (e == c->i)
        return perr(c, c->i, "expected value after metric \"%s\"",
                    show(b, sizeof(b), name, name_len));
    expfmt_sample s;
    memset(&s, 0, sizeof(s));
    if (expfmt_parse_float(c->s + c->i, e - c->i, &s.value))
        return perr(c, c->i, "invalid value \"%s\"", show(b, sizeof(b), c->s + c->i, e - c->i));
    c->i = e;
    skip_ws(c);
    bool om = p->fmt == EXPFMT_OPENMETRICS;
    if (c->i < c->n && !(om && c->s[c->i] == '#')) {
        e = token_end(c);
        const char *t = c->s + c->i;
        if (om) {
            double secs;
            if (expfmt_parse_float(t, e - c->i, &secs) || !(secs == secs) ||
                secs > 9.2e15 || secs < -9.2e15)
                return perr(c, c->i, "invalid timestamp \"%s\"", show(b, sizeof(b), t, e - c->i));
            double ms = secs * 1000.0;
            s.timestamp_ms = (int64_t)(ms < 0 ? ms - 0.5 : ms + 0.5);
        } else if (expfmt_parse_int64(t, e - c->i, &s.timestamp_ms)) {
            return perr(c, c->i, "invalid timestamp \"%s\"", show(b, sizeof(b), t, e - c->i));
        }
        s.has_timestamp = true;
        c->i = e;
        skip_ws(c);
    }
    if (om && c->i < c->n && c->s[c->i] == '#') {
        if ((rc = exemplar(c)))
            return rc;
    }
    if (c->i < c->n)
        return perr(c, c->i, "unexpected %s after %s", show_char(cb, c->s[c->i]),
                    s.has_timestamp ? "timestamp" : "value");
    size_t flen;
    s.name = name;
    s.name_len = name_len;
    s.type = family_of(p, name, name_len, &flen);
    s.family = name;
    s.family_len = (uint32_t)flen;
    s.labels = p->labels;
    s.label_count = nl;
    s.line = p->line;
    if (p->cb.sample && (rc = p->cb.sample(p->ctx, &s))) {
        p->failed = true;
        return rc;
    }
    return 0;
}

static int parse_type_word(const char *w, size_t n, bool om, expfmt_type *t)
{
    static const struct { const char *w; expfmt_type t; bool om_only, text_only; } words[] = {
        {"counter", EXPFMT_COUNTER, false, false}, {"gauge", EXPFMT_GAUGE, false, false},
        {"histogram", EXPFMT_HISTOGRAM, false, false}, {"summary", EXPFMT_SUMMARY, false, false},
        {"untyped", EXPFMT_UNTYPED, false, true}, {"unknown", EXPFMT_UNTYPED, true, false},
        {"gaugehistogram", EXPFMT_GAUGEHISTOGRAM, true, false},
        {"info", EXPFMT_INFO, true, false}, {"stateset", EXPFMT_STATESET, true, false},
    };
    for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
        if (strlen(words[k].w) == n && memcmp(words[k].w, w, n) == 0 &&
            !(words[k].om_only && !om) && !(words[k].text_only && om)) {
            *t = words[k].t;
            return 0;
        }
    }
    return -1;
}

/* "# HELP name text", "# TYPE name type", OpenMetrics "# UNIT", "# EOF";
 * other comments are ignored. */
static int comment_line(lctx *c)
{
    expfmt_parser *p = c->p;
    bool om = p->fmt == EXPFMT_OPENMETRICS;
    char b[80];
    int rc;
    c->i++;
    skip_ws(c);
    size_t e = token_end(c);
    const char *kw = c->s + c->i;
    size_t kl = e - c->i;
    bool help = kl == 4 && memcmp(kw, "HELP", 4) == 0;
    bool type = kl == 4 && memcmp(kw, "TYPE", 4) == 0;
    bool unit = om && kl == 4 && memcmp(kw, "UNIT", 4) == 0;
    if (om && kl == 3 && memcmp(kw, "EOF", 3) == 0 && c->i == 2) {
        c->i = e;
        skip_ws(c);
        if (c->i < c->n)
            return perr(c, c->i, "unexpected text after # EOF");
        p->eof_seen = true;
        return 0;
    }
    if (!help && !type && !unit)
        return 0;
    c->i = e;
    skip_ws(c);
    const char *name = c->s + c->i;
    uint32_t name_len;
    if (c->i < c->n && c->s[c->i] == '"') {
        if ((rc = quoted(c, &name, &name_len, "metric name")))
            return rc;
    } else {
        name_len = (uint32_t)name_span(name, c->n - c->i, true);
        c->i += name_len;
    }
    if (name_len == 0)
        return perr(c, c->i, "expected metric name after # %.4s", kw);
    if (c->i < c->n && !is_ws(c->s[c->i])) {
        char cb[8];
        return perr(c, c->i, "unexpected %s in metric name of # %.4s", show_char(cb, c->s[c->i]),
                    kw);
    }
    skip_ws(c);
    if (type) {
        e = token_end(c);
        expfmt_type t;
        if (e == c->i)
            return perr(c, c->i, "expected metric type after # TYPE %s",
                        show(b, sizeof(b), name, name_len));
        if (parse_type_word(c->s + c->i, e - c->i, om, &t))
            return perr(c, c->i, "unknown metric type \"%s\"",
                        show(b, sizeof(b), c->s + c->i, e - c->i));
        size_t at = e;
        c->i = e;
        skip_ws(c);
        if (c->i < c->n)
            return perr(c, at, "unexpected text after metric type");
        if (name_len > p->type_cap) {
            char *nb = realloc(p->type_name, name_len);
            if (!nb) {
                p->failed = true;
                return -ENOMEM;
            }
            p->type_name = nb;
            p->type_cap = name_len;
        }
        memcpy(p->type_name, name, name_len);
        p->type_len = name_len;
        p->type = t;
        p->have_type = true;
        if (p->cb.type && (rc = p->cb.type(p->ctx, name, name_len, t, p->line))) {
            p->failed = true;
            return rc;
        }
        return 0;
    }
    if (unit)
        return 0;
    /* HELP: the rest of the line, unescaped (\\ and \n; OpenMetrics also \"). */
    const char *h = c->s + c->i;
    size_t hl = c->n - c->i;
    if (memchr(h, '\\', hl)) {
        char *o = c->out;
        for (size_t k = 0; k < hl; k++) {
            if (h[k] == '\\' && k + 1 < hl &&
                (h[k + 1] == 'n' || h[k + 1] == '\\' || (om && h[k + 1] == '"'))) {
                *o++ = h[k + 1] == 'n' ? '\n' : h[k + 1];
                k++;
            } else {
                *o++ = h[k];
            }
        }
        h = c->out;
        hl = (size_t)(o - c->out);
        c->out = o;
    }
    if (!expfmt_utf8_valid(h, hl))
        return perr(c, c->i, "invalid UTF-8 in help text");
    if (p->cb.help && (rc = p->cb.help(p->ctx, name, name_len, h, hl, p->line))) {
        p->failed = true;
        return rc;
    }
    return 0;
}

static int one_line(expfmt_parser *p, const char *s, size_t n, expfmt_error *err)
{
    lctx c = {p, s, n, 0, NULL, err};
    p->line++;
    if (p->eof_seen)
        return perr(&c, 0, "unexpected data after # EOF");
    if (p->fmt == EXPFMT_OPENMETRICS) {
        if (memchr(s, '\r', n))
            return perr(&c, (size_t)((const char *)memchr(s, '\r', n) - s),
                        "carriage return not allowed in OpenMetrics");
    } else if (n && s[n - 1] == '\r') {
        c.n = --n;   /* tolerate CRLF line ends in the text format */
    }
    /* Unescaped strings never grow, so the line length bounds the scratch. */
    if (n > p->scratch_cap) {
        size_t cap = n < 256 ? 256 : n;
        char *sb = realloc(p->scratch, cap);
        if (!sb) {
            p->failed = true;
            return -ENOMEM;
        }
        p->scratch = sb;
        p->scratch_cap = cap;
    }
    c.out = p->scratch;
    skip_ws(&c);
    if (c.i >= c.n)
        return 0;                    /* empty line */
    if (s[c.i] == '#')
        return comment_line(&c);
    return sample_line(&c);
}

int expfmt_parser_feed(expfmt_parser *p, const char *buf, size_t len, size_t *consumed,
                       expfmt_error *err)
{
    *consumed = 0;
    if (p->failed)
        return -EINVAL;
    const char *end = len ? memrchr(buf, '\n', len) : NULL;
    if (!end)
        return 0;
    const char *s = buf;
    while (s <= end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s) + 1);
        int rc = one_line(p, s, (size_t)(nl - s), err);
        if (rc)
            return rc;
        s = nl + 1;
        *consumed = (size_t)(s - buf);
    }
    return 0;
}

int expfmt_parser_finish(expfmt_parser *p, const char *buf, size_t len, expfmt_error *err)
{
    if (p->failed)
        return -EINVAL;
    size_t used;
    int rc = expfmt_parser_feed(p, buf, len, &used, err);
    if (rc)
        return rc;
    if (used < len && (rc = one_line(p, buf + used, len - used, err)))
        return rc;
    if (p->fmt == EXPFMT_OPENMETRICS && !p->eof_seen) {
        lctx c = {p, "", 0, 0, NULL, err};
        return perr(&c, 0, "missing # EOF at end of OpenMetrics input");
    }
    return 0;
}

int expfmt_parse(const char *buf, size_t len, expfmt_format fmt, const expfmt_callbacks *cb,
                 void *ctx, expfmt_error *err)
{
    expfmt_parser *p = expfmt_parser_new(fmt, cb, ctx);
    if (!p) {
        if (err) {
            memset(err, 0, sizeof(*err));
            snprintf(err->msg, sizeof(err->msg), "out of memory");
        }
        return -ENOMEM;
    }
    int rc = expfmt_parser_finish(p, buf, len, err);
    expfmt_parser_free(p);
    return rc;
}
