/* label_replace and label_join (Prometheus 2.42 functions.go). Regexes are
 * checked by lib/labels' Go-syntax translator (so errors carry Go's texts)
 * and run on PCRE2 fully anchored, like Go's "^(?:re)$", with Go's `.`
 * (no newline) and `$` (end of text); the replacement uses Go's
 * Regexp.ExpandString rules ($1, ${1}, $name, ${name}, $$). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval_internal.h"

/* lib/labels' Go-regexp-to-PCRE2 translator (lib/labels/internal.h; not yet
 * in its public header). Used only to validate with Go's error texts: its
 * output drops capture groups, which label_replace needs. */
int labels__re_translate(const char *re, size_t len, char **out, size_t *outlen, char *err, size_t errlen);


typedef struct lblctx {
    promql_function_id fn;
    pcre2_code *re;
    pcre2_match_data *md;
    const char *dst, *repl, *src, *sep;
    size_t dstl, repll, srcl, sepl;
    const promql_node *const *srcs; /* label_join sources (string nodes) */
    size_t nsrcs;
    pq_map cache; /* input lset -> output lset */
    pq_lb lb;
    char *buf;
    size_t bufcap;
} lblctx;

static int buf_put(lblctx *c, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > c->bufcap) {
        size_t nc = (*len + n + 1) * 2;
        char *nb = realloc(c->buf, nc);
        if (!nb)
            return -ENOMEM;
        c->buf = nb;
        c->bufcap = nc;
    }
    if (n)
        memcpy(c->buf + *len, s, n);
    *len += n;
    return 0;
}

