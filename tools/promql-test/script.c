/* Test-script parser (see ../shared/conformance/promql/README.md). */
#include "script.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql/parse.h"
#include "promql/promql.h"

typedef struct line {
    const char *s;
    size_t n;
} line;

static int fail(char *err, size_t errlen, int ln, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%d: %s", ln, msg);
    return -1;
}

static void lset_free(lset *l)
{
    free(l->l);
    l->l = NULL;
    l->n = 0;
}

void script_free(script *s)
{
    for (size_t i = 0; i < s->ncmds; i++) {
        cmd *c = &s->cmds[i];
        for (size_t j = 0; j < c->nseries; j++) {
            lset_free(&c->series[j].ls);
            free(c->series[j].vals);
            free(c->series[j].present);
        }
        free(c->series);
        for (size_t j = 0; j < c->nexp; j++)
            lset_free(&c->exp[j].ls);
        free(c->exp);
        free(c->expr_text);
        promql_node_free(c->expr);
    }
    free(s->cmds);
    memset(s, 0, sizeof *s);
}

/* Go strconv.ParseInt(s, 0, 64) on an unsigned digit string: a leading 0
 * means octal. Returns false when Go would reject it (then ParseFloat
 * decides, e.g. "09" is 9) or on overflow (ParseFloat again: huge integers
 * load as doubles). */
static bool go_octal(const char *s, size_t n, double *out)
{
    if (n < 2 || s[0] != '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '7' || v > (UINT64_MAX >> 3))
            return false;
        v = v * 8 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX)
        return false;
    *out = (double)v;
    return true;
}

/* Number as in a series value: [+-] (inf|nan|decimal float). Returns chars used. */
static size_t scan_number(const char *s, size_t n, double *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (n - i >= 3 && strncasecmp(s + i, "inf", 3) == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return i + 3;
    }
    if (n - i >= 3 && strncasecmp(s + i, "nan", 3) == 0) {
        *out = NAN;
        return i + 3;
    }
    size_t st = i, digits = 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && isdigit((unsigned char)s[j])) {
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    char buf[128];
    size_t len = i - st;
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, s + st, len);
    buf[len] = 0;
    double v;
    if (!go_octal(buf, len, &v))
        v = strtod(buf, NULL);
    *out = neg ? -v : v;
    return i;
}

static size_t scan_uint(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < n && isdigit((unsigned char)s[i])) {
        v = v * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    *out = v;
    return i;
}

typedef struct vals {
    double *v;
    bool *p;
    size_t n, cap;
} vals;

