/* Interned, refcounted label strings of the head: each distinct name/value is
 * stored once however many series use it (memory per series is first class).
 * Open addressing, linear probing, backward-shift deletion. Callers hold
 * head.idx_lock for writing (see head.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"

uint32_t tsdb_intern_hash(const char *s, size_t len)
{
    /* FNV-1a, then a final mix so low bits are usable as a table index. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (uint32_t)h;
}

static int grow(intern_tab *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    istr **ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        istr *s = t->slots[i];
        if (!s)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = s;
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

istr *tsdb_intern_get(intern_tab *t, const char *s, size_t len)
{
    if ((t->n + 1) * 4 > t->cap * 3 && grow(t) < 0)
        return NULL;
    uint32_t h = tsdb_intern_hash(s, len);
    size_t j = h & (t->cap - 1);
    for (istr *e; (e = t->slots[j]); j = (j + 1) & (t->cap - 1)) {
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
            e->refs++;
            return e;
        }
    }
    istr *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return NULL;
    e->refs = 1;
    e->len = (uint32_t)len;
    e->hash = h;
    memcpy(e->s, s, len);
    e->s[len] = 0;
    t->slots[j] = e;
    t->n++;
    return e;
}

void tsdb_intern_put(intern_tab *t, istr *s)
{
    if (--s->refs > 0)
        return;
    size_t mask = t->cap - 1, j = s->hash & mask;
    while (t->slots[j] != s)
        j = (j + 1) & mask;
    /* backward-shift deletion keeps probe chains intact without tombstones */
    size_t i = j;
    for (;;) {
        t->slots[i] = NULL;
        size_t k = i;
        for (;;) {
            k = (k + 1) & mask;
            istr *e = t->slots[k];
            if (!e)
                goto done;
            size_t home = e->hash & mask;
            /* move e into the hole at i if its home is not in (i, k] */
            if ((k > i && (home <= i || home > k)) || (k < i && (home <= i && home > k))) {
                t->slots[i] = e;
                i = k;
                break;
            }
        }
    }
done:
    t->n--;
    free(s);
}

void tsdb_intern_free(intern_tab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
