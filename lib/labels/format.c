/* Printing label sets and values the way Prometheus does (Go %q quoting). */
#include <string.h>

#include "internal.h"
#include "labels/labels.h"

void labels__put(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
    if (*pos < len) {
        size_t room = len - *pos;
        memcpy(buf + *pos, s, n < room ? n : room);
    }
    *pos += n;
}

void labels__quote(char *buf, size_t len, size_t *pos, const char *v, size_t vlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)v;
    size_t i = 0;
    while (i < vlen) {
        size_t run = i;
        /* Copy runs of bytes that need no escaping in one go. */
        while (run < vlen && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            labels__put(buf, len, pos, v + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        char esc[12];
        size_t n = 0;
        if (c < 0x80) {
            esc[n++] = '\\';
            switch (c) {
            case '"': esc[n++] = '"'; break;
            case '\\': esc[n++] = '\\'; break;
            case '\a': esc[n++] = 'a'; break;
            case '\b': esc[n++] = 'b'; break;
            case '\f': esc[n++] = 'f'; break;
            case '\n': esc[n++] = 'n'; break;
            case '\r': esc[n++] = 'r'; break;
            case '\t': esc[n++] = 't'; break;
            case '\v': esc[n++] = 'v'; break;
            default:
                esc[n++] = 'x';
                esc[n++] = hex[c >> 4];
                esc[n++] = hex[c & 15];
            }
            labels__put(buf, len, pos, esc, n);
            i++;
            continue;
        }
        size_t k = labels__utf8_seq(p + i, vlen - i);
        if (k == 0) {
            /* Invalid UTF-8 byte: Go prints \x.. */
            esc[n++] = '\\';
            esc[n++] = 'x';
            esc[n++] = hex[c >> 4];
            esc[n++] = hex[c & 15];
            labels__put(buf, len, pos, esc, n);
            i++;
            continue;
        }
        if (k == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
            /* C1 control characters are not printable: \u0080..\u009f */
            unsigned cp = p[i + 1];
            esc[n++] = '\\';
            esc[n++] = 'u';
            esc[n++] = '0';
            esc[n++] = '0';
            esc[n++] = hex[cp >> 4];
            esc[n++] = hex[cp & 15];
            labels__put(buf, len, pos, esc, n);
        } else {
            labels__put(buf, len, pos, v + i, k);
        }
        i += k;
    }
}

static void finish(char *buf, size_t len, size_t pos)
{
    if (len)
        buf[pos < len ? pos : len - 1] = '\0';
}

size_t labels_format(const labels_label *ls, size_t n, char *buf, size_t len)
{
    size_t pos = 0, others = 0;
    const labels_label *name = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ls[i].name_len == 8 && memcmp(ls[i].name, "__name__", 8) == 0)
            name = &ls[i];
        else
            others++;
    }
    if (name)
        labels__put(buf, len, &pos, name->value, name->value_len);
    if (others || !name) {
        bool first = true;
        labels__put(buf, len, &pos, "{", 1);
        for (size_t i = 0; i < n; i++) {
            if (&ls[i] == name)
                continue;
            if (!first)
                labels__put(buf, len, &pos, ", ", 2);
            first = false;
            labels__put(buf, len, &pos, ls[i].name, ls[i].name_len);
            labels__put(buf, len, &pos, "=\"", 2);
            labels__quote(buf, len, &pos, ls[i].value, ls[i].value_len);
            labels__put(buf, len, &pos, "\"", 1);
        }
        labels__put(buf, len, &pos, "}", 1);
    }
    finish(buf, len, pos);
    return pos;
}