static int vals_push(vals *vs, double v, bool present)
{
    if (vs->n == vs->cap) {
        size_t nc = vs->cap ? vs->cap * 2 : 16;
        double *nv = realloc(vs->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        vs->v = nv;
        bool *np = realloc(vs->p, nc * sizeof *np);
        if (!np)
            return -1;
        vs->p = np;
        vs->cap = nc;
    }
    vs->v[vs->n] = v;
    vs->p[vs->n] = present;
    vs->n++;
    return 0;
}

/* Parses one value item (no spaces inside). */
static int parse_item(const char *s, size_t n, vals *vs)
{
    if (n == 1 && s[0] == '_')
        return vals_push(vs, 0, false);
    if (n >= 2 && s[0] == '_' && s[1] == 'x') {
        uint64_t k;
        if (scan_uint(s + 2, n - 2, &k) != n - 2 || n == 2 || k > 10000000)
            return -1;
        for (uint64_t i = 0; i < k; i++)
            if (vals_push(vs, 0, false) < 0)
                return -1;
        return 0;
    }
    if (n == 5 && strncmp(s, "stale", 5) == 0)
        return vals_push(vs, promql_stale_nan(), true);
    double a;
    size_t i = scan_number(s, n, &a);
    if (!i)
        return -1;
    if (i == n)
        return vals_push(vs, a, true);
    double b = 0;
    if (s[i] == '+' || s[i] == '-') {
        bool neg = s[i] == '-';
        size_t j = scan_number(s + i + 1, n - i - 1, &b);
        if (!j)
            return -1;
        if (neg)
            b = -b;
        i += 1 + j;
    }
    if (i >= n || s[i] != 'x')
        return -1;
    uint64_t k;
    size_t j = scan_uint(s + i + 1, n - i - 1, &k);
    if (!j || i + 1 + j != n || k > 10000000)
        return -1;
    double cur = a;
    for (uint64_t t = 0; t <= k; t++) {
        if (vals_push(vs, cur, true) < 0)
            return -1;
        cur += b; /* repeated float addition, as upstream */
    }
    return 0;
}

/* Parses `metric values...` into ls and vals. Values in native-histogram
 * notation (`{{...}}`, which may contain spaces) are not parsed: *native is
 * set and vals stays empty. */
static int parse_series_line(const char *s, size_t n, lset *ls, vals *vs, bool *native, char *emsg,
                             size_t elen)
{
    *native = false;
    promql_series_desc d = {0};
    promql_parse_error perr;
    size_t used = 0;
    if (promql_parse_series_desc(s, n, &d, &used, &perr) < 0) {
        snprintf(emsg, elen, "%s", perr.text[0] ? perr.text : perr.msg);
        return -1;
    }
    size_t nl = d.n_labels + (d.name ? 1 : 0);
    labels_label *tmp = calloc(nl ? nl : 1, sizeof *tmp);
    if (!tmp) {
        promql_series_desc_free(&d);
        return -1;
    }
    size_t k = 0;
    if (d.name)
        tmp[k++] = labels_make("__name__", d.name);
    for (size_t i = 0; i < d.n_labels; i++) {
        if (d.labels[i].value_len == 0)
            continue; /* empty values are dropped on append */
        tmp[k].name = d.labels[i].name;
        tmp[k].name_len = (uint32_t)strlen(d.labels[i].name);
        tmp[k].value = d.labels[i].value;
        tmp[k].value_len = (uint32_t)d.labels[i].value_len;
        k++;
    }
    labels_sort(tmp, k);
    ls->l = labels_copy(tmp, k);
    ls->n = k;
    free(tmp);
    promql_series_desc_free(&d);
    if (!ls->l)
        return -1;
    size_t i = used;
    for (size_t j = used; j + 1 < n; j++)
        if (s[j] == '{' && s[j + 1] == '{') {
            *native = true;
            return 0;
        }
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        size_t st = i;
        while (i < n && !isspace((unsigned char)s[i]))
            i++;
        if (parse_item(s + st, i - st, vs) < 0) {
            snprintf(emsg, elen, "invalid value %.*s", (int)(i - st), s + st);
            lset_free(ls);
            return -1;
        }
    }
    return 0;
}

/* Go ParseInt(s, 0, 64) (0x, 0o, 0b prefixes, leading-0 octal, _ between
 * digits) on the whole line; false when Go would reject it. */
static bool go_parse_int(const char *s, double *out)
{
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    int base = 10;
    bool prefixed = false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
        prefixed = true;
    } else if (s[0] == '0' && s[1]) {
        base = 8;
        s++;
    }
    if (!*s)
        return false;
    uint64_t v = 0;
    bool last_us = prefixed; /* "0x_1" is fine, "1__2" and "1_" are not */
    size_t nd = 0;
    for (; *s; s++) {
        if (*s == '_') {
            if (last_us && !(prefixed && nd == 0))
                return false;
            last_us = true;
            continue;
        }
        int d = isdigit((unsigned char)*s) ? *s - '0' : isalpha((unsigned char)*s) ? tolower((unsigned char)*s) - 'a' + 10 : 99;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
        last_us = false;
        nd++;
    }
    if (last_us || nd == 0 || v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return false;
    *out = neg ? -(double)v : (double)v;
    return true;
}

/* Go parseNumber of the test harness: ParseInt(s, 0, 64), else
 * ParseFloat(s, 64), on the whole line. */
