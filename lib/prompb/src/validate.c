/* Label-rule validation of decoded write requests, one series at a time, so
 * a receiver can reject bad series and keep the good ones. Pure. */
#include <errno.h>
#include <stdio.h>
#include "write_internal.h"

/* Character classes for the legacy name checks (one table lookup a byte). */
enum { C_FIRST = 1, C_REST = 2, C_MFIRST = 4, C_MREST = 8 };
static const uint8_t cls[256] = {
#define R(c) [c] = C_FIRST | C_REST | C_MFIRST | C_MREST
    R('_'), R('a'), R('b'), R('c'), R('d'), R('e'), R('f'), R('g'), R('h'), R('i'), R('j'),
    R('k'), R('l'), R('m'), R('n'), R('o'), R('p'), R('q'), R('r'), R('s'), R('t'), R('u'),
    R('v'), R('w'), R('x'), R('y'), R('z'), R('A'), R('B'), R('C'), R('D'), R('E'), R('F'),
    R('G'), R('H'), R('I'), R('J'), R('K'), R('L'), R('M'), R('N'), R('O'), R('P'), R('Q'),
    R('R'), R('S'), R('T'), R('U'), R('V'), R('W'), R('X'), R('Y'), R('Z'),
#undef R
#define D(c) [c] = C_REST | C_MREST
    D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'),
#undef D
    [':'] = C_MFIRST | C_MREST,
};

static bool name_chars(const char *s, size_t n, uint8_t first, uint8_t rest)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0 || !(cls[u[0]] & first))
        return false;
    uint8_t acc = rest;
    for (size_t i = 1; i < n; i++)
        acc &= cls[u[i]];
    return acc & rest;
}

/* True when all bytes are ASCII: 8 bytes at a time, tail included. */
static inline bool all_ascii(const unsigned char *s, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    uint8_t tail = 0;
    for (; i < n; i++)
        tail |= s[i];
    return !((acc & UINT64_C(0x8080808080808080)) | (tail & 0x80));
}

/* Go's utf8.ValidString rules: no overlongs, no surrogates, <= U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    if (WIRE_LIKELY(all_ascii(s, n)))
        return true;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += need + 1;
    }
    return true;
}

static bool legacy_label_name(const char *s, size_t n)
{
    return name_chars(s, n, C_FIRST, C_REST);
}

static bool legacy_metric_name(const char *s, size_t n)
{
    return name_chars(s, n, C_MFIRST, C_MREST);
}

/* Compares byte-wise like Go strings. */
static int cmp_names(const prompb_label *a, const prompb_label *b)
{
    uint32_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = n ? memcmp(a->name, b->name, n) : 0;
    if (c)
        return c;
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static void quoted(char *dst, size_t cap, const char *s, size_t n)
{
    prompb_label l = {s, "", (uint32_t)n, 0};
    /* Reuse the label-set escaper: render "{name=""}" and keep the name. */
    char tmp[160];
    size_t len = prompb_format_labels(tmp, sizeof(tmp), &l, 1);
    /* tmp = {NAME=""} ; strip the braces and the trailing ="" */
    size_t k = len >= 5 ? len - 5 : 0;   /* drop "{" and "=\"\"}" */
    if (k + 3 > cap)
        k = cap - 3;
    dst[0] = '"';
    memcpy(dst + 1, tmp + 1, k);
    dst[k + 1] = '"';
    dst[k + 2] = '\0';
}

static int fail(const prompb_write_request *r, size_t i, prompb_error *err, prompb_code code,
                const char *detail)
{
    if (err) {
        const prompb_series *s = &r->series[i];
        char set[160];
        prompb_format_labels(set, sizeof(set), r->labels + s->labels_start, s->labels_count);
        prompb_err_set(err, code, i, 0, "series %zu (%s): %s%s%s", i, set, prompb_code_str(code),
                       detail[0] ? ": " : "", detail);
    }
    return -EINVAL;
}

int prompb_validate_series(const prompb_write_request *r, size_t i, unsigned flags,
                           prompb_error *err)
{
    if (!r || i >= r->series_count) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "no series %zu", i);
        return -EINVAL;
    }
    const prompb_series *s = &r->series[i];
    const prompb_label *l = r->labels + s->labels_start;
    char d[200], q1[80], q2[80];

    if (s->flags & PROMPB_SERIES_BAD_REF) {
        snprintf(d, sizeof(d), "label reference %u out of range (%zu symbols)", s->bad_ref,
                 r->symbol_count);
        return fail(r, i, err, PROMPB_ERR_BAD_REF, d);
    }
    if (s->flags & PROMPB_SERIES_ODD_REFS)
        return fail(r, i, err, PROMPB_ERR_BAD_REF, "odd number of labels_refs");
    if (s->flags & PROMPB_SERIES_BAD_META_REF) {
        snprintf(d, sizeof(d), "metadata reference %u out of range (%zu symbols)", s->bad_ref,
                 r->symbol_count);
        return fail(r, i, err, PROMPB_ERR_BAD_REF, d);
    }
    if (s->labels_count == 0)
        return fail(r, i, err, PROMPB_ERR_NO_LABELS, "");
    for (uint32_t k = 0; k < s->labels_count; k++) {
        const prompb_label *lb = &l[k];
        /* Fast path: a legacy-valid name is non-empty ASCII, so its UTF-8
         * check is implied. The slow path keeps the error precedence. */
        bool name_ok = (flags & PROMPB_VALIDATE_LEGACY_NAMES) &&
                       legacy_label_name(lb->name, lb->name_len);
        if (!name_ok) {
            if (lb->name_len == 0) {
                snprintf(d, sizeof(d), "label %u", k);
                return fail(r, i, err, PROMPB_ERR_EMPTY_NAME, d);
            }
            if (!utf8_valid((const unsigned char *)lb->name, lb->name_len)) {
                quoted(q1, sizeof(q1), lb->name, lb->name_len);
                snprintf(d, sizeof(d), "label name %s", q1);
                return fail(r, i, err, PROMPB_ERR_UTF8, d);
            }
        }
        if (lb->value_len == 0) {
            quoted(q1, sizeof(q1), lb->name, lb->name_len);
            snprintf(d, sizeof(d), "label %s", q1);
            return fail(r, i, err, PROMPB_ERR_EMPTY_VALUE, d);
        }
        if (!utf8_valid((const unsigned char *)lb->value, lb->value_len)) {
            quoted(q1, sizeof(q1), lb->name, lb->name_len);
            snprintf(d, sizeof(d), "value of label %s", q1);
            return fail(r, i, err, PROMPB_ERR_UTF8, d);
        }
        if ((flags & PROMPB_VALIDATE_LEGACY_NAMES) && !name_ok) {
            quoted(q1, sizeof(q1), lb->name, lb->name_len);
            snprintf(d, sizeof(d), "%s", q1);
            return fail(r, i, err, PROMPB_ERR_NAME_CHARS, d);
        }
        if ((flags & PROMPB_VALIDATE_METRIC_NAME) && lb->name_len == 8 &&
            memcmp(lb->name, "__name__", 8) == 0 &&
            !legacy_metric_name(lb->value, lb->value_len)) {
            quoted(q1, sizeof(q1), lb->value, lb->value_len);
            snprintf(d, sizeof(d), "%s", q1);
            return fail(r, i, err, PROMPB_ERR_METRIC_NAME, d);
        }
        if (k > 0) {
            /* Names are non-empty here; most pairs differ in the first byte. */
            unsigned char a0 = (unsigned char)l[k - 1].name[0], b0 = (unsigned char)lb->name[0];
            int c = a0 != b0 ? (a0 < b0 ? -1 : 1) : cmp_names(&l[k - 1], lb);
            if (c == 0) {
                quoted(q1, sizeof(q1), lb->name, lb->name_len);
                return fail(r, i, err, PROMPB_ERR_DUP_NAME, q1);
            }
            if (c > 0) {
                quoted(q1, sizeof(q1), lb->name, lb->name_len);
                quoted(q2, sizeof(q2), l[k - 1].name, l[k - 1].name_len);
                snprintf(d, sizeof(d), "%s after %s", q1, q2);
                return fail(r, i, err, PROMPB_ERR_UNSORTED, d);
            }
        }
    }
    if (r->version == 2 && s->samples_count && s->histogram_count) {
        snprintf(d, sizeof(d), "%u samples and %u histograms", s->samples_count,
                 s->histogram_count);
        return fail(r, i, err, PROMPB_ERR_SAMPLES_AND_HISTOGRAMS, d);
    }
    return 0;
}

