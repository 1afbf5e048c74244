/* Go-compatible formatting (see gofmt.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gofmt.h"

char *gofmt_g(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return buf;
    }
    if (v == 0) {
        snprintf(buf, len, signbit(v) ? "-0" : "0");
        return buf;
    }
    /* Shortest digit count p that round-trips, as strconv's shortest mode. */
    char e[64];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    if (p > 17)
        p = 17;
    const char *x = strchr(e, 'e');
    int exp = x ? atoi(x + 1) : 0;
    if (exp < -4 || exp >= 6) {
        snprintf(buf, len, "%.*e", p - 1, v); /* C also writes >= 2 exponent digits */
    } else {
        int decimals = p - 1 - exp;
        snprintf(buf, len, "%.*f", decimals > 0 ? decimals : 0, v);
    }
    return buf;
}

/* strconv.Quote: printable UTF-8 kept, \a\b\f\n\r\t\v \\ \" escaped, other
 * control bytes as \x.., invalid UTF-8 bytes as \x... */
static void quote(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); continue;
        case '\\': fputs("\\\\", f); continue;
        case '\a': fputs("\\a", f); continue;
        case '\b': fputs("\\b", f); continue;
        case '\f': fputs("\\f", f); continue;
        case '\n': fputs("\\n", f); continue;
        case '\r': fputs("\\r", f); continue;
        case '\t': fputs("\\t", f); continue;
        case '\v': fputs("\\v", f); continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\x%02x", c);
        } else if (c < 0x80) {
            fputc(c, f);
        } else {
            /* a whole valid UTF-8 sequence is printed as is */
            size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (k > 1 && i + k <= n && labels_valid_utf8(s + i, k)) {
                fwrite(s + i, 1, k, f);
                i += k - 1;
            } else {
                fprintf(f, "\\x%02x", c);
            }
        }
    }
    fputc('"', f);
}

void gofmt_labels(FILE *f, const labels_label *ls, size_t n)
{
    fputc('{', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        fwrite(ls[i].name, 1, ls[i].name_len, f);
        fputc('=', f);
        quote(f, ls[i].value, ls[i].value_len);
    }
    fputc('}', f);
}