static bool parse_plain_number(const char *s, size_t n, double *out)
{
    if (n == 0 || n > 200)
        return false;
    char buf[256];
    memcpy(buf, s, n);
    buf[n] = 0;
    if (go_parse_int(buf, out))
        return true;
    const char *p = buf;
    if (*p == '+' || *p == '-')
        p++;
    if (strncasecmp(p, "nan", 3) == 0 && p[3] == 0) {
        *out = NAN;
        return true;
    }
    if (strncasecmp(p, "inf", 3) == 0 && (p[3] == 0 || strcasecmp(p, "infinity") == 0)) {
        *out = buf[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (!isdigit((unsigned char)*p) && *p != '.')
        return false;
    if (strchr(buf, '_'))
        return false; /* Go's ParseFloat allows _ only with a base prefix; rare: reject */
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != 0)
        return false;
    *out = v;
    return true;
}

static int push_cmd(script *s, cmd **out)
{
    cmd *nc = realloc(s->cmds, (s->ncmds + 1) * sizeof *nc);
    if (!nc)
        return -1;
    s->cmds = nc;
    *out = &s->cmds[s->ncmds++];
    memset(*out, 0, sizeof **out);
    return 0;
}

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && isspace((unsigned char)*p))
        p++;
    return p;
}

static const char *word_end(const char *p, const char *e)
{
    while (p < e && !isspace((unsigned char)*p))
        p++;
    return p;
}

