/* PromQL parser entry points (Prometheus 2.42 promql/parser behaviour).
 *
 * All functions are pure over their input buffer, keep no global mutable
 * state and are safe to call from several threads at once. Regex matchers
 * are validated with lib/labels (Go RE2 syntax and error texts, as
 * Prometheus); the tree keeps them as strings for the evaluator to compile.
 * Accepted queries, printed forms and error texts are checked against the
 * real Prometheus 2.42 by tests/promql/test_parser_prometheus.c.
 */
#ifndef PROMQL_PARSE_H
#define PROMQL_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits that keep recursion bounded (Prometheus has none; real queries
 * stay far below them). Input beyond them is refused with "expression
 * nesting too deep ...":
 *  - PROMQL_MAX_DEPTH: a parsed tree is at most this many levels deep (a
 *    leaf is one level), so recursive walkers over it cannot exhaust the
 *    stack; long `a or b or c ...` chains count one level per operator;
 *  - PROMQL_MAX_NESTING: parentheses, calls, aggregations and unary
 *    operators nest at most this deep inside one another (the parser
 *    recurses on them). */
#define PROMQL_MAX_DEPTH 500
#define PROMQL_MAX_NESTING 256

/* A parse error. Prometheus reports all errors it finds; we report the first
 * one (the one Prometheus lists first in nearly every case). */
typedef struct promql_parse_error {
    size_t pos_start, pos_end; /* byte range in the input the error is about */
    int line, col;             /* 1-based, from pos_start; col counts bytes */
    /* The bare message, e.g. `unexpected end of input in aggregation`
     * (truncated if longer, e.g. when it quotes a huge literal). */
    char msg[512];
    /* The full Prometheus text: `1:12: parse error: <msg>`. */
    char text[600];
} promql_parse_error;

/* Parses a PromQL expression (input need not be NUL-terminated; len bytes)
 * and type-checks it like Prometheus' parser.ParseExpr.
 * Returns 0 and sets *out to a tree the caller frees with promql_node_free(),
 * or returns a negative errno (-EINVAL syntax/type error, -ENOMEM) with *out
 * NULL and err (if not NULL) filled. */
int promql_parse(const char *input, size_t len, promql_node **out, promql_parse_error *err);

/* Parses a metric selector as Prometheus' ParseMetricSelector does (used
 * for /api/v1/series match[] and similar): `name`, `name{...}` or `{...}`,
 * nothing else. No type checks: the empty-matcher rule is the caller's
 * (Prometheus' API reports "match[] must contain at least one non-empty
 * matcher"). Returns 0 and a PROMQL_NODE_VECTOR in *out (free with
 * promql_node_free), or -EINVAL/-ENOMEM with err filled. */
int promql_parse_metric_selector(const char *input, size_t len, promql_node **out,
                                 promql_parse_error *err);

/* Parses a duration like Prometheus' model.ParseDuration plus the parser's
 * extra rule: `1h30m`, `5m`, `1y`, `1ms`, units y w d h m s ms each at most
 * once, largest first; "0" and all-zero durations are accepted here (the
 * query parser itself rejects a zero duration in ranges and offsets).
 * Returns 0 and *ms, or -EINVAL with a message in err[errlen]. */
int promql_parse_duration(const char *s, size_t len, int64_t *ms, char *err, size_t errlen);

/* Unquotes a PromQL string literal ("..", '..' or `..`, with Go escapes).
 * s/len must be the whole literal including its quotes. Returns 0 with
 * *out (malloc()ed, NUL-terminated, caller frees) and *out_len, or
 * -EINVAL/-ENOMEM with a message in err[errlen]. */
int promql_unquote(const char *s, size_t len, char **out, size_t *out_len, char *err, size_t errlen);

/* One label of a series description. */
typedef struct promql_label {
    char *name;  /* owned */
    char *value; /* owned, unquoted; may contain NULs: value_len */
    size_t value_len;
} promql_label;

/* A parsed series description `name{a="b", ...}` / `name` / `{a="b"}`. */
typedef struct promql_series_desc {
    char *name;            /* metric name written outside braces, or NULL; owned */
    promql_label *labels;  /* labels in the order written, owned; a name
                              outside braces is NOT repeated here */
    size_t n_labels;
} promql_series_desc;

/* Parses the metric part of a series description as used by the test-script
 * `load` lines and /api/v1/series-like inputs: an optional metric name (PromQL
 * keywords allowed), then an optional `{label="value", ...}` with only `=`
 * and an optional trailing comma. Leading whitespace is skipped. Parsing
 * stops after the closing brace, or after the name when no brace follows;
 * *consumed (if not NULL) gets the number of input bytes used, so a caller
 * can go on with the values. At least a name or braces must be present.
 * Returns 0 and fills *out (free with promql_series_desc_free), or -EINVAL
 * (err filled) / -ENOMEM. On error *out is left empty. */
int promql_parse_series_desc(const char *input, size_t len, promql_series_desc *out,
                             size_t *consumed, promql_parse_error *err);

/* Frees what d owns and zeroes it; d itself is not freed. NULL is fine. */
void promql_series_desc_free(promql_series_desc *d);

#ifdef __cplusplus
}
#endif

#endif /* PROMQL_PARSE_H */
