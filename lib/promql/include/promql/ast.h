/* PromQL abstract syntax tree (Prometheus 2.42 semantics).
 *
 * Change log (keep this list; the evaluator is written against this header):
 *   v1  initial version.
 *   v2  comments only: printer differences from Prometheus, depth limit
 *       (PROMQL_MAX_DEPTH in parse.h) that bounds recursion over trees.
 *   v3  added promql_node_pretty() (multi-line form of format_query).
 *
 * The tree mirrors Prometheus' promql/parser AST (ast.go) closely, so the
 * evaluator can follow Prometheus' engine.go:
 *   - a range selector is a MATRIX node wrapping a VECTOR node; its offset and
 *     @ live on the inner VECTOR node (as in Prometheus' MatrixSelector);
 *   - `-<number literal>` is folded by the parser into a negative NUMBER (as
 *     the Prometheus grammar does); every other unary +/- is a UNARY node;
 *   - parentheses are kept as PAREN nodes;
 *   - a metric name written outside braces is `vector.name` AND the last
 *     entry of `vector.matchers` (`__name__="name"`), as in Prometheus;
 *     `{__name__="x"}` leaves `vector.name` NULL;
 *   - a binary expression between two instant vectors always has a
 *     `matching` (card ONE_TO_ONE by default, MANY_TO_MANY for and/or/unless);
 *     when either side is a scalar `matching` is NULL;
 *   - durations, offsets and @ timestamps are int64 milliseconds.
 *
 * Ownership: a tree returned by promql_parse() (or promql_node_clone()) owns
 * every node, array and string reachable from its root; promql_node_free()
 * on the root frees all of it. Nothing in a tree points into the query
 * text. Callers may edit a tree in place (e.g. change modifiers); strings
 * and nodes they put in must be malloc()ed, as promql_node_free() frees them.
 *
 * Thread-safety: no global mutable state. A tree may be read by several
 * threads at once; mutating it (including the `aux` fields) needs exclusive
 * access. The function table is immutable static data.
 */
#ifndef PROMQL_AST_H
#define PROMQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Value types of expressions (Prometheus parser.ValueType). */
typedef enum promql_value_type {
    PROMQL_VALUE_NONE = 0,
    PROMQL_VALUE_SCALAR,
    PROMQL_VALUE_VECTOR, /* instant vector */
    PROMQL_VALUE_MATRIX, /* range vector */
    PROMQL_VALUE_STRING,
} promql_value_type;

/* "scalar", "instant vector", "range vector", "string", "none"
 * (Prometheus DocumentedType). Static string. */
const char *promql_value_type_doc(promql_value_type t);
/* "scalar", "vector", "matrix", "string", "none" (Prometheus ValueType). */
const char *promql_value_type_name(promql_value_type t);

typedef enum promql_node_kind {
    PROMQL_NODE_NUMBER = 1, /* number literal */
    PROMQL_NODE_STRING,     /* string literal */
    PROMQL_NODE_VECTOR,     /* instant vector selector */
    PROMQL_NODE_MATRIX,     /* range vector selector: VECTOR + range */
    PROMQL_NODE_SUBQUERY,   /* expr[range:step] */
    PROMQL_NODE_PAREN,      /* (expr) */
    PROMQL_NODE_UNARY,      /* -expr / +expr */
    PROMQL_NODE_BINARY,     /* lhs op rhs */
    PROMQL_NODE_AGGREGATE,  /* sum by (x) (expr) ... */
    PROMQL_NODE_CALL,       /* function call */
} promql_node_kind;

/* Label matcher operators. */
typedef enum promql_match_op {
    PROMQL_MATCH_EQ = 0, /* =  */
    PROMQL_MATCH_NE,     /* != */
    PROMQL_MATCH_RE,     /* =~ (fully anchored regex) */
    PROMQL_MATCH_NRE,    /* !~ */
} promql_match_op;

/* "=", "!=", "=~", "!~". */
const char *promql_match_op_str(promql_match_op op);

typedef struct promql_matcher {
    promql_match_op op;
    char *name;       /* label name, NUL-terminated, owned */
    char *value;      /* unquoted value, NUL-terminated, owned; may contain
                         embedded NULs (from "\x00" escapes): use value_len */
    size_t value_len;
} promql_matcher;

