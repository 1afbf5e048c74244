/* Test helpers shared by the prompb tests, fuzzers and the decode benchmark:
 * random request generation with the protoc-c REFERENCE code and comparison
 * of the fast decoder's result with protoc-c's unpack.
 * Not thread-safe (the arena is per call site); test code only. */
#ifndef PROMPB_REF_H
#define PROMPB_REF_H

#include <stddef.h>
#include <stdint.h>
#include <prompb/prompb.h>
#include "prometheus/remote.pb-c.h"
#include "prometheus/types.pb-c.h"
#include "io/prometheus/write/v2/types.pb-c.h"

/* Every allocation made while building a reference message; freed at once. */
typedef struct {
    void **ptrs;
    size_t n, cap;
} ref_arena;

void *ref_alloc(ref_arena *a, size_t n);      /* zeroed; aborts on OOM (tests) */
void ref_arena_free(ref_arena *a);

uint64_t ref_rand(uint64_t *state);            /* xorshift64*, state != 0 */

/* Random request shapes. "edge" mode favours corner cases: empty strings,
 * binary bytes, NaN payloads, stale markers, huge/negative timestamps. */
typedef struct {
    size_t max_series;
    size_t max_labels;
    size_t max_samples;
    int edge;
} ref_shape;

Prometheus__WriteRequest *ref_random_v1(ref_arena *a, uint64_t *rng, const ref_shape *sh);
Io__Prometheus__Write__V2__Request *ref_random_v2(ref_arena *a, uint64_t *rng,
                                                  const ref_shape *sh);

/* Packs with protoc-c into a malloc'd buffer of exactly *len bytes. */
uint8_t *ref_pack(const ProtobufCMessage *m, size_t *len);

/* 0 when the fast result equals the reference; else -1 with a reason. */
int ref_compare_v1(const prompb_write_request *r, const Prometheus__WriteRequest *w,
                   char *why, size_t whylen);
int ref_compare_v2(const prompb_write_request *r, const Io__Prometheus__Write__V2__Request *w,
                   char *why, size_t whylen);

/* Compares a view with a protoc-c string (which stops at an embedded NUL). */
int ref_str_eq(const char *view, size_t len, const char *pc);

#endif
