/* Label sets: ordering, hashing, lookup, copying, validity. */
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "internal.h"
#include "labels/labels.h"

int labels_str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int labels_cmp(const labels_label *a, size_t an, const labels_label *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        int c = labels_str_cmp(a[i].name, a[i].name_len, b[i].name, b[i].name_len);
        if (c)
            return c;
        c = labels_str_cmp(a[i].value, a[i].value_len, b[i].value, b[i].value_len);
        if (c)
            return c;
    }
    return an < bn ? -1 : (an > bn ? 1 : 0);
}

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

bool labels_equal(const labels_label *a, size_t an, const labels_label *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (!str_eq(a[i].name, a[i].name_len, b[i].name, b[i].name_len) ||
            !str_eq(a[i].value, a[i].value_len, b[i].value, b[i].value_len))
            return false;
    }
    return true;
}

static int name_cmp(const labels_label *a, const labels_label *b)
{
    return labels_str_cmp(a->name, a->name_len, b->name, b->name_len);
}

static void insertion_sort(labels_label *ls, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        labels_label x = ls[i];
        size_t j = i;
        while (j > 0 && name_cmp(&ls[j - 1], &x) > 0) {
            ls[j] = ls[j - 1];
            j--;
        }
        ls[j] = x;
    }
}

static void merge_sort(labels_label *ls, labels_label *tmp, size_t n)
{
    if (n <= 16) {
        insertion_sort(ls, n);
        return;
    }
    size_t h = n / 2;
    merge_sort(ls, tmp, h);
    merge_sort(ls + h, tmp, n - h);
    if (name_cmp(&ls[h - 1], &ls[h]) <= 0)
        return;
    memcpy(tmp, ls, h * sizeof(*ls));
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        ls[k++] = name_cmp(&ls[j], &tmp[i]) < 0 ? ls[j++] : tmp[i++];
    while (i < h)
        ls[k++] = tmp[i++];
}

void labels_sort(labels_label *ls, size_t n)
{
    if (n < 2)
        return;
    /* Label sets are small: insertion sort unless large enough to matter.
     * Without memory for the merge buffer, insertion sort is still correct. */
    labels_label *tmp = n > 32 ? malloc((n / 2 + 1) * sizeof(*tmp)) : NULL;
    if (!tmp) {
        insertion_sort(ls, n);
        return;
    }
    merge_sort(ls, tmp, n);
    free(tmp);
}

uint64_t labels_hash(const labels_label *ls, size_t n)
{
    /* Small sets are hashed one-shot from a stack buffer; big ones are
     * streamed. Both give the same XXH3 value for the same bytes. */
    unsigned char buf[1024];
    size_t len = 0, i = 0;
    static const unsigned char sep = 0xff;
    for (; i < n; i++) {
        size_t need = (size_t)ls[i].name_len + ls[i].value_len + 2;
        if (len + need > sizeof(buf))
            break;
        memcpy(buf + len, ls[i].name, ls[i].name_len);
        len += ls[i].name_len;
        buf[len++] = sep;
        memcpy(buf + len, ls[i].value, ls[i].value_len);
        len += ls[i].value_len;
        buf[len++] = sep;
    }
    if (i == n)
        return XXH3_64bits(buf, len);

    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, buf, len);
    for (; i < n; i++) {
        XXH3_64bits_update(&st, ls[i].name, ls[i].name_len);
        XXH3_64bits_update(&st, &sep, 1);
        XXH3_64bits_update(&st, ls[i].value, ls[i].value_len);
        XXH3_64bits_update(&st, &sep, 1);
    }
    return XXH3_64bits_digest(&st);
}

const labels_label *labels_get(const labels_label *ls, size_t n, const char *name, size_t name_len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = labels_str_cmp(ls[mid].name, ls[mid].name_len, name, name_len);
        if (c == 0)
            return &ls[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t labels_copy_size(const labels_label *ls, size_t n)
{
    size_t size = n * sizeof(labels_label);
    for (size_t i = 0; i < n; i++)
        size += (size_t)ls[i].name_len + ls[i].value_len + 2;
    return size ? size : 1; /* n == 0 still yields a freeable block */
}

labels_label *labels_copy(const labels_label *ls, size_t n)
{
    if (n > SIZE_MAX / sizeof(labels_label) / 4)
        return NULL;
    labels_label *out = malloc(labels_copy_size(ls, n));
    if (!out)
        return NULL;
    char *p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        out[i].name_len = ls[i].name_len;
        out[i].value_len = ls[i].value_len;
        if (ls[i].name_len)
            memcpy(p, ls[i].name, ls[i].name_len);
        p[ls[i].name_len] = '\0';
        out[i].name = p;
        p += ls[i].name_len + 1;
        if (ls[i].value_len)
            memcpy(p, ls[i].value, ls[i].value_len);
        p[ls[i].value_len] = '\0';
        out[i].value = p;
        p += ls[i].value_len + 1;
    }
    return out;
}

static bool is_alpha_(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool labels_valid_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alpha_(c) || (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

bool labels_valid_metric_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alpha_(c) || c == ':' || (i > 0 && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. Same
 * rules as Go's utf8.DecodeRune: no overlongs, surrogates or > U+10FFFF. */
size_t labels__utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    if (c < 0xe0) {
        return len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    }
    if (c < 0xf0) {
        if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (c == 0xed && s[1] > 0x9f)
            return 0; /* surrogate */
        return 3;
    }
    if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
        return 0;
    if (c == 0xf0 && s[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xf4 && s[1] > 0x8f)
        return 0; /* > U+10FFFF */
    return 4;
}

bool labels_valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = labels__utf8_seq(p + i, len - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}