/* Binary operators. */
typedef enum promql_binop {
    PROMQL_OP_ADD = 1, /* +      */
    PROMQL_OP_SUB,     /* -      */
    PROMQL_OP_MUL,     /* *      */
    PROMQL_OP_DIV,     /* /      */
    PROMQL_OP_MOD,     /* %      */
    PROMQL_OP_POW,     /* ^      */
    PROMQL_OP_ATAN2,   /* atan2  */
    PROMQL_OP_EQL,     /* ==     */
    PROMQL_OP_NEQ,     /* !=     */
    PROMQL_OP_GTR,     /* >      */
    PROMQL_OP_LSS,     /* <      */
    PROMQL_OP_GTE,     /* >=     */
    PROMQL_OP_LTE,     /* <=     */
    PROMQL_OP_AND,     /* and    */
    PROMQL_OP_OR,      /* or     */
    PROMQL_OP_UNLESS,  /* unless */
} promql_binop;

/* "+", "-", ..., "atan2", "and", "or", "unless". */
const char *promql_binop_str(promql_binop op);
bool promql_binop_is_comparison(promql_binop op); /* == != > < >= <= */
bool promql_binop_is_set(promql_binop op);        /* and or unless */

/* Unary operators (the only ones Prometheus allows). */
typedef enum promql_unop {
    PROMQL_UNOP_SUB = 1, /* - */
    PROMQL_UNOP_ADD,     /* + */
} promql_unop;

/* Aggregation operators. */
typedef enum promql_aggop {
    PROMQL_AGG_SUM = 1,
    PROMQL_AGG_AVG,
    PROMQL_AGG_COUNT,
    PROMQL_AGG_MIN,
    PROMQL_AGG_MAX,
    PROMQL_AGG_GROUP,
    PROMQL_AGG_STDDEV,
    PROMQL_AGG_STDVAR,
    PROMQL_AGG_TOPK,         /* param: scalar */
    PROMQL_AGG_BOTTOMK,      /* param: scalar */
    PROMQL_AGG_COUNT_VALUES, /* param: string */
    PROMQL_AGG_QUANTILE,     /* param: scalar */
} promql_aggop;

/* "sum", "avg", ... (lower case). */
const char *promql_aggop_str(promql_aggop op);
bool promql_aggop_has_param(promql_aggop op); /* topk bottomk count_values quantile */

/* Vector matching cardinality. */
typedef enum promql_card {
    PROMQL_CARD_ONE_TO_ONE = 0,
    PROMQL_CARD_MANY_TO_ONE,  /* group_left  */
    PROMQL_CARD_ONE_TO_MANY,  /* group_right */
    PROMQL_CARD_MANY_TO_MANY, /* set operators */
} promql_card;

/* Prometheus VectorMatching. */
typedef struct promql_vector_matching {
    promql_card card;
    bool on;                 /* true: on(...); false: ignoring(...) or none */
    char **labels;           /* on/ignoring labels, owned (array + strings) */
    size_t n_labels;
    char **include;          /* group_left/group_right extra labels, owned */
    size_t n_include;
} promql_vector_matching;

/* @ modifier. */
typedef enum promql_at_kind {
    PROMQL_AT_NONE = 0,
    PROMQL_AT_TIMESTAMP, /* @ <number>: `at_ms` holds it */
    PROMQL_AT_START,     /* @ start() */
    PROMQL_AT_END,       /* @ end() */
} promql_at_kind;

/* Offset and @ of a selector or subquery. */
typedef struct promql_modifiers {
    int64_t offset_ms;   /* as written (Prometheus OriginalOffset); 0 = none; may be < 0 */
    promql_at_kind at;
    int64_t at_ms;       /* valid when at == PROMQL_AT_TIMESTAMP; seconds*1000 rounded */
} promql_modifiers;

/* Every function of Prometheus 2.42 (promql/parser/functions.go), sorted
 * by name. Use promql_function_info() for name, argument and return types. */
