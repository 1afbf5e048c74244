/* PromQL engine API (Prometheus 2.42 semantics, float samples only).
 *
 * The engine evaluates a parsed expression (promql/ast.h) over an abstract
 * queryable: anything that can return the series matching a list of label
 * matchers within a time range. lib/tsdb, a set of remote stores or the
 * in-memory store below can all be plugged in.
 *
 * Ownership:
 *   - promql_exec_* never modify or keep the expression tree.
 *   - A series set returned by a queryable's select() is borrowed by the
 *     engine until it calls the queryable's release() (at the end of the
 *     query, success or error); label and point memory must stay valid until
 *     then.
 *   - A promql_result owns everything in it (labels, points, string); free
 *     it with promql_result_free().
 *
 * Thread-safety: the engine has no global mutable state; several queries can
 * run at once in different threads as long as each queryable tolerates that.
 * A promql_memstore must not be written while a query reads it.
 *
 * Known differences from Prometheus 2.42 (everything else is meant to answer
 * bit for bit or within float rounding; tools/promql-test checks the upstream
 * test scripts). docs/promql.md has the user-facing list; keep both in step:
 *   - Ties: topk/bottomk/sort/sort_desc among equal values (or NaNs) follow
 *     label order with Go's insertion sort for up to 12 elements and a stable
 *     merge sort above; Prometheus uses storage order (series creation order)
 *     and Go's unstable pdqsort, so it is not deterministic there either.
 *     histogram_quantile and count_values emit groups in first-seen order
 *     (Go: map order).
 *   - Date functions (hour(), year(), ...) on NaN, +-Inf, values outside
 *     +-9.2e18 or whose year does not fit a C int (|v| > ~6.7e16 s) give
 *     NaN. Prometheus on amd64 turns NaN/+-Inf/beyond-int64 into int64 min
 *     seconds (year 292277026596 for all) and computes far years exactly.
 *   - @ follows Prometheus 2.42's mechanics, quirks included (offsets set
 *     against an evaluation time, static selection ranges, step-invariant
 *     subtrees evaluated once; lib/promql/eval_at.c, docs/promql.md). Only
 *     its Go panic on some empty nested subqueries ("makeslice: cap out of
 *     range") is not reproduced: we return the empty result.
 *   - histogram_quantile with an le="NaN" bucket depends on bucket order
 *     (label order here, storage order in Prometheus).
 *   - Timestamps, offsets, ranges and @ values are clamped to +-2^62 ms
 *     instead of wrapping around.
 *   - The sample limit counts the samples held at once (live intermediate
 *     results plus the current range window), as Prometheus does, but the
 *     exact moments of counting differ, so a query right at the limit may
 *     pass on one and fail on the other. A query or subquery with more
 *     steps than max_samples fails with the same error.
 *   - label_replace regexes run on PCRE2 (syntax errors use Go's texts);
 *     see lib/labels for the few Go/PCRE2 regex differences.
 *   - Transcendental functions use the C library: exp, pow (^), atan2 and
 *     the trigonometric/hyperbolic functions can differ from Go's math
 *     package in the last bit (ln, log2, log10 follow Go's amd64 algorithm
 *     and match exactly, subnormal arguments included). Everything else, including rate/increase
 *     extrapolation, *_over_time with Kahan summation, aggregations and
 *     histogram_quantile, was compared bit for bit with Prometheus 2.42.
 *   - Native histograms are not supported: histogram_count/_sum/_fraction
 *     return nothing on float data (as 2.42 does).
 */
#ifndef PROMQL_PROMQL_H
#define PROMQL_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labels/labels.h"
#include "promql/ast.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The special NaN Prometheus uses as a staleness marker. */
#define PROMQL_STALE_NAN_BITS 0x7ff0000000000002ULL
double promql_stale_nan(void);
bool promql_is_stale_nan(double v);

typedef struct promql_point {
    int64_t t; /* milliseconds since the Unix epoch */
    double v;
} promql_point;

/* A series: a sorted label set and points ordered by time. */
typedef struct promql_series {
    labels_label *labels; /* in a result: one heap block (labels_copy) owned by the result */
    size_t n_labels;
    promql_point *points; /* in a result: owned by the result */
    size_t n_points;
} promql_series;

/* ---- queryable --------------------------------------------------------- */

/* Hints for select() (Prometheus storage.SelectHints). */
typedef struct promql_select_hints {
    int64_t start, end; /* ms; the time range the engine needs */
    int64_t step;       /* ms; 0 for instant queries */
    int64_t range;      /* ms; range of a range selector, 0 otherwise */
    const char *func;   /* enclosing function name or NULL */
} promql_select_hints;