int script_parse(const char *text, size_t len, script *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t nlines = 1;
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    line *ls = calloc(nlines, sizeof *ls);
    if (!ls)
        return fail(err, errlen, 0, "out of memory");
    size_t li = 0, st = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            const char *a = text + st, *b = text + i;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (b > a && *a == '#')
                b = a;
            ls[li].s = a;
            ls[li].n = (size_t)(b - a);
            li++;
            st = i + 1;
        }
    }
    int rc = 0;
    char emsg[600];
    for (size_t i = 0; i < nlines && rc == 0; i++) {
        if (ls[i].n == 0)
            continue;
        const char *p = ls[i].s, *e = ls[i].s + ls[i].n;
        const char *we = word_end(p, e);
        char word[32];
        size_t wl = (size_t)(we - p) < sizeof word - 1 ? (size_t)(we - p) : sizeof word - 1;
        for (size_t k = 0; k < wl; k++)
            word[k] = (char)tolower((unsigned char)p[k]);
        word[wl] = 0;
        int ln = (int)i + 1;
        cmd *c;
        if (strcmp(word, "clear") == 0) {
            if (push_cmd(out, &c) < 0) {
                rc = fail(err, errlen, ln, "out of memory");
                break;
            }
            c->kind = CMD_CLEAR;
            c->line = ln;
            continue;
        }
        if (strcmp(word, "load") == 0) {
            const char *d = skip_ws(we, e);
            const char *de = word_end(d, e);
            int64_t iv;
            if (de == d || skip_ws(de, e) != e ||
                promql_parse_duration(d, (size_t)(de - d), &iv, emsg, sizeof emsg) < 0) {
                rc = fail(err, errlen, ln, "invalid load command: %.*s", (int)ls[i].n, ls[i].s);
                break;
            }
            if (push_cmd(out, &c) < 0) {
                rc = fail(err, errlen, ln, "out of memory");
                break;
            }
            c->kind = CMD_LOAD;
            c->line = ln;
            c->interval = iv;
            while (i + 1 < nlines && ls[i + 1].n) {
                i++;
                lset l = {0};
                vals vs = {0};
                bool native;
                if (parse_series_line(ls[i].s, ls[i].n, &l, &vs, &native, emsg, sizeof emsg) < 0) {
                    free(vs.v);
                    free(vs.p);
                    rc = fail(err, errlen, (int)i + 1, "%s", emsg);
                    break;
                }
                /* the same label set later in the block replaces the earlier one */
                size_t k;
                for (k = 0; k < c->nseries; k++)
                    if (labels_equal(c->series[k].ls.l, c->series[k].ls.n, l.l, l.n))
                        break;
                if (k == c->nseries) {
                    load_series *ns = realloc(c->series, (c->nseries + 1) * sizeof *ns);
                    if (!ns) {
                        lset_free(&l);
                        free(vs.v);
                        free(vs.p);
                        rc = fail(err, errlen, ln, "out of memory");
                        break;
                    }
                    c->series = ns;
                    c->nseries++;
                } else {
                    lset_free(&c->series[k].ls);
                    free(c->series[k].vals);
                    free(c->series[k].present);
                }
                c->series[k] = (load_series){l, vs.v, vs.p, vs.n, native};
            }
            continue;
        }
        if (strncmp(word, "eval", 4) != 0) {
            rc = fail(err, errlen, ln, "invalid command %.*s", (int)ls[i].n, ls[i].s);
            break;
        }
        /* eval[_fail|_ordered] instant at <dur> <expr> (case-sensitive) */
        bool fl = false, ord = false;
        const char *q = p + 4;
        if ((size_t)(e - q) >= 5 && strncmp(q, "_fail", 5) == 0) {
            fl = true;
            q += 5;
        } else if ((size_t)(e - q) >= 8 && strncmp(q, "_ordered", 8) == 0) {
            ord = true;
            q += 8;
        }
        const char *r = skip_ws(q, e);
        const char *re = word_end(r, e);
        const char *a = skip_ws(re, e), *ae = word_end(a, e);
        const char *d = skip_ws(ae, e), *de = word_end(d, e);
        const char *x = skip_ws(de, e);
        int64_t at;
        if (r == q || (size_t)(re - r) != 7 || strncmp(r, "instant", 7) != 0 || (size_t)(ae - a) != 2 ||
            strncmp(a, "at", 2) != 0 || de == d || x == e ||
            promql_parse_duration(d, (size_t)(de - d), &at, emsg, sizeof emsg) < 0) {
            rc = fail(err, errlen, ln, "invalid evaluation command: %.*s", (int)ls[i].n, ls[i].s);
            break;
        }
        if (push_cmd(out, &c) < 0) {
            rc = fail(err, errlen, ln, "out of memory");
            break;
        }
        c->kind = CMD_EVAL;
        c->line = ln;
        c->fail = fl;
        c->ordered = ord;
        c->at = at;
        c->expr_text = strndup(x, (size_t)(e - x));
        promql_parse_error perr;
        if (!c->expr_text || promql_parse(x, (size_t)(e - x), &c->expr, &perr) < 0) {
            rc = fail(err, errlen, ln, "could not parse expression %s: %s", c->expr_text ? c->expr_text : "",
                      perr.text);
            break;
        }
        for (int j = 1; i + 1 < nlines && ls[i + 1].n; j++) {
            i++;
            double v;
            if (parse_plain_number(ls[i].s, ls[i].n, &v)) {
                c->scalar_expected = true;
                c->scalar = v;
                break;
            }
            lset l = {0};
            vals vs = {0};
            bool native;
            if (parse_series_line(ls[i].s, ls[i].n, &l, &vs, &native, emsg, sizeof emsg) < 0) {
                free(vs.v);
                free(vs.p);
                rc = fail(err, errlen, (int)i + 1, "%s", emsg);
                break;
            }
            if (native) {
                /* a histogram result: the eval is skipped, the line not kept */
                c->native_expected = true;
                lset_free(&l);
                continue;
            }
            if (vs.n != 1) {
                lset_free(&l);
                free(vs.v);
                free(vs.p);
                rc = fail(err, errlen, (int)i + 1, "expecting multiple values in instant evaluation not allowed");
                break;
            }
            double val = vs.v[0];
            free(vs.v);
            free(vs.p);
            size_t k;
            for (k = 0; k < c->nexp; k++)
                if (labels_equal(c->exp[k].ls.l, c->exp[k].ls.n, l.l, l.n))
                    break;
            if (k == c->nexp) {
                expect *ne = realloc(c->exp, (c->nexp + 1) * sizeof *ne);
                if (!ne) {
                    lset_free(&l);
                    rc = fail(err, errlen, ln, "out of memory");
                    break;
                }
                c->exp = ne;
                c->nexp++;
            } else {
                lset_free(&c->exp[k].ls);
            }
            c->exp[k] = (expect){l, val, j};
        }
    }
    free(ls);
    if (rc < 0)
        script_free(out);
    return rc;
}
