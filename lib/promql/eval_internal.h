/* Private header of the PromQL evaluator (not installed).
 *
 * Evaluation follows Prometheus' engine.go: every node is evaluated once over
 * all steps of its evaluator (start..end by interval) into a "step matrix"
 * (series with one point per step where present). Functions, operators and
 * aggregations work step by step on vectors (pq_vec) gathered from their
 * arguments, like Prometheus' rangeEval.
 *
 * Label sets are interned per query (pq_lset): equal sets share one pointer,
 * so grouping and output series lookup compare pointers. Interned sets and
 * the strings they point to live until the query ends (query arena, or the
 * queryable's series sets, which are released only at the end).
 *
 * Single-threaded: one pq_query belongs to one thread.
 */
#ifndef PROMQL_EVAL_INTERNAL_H
#define PROMQL_EVAL_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "labels/labels.h"
#include "promql/ast.h"
#include "promql/promql.h"

/* ---- arena ---------------------------------------------------------------- */
typedef struct pq_arena_blk pq_arena_blk;
typedef struct pq_arena {
    pq_arena_blk *head;
} pq_arena;
void *pq_arena_alloc(pq_arena *a, size_t n);
char *pq_arena_strdup(pq_arena *a, const char *s, size_t n);
void pq_arena_free(pq_arena *a);

/* ---- interned label sets ------------------------------------------------ */
typedef struct pq_lset pq_lset;
struct pq_lset {
    const labels_label *ls;
    uint32_t n;
    uint64_t hash;
    pq_lset *next;          /* intern chain */
    const pq_lset *noname;  /* cached: this set without __name__ (NULL: unknown) */
};

/* ---- u64 -> u64 open-addressing map (keys != 0 are fine; key 0 allowed) */
typedef struct pq_map {
    uint64_t *keys;
    uint64_t *vals;
    uint8_t *used;
    size_t cap, n;
} pq_map;
void pq_map_free(pq_map *m);
void pq_map_clear(pq_map *m);
/* Returns pointer to value slot or NULL when absent. */
uint64_t *pq_map_get(const pq_map *m, uint64_t key);
/* Inserts (or finds) key; *isnew tells which. NULL on ENOMEM. */
uint64_t *pq_map_put(pq_map *m, uint64_t key, bool *isnew);
static inline uint64_t pq_ptrkey(const void *p) { return (uint64_t)(uintptr_t)p; }

/* ---- values --------------------------------------------------------------- */
typedef struct pq_series {
    const pq_lset *m;
    int64_t *t;
    double *v;
    uint32_t n, cap;
} pq_series;

typedef enum pq_kind { PQ_NONE = 0, PQ_SCALAR, PQ_VECTOR, PQ_MATRIX, PQ_STRING } pq_kind;

typedef struct pq_val {
    pq_kind kind;
    double *sv;        /* SCALAR: one value per step */
    pq_series *s;      /* VECTOR (points at step times) / MATRIX (raw points) */
    size_t ns, scap;
    const char *str;   /* STRING (borrowed from the AST) */
    size_t slen;
} pq_val;

typedef struct pq_sample {
    const pq_lset *m;
    double v;
    int64_t t;
    uint32_t src; /* index of the series in the argument value (rangeEval
                     inputs), PQ_NOSRC elsewhere; lets step functions cache
                     per-series work in arrays instead of hash lookups */
} pq_sample;
#define PQ_NOSRC UINT32_MAX

typedef struct pq_vec {
    pq_sample *s;
    size_t n, cap;
} pq_vec;

/* ---- query ---------------------------------------------------------------- */
typedef struct pq_query {
    const promql_queryable *qa;
    promql_opts opts;
    int64_t qstart, qend, qstep; /* the query's own range (for @ start()/end()) */
    pq_arena arena;
    pq_lset **itab;              /* intern table */
    size_t icap, icount;
    const pq_lset *empty;
    promql_series_set *sets;     /* selected sets, released at the end */
    size_t nsets, capsets;
    int64_t samples;             /* samples held now: live values + current window */
    int64_t deadline_ns;         /* 0: none */
    unsigned tick;
    char *err;
    size_t errlen;
} pq_query;