/* What select() returns: series with their samples in [mint, maxt] (more
 * is fine). Series may come in any order (the engine sorts them by labels);
 * each label set must be sorted by name. The same label set may appear more
 * than once (e.g. from several stores): the engine merges those series'
 * points, keeping the earlier series' sample on equal timestamps. Points
 * sorted by time.
 * Stale markers (PROMQL_STALE_NAN_BITS) must be kept bit for bit. */
typedef struct promql_series_set {
    promql_series *series;
    size_t n_series;
    void *priv; /* for the queryable */
} promql_series_set;

typedef struct promql_queryable {
    void *ctx;
    /* Returns 0 and fills *out, or a negative errno with a message in err. */
    int (*select)(void *ctx, const labels_matcher *const *matchers, size_t n_matchers,
                  int64_t mint, int64_t maxt, const promql_select_hints *hints,
                  promql_series_set *out, char *err, size_t errlen);
    /* Called once for every set select() filled. May be NULL. */
    void (*release)(void *ctx, promql_series_set *set);
} promql_queryable;

/* ---- queries ------------------------------------------------------------ */

typedef struct promql_opts {
    int64_t lookback_delta_ms;       /* 0: default 5m */
    int64_t max_samples;             /* 0: default 50,000,000 */
    int64_t timeout_ms;              /* 0: no timeout */
    int64_t default_subquery_step_ms;/* step of `x[5m:]`; 0: default 1m */
    /* Set to non-zero (from any thread) to cancel a running query; may be NULL. */
    const volatile int *cancel;
} promql_opts;

/* Fills o with the defaults above. */
void promql_opts_init(promql_opts *o);

typedef struct promql_result {
    promql_value_type type; /* SCALAR, VECTOR, MATRIX or STRING */
    int64_t t;              /* evaluation time of an instant query */
    double scalar;          /* SCALAR */
    char *string;           /* STRING, NUL-terminated, owned */
    /* VECTOR: one point per series (t = evaluation time), in the order the
     * expression produced them (what sort()/topk() rely on).
     * MATRIX: series sorted by labels. Range queries always give MATRIX
     * (a scalar expression gives one series with no labels). */
    promql_series *series;
    size_t n_series;
} promql_result;

void promql_result_free(promql_result *r);

/* Error codes besides -ENOMEM: -EINVAL evaluation error (e.g. many-to-many
 * matching), -E2BIG too many samples, -ETIMEDOUT, -ECANCELED, or what the
 * queryable returned. The message is written to err (Prometheus' wording,
 * e.g. "query processing would load too many samples into memory in query
 * execution"). */

/* Instant query at t (ms). */
int promql_exec_instant(const promql_opts *opts, const promql_queryable *q,
                        const promql_node *expr, int64_t t,
                        promql_result *out, char *err, size_t errlen);

/* Range query over [start, end] with step (ms, > 0). The expression must be
 * of scalar or instant-vector type. */
int promql_exec_range(const promql_opts *opts, const promql_queryable *q,
                      const promql_node *expr, int64_t start, int64_t end, int64_t step,
                      promql_result *out, char *err, size_t errlen);

/* Parse + exec in one call: a syntax or type error returns -EINVAL with
 * Prometheus' text (`1:5: parse error: ...`) in err. */
int promql_query_instant(const promql_opts *opts, const promql_queryable *q, const char *query, size_t len,
                         int64_t t, promql_result *out, char *err, size_t errlen);
int promql_query_range(const promql_opts *opts, const promql_queryable *q, const char *query, size_t len,
                       int64_t start, int64_t end, int64_t step, promql_result *out, char *err, size_t errlen);

/* Formats a sample value as Prometheus' HTTP API does (Go
 * strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, no
 * exponent; "NaN", "+Inf", "-Inf"). Writes at most len-1 bytes + NUL
 * (len >= 32 is always enough except for huge magnitudes: use 400) and
 * returns buf. */
char *promql_format_value(double v, char *buf, size_t len);

/* ---- in-memory store (tests, the conformance runner, benchmarks) -------- */

typedef struct promql_memstore promql_memstore;

promql_memstore *promql_memstore_new(void);
void promql_memstore_free(promql_memstore *m);
/* Drops every series. */
void promql_memstore_clear(promql_memstore *m);
/* Adds one sample. The label set (any order, unique names) is copied; labels
 * with an empty value are dropped and an empty set is rejected (-EINVAL).
 * A sample at an existing timestamp replaces it. */
int promql_memstore_add(promql_memstore *m, const labels_label *ls, size_t n, int64_t t, double v);
/* Removes the series with exactly this label set, if any. */
void promql_memstore_remove(promql_memstore *m, const labels_label *ls, size_t n);
size_t promql_memstore_n_series(const promql_memstore *m);
/* A queryable reading m; the sets it returns borrow m's memory. */
promql_queryable promql_memstore_queryable(promql_memstore *m);

#ifdef __cplusplus
}
#endif

#endif /* PROMQL_PROMQL_H */
