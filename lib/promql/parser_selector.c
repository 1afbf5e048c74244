/* Vector selectors, label matchers, string unquoting and series
 * descriptions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"
#include "parser_int.h"

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Prometheus' strutil.Unquote: Go escapes for "..." and '...', raw `...`. */
int promql_unquote(const char *s, size_t len, char **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    if (len < 2 || s[0] != s[len - 1] || (s[0] != '"' && s[0] != '\'' && s[0] != '`')) {
        snprintf(err, errlen, "invalid syntax");
        return -EINVAL;
    }
    char q = s[0];
    const char *p = s + 1, *end = s + len - 1;
    pqp_buf b = {0};
    pqp_buf_add(&b, "", 0);
    if (q == '`') {
        if (memchr(p, '`', (size_t)(end - p))) {
            snprintf(err, errlen, "invalid syntax");
            free(b.s);
            return -EINVAL;
        }
        pqp_buf_add(&b, p, (size_t)(end - p));
    } else {
        while (p < end) {
            unsigned char c = (unsigned char)*p;
            if (c == (unsigned char)q || c == '\n')
                goto syntax;
            if (c != '\\') {
                pqp_buf_addc(&b, (char)c);
                p++;
                continue;
            }
            if (++p >= end)
                goto syntax;
            c = (unsigned char)*p++;
            switch (c) {
            case 'a': pqp_buf_addc(&b, '\a'); break;
            case 'b': pqp_buf_addc(&b, '\b'); break;
            case 'f': pqp_buf_addc(&b, '\f'); break;
            case 'n': pqp_buf_addc(&b, '\n'); break;
            case 'r': pqp_buf_addc(&b, '\r'); break;
            case 't': pqp_buf_addc(&b, '\t'); break;
            case 'v': pqp_buf_addc(&b, '\v'); break;
            case '\\': pqp_buf_addc(&b, '\\'); break;
            case '\'':
            case '"':
                if (c != (unsigned char)q)
                    goto syntax;
                pqp_buf_addc(&b, (char)c);
                break;
            case 'x':
            case 'u':
            case 'U': {
                int n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                uint32_t v = 0;
                if (end - p < n)
                    goto syntax;
                for (int i = 0; i < n; i++) {
                    int d = hexv((unsigned char)p[i]);
                    if (d < 0)
                        goto syntax;
                    v = v * 16 + (uint32_t)d;
                }
                p += n;
                if (c == 'x') {
                    pqp_buf_addc(&b, (char)v);
                } else {
                    if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
                        goto syntax;
                    pqp_buf_utf8(&b, v);
                }
                break;
            }
            case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                uint32_t v = c - '0';
                if (end - p < 2)
                    goto syntax;
                for (int i = 0; i < 2; i++) {
                    if (p[i] < '0' || p[i] > '7')
                        goto syntax;
                    v = v * 8 + (uint32_t)(p[i] - '0');
                }
                p += 2;
                if (v > 255)
                    goto syntax;
                pqp_buf_addc(&b, (char)v);
                break;
            }
            default:
                goto syntax;
            }
        }
    }
    if (b.oom) {
        free(b.s);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *out = b.s;
    *out_len = b.len;
    return 0;
syntax:
    free(b.s);
    snprintf(err, errlen, "invalid syntax");
    return -EINVAL;
}

char *pqp_unquote_token(pqp_parser *p, const pqp_token *t, size_t *out_len)
{
    char *out, err[64];
    int rc = promql_unquote(p->lx.in + t->pos, t->len, &out, out_len, err, sizeof err);
    if (rc == -ENOMEM) {
        pqp_oom(p);
        return NULL;
    }
    if (rc != 0) {
        pqp_buf b = {0};
        pqp_buf_go_quote(&b, p->lx.in + t->pos, t->len, 0);
        pqp_error(p, t->pos, t->pos + t->len, "error unquoting string %s: %s", b.s ? b.s : "", err);
        free(b.s);
        return NULL;
    }
    return out;
}

/* Regexes go through lib/labels, which implements Go's RE2 syntax and
 * error texts on top of PCRE2: parse errors and the empty-match rule are then
 * exactly Prometheus' (e.g. `error parsing regexp: missing closing ):
 * `^(?:(a)$``; backreferences and lookaround are rejected as in Go). */