typedef enum promql_function_id {
    PROMQL_FN_ABS = 0,
    PROMQL_FN_ABSENT,
    PROMQL_FN_ABSENT_OVER_TIME,
    PROMQL_FN_ACOS,
    PROMQL_FN_ACOSH,
    PROMQL_FN_ASIN,
    PROMQL_FN_ASINH,
    PROMQL_FN_ATAN,
    PROMQL_FN_ATANH,
    PROMQL_FN_AVG_OVER_TIME,
    PROMQL_FN_CEIL,
    PROMQL_FN_CHANGES,
    PROMQL_FN_CLAMP,
    PROMQL_FN_CLAMP_MAX,
    PROMQL_FN_CLAMP_MIN,
    PROMQL_FN_COS,
    PROMQL_FN_COSH,
    PROMQL_FN_COUNT_OVER_TIME,
    PROMQL_FN_DAY_OF_MONTH,
    PROMQL_FN_DAY_OF_WEEK,
    PROMQL_FN_DAY_OF_YEAR,
    PROMQL_FN_DAYS_IN_MONTH,
    PROMQL_FN_DEG,
    PROMQL_FN_DELTA,
    PROMQL_FN_DERIV,
    PROMQL_FN_EXP,
    PROMQL_FN_FLOOR,
    PROMQL_FN_HISTOGRAM_COUNT,    /* native histograms only (out of scope) */
    PROMQL_FN_HISTOGRAM_FRACTION, /* native histograms only (out of scope) */
    PROMQL_FN_HISTOGRAM_QUANTILE,
    PROMQL_FN_HISTOGRAM_SUM,      /* native histograms only (out of scope) */
    PROMQL_FN_HOLT_WINTERS,
    PROMQL_FN_HOUR,
    PROMQL_FN_IDELTA,
    PROMQL_FN_INCREASE,
    PROMQL_FN_IRATE,
    PROMQL_FN_LABEL_JOIN,
    PROMQL_FN_LABEL_REPLACE,
    PROMQL_FN_LAST_OVER_TIME,
    PROMQL_FN_LN,
    PROMQL_FN_LOG10,
    PROMQL_FN_LOG2,
    PROMQL_FN_MAX_OVER_TIME,
    PROMQL_FN_MIN_OVER_TIME,
    PROMQL_FN_MINUTE,
    PROMQL_FN_MONTH,
    PROMQL_FN_PI,
    PROMQL_FN_PREDICT_LINEAR,
    PROMQL_FN_PRESENT_OVER_TIME,
    PROMQL_FN_QUANTILE_OVER_TIME,
    PROMQL_FN_RAD,
    PROMQL_FN_RATE,
    PROMQL_FN_RESETS,
    PROMQL_FN_ROUND,
    PROMQL_FN_SCALAR,
    PROMQL_FN_SGN,
    PROMQL_FN_SIN,
    PROMQL_FN_SINH,
    PROMQL_FN_SORT,
    PROMQL_FN_SORT_DESC,
    PROMQL_FN_SQRT,
    PROMQL_FN_STDDEV_OVER_TIME,
    PROMQL_FN_STDVAR_OVER_TIME,
    PROMQL_FN_SUM_OVER_TIME,
    PROMQL_FN_TAN,
    PROMQL_FN_TANH,
    PROMQL_FN_TIME,
    PROMQL_FN_TIMESTAMP,
    PROMQL_FN_VECTOR,
    PROMQL_FN_YEAR,
    PROMQL_FN__COUNT /* number of functions, not a function */
} promql_function_id;

#define PROMQL_FN_MAX_ARGS 5

/* Prometheus parser.Function. */
typedef struct promql_function {
    promql_function_id id;
    const char *name;
    promql_value_type arg_types[PROMQL_FN_MAX_ARGS];
    int n_arg_types;
    /* 0: exactly n_arg_types args; >0: the last arg type may be given 0..variadic
     * times (i.e. n_arg_types-1 .. n_arg_types-1+variadic args);
     * -1: the last arg type may repeat without limit (label_join). */
    int variadic;
    promql_value_type return_type;
} promql_function;

/* Static table entry for id, or NULL when id is out of range. */
const promql_function *promql_function_info(promql_function_id id);
/* Case-sensitive lookup by name (as Prometheus); NULL when unknown. */
const promql_function *promql_function_lookup(const char *name);
/* Prometheus' AtModifierUnsafeFunctions: the result depends on the
 * evaluation time or on sample timestamps even when the arguments do not, so
 * a call of one is never step invariant (date functions, predict_linear,
 * time, timestamp). */
bool promql_function_at_unsafe(promql_function_id id);

typedef struct promql_node promql_node;

