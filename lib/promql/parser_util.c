/* Small helpers for the PromQL parser and printer: a growable buffer, Go
 * compatible quoting and float formatting (error texts and printed queries
 * must look like Prometheus' own), UTF-8 and number parsing. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

static bool buf_reserve(pqp_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void pqp_buf_add(pqp_buf *b, const char *s, size_t n)
{
    if (b->limit && b->len > b->limit)
        return;
    if (!buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void pqp_buf_adds(pqp_buf *b, const char *s)
{
    pqp_buf_add(b, s, strlen(s));
}

void pqp_buf_addc(pqp_buf *b, char c)
{
    pqp_buf_add(b, &c, 1);
}

void pqp_buf_printf(pqp_buf *b, const char *fmt, ...)
{
    if (b->limit && b->len > b->limit)
        return;
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        pqp_buf_add(b, tmp, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

uint32_t pqp_utf8_decode(const unsigned char *s, size_t n, size_t *width)
{
    *width = n ? 1 : 0;
    if (n == 0)
        return 0xFFFD;
    unsigned c = s[0];
    if (c < 0x80)
        return c;
    size_t need;
    uint32_t r, min;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        r = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        r = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        r = c & 0x07;
        min = 0x10000;
    } else {
        return 0xFFFD;
    }
    if (n < need + 1)
        return 0xFFFD;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        return 0xFFFD;
    *width = need + 1;
    return r;
}

void pqp_buf_utf8(pqp_buf *b, uint32_t r)
{
    char o[4];
    if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        r = 0xFFFD;
    if (r < 0x80) {
        o[0] = (char)r;
        pqp_buf_add(b, o, 1);
    } else if (r < 0x800) {
        o[0] = (char)(0xC0 | (r >> 6));
        o[1] = (char)(0x80 | (r & 0x3F));
        pqp_buf_add(b, o, 2);
    } else if (r < 0x10000) {
        o[0] = (char)(0xE0 | (r >> 12));
        o[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        o[2] = (char)(0x80 | (r & 0x3F));
        pqp_buf_add(b, o, 3);
    } else {
        o[0] = (char)(0xF0 | (r >> 18));
        o[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        o[3] = (char)(0x80 | (r & 0x3F));
        pqp_buf_add(b, o, 4);
    }
}

static void quote_rune_body(pqp_buf *b, uint32_t r, size_t width, const unsigned char *raw,
                            char quote)
{
    if (r == 0xFFFD && width == 1) {
        pqp_buf_printf(b, "\\x%02x", raw[0]);
        return;
    }
    if (r == (uint32_t)(unsigned char)quote || r == '\\') {
        pqp_buf_addc(b, '\\');
        pqp_buf_addc(b, (char)r);
        return;
    }
    if (pqp_rune_printable(r)) {
        pqp_buf_utf8(b, r);
        return;
    }
    switch (r) {
    case '\a': pqp_buf_adds(b, "\\a"); return;
    case '\b': pqp_buf_adds(b, "\\b"); return;
    case '\f': pqp_buf_adds(b, "\\f"); return;
    case '\n': pqp_buf_adds(b, "\\n"); return;
    case '\r': pqp_buf_adds(b, "\\r"); return;
    case '\t': pqp_buf_adds(b, "\\t"); return;
    case '\v': pqp_buf_adds(b, "\\v"); return;
    default: break;
    }
    if (r < ' ' || r == 0x7F)
        pqp_buf_printf(b, "\\x%02x", (unsigned)r);
    else if (r < 0x10000)
        pqp_buf_printf(b, "\\u%04x", (unsigned)r);
    else
        pqp_buf_printf(b, "\\U%08x", (unsigned)r);
}

void pqp_buf_go_quote(pqp_buf *b, const char *s, size_t n, int max_runes)
{
    const unsigned char *u = (const unsigned char *)s;
    pqp_buf_addc(b, '"');
    int runes = 0;
    for (size_t i = 0; i < n;) {
        if (max_runes > 0 && runes >= max_runes)
            break;
        size_t w;
        uint32_t r = pqp_utf8_decode(u + i, n - i, &w);
        quote_rune_body(b, r, w, u + i, '"');
        i += w;
        runes++;
    }
    pqp_buf_addc(b, '"');
}

void pqp_buf_go_quote_rune(pqp_buf *b, uint32_t r)
{
    pqp_buf_addc(b, '\'');
    unsigned char dummy = 0;
    if (r == 0xFFFD)
        pqp_buf_utf8(b, r);
    else
        quote_rune_body(b, r, 2, &dummy, '\'');
    pqp_buf_addc(b, '\'');
}

/* Shortest digits that round-trip: returns the number of significant
 * digits in digs (no dot) and the decimal exponent (value = 0.d1d2.. * 10^dp). */