/* Prometheus 2.42 does not pin an @ selector to its timestamp directly: it
 * turns the @ into an offset relative to an evaluation time (engine.go
 * setOffsetForAtModifier), once at the top with the query start and again
 * in every subquery whose aligned start differs from its parent's. Between
 * two such settings the offsets of the subqueries passed are subtracted, so
 * when a subquery keeps its parent's start (e.g. `(x @ t)[5m:1m] offset -5m`
 * at a multiple of 1m) its @ selectors land elsewhere than t. We reproduce
 * that bookkeeping rather than the intent, as the results must match. */
typedef struct pq_atstate {
    int64_t x;    /* evaluation time the offsets were last set against */
    int64_t sum;  /* subquery offsets passed since (reset at an @ subquery) */
    int64_t tsp;  /* @ of the nearest such @ subquery, if has_ts */
    bool has_ts;
} pq_atstate;

/* The subqueries on the path from the root (engine.go subqueryTimes), which
 * fix the time range each selector's data is selected over, once per query:
 * data outside that range is invisible even when a shifted @ looks there. */
typedef struct pq_path {
    int64_t off, range, ts;
    bool has_ts;
} pq_path;

typedef struct pq_ev {
    pq_query *q;
    int64_t start, end, interval;
    size_t nsteps;
    pq_atstate at;
    pq_path path;
} pq_ev;

#define PQ_TRY(x) do { int rc_ = (x); if (rc_ < 0) return rc_; } while (0)