static labels_matcher *regex_matcher(const promql_matcher *m, char *err, size_t errlen, int *rc)
{
    labels_matcher *lm = NULL;
    labels_match_type t = m->op == PROMQL_MATCH_RE ? LABELS_MATCH_RE : LABELS_MATCH_NRE;
    *rc = labels_matcher_new(t, m->name, strlen(m->name), m->value, m->value_len, &lm, err, errlen);
    return *rc == 0 ? lm : NULL;
}

bool pqp_matcher_matches_empty(const promql_matcher *m)
{
    switch (m->op) {
    case PROMQL_MATCH_EQ:
        return m->value_len == 0;
    case PROMQL_MATCH_NE:
        return m->value_len != 0;
    case PROMQL_MATCH_RE:
    case PROMQL_MATCH_NRE: {
        char err[8];
        int rc;
        labels_matcher *lm = regex_matcher(m, err, sizeof err, &rc);
        if (!lm) /* only on allocation failure: it compiled while parsing */
            return m->op == PROMQL_MATCH_NRE;
        bool r = labels_matcher_matches_empty(lm);
        labels_matcher_free(lm);
        return r;
    }
    }
    return false;
}

static char *memdup0(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Appends a matcher; takes ownership of value. */
static bool add_matcher(pqp_parser *p, promql_matcher **ms, size_t *n, size_t *cap,
                        promql_match_op op, const char *name, size_t name_len, char *value,
                        size_t value_len)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        promql_matcher *nm = realloc(*ms, nc * sizeof *nm);
        if (!nm) {
            free(value);
            pqp_oom(p);
            return false;
        }
        *ms = nm;
        *cap = nc;
    }
    promql_matcher *m = &(*ms)[*n];
    m->op = op;
    m->value = value;
    m->value_len = value_len;
    m->name = memdup0(name, name_len);
    if (!m->name) {
        free(value);
        pqp_oom(p);
        return false;
    }
    (*n)++;
    return true;
}

int pqp_parse_label_matchers(pqp_parser *p, promql_matcher **ms, size_t *n, size_t *end)
{
    size_t cap = *n;
    pqp_next(p); /* '{' */
    while (!p->failed) {
        if (p->tok.type == T_RBRACE)
            break;
        if (p->tok.type != T_IDENT) {
            pqp_unexpected(p, "label matching", "identifier or \"}\"");
            break;
        }
        pqp_token name = p->tok;
        pqp_next(p);
        promql_match_op op;
        switch (p->tok.type) {
        case T_EQL: op = PROMQL_MATCH_EQ; break;
        case T_NEQ: op = PROMQL_MATCH_NE; break;
        case T_EQL_REGEX: op = PROMQL_MATCH_RE; break;
        case T_NEQ_REGEX: op = PROMQL_MATCH_NRE; break;
        default:
            pqp_unexpected(p, "label matching", "label matching operator");
            return -1;
        }
        pqp_next(p);
        if (p->tok.type != T_STRING) {
            pqp_unexpected(p, "label matching", "string");
            return -1;
        }
        size_t vlen;
        char *val = pqp_unquote_token(p, &p->tok, &vlen);
        if (!val)
            return -1;
        if (!add_matcher(p, ms, n, &cap, op, p->lx.in + name.pos, name.len, val, vlen))
            return -1;
        if (op == PROMQL_MATCH_RE || op == PROMQL_MATCH_NRE) {
            char msg[400];
            int rc;
            labels_matcher *lm = regex_matcher(&(*ms)[*n - 1], msg, sizeof msg, &rc);
            if (!lm) {
                if (rc == -ENOMEM)
                    pqp_oom(p);
                else
                    pqp_error(p, name.pos, p->tok.pos + p->tok.len, "%s", msg);
                return -1;
            }
            labels_matcher_free(lm);
        }
        pqp_next(p);
        if (p->tok.type == T_COMMA) {
            pqp_next(p);
            continue;
        }
        if (p->tok.type != T_RBRACE) {
            pqp_unexpected(p, "label matching", "\",\" or \"}\"");
            return -1;
        }
    }
    if (p->failed)
        return -1;
    *end = p->tok.pos + 1;
    pqp_next(p);
    return p->failed ? -1 : 0;
}