size_t prompb_validate(const prompb_write_request *r, unsigned flags, uint8_t *bad,
                       prompb_error *first)
{
    size_t nbad = 0;
    prompb_error e;
    for (size_t i = 0; i < r->series_count; i++) {
        int rc = prompb_validate_series(r, i, flags, nbad == 0 ? first : &e);
        if (bad)
            bad[i] = rc != 0;
        nbad += rc != 0;
    }
    return nbad;
}

int prompb_check_request_limits(const prompb_write_request *r, const prompb_limits *lim,
                                prompb_error *err)
{
    if (lim->max_series && r->series_count > lim->max_series) {
        prompb_err_set(err, PROMPB_ERR_LIMIT, PROMPB_NO_SERIES, 0,
                       "request has %zu series, the limit is %zu", r->series_count,
                       lim->max_series);
        return -EMSGSIZE;
    }
    if (lim->max_samples && r->sample_count > lim->max_samples) {
        prompb_err_set(err, PROMPB_ERR_LIMIT, PROMPB_NO_SERIES, 0,
                       "request has %zu samples, the limit is %zu", r->sample_count,
                       lim->max_samples);
        return -EMSGSIZE;
    }
    return 0;
}

int prompb_check_series_limits(const prompb_write_request *r, size_t i,
                               const prompb_limits *lim, prompb_error *err)
{
    if (!r || i >= r->series_count) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "no series %zu", i);
        return -EINVAL;
    }
    const prompb_series *s = &r->series[i];
    const prompb_label *l = r->labels + s->labels_start;
    char d[200], q[80];
    if (lim->max_labels && s->labels_count > lim->max_labels) {
        snprintf(d, sizeof(d), "%u labels, the limit is %u", s->labels_count, lim->max_labels);
        return fail(r, i, err, PROMPB_ERR_LIMIT, d);
    }
    for (uint32_t k = 0; k < s->labels_count; k++) {
        if (lim->max_name_len && l[k].name_len > lim->max_name_len) {
            quoted(q, sizeof(q), l[k].name, l[k].name_len);
            snprintf(d, sizeof(d), "label name %s is %u bytes, the limit is %u", q,
                     l[k].name_len, lim->max_name_len);
            return fail(r, i, err, PROMPB_ERR_LIMIT, d);
        }
        if (lim->max_value_len && l[k].value_len > lim->max_value_len) {
            quoted(q, sizeof(q), l[k].name, l[k].name_len);
            snprintf(d, sizeof(d), "value of label %s is %u bytes, the limit is %u", q,
                     l[k].value_len, lim->max_value_len);
            return fail(r, i, err, PROMPB_ERR_LIMIT, d);
        }
    }
    return 0;
}