int pq_errorf(pq_query *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int pq_oom(pq_query *q);
int pq_check_abort(pq_query *q);      /* timeout / cancel; cheap, call often */
int pq_add_samples(pq_query *q, int64_t n);

/* Interning. ls must be sorted by name; strings must live until the query
 * ends (arena or selected sets). The label array itself is copied. */
const pq_lset *pq_intern(pq_query *q, const labels_label *ls, size_t n);
const pq_lset *pq_noname(pq_query *q, const pq_lset *m); /* NULL on ENOMEM */
const char *pq_lget(const pq_lset *m, const char *name, size_t *len); /* NULL if absent */
/* Go Labels.String(): {a="b", c="d"} (name not special). malloc()ed. */
char *pq_lset_str(const pq_lset *m);

/* Scratch label builder. */
typedef struct pq_lb {
    labels_label *l;
    size_t n, cap;
} pq_lb;
int pq_lb_reset(pq_lb *b, const pq_lset *m);
int pq_lb_set(pq_lb *b, const char *name, size_t nl, const char *val, size_t vl); /* vl==0 deletes */
void pq_lb_del(pq_lb *b, const char *name, size_t nl);
void pq_lb_keep(pq_lb *b, char *const *names, size_t nn);
const pq_lset *pq_lb_intern(pq_query *q, pq_lb *b); /* sorts, interns */
void pq_lb_free(pq_lb *b);

/* Values. */
void pq_val_free(pq_val *v);
/* Frees an intermediate value and takes its points off the query's sample
 * count (like Prometheus' currentSamples, the limit is on what is held). */
void pq_val_release(pq_query *q, pq_val *v);
int pq_vec_push(pq_vec *v, const pq_lset *m, double val, int64_t t);
void pq_vec_free(pq_vec *v);
int pq_series_push(pq_series *s, int64_t t, double v);
int pq_val_add_series(pq_val *v, const pq_lset *m, pq_series **out);

/* Output accumulator of a rangeEval: maps output label sets to series and
 * detects duplicate label sets within one step. */
typedef struct pq_out {
    pq_val val;
    pq_map idx;
} pq_out;
int pq_out_add(pq_ev *ev, pq_out *o, const pq_lset *m, int64_t ts, double v);

/* Evaluation. */
int pq_eval(pq_ev *ev, const promql_node *n, pq_val *out);
const promql_node *pq_unparen(const promql_node *n);

typedef int (*pq_stepfn)(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step,
                         pq_vec *out);
/* Prometheus rangeEval: args may be SCALAR or VECTOR (or NONE: empty vec). */
int pq_range_eval(pq_ev *ev, pq_val *args, size_t nargs, pq_stepfn fn, void *ctx, pq_val *out);

/* Element-wise map of a VECTOR value in place (series-wise, no per-step
 * lookups): labels become noname(labels) when drop_name, each point goes
 * through fn (false drops it; step is the evaluator step index). Returns 1
 * and changes nothing when two series would end up with the same labels;
 * the caller then uses pq_range_eval, which reports duplicates per step as
 * Prometheus does. */
typedef bool (*pq_pointfn)(void *ctx, size_t step, int64_t t, double v, double *out);
int pq_map_series(pq_ev *ev, pq_val *v, bool drop_name, pq_pointfn fn, void *ctx);

int pq_eval_binary(pq_ev *ev, const promql_node *n, pq_val *out);
int pq_eval_aggregate(pq_ev *ev, const promql_node *n, pq_val *out);
int pq_eval_call(pq_ev *ev, const promql_node *n, pq_val *out);
/* Range-vector functions (functions_range.c). */
int pq_eval_range_call(pq_ev *ev, const promql_node *n, size_t matrix_arg, pq_val *out);
/* Vector selector evaluation over the evaluator's steps. ts_values: value is
 * the sample timestamp in seconds (for timestamp()). */
int pq_eval_vector_selector(pq_ev *ev, const promql_node *vs, bool ts_values, pq_val *out);
/* Selects a selector's series (sorted by labels); *out borrows query memory. */
int pq_select(pq_ev *ev, const promql_node *vs, int64_t mint, int64_t maxt, int64_t range,
              const char *func, promql_series **out, size_t *n, const pq_lset ***lsets);
/* The reference time of a selector/subquery with modifiers at step time ts
 * (for @: Prometheus' adjusted offset applied to the evaluator's start). */
int64_t pq_ref_time(pq_ev *ev, const promql_modifiers *mod, int64_t ts);
/* The @ time in ms (start()/end() resolved); only when mod->at is set. */
int64_t pq_at_time(const pq_ev *ev, const promql_modifiers *mod);
/* The range a selector's data is selected over (getTimeRangesForSelector);
 * range 0: an instant selector, which looks back lookback_delta. */
void pq_static_range(const pq_ev *ev, const promql_modifiers *mod, int64_t range, int64_t *mint, int64_t *maxt);
/* Prometheus' step invariance (preprocessExprHelper): such a subtree is
 * evaluated at the first step only and its samples repeated. */
bool pq_step_invariant(const promql_node *n);
int pq_eval_once(pq_ev *ev, const promql_node *n, pq_val *out);
int pq_eval_subquery(pq_ev *ev, const promql_node *sq, pq_val *out);

/* Helpers from functions_hist.c. */
double pq_quantile(double q, double *vals, size_t n); /* sorts vals */
double pq_bucket_quantile(double q, double *ub, double *cnt, size_t n); /* sorts */

/* Cross-file helpers. */
int pq_histogram_quantile(pq_ev *ev, pq_val *args, pq_val *out);
int pq_label_fn(pq_ev *ev, const promql_node *n, pq_val *args, pq_val *out);
/* sort.Sort(sort.Reverse(vectorBy[Reverse]ValueHeap)): bottom=true sorts ascending. */
void pq_sort_reverse(pq_sample *h, size_t n, bool bottom);
const pq_lset *pq_absent_labels(pq_query *q, const promql_node *arg);

/* Go math.Min / math.Max (NaN wins, -0 < +0). */
double pq_go_min(double a, double b);
double pq_go_max(double a, double b);
/* Go strconv.FormatFloat(v, 'f', -1, 64) into buf (>= 400 bytes). */
void pq_format_float(double v, char *buf, size_t len);
/* Go strconv.FormatFloat(v, 'g', -1, 64)-like for %v in messages. */
void pq_format_float_g(double v, char *buf, size_t len);

/* Time arithmetic saturating at +-2^62 ms, so user-supplied offsets, ranges
 * and @ timestamps can never overflow (differences of clamped values fit). */
#define PQ_TMAX ((int64_t)1 << 62)
static inline int64_t pq_tclamp(int64_t a)
{
    return a > PQ_TMAX ? PQ_TMAX : a < -PQ_TMAX ? -PQ_TMAX : a;
}
static inline int64_t pq_tsub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? PQ_TMAX : -PQ_TMAX;
    return pq_tclamp(r);
}
static inline int64_t pq_tadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? PQ_TMAX : -PQ_TMAX;
    return pq_tclamp(r);
}

static inline bool pq_is_stale(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u == PROMQL_STALE_NAN_BITS;
}

#endif