struct promql_node {
    promql_node_kind kind;
    /* Byte offsets of the node in the query text, [pos_start, pos_end). */
    size_t pos_start, pos_end;
    /* Scratch pointer for the evaluator (e.g. prefetched series). The AST
     * never reads, frees, copies, prints or compares it; starts NULL. */
    void *aux;
    union {
        struct {
            double value;
        } number;
        struct {
            char *value; /* unquoted, NUL-terminated, owned; may contain NULs */
            size_t len;
        } string;
        struct {
            char *name; /* metric name written outside braces, or NULL; owned */
            promql_matcher *matchers; /* owned array (incl. __name__ matcher) */
            size_t n_matchers;
            promql_modifiers mod;
        } vector;
        struct {
            promql_node *vector; /* always a PROMQL_NODE_VECTOR, owned */
            int64_t range_ms;    /* > 0 */
        } matrix;
        struct {
            promql_node *expr; /* owned; type instant vector */
            int64_t range_ms;  /* > 0 */
            int64_t step_ms;   /* 0 when omitted (`[1h:]`: use default step) */
            promql_modifiers mod;
        } subquery;
        struct {
            promql_node *expr; /* owned */
        } paren;
        struct {
            promql_unop op;
            promql_node *expr; /* owned */
        } unary;
        struct {
            promql_binop op;
            promql_node *lhs, *rhs; /* owned */
            bool return_bool;       /* `bool` modifier */
            promql_vector_matching *matching; /* owned; NULL unless both sides are vectors */
        } binary;
        struct {
            promql_aggop op;
            promql_node *expr;  /* owned */
            promql_node *param; /* owned; NULL unless promql_aggop_has_param(op) */
            char **grouping;    /* by/without labels, owned (array + strings) */
            size_t n_grouping;
            bool without;       /* true: without(...); false: by(...) or none */
        } aggregate;
        struct {
            promql_function_id func;
            promql_node **args; /* owned array of owned nodes */
            size_t n_args;
        } call;
    };
};

/* Result type of an expression (Prometheus Expr.Type()): NUMBER scalar,
 * STRING string, VECTOR/BINARY-with-a-vector-side/AGGREGATE vector,
 * MATRIX/SUBQUERY matrix, CALL its function's return type, PAREN/UNARY
 * their operand's type. NULL gives PROMQL_VALUE_NONE. */
promql_value_type promql_node_type(const promql_node *n);

/* Frees n and everything it owns. NULL is fine. */
void promql_node_free(promql_node *n);

/* Deep copy (aux is not copied: NULL in the copy). NULL on allocation
 * failure or when n is NULL. */
promql_node *promql_node_clone(const promql_node *n);

/* Structural equality, ignoring positions and aux. Numbers compare
 * bitwise-equal or both NaN. */
bool promql_node_equal(const promql_node *a, const promql_node *b);

/* Prints n as PromQL, like Prometheus' Node.String() (printer.go): e.g.
 * `sum by (job) (rate(x{a="b"}[5m] offset 1m))`, `a + on (x) group_left (y) b`,
 * numbers as Go's fmt.Sprint (1e+06, +Inf, NaN), strings as Go %q,
 * durations as model.Duration (1h30m), `@ 1.500`. Checked against
 * Prometheus 2.42's /api/v1/format_query (tests/promql/
 * test_parser_prometheus.c). Differences, chosen so that parsing the output
 * always gives back an equal tree: +Inf as the left operand of `^` prints
 * as `Inf`, `__name__=""` in a selector without a name is kept, and
 * group_left/group_right after an empty `ignoring()` is kept. Returns a
 * malloc()ed NUL-terminated string the caller frees, or NULL on allocation
 * failure. */
char *promql_node_print(const promql_node *n);

/* Prints n as Prometheus 2.42's /api/v1/format_query does (Node.Pretty(0)):
 * like promql_node_print() while a node fits in 100 bytes, else split over
 * lines with two-space indents. Same ownership and differences as
 * promql_node_print(). */
char *promql_node_pretty(const promql_node *n);

/* Trees from promql_parse() are at most PROMQL_MAX_DEPTH (parse.h) levels
 * deep, so recursive functions over them (including the ones here) are
 * bounded. */

/* Pre-order walk. For every node visit(node, parent, ctx) is called (parent
 * NULL for the root); children are visited in source order (a MATRIX node's
 * inner VECTOR node is a child). visit returns 0 to continue, 1 to skip the
 * node's children, or a negative value to stop; that value is returned.
 * Returns 0 after a full walk. */
typedef int (*promql_visit_fn)(promql_node *node, promql_node *parent, void *ctx);
int promql_walk(promql_node *root, promql_visit_fn visit, void *ctx);

/* The test-script harness' @-variant rewrite: every VECTOR selector,
 * MATRIX selector (its inner VECTOR) and SUBQUERY without an @ modifier
 * (mod.at == PROMQL_AT_NONE) gets `@ at_ms`; nodes inside a subquery are
 * never touched (the subquery itself is pinned, or already had an @).
 * Modifies the tree in place; cannot fail. */
void promql_set_at_all(promql_node *root, int64_t at_ms);

/* Formats a duration like Prometheus' model.Duration.String() ("1h30m",
 * "0s", "90d", "1y"); ms must be >= 0. Writes at most bufsz bytes incl. the
 * NUL; returns buf. */
char *promql_duration_format(int64_t ms, char *buf, size_t bufsz);

#ifdef __cplusplus
}
#endif

#endif /* PROMQL_AST_H */
