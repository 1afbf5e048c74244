/*
 * aion/store.h: the "store" service, the read path's one interface.
 *
 * Receive (head + local blocks), storegw (blocks in a bucket) and remote
 * Prometheus servers all provide it; the querier lists every provider of
 * AION_SERVICE_STORE on the bus and knows nothing else about them.
 *
 * All calls may block (disk, network) and are made from worker threads,
 * possibly several at once: implementations must be thread-safe.
 */
#ifndef AION_STORE_H
#define AION_STORE_H

#include <stdint.h>
#include <aion/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AION_SERVICE_STORE "store"
#define AION_STORE_VERSION 1

typedef struct aion_store_info {
    char name[128];                  /* shown in the querier's store list, e.g. "receive (tenant default)" */
    char kind[32];                   /* "receive", "storegw", "prometheus", ... */
    const aion_label *external_labels; /* owned by the store; valid until the next info() call on this thread */
    size_t n_external_labels;
    int64_t mint, maxt;              /* data time range, ms inclusive; mint > maxt when empty */
    bool healthy;
} aion_store_info;

typedef struct aion_select_hints {
    int64_t start, end;              /* query range in ms */
    int64_t step_ms;                 /* 0 for instant queries */
    int64_t range_ms;                /* range of a range selector, 0 otherwise */
    const char *func;                /* surrounding function ("rate", ...) or NULL */
    bool labels_only;                /* caller needs labels only (series API): samples may be skipped */
} aion_select_hints;

/* A sorted (by labels) set of series. Owned by the caller of select; free
 * with ops->free. Pointers returned by labels/samples are valid until the
 * next call to next() or free(). */
typedef struct aion_series_set aion_series_set;
typedef struct aion_series_set_ops {
    int (*next)(aion_series_set *ss);    /* 1 = on a series, 0 = end, <0 = error */
    const aion_label *(*labels)(aion_series_set *ss, size_t *n);
    /* Samples of the current series within [mint, maxt] of the select, in
     * time order, stale markers included. */
    int (*samples)(aion_series_set *ss, const aion_sample **out, size_t *n);
    /* Error message after next() returned <0. */
    const char *(*error)(aion_series_set *ss);
    void (*free)(aion_series_set *ss);
} aion_series_set_ops;
struct aion_series_set {
    const aion_series_set_ops *ops;
};

/* The vtable a store provider registers (name AION_SERVICE_STORE, version
 * AION_STORE_VERSION). `self` is the instance pointer given at registration.
 * String arrays returned by label_names/label_values are one heap block each,
 * freed by the caller with the store's free_strings. */
typedef struct aion_store_vtable {
    int (*info)(void *self, aion_store_info *out);
    /* tenant: NULL = every tenant the store holds. */
    int (*select)(void *self, const char *tenant, const aion_matcher *ms, size_t nm,
                  int64_t mint, int64_t maxt, const aion_select_hints *hints,
                  aion_series_set **out, char *err, size_t errlen);
    int (*label_names)(void *self, const char *tenant, const aion_matcher *ms, size_t nm,
                       int64_t mint, int64_t maxt, char ***out, size_t *n, char *err, size_t errlen);
    int (*label_values)(void *self, const char *tenant, const char *name, const aion_matcher *ms,
                        size_t nm, int64_t mint, int64_t maxt, char ***out, size_t *n,
                        char *err, size_t errlen);
    void (*free_strings)(void *self, char **s, size_t n);
} aion_store_vtable;

#ifdef __cplusplus
}
#endif
#endif
