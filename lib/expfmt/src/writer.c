/* Text format writer with Go-identical number rendering. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <expfmt/writer.h>

/* Appends into dst[0..cap) at *pos, always counting the full length. */
typedef struct {
    char *dst;
    size_t cap;
    size_t pos;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->pos < o->cap) {
        size_t room = o->cap - o->pos;
        memcpy(o->dst + o->pos, s, n < room ? n : room);
    }
    o->pos += n;
}

static void put_c(out_t *o, char c)
{
    put(o, &c, 1);
}

static size_t finish(out_t *o)
{
    if (o->cap)
        o->dst[o->pos < o->cap ? o->pos : o->cap - 1] = '\0';
    return o->pos;
}

size_t expfmt_format_value(char *dst, size_t cap, double v)
{
    char buf[40];
    size_t n;
    if (isnan(v)) {
        n = (size_t)snprintf(buf, sizeof(buf), "NaN");
    } else if (isinf(v)) {
        n = (size_t)snprintf(buf, sizeof(buf), v > 0 ? "+Inf" : "-Inf");
    } else if (v == 0) {
        n = (size_t)snprintf(buf, sizeof(buf), signbit(v) ? "-0" : "0");
    } else {
        /* Shortest round-trip digits and decimal exponent. Integers below
         * 2^53 are exact in %lld; otherwise the correctly rounded 15-digit
         * form, stripped of trailing zeros, is the shortest whenever some
         * form of <= 15 digits round-trips (a normal double is within 2^-53
         * of it, well inside half a unit of the 15th digit); else 16, else
         * 17 digits. */
        char e[40], digits[24];
        size_t nd = 0;
        int exp;
        bool neg = v < 0;
        double a = neg ? -v : v;
        if (a < 9007199254740992.0 && a == (double)(long long)a) {
            int l = snprintf(e, sizeof(e), "%lld", (long long)a);
            memcpy(digits, e, (size_t)l);
            nd = (size_t)l;
            exp = l - 1;
        } else {
            /* Subnormals carry fewer digits: search from 1 digit up. */
            for (int prec = a < 2.2250738585072014e-308 ? 0 : 14; prec <= 16; prec++) {
                snprintf(e, sizeof(e), "%.*e", prec, v);
                if (prec == 16 || strtod(e, NULL) == v)
                    break;
            }
            /* e = [-]d.ddde[+-]XX */
            const char *q = e + (neg ? 1 : 0);
            for (; *q != 'e'; q++)
                if (*q != '.')
                    digits[nd++] = *q;
            exp = atoi(q + 1);
        }
        while (nd > 1 && digits[nd - 1] == '0')
            nd--;
        out_t o = {buf, sizeof(buf), 0};
        if (neg)
            put_c(&o, '-');
        if (exp < -4 || exp >= 6) {   /* Go: shortest precision uses eprec 6 */
            /* %e: d[.ddd]e±XX (at least two exponent digits) */
            put_c(&o, digits[0]);
            if (nd > 1) {
                put_c(&o, '.');
                put(&o, digits + 1, nd - 1);
            }
            char x[8];
            int xl = snprintf(x, sizeof(x), "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
            put(&o, x, (size_t)xl);
        } else if (exp < 0) {
            put(&o, "0.", 2);
            for (int k = 0; k < -exp - 1; k++)
                put_c(&o, '0');
            put(&o, digits, nd);
        } else {
            size_t dp = (size_t)exp + 1;   /* digits before the point */
            if (nd <= dp) {
                put(&o, digits, nd);
                for (size_t k = nd; k < dp; k++)
                    put_c(&o, '0');
            } else {
                put(&o, digits, dp);
                put_c(&o, '.');
                put(&o, digits + dp, nd - dp);
            }
        }
        n = o.pos;
        buf[n] = '\0';
    }
    out_t o = {dst, cap, 0};
    put(&o, buf, n);
    return finish(&o);
}

static bool legacy(const char *s, size_t n, bool metric)
{
    if (n == 0)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (metric && c == ':') || (k > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static void put_escaped(out_t *o, const char *s, size_t n, bool quote)
{
    size_t run = 0;
    for (size_t k = 0; k < n; k++) {
        const char *rep = NULL;
        if (s[k] == '\\')
            rep = "\\\\";
        else if (s[k] == '\n')
            rep = "\\n";
        else if (quote && s[k] == '"')
            rep = "\\\"";
        if (rep) {
            put(o, s + run, k - run);
            put(o, rep, 2);
            run = k + 1;
        }
    }
    put(o, s + run, n - run);
}

static void put_quoted(out_t *o, const char *s, size_t n)
{
    put_c(o, '"');
    put_escaped(o, s, n, true);
    put_c(o, '"');
}

size_t expfmt_format_sample(char *dst, size_t cap, const char *name, size_t name_len,
                            const expfmt_label *labels, size_t label_count, double value,
                            const int64_t *timestamp_ms)
{
    out_t o = {dst, cap, 0};
    bool quoted_name = !legacy(name, name_len, true);
    if (!quoted_name)
        put(&o, name, name_len);
    if (label_count || quoted_name) {
        put_c(&o, '{');
        if (quoted_name) {
            put_quoted(&o, name, name_len);
            if (label_count)
                put_c(&o, ',');
        }
        for (size_t k = 0; k < label_count; k++) {
            if (k)
                put_c(&o, ',');
            if (legacy(labels[k].name, labels[k].name_len, false))
                put(&o, labels[k].name, labels[k].name_len);
            else
                put_quoted(&o, labels[k].name, labels[k].name_len);
            put(&o, "=\"", 2);
            put_escaped(&o, labels[k].value, labels[k].value_len, true);
            put_c(&o, '"');
        }
        put_c(&o, '}');
    }
    put_c(&o, ' ');
    char v[EXPFMT_VALUE_MAX];
    put(&o, v, expfmt_format_value(v, sizeof(v), value));
    if (timestamp_ms) {
        char t[24];
        int tl = snprintf(t, sizeof(t), " %lld", (long long)*timestamp_ms);
        put(&o, t, (size_t)tl);
    }
    put_c(&o, '\n');
    return finish(&o);
}

static void put_name(out_t *o, const char *name, size_t name_len)
{
    if (legacy(name, name_len, true))
        put(o, name, name_len);
    else
        put_quoted(o, name, name_len);
}

size_t expfmt_format_help(char *dst, size_t cap, const char *name, size_t name_len,
                          const char *help, size_t help_len)
{
    out_t o = {dst, cap, 0};
    put(&o, "# HELP ", 7);
    put_name(&o, name, name_len);
    put_c(&o, ' ');
    put_escaped(&o, help, help_len, false);
    put_c(&o, '\n');
    return finish(&o);
}

size_t expfmt_format_type(char *dst, size_t cap, const char *name, size_t name_len,
                          expfmt_type type)
{
    out_t o = {dst, cap, 0};
    const char *t = expfmt_type_str(type);
    put(&o, "# TYPE ", 7);
    put_name(&o, name, name_len);
    put_c(&o, ' ');
    put(&o, t, strlen(t));
    put_c(&o, '\n');
    return finish(&o);
}
