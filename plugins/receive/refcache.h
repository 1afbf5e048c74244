/* receive/refcache.h: label set -> TSDB series reference cache (private).
 * See refcache.c. Thread-safe; one per tenant, freed by its owner. */
#ifndef AION_RECEIVE_REFCACHE_H
#define AION_RECEIVE_REFCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <labels/labels.h>

typedef struct recv_refcache recv_refcache;

recv_refcache *recv_refcache_new(void);            /* NULL on allocation failure */
void recv_refcache_free(recv_refcache *c);          /* NULL is ok */
/* The cache key of a sorted label set (two independent 64-bit hashes). */
void recv_refcache_hash(const labels_label *ls, size_t n, uint64_t *h1, uint64_t *h2);
/* Starts loading the entry for h1 into the cache (a hint; no lock). */
void recv_refcache_prefetch(recv_refcache *c, uint64_t h1);
/* The cached ref, or 0. */
uint64_t recv_refcache_get(recv_refcache *c, uint64_t h1, uint64_t h2);
/* Remembers (or replaces) a ref; silently does nothing without memory. */
void recv_refcache_put(recv_refcache *c, uint64_t h1, uint64_t h2, uint64_t ref);
size_t recv_refcache_len(recv_refcache *c);
/* Empties the cache when it holds far more entries than live series. */
void recv_refcache_trim(recv_refcache *c, size_t live_series);

#endif
