/* Printing label sets and values the way Prometheus does (Go %q quoting). */
#include <stdio.h>
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

static uint32_t decode(const unsigned char *s, size_t k)
{
    if (k == 2)
        return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
    if (k == 3)
        return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
           ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

/* Non-ASCII code points Go's strconv.IsPrint rejects, so %q escapes them:
 * controls, format characters, separators other than ' ', private use and
 * noncharacters. (Unassigned code points, also escaped by Go, would need
 * Unicode tables; they are printed as is.) */
static bool go_printable(uint32_t c)
{
    static const uint32_t bad[][2] = {
        { 0x80, 0xa0 },       { 0xad, 0xad },       { 0x600, 0x605 },     { 0x61c, 0x61c },
        { 0x6dd, 0x6dd },     { 0x70f, 0x70f },     { 0x890, 0x891 },     { 0x8e2, 0x8e2 },
        { 0x1680, 0x1680 },   { 0x180e, 0x180e },   { 0x2000, 0x200f },   { 0x2028, 0x202f },
        { 0x205f, 0x2064 },   { 0x2066, 0x206f },   { 0x3000, 0x3000 },   { 0xe000, 0xf8ff },
        { 0xfeff, 0xfeff },   { 0xfff9, 0xfffb },   { 0xfffe, 0xffff },   { 0x110bd, 0x110bd },
        { 0x110cd, 0x110cd }, { 0x13430, 0x1343f }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
        { 0xe0001, 0xe0001 }, { 0xe0020, 0xe007f }, { 0xf0000, 0x10ffff },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (c >= bad[i][0] && c <= bad[i][1])
            return false;
    return (c & 0xfffe) != 0xfffe; /* U+xFFFE, U+xFFFF */
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
        uint32_t cp = decode(p + i, k);
        if (!go_printable(cp)) {
            int n2 = cp < 0x10000 ? snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp)
                                  : snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)cp);
            labels__put(buf, len, pos, esc, (size_t)n2);
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