promql_node *pqp_vector_selector(pqp_parser *p, const char *name, size_t name_len,
                                promql_matcher *ms, size_t n, size_t start, size_t end)
{
    promql_node *v = pqp_node_new(PROMQL_NODE_VECTOR, start, end);
    if (!v) {
        pqp_matchers_free(ms, n);
        pqp_oom(p);
        return NULL;
    }
    v->vector.matchers = ms;
    v->vector.n_matchers = n;
    if (name) {
        size_t cap = n;
        v->vector.name = memdup0(name, name_len);
        char *val = memdup0(name, name_len);
        if (!v->vector.name || !val) {
            free(val);
            pqp_oom(p);
            promql_node_free(v);
            return NULL;
        }
        if (!add_matcher(p, &v->vector.matchers, &v->vector.n_matchers, &cap, PROMQL_MATCH_EQ,
                         "__name__", 8, val, name_len)) {
            promql_node_free(v);
            return NULL;
        }
    }
    return v;
}

void promql_series_desc_free(promql_series_desc *d)
{
    if (!d)
        return;
    free(d->name);
    for (size_t i = 0; i < d->n_labels; i++) {
        free(d->labels[i].name);
        free(d->labels[i].value);
    }
    free(d->labels);
    memset(d, 0, sizeof *d);
}

int promql_parse_series_desc(const char *input, size_t len, promql_series_desc *out,
                             size_t *consumed, promql_parse_error *err)
{
    pqp_parser p;
    promql_parse_error dummy;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    p.err = err ? err : &dummy;
    memset(p.err, 0, sizeof *p.err);
    pqp_lex_init(&p.lx, input, len);
    pqp_next(&p);
    size_t end = 0, cap = 0;
    if (!p.failed && pqp_is_word_token(p.tok.type) && p.tok.type != T_NUMBER) {
        out->name = memdup0(input + p.tok.pos, p.tok.len);
        if (!out->name)
            pqp_oom(&p);
        end = p.tok.pos + p.tok.len;
        if (!p.failed && end < len && input[end] == '{')
            pqp_next(&p);
    } else if (!p.failed && p.tok.type != T_LBRACE) {
        pqp_unexpected(&p, "series description", "metric name or \"{\"");
    }
    if (!p.failed && p.tok.type == T_LBRACE) {
        pqp_next(&p);
        while (!p.failed && p.tok.type != T_RBRACE) {
            if (p.tok.type != T_IDENT) {
                pqp_unexpected(&p, "label set", "identifier or \"}\"");
                break;
            }
            pqp_token name = p.tok;
            pqp_next(&p);
            if (p.tok.type != T_EQL) {
                pqp_unexpected(&p, "label set", "\"=\"");
                break;
            }
            pqp_next(&p);
            if (p.tok.type != T_STRING) {
                pqp_unexpected(&p, "label set", "string");
                break;
            }
            size_t vlen;
            char *val = pqp_unquote_token(&p, &p.tok, &vlen);
            if (!val)
                break;
            if (out->n_labels == cap) {
                size_t nc = cap ? cap * 2 : 4;
                promql_label *nl = realloc(out->labels, nc * sizeof *nl);
                if (!nl) {
                    free(val);
                    pqp_oom(&p);
                    break;
                }
                out->labels = nl;
                cap = nc;
            }
            promql_label *l = &out->labels[out->n_labels];
            l->value = val;
            l->value_len = vlen;
            l->name = memdup0(input + name.pos, name.len);
            if (!l->name) {
                free(val);
                pqp_oom(&p);
                break;
            }
            out->n_labels++;
            pqp_next(&p);
            if (p.tok.type == T_COMMA)
                pqp_next(&p);
            else if (p.tok.type != T_RBRACE && !p.failed)
                pqp_unexpected(&p, "label set", "\",\" or \"}\"");
        }
        if (!p.failed)
            end = p.tok.pos + 1; /* do not lex past '}': the values follow */
    }
    if (p.failed) {
        promql_series_desc_free(out);
        return p.oom ? -ENOMEM : -EINVAL;
    }
    if (consumed)
        *consumed = end;
    return 0;
}