static bool is_word(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* Go regexp.Expand. */
static int expand(lblctx *c, const char *subj, PCRE2_SIZE *ov, uint32_t ngroups, size_t *len)
{
    const char *t = c->repl;
    size_t tl = c->repll, i = 0;
    while (i < tl) {
        if (t[i] != '$' || i + 1 >= tl) {
            PQ_TRY(buf_put(c, len, &t[i], 1));
            i++;
            continue;
        }
        if (t[i + 1] == '$') {
            PQ_TRY(buf_put(c, len, "$", 1));
            i += 2;
            continue;
        }
        const char *name;
        size_t nl, next;
        if (t[i + 1] == '{') {
            size_t j = i + 2;
            while (j < tl && is_word(t[j]))
                j++;
            if (j >= tl || t[j] != '}' || j == i + 2) {
                PQ_TRY(buf_put(c, len, "$", 1));
                i++;
                continue;
            }
            name = &t[i + 2];
            nl = j - (i + 2);
            next = j + 1;
        } else {
            size_t j = i + 1;
            while (j < tl && is_word(t[j]))
                j++;
            if (j == i + 1) {
                PQ_TRY(buf_put(c, len, "$", 1));
                i++;
                continue;
            }
            name = &t[i + 1];
            nl = j - (i + 1);
            next = j;
        }
        i = next;
        long num = -1;
        bool digits = true;
        for (size_t k = 0; k < nl; k++)
            digits &= name[k] >= '0' && name[k] <= '9';
        if (digits) {
            num = 0;
            for (size_t k = 0; k < nl && num < 1000000; k++)
                num = num * 10 + (name[k] - '0');
        } else {
            char nm[256];
            if (nl < sizeof nm) {
                memcpy(nm, name, nl);
                nm[nl] = 0;
                int g = pcre2_substring_number_from_name(c->re, (PCRE2_SPTR)nm);
                if (g >= 0)
                    num = g;
            }
        }
        if (num >= 0 && (uint32_t)num < ngroups && ov[2 * num] != PCRE2_UNSET)
            PQ_TRY(buf_put(c, len, subj + ov[2 * num], ov[2 * num + 1] - ov[2 * num]));
    }
    return 0;
}

static const pq_lset *transform(pq_query *q, lblctx *c, const pq_lset *m, int *rc)
{
    *rc = 0;
    uint64_t *slot = pq_map_get(&c->cache, pq_ptrkey(m));
    if (slot)
        return (const pq_lset *)(uintptr_t)*slot;
    size_t len = 0;
    const pq_lset *res = m;
    if (c->fn == PROMQL_FN_LABEL_REPLACE) {
        size_t sl = 0;
        const char *sv = pq_lget(m, c->src, &sl);
        if (!sv)
            sv = "";
        int mr = pcre2_match(c->re, (PCRE2_SPTR)sv, sl, 0, 0, c->md, NULL);
        if (mr >= 0) {
            uint32_t ng = pcre2_get_ovector_count(c->md);
            if ((*rc = expand(c, sv, pcre2_get_ovector_pointer(c->md), ng, &len)) < 0)
                return NULL;
            char *val = pq_arena_strdup(&q->arena, c->buf ? c->buf : "", len);
            if (!val || pq_lb_reset(&c->lb, m) < 0 || pq_lb_set(&c->lb, c->dst, c->dstl, val, len) < 0)
                return NULL;
            res = pq_lb_intern(q, &c->lb);
        }
    } else {
        for (size_t i = 0; i < c->nsrcs; i++) {
            if (i && (*rc = buf_put(c, &len, c->sep, c->sepl)) < 0)
                return NULL;
            size_t vl = 0;
            const char *v = pq_lget(m, c->srcs[i]->string.value, &vl);
            if (v && (*rc = buf_put(c, &len, v, vl)) < 0)
                return NULL;
        }
        char *val = pq_arena_strdup(&q->arena, c->buf ? c->buf : "", len);
        if (!val || pq_lb_reset(&c->lb, m) < 0 || pq_lb_set(&c->lb, c->dst, c->dstl, val, len) < 0)
            return NULL;
        res = pq_lb_intern(q, &c->lb);
    }
    if (!res)
        return NULL;
    bool isnew;
    slot = pq_map_put(&c->cache, pq_ptrkey(m), &isnew);
    if (!slot)
        return NULL;
    *slot = pq_ptrkey(res);
    return res;
}

static int step_label(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step, pq_vec *out)
{
    lblctx *c = ctx;
    for (size_t i = 0; i < in[0].n; i++) {
        int rc;
        const pq_lset *m = transform(ev->q, c, in[0].s[i].m, &rc);
        if (!m)
            return rc < 0 && rc != -ENOMEM ? rc : pq_oom(ev->q);
        if (pq_vec_push(out, m, in[0].s[i].v, ts) < 0)
            return pq_oom(ev->q);
    }
    return 0;
}

static const promql_node *str_arg(const promql_node *n, size_t i)
{
    return pq_unparen(n->call.args[i]);
}

int pq_label_fn(pq_ev *ev, const promql_node *n, pq_val *args, pq_val *out)
{
    pq_query *q = ev->q;
    lblctx c = {.fn = n->call.func};
    int rc = 0;
    const promql_node *d = str_arg(n, 1);
    c.dst = d->string.value;
    c.dstl = d->string.len;
    if (c.fn == PROMQL_FN_LABEL_REPLACE) {
        const promql_node *r = str_arg(n, 2), *s = str_arg(n, 3), *re = str_arg(n, 4);
        c.repl = r->string.value;
        c.repll = r->string.len;
        c.src = s->string.value;
        c.srcl = s->string.len;
        char *pat = malloc(re->string.len + 8);
        char emsg[512];
        if (!pat)
            return pq_oom(q);
        memcpy(pat, "^(?:", 4);
        memcpy(pat + 4, re->string.value, re->string.len);
        memcpy(pat + 4 + re->string.len, ")$", 3);
        /* Go compiles the wrapped pattern; its errors quote that */
        rc = labels__re_translate(pat, re->string.len + 6, NULL, NULL, emsg, sizeof emsg);
        if (rc < 0) {
            free(pat);
            return rc == -ENOMEM ? pq_oom(q)
                                 : pq_errorf(q, -EINVAL, "invalid regular expression in label_replace(): %s", emsg);
        }
        int ec = PCRE2_ERROR_NOMEMORY;
        PCRE2_SIZE eo;
        pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
        if (cc)
            pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
        c.re = cc ? pcre2_compile((PCRE2_SPTR)pat, re->string.len + 6,
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                                  &ec, &eo, cc)
                  : NULL;
        if (cc)
            pcre2_compile_context_free(cc);
        free(pat);
        if (!c.re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(ec, msg, sizeof msg);
            return pq_errorf(q, -EINVAL, "invalid regular expression in label_replace(): %s", (char *)msg);
        }
        (void)pcre2_jit_compile(c.re, PCRE2_JIT_COMPLETE);
        c.md = pcre2_match_data_create_from_pattern(c.re, NULL);
        if (!c.md) {
            rc = pq_oom(q);
            goto done;
        }
        if (!labels_valid_name(c.dst, c.dstl)) {
            rc = pq_errorf(q, -EINVAL, "invalid destination label name in label_replace(): %.*s", (int)c.dstl, c.dst);
            goto done;
        }
    } else {
        const promql_node *sep = str_arg(n, 2);
        c.sep = sep->string.value;
        c.sepl = sep->string.len;
        if (!labels_valid_name(c.dst, c.dstl)) {
            rc = pq_errorf(q, -EINVAL, "invalid destination label name in label_join(): %.*s", (int)c.dstl, c.dst);
            goto done;
        }
        const promql_node **srcs = pq_arena_alloc(&q->arena, (n->call.n_args + 1) * sizeof *srcs);
        if (!srcs) {
            rc = pq_oom(q);
            goto done;
        }
        for (size_t i = 3; i < n->call.n_args; i++) {
            srcs[c.nsrcs] = str_arg(n, i);
            if (!labels_valid_name(srcs[c.nsrcs]->string.value, srcs[c.nsrcs]->string.len)) {
                rc = pq_errorf(q, -EINVAL, "invalid source label name in label_join(): %s",
                               srcs[c.nsrcs]->string.value);
                goto done;
            }
            c.nsrcs++;
        }
        c.srcs = srcs;
    }
    rc = pq_range_eval(ev, args, 1, step_label, &c, out);
done:
    if (c.md)
        pcre2_match_data_free(c.md);
    if (c.re)
        pcre2_code_free(c.re);
    pq_map_free(&c.cache);
    pq_lb_free(&c.lb);
    free(c.buf);
    return rc;
}