static int shortest_digits(double v, char *digs, int *dp)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17)
            break;
    }
    /* tmp: d[.ddd]e[+-]XX */
    int nd = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digs[nd++] = *p;
    int e = atoi(p + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    digs[nd] = '\0';
    *dp = e + 1;
    return nd;
}

void pqp_buf_go_float(pqp_buf *b, double v)
{
    if (isnan(v)) {
        pqp_buf_adds(b, "NaN");
        return;
    }
    if (isinf(v)) {
        pqp_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        pqp_buf_adds(b, signbit(v) ? "-0" : "0");
        return;
    }
    if (v < 0) {
        pqp_buf_addc(b, '-');
        v = -v;
    }
    char digs[40];
    int dp;
    int nd = shortest_digits(v, digs, &dp);
    int exp = dp - 1;
    if (exp < -4 || exp >= 6) {
        /* %e: d.ddde±XX */
        pqp_buf_addc(b, digs[0]);
        if (nd > 1) {
            pqp_buf_addc(b, '.');
            pqp_buf_add(b, digs + 1, (size_t)nd - 1);
        }
        pqp_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    /* %f */
    if (dp <= 0) {
        pqp_buf_adds(b, "0.");
        for (int i = 0; i < -dp; i++)
            pqp_buf_addc(b, '0');
        pqp_buf_add(b, digs, (size_t)nd);
    } else if (dp >= nd) {
        pqp_buf_add(b, digs, (size_t)nd);
        for (int i = nd; i < dp; i++)
            pqp_buf_addc(b, '0');
    } else {
        pqp_buf_add(b, digs, (size_t)dp);
        pqp_buf_addc(b, '.');
        pqp_buf_add(b, digs + dp, (size_t)(nd - dp));
    }
}

void pqp_buf_go_float_f(pqp_buf *b, double v)
{
    if (isnan(v))
        pqp_buf_adds(b, "NaN");
    else if (isinf(v))
        pqp_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
    else
        pqp_buf_printf(b, "%f", v);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* strconv.ParseInt(s, 0, 64) restricted to what the lexer can produce
 * (digits, '.', exponents, 0x prefixes). Returns 0 on success. */
static int go_parse_int0(const char *s, size_t n, int64_t *out)
{
    int base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    } else if (n >= 2 && s[0] == '0') {
        base = 8;
        i = 1;
    }
    if (i >= n)
        return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = hexval((unsigned char)s[i]);
        if (d < 0 || d >= base)
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return -1;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (v > INT64_MAX)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int pqp_parse_number(const char *s, size_t n, double *out, char *err, size_t errlen)
{
    int64_t iv;
    if (go_parse_int0(s, n, &iv) == 0) {
        *out = (double)iv;
        return 0;
    }
    char tmp[64];
    pqp_buf q = {0};
    bool ok = false, range = false;
    /* Go's ParseFloat: decimal with optional exponent, inf/infinity/nan in any
     * case; hex mantissas need a 'p' exponent, which the lexer never lets
     * through, so any 0x form that is not an int is a syntax error. */
    bool hex = n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (!hex && n < sizeof tmp) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (!strcasecmp(tmp, "inf") || !strcasecmp(tmp, "+inf") ||
            !strcasecmp(tmp, "infinity")) {
            *out = INFINITY;
            return 0;
        }
        if (!strcasecmp(tmp, "nan")) {
            *out = NAN;
            return 0;
        }
        bool syntax = n > 0;
        size_t i = 0, digits = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
        if (i < n && s[i] == '.')
            for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                digits++;
        if (digits == 0)
            syntax = false;
        if (syntax && i < n && (s[i] == 'e' || s[i] == 'E')) {
            i++;
            if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
            size_t ed = 0;
            for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                ed++;
            if (ed == 0)
                syntax = false;
        }
        if (i != n)
            syntax = false;
        if (syntax) {
            errno = 0;
            double v = strtod(tmp, NULL);
            if (isinf(v)) {
                range = true;
            } else {
                *out = v;
                ok = true;
            }
        }
    } else if (!hex) {
        /* Very long literals: only digits and dots can get here; strtod
         * still parses them, but Go reports them as out of range when they
         * overflow. */
        char *dup = strndup(s, n);
        if (dup) {
            char *end;
            double v = strtod(dup, &end);
            if ((size_t)(end - dup) == n) {
                if (isinf(v))
                    range = true;
                else {
                    *out = v;
                    ok = true;
                }
            }
            free(dup);
        }
    }
    if (ok)
        return 0;
    pqp_buf_adds(&q, "error parsing number: strconv.ParseFloat: parsing ");
    pqp_buf_go_quote(&q, s, n, 0);
    pqp_buf_adds(&q, range ? ": value out of range" : ": invalid syntax");
    snprintf(err, errlen, "%s", q.oom || !q.s ? "error parsing number" : q.s);
    free(q.s);
    return -1;
}
