/*
 * receive/refcache.c: per-tenant cache from a label set to its TSDB series
 * reference, so the write path appends by reference (tsdb_append_ref)
 * instead of looking the labels up in the head for every sample.
 *
 * Why: with 100k series the head's lookup (hash chain + comparing every
 * interned label string) costs several cache misses per sample and was half
 * of receive's CPU time; this table costs one.
 *
 * Key: two independent 64-bit hashes of the label set (lib/labels' xxh3 and
 * a multiply-rotate hash below), 128 bits in all, and no label copy (memory
 * per series matters more). A collision would need two different label sets
 * of the SAME tenant agreeing on both hashes; the cache is per tenant, so
 * even a crafted one only mixes that tenant's own series.
 *
 * Refs are never reused while the process runs (the head's ids only grow),
 * and a ref whose series was removed answers TSDB_ERR_NOT_FOUND, so a stale
 * entry is harmless; recv_refcache_trim drops them when the table has grown
 * well past the head's series count.
 *
 * Threads: 64 stripes, each a mutex and an open-addressing table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "refcache.h"

#define STRIPES 64

typedef struct entry {
    uint64_t h1, h2, ref;        /* ref 0 = empty slot */
} entry;

typedef struct stripe {
    pthread_mutex_t mu;
    entry *e;
    size_t cap, n;               /* cap: power of two or 0 */
    char pad[64];
} stripe;

struct recv_refcache {
    stripe s[STRIPES];
};

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t mix_bytes(uint64_t h, const char *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = rotl(h ^ (w * k), 29) * 0xbf58476d1ce4e5b9ULL;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) /* a loop, not a variable-size memcpy call */
        w |= (uint64_t)(unsigned char)p[i] << (8 * i);
    h = rotl(h ^ ((w ^ n) * k), 31) * 0x94d049bb133111ebULL;
    return h;
}

void recv_refcache_hash(const labels_label *ls, size_t n, uint64_t *h1, uint64_t *h2)
{
    *h1 = labels_hash(ls, n);
    uint64_t h = 0x2545f4914f6cdd1dULL ^ n;
    for (size_t i = 0; i < n; i++) {
        h = mix_bytes(h, ls[i].name, ls[i].name_len);
        h = mix_bytes(h ^ 0xff, ls[i].value, ls[i].value_len);
    }
    h ^= h >> 33;
    *h2 = h * 0xff51afd7ed558ccdULL;
}

recv_refcache *recv_refcache_new(void)
{
    recv_refcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->s[i].mu, NULL);
    return c;
}

void recv_refcache_free(recv_refcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&c->s[i].mu);
        free(c->s[i].e);
    }
    free(c);
}

static stripe *stripe_of(recv_refcache *c, uint64_t h1)
{
    return &c->s[(h1 >> 58) & (STRIPES - 1)];
}

void recv_refcache_prefetch(recv_refcache *c, uint64_t h1)
{
    /* a hint without the lock: e and cap may be stale, even freed; a
     * prefetch never faults, and get() re-reads them under the lock */
    stripe *s = stripe_of(c, h1);
    entry *e = __atomic_load_n(&s->e, __ATOMIC_RELAXED);
    size_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
    if (e && cap)
        __builtin_prefetch(&e[h1 & (cap - 1)]);
}

uint64_t recv_refcache_get(recv_refcache *c, uint64_t h1, uint64_t h2)
{
    stripe *s = stripe_of(c, h1);
    uint64_t ref = 0;
    pthread_mutex_lock(&s->mu);
    if (s->cap) {
        size_t m = s->cap - 1;
        for (size_t i = h1 & m;; i = (i + 1) & m) {
            entry *e = &s->e[i];
            if (!e->ref)
                break;
            if (e->h1 == h1 && e->h2 == h2) {
                ref = e->ref;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return ref;
}

static void insert(entry *tab, size_t cap, uint64_t h1, uint64_t h2, uint64_t ref)
{
    size_t m = cap - 1;
    for (size_t i = h1 & m;; i = (i + 1) & m) {
        if (!tab[i].ref || (tab[i].h1 == h1 && tab[i].h2 == h2)) {
            tab[i] = (entry){ h1, h2, ref };
            return;
        }
    }
}

void recv_refcache_put(recv_refcache *c, uint64_t h1, uint64_t h2, uint64_t ref)
{
    if (!ref)
        return;
    stripe *s = stripe_of(c, h1);
    pthread_mutex_lock(&s->mu);
    if ((s->n + 1) * 4 > s->cap * 3) { /* load factor 3/4: memory per series matters */
        size_t nc = s->cap ? s->cap * 2 : 256;
        entry *ne = calloc(nc, sizeof *ne);
        if (!ne) {
            pthread_mutex_unlock(&s->mu); /* no room: the slow path keeps working */
            return;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->e[i].ref)
                insert(ne, nc, s->e[i].h1, s->e[i].h2, s->e[i].ref);
        entry *old = s->e;
        __atomic_store_n(&s->e, ne, __ATOMIC_RELAXED);
        __atomic_store_n(&s->cap, nc, __ATOMIC_RELAXED);
        free(old);
    }
    size_t m = s->cap - 1;
    bool fresh = true;
    for (size_t i = h1 & m;; i = (i + 1) & m) {
        if (!s->e[i].ref)
            break;
        if (s->e[i].h1 == h1 && s->e[i].h2 == h2) {
            fresh = false;
            break;
        }
    }
    insert(s->e, s->cap, h1, h2, ref);
    if (fresh)
        s->n++;
    pthread_mutex_unlock(&s->mu);
}

size_t recv_refcache_len(recv_refcache *c)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&c->s[i].mu);
        n += c->s[i].n;
        pthread_mutex_unlock(&c->s[i].mu);
    }
    return n;
}

void recv_refcache_trim(recv_refcache *c, size_t live_series)
{
    if (recv_refcache_len(c) <= live_series + live_series / 4 + 1024)
        return;
    /* mostly removed series: start over (the next writes re-learn the rest) */
    for (int i = 0; i < STRIPES; i++) {
        stripe *s = &c->s[i];
        pthread_mutex_lock(&s->mu);
        entry *old = s->e;
        __atomic_store_n(&s->cap, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->e, NULL, __ATOMIC_RELAXED);
        s->n = 0;
        free(old);
        pthread_mutex_unlock(&s->mu);
    }
}
