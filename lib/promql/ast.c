/* PromQL AST: operator names, the function table, node allocation, free,
 * clone, equality, walking and the harness' @ rewrite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

const char *promql_value_type_doc(promql_value_type t)
{
    switch (t) {
    case PROMQL_VALUE_SCALAR: return "scalar";
    case PROMQL_VALUE_VECTOR: return "instant vector";
    case PROMQL_VALUE_MATRIX: return "range vector";
    case PROMQL_VALUE_STRING: return "string";
    default: return "none";
    }
}

const char *promql_value_type_name(promql_value_type t)
{
    switch (t) {
    case PROMQL_VALUE_SCALAR: return "scalar";
    case PROMQL_VALUE_VECTOR: return "vector";
    case PROMQL_VALUE_MATRIX: return "matrix";
    case PROMQL_VALUE_STRING: return "string";
    default: return "none";
    }
}

const char *promql_match_op_str(promql_match_op op)
{
    switch (op) {
    case PROMQL_MATCH_EQ: return "=";
    case PROMQL_MATCH_NE: return "!=";
    case PROMQL_MATCH_RE: return "=~";
    case PROMQL_MATCH_NRE: return "!~";
    }
    return "?";
}

const char *promql_binop_str(promql_binop op)
{
    switch (op) {
    case PROMQL_OP_ADD: return "+";
    case PROMQL_OP_SUB: return "-";
    case PROMQL_OP_MUL: return "*";
    case PROMQL_OP_DIV: return "/";
    case PROMQL_OP_MOD: return "%";
    case PROMQL_OP_POW: return "^";
    case PROMQL_OP_ATAN2: return "atan2";
    case PROMQL_OP_EQL: return "==";
    case PROMQL_OP_NEQ: return "!=";
    case PROMQL_OP_GTR: return ">";
    case PROMQL_OP_LSS: return "<";
    case PROMQL_OP_GTE: return ">=";
    case PROMQL_OP_LTE: return "<=";
    case PROMQL_OP_AND: return "and";
    case PROMQL_OP_OR: return "or";
    case PROMQL_OP_UNLESS: return "unless";
    }
    return "?";
}

bool promql_binop_is_comparison(promql_binop op)
{
    return op == PROMQL_OP_EQL || op == PROMQL_OP_NEQ || op == PROMQL_OP_GTR ||
           op == PROMQL_OP_LSS || op == PROMQL_OP_GTE || op == PROMQL_OP_LTE;
}

bool promql_binop_is_set(promql_binop op)
{
    return op == PROMQL_OP_AND || op == PROMQL_OP_OR || op == PROMQL_OP_UNLESS;
}

const char *promql_aggop_str(promql_aggop op)
{
    switch (op) {
    case PROMQL_AGG_SUM: return "sum";
    case PROMQL_AGG_AVG: return "avg";
    case PROMQL_AGG_COUNT: return "count";
    case PROMQL_AGG_MIN: return "min";
    case PROMQL_AGG_MAX: return "max";
    case PROMQL_AGG_GROUP: return "group";
    case PROMQL_AGG_STDDEV: return "stddev";
    case PROMQL_AGG_STDVAR: return "stdvar";
    case PROMQL_AGG_TOPK: return "topk";
    case PROMQL_AGG_BOTTOMK: return "bottomk";
    case PROMQL_AGG_COUNT_VALUES: return "count_values";
    case PROMQL_AGG_QUANTILE: return "quantile";
    }
    return "?";
}

bool promql_aggop_has_param(promql_aggop op)
{
    return op == PROMQL_AGG_TOPK || op == PROMQL_AGG_BOTTOMK || op == PROMQL_AGG_COUNT_VALUES ||
           op == PROMQL_AGG_QUANTILE;
}

#define S PROMQL_VALUE_SCALAR
#define V PROMQL_VALUE_VECTOR
#define M PROMQL_VALUE_MATRIX
#define STR PROMQL_VALUE_STRING
#define FN(id, name, ret, var, n, ...) \
    [PROMQL_FN_##id] = {PROMQL_FN_##id, name, {__VA_ARGS__}, n, var, ret}

/* Prometheus 2.42 promql/parser/functions.go. */
static const promql_function functions[PROMQL_FN__COUNT] = {
    FN(ABS, "abs", V, 0, 1, V),
    FN(ABSENT, "absent", V, 0, 1, V),
    FN(ABSENT_OVER_TIME, "absent_over_time", V, 0, 1, M),
    FN(ACOS, "acos", V, 0, 1, V),
    FN(ACOSH, "acosh", V, 0, 1, V),
    FN(ASIN, "asin", V, 0, 1, V),
    FN(ASINH, "asinh", V, 0, 1, V),
    FN(ATAN, "atan", V, 0, 1, V),
    FN(ATANH, "atanh", V, 0, 1, V),
    FN(AVG_OVER_TIME, "avg_over_time", V, 0, 1, M),
    FN(CEIL, "ceil", V, 0, 1, V),
    FN(CHANGES, "changes", V, 0, 1, M),
    FN(CLAMP, "clamp", V, 0, 3, V, S, S),
    FN(CLAMP_MAX, "clamp_max", V, 0, 2, V, S),
    FN(CLAMP_MIN, "clamp_min", V, 0, 2, V, S),
    FN(COS, "cos", V, 0, 1, V),
    FN(COSH, "cosh", V, 0, 1, V),
    FN(COUNT_OVER_TIME, "count_over_time", V, 0, 1, M),
    FN(DAY_OF_MONTH, "day_of_month", V, 1, 1, V),
    FN(DAY_OF_WEEK, "day_of_week", V, 1, 1, V),
    FN(DAY_OF_YEAR, "day_of_year", V, 1, 1, V),
    FN(DAYS_IN_MONTH, "days_in_month", V, 1, 1, V),
    FN(DEG, "deg", V, 0, 1, V),
    FN(DELTA, "delta", V, 0, 1, M),
    FN(DERIV, "deriv", V, 0, 1, M),
    FN(EXP, "exp", V, 0, 1, V),
    FN(FLOOR, "floor", V, 0, 1, V),
    FN(HISTOGRAM_COUNT, "histogram_count", V, 0, 1, V),
    FN(HISTOGRAM_FRACTION, "histogram_fraction", V, 0, 3, S, S, V),
    FN(HISTOGRAM_QUANTILE, "histogram_quantile", V, 0, 2, S, V),
    FN(HISTOGRAM_SUM, "histogram_sum", V, 0, 1, V),
    FN(HOLT_WINTERS, "holt_winters", V, 0, 3, M, S, S),
    FN(HOUR, "hour", V, 1, 1, V),
    FN(IDELTA, "idelta", V, 0, 1, M),
    FN(INCREASE, "increase", V, 0, 1, M),
    FN(IRATE, "irate", V, 0, 1, M),
    FN(LABEL_JOIN, "label_join", V, -1, 4, V, STR, STR, STR),
    FN(LABEL_REPLACE, "label_replace", V, 0, 5, V, STR, STR, STR, STR),
    FN(LAST_OVER_TIME, "last_over_time", V, 0, 1, M),
    FN(LN, "ln", V, 0, 1, V),
    FN(LOG10, "log10", V, 0, 1, V),
    FN(LOG2, "log2", V, 0, 1, V),
    FN(MAX_OVER_TIME, "max_over_time", V, 0, 1, M),
    FN(MIN_OVER_TIME, "min_over_time", V, 0, 1, M),
    FN(MINUTE, "minute", V, 1, 1, V),
    FN(MONTH, "month", V, 1, 1, V),
    FN(PI, "pi", S, 0, 0, PROMQL_VALUE_NONE),
    FN(PREDICT_LINEAR, "predict_linear", V, 0, 2, M, S),
    FN(PRESENT_OVER_TIME, "present_over_time", V, 0, 1, M),
    FN(QUANTILE_OVER_TIME, "quantile_over_time", V, 0, 2, S, M),
    FN(RAD, "rad", V, 0, 1, V),
    FN(RATE, "rate", V, 0, 1, M),
    FN(RESETS, "resets", V, 0, 1, M),
    FN(ROUND, "round", V, 1, 2, V, S),
    FN(SCALAR, "scalar", S, 0, 1, V),
    FN(SGN, "sgn", V, 0, 1, V),
    FN(SIN, "sin", V, 0, 1, V),
    FN(SINH, "sinh", V, 0, 1, V),
    FN(SORT, "sort", V, 0, 1, V),
    FN(SORT_DESC, "sort_desc", V, 0, 1, V),
    FN(SQRT, "sqrt", V, 0, 1, V),
    FN(STDDEV_OVER_TIME, "stddev_over_time", V, 0, 1, M),
    FN(STDVAR_OVER_TIME, "stdvar_over_time", V, 0, 1, M),
    FN(SUM_OVER_TIME, "sum_over_time", V, 0, 1, M),
    FN(TAN, "tan", V, 0, 1, V),
    FN(TANH, "tanh", V, 0, 1, V),
    FN(TIME, "time", S, 0, 0, PROMQL_VALUE_NONE),
    FN(TIMESTAMP, "timestamp", V, 0, 1, V),
    FN(VECTOR, "vector", V, 0, 1, S),
    FN(YEAR, "year", V, 1, 1, V),
};

#undef S
#undef V
#undef M
#undef STR
#undef FN

const promql_function *promql_function_info(promql_function_id id)
{
    if ((int)id < 0 || id >= PROMQL_FN__COUNT)
        return NULL;
    return &functions[id];
}

const promql_function *promql_function_lookup(const char *name)
{
    size_t lo = 0, hi = PROMQL_FN__COUNT;
    while (lo < hi) { /* the table is sorted by name */
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, functions[mid].name);
        if (c == 0)
            return &functions[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

promql_node *pqp_node_new(promql_node_kind kind, size_t start, size_t end)
{
    promql_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->pos_start = start;
    n->pos_end = end;
    return n;
}

void pqp_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void pqp_matching_free(promql_vector_matching *m)
{
    if (!m)
        return;
    pqp_strv_free(m->labels, m->n_labels);
    pqp_strv_free(m->include, m->n_include);
    free(m);
}

void pqp_matchers_free(promql_matcher *ms, size_t n)
{
    if (!ms)
        return;
    for (size_t i = 0; i < n; i++) {
        free(ms[i].name);
        free(ms[i].value);
    }
    free(ms);
}

#define NOINLINE __attribute__((noinline))

/* The i-th child slot of n in source order, or NULL past the last one.
 * Recursive functions below only loop over these, so their stack frames
 * stay small however deep a tree is (see PROMQL_MAX_DEPTH). */
static promql_node **child_slot(promql_node *n, size_t i)
{
    switch (n->kind) {
    case PROMQL_NODE_MATRIX: return i == 0 ? &n->matrix.vector : NULL;
    case PROMQL_NODE_SUBQUERY: return i == 0 ? &n->subquery.expr : NULL;
    case PROMQL_NODE_PAREN: return i == 0 ? &n->paren.expr : NULL;
    case PROMQL_NODE_UNARY: return i == 0 ? &n->unary.expr : NULL;
    case PROMQL_NODE_BINARY:
        return i == 0 ? &n->binary.lhs : i == 1 ? &n->binary.rhs : NULL;
    case PROMQL_NODE_AGGREGATE:
        return i == 0 ? &n->aggregate.param : i == 1 ? &n->aggregate.expr : NULL;
    case PROMQL_NODE_CALL: return i < n->call.n_args ? &n->call.args[i] : NULL;
    default: return NULL;
    }
}

/* Frees what n owns except its children, then n. */
NOINLINE static void free_shallow(promql_node *n)
{
    switch (n->kind) {
    case PROMQL_NODE_STRING:
        free(n->string.value);
        break;
    case PROMQL_NODE_VECTOR:
        free(n->vector.name);
        pqp_matchers_free(n->vector.matchers, n->vector.n_matchers);
        break;
    case PROMQL_NODE_BINARY:
        pqp_matching_free(n->binary.matching);
        break;
    case PROMQL_NODE_AGGREGATE:
        pqp_strv_free(n->aggregate.grouping, n->aggregate.n_grouping);
        break;
    case PROMQL_NODE_CALL:
        free(n->call.args);
        break;
    default:
        break;
    }
    free(n);
}

void promql_node_free(promql_node *n)
{
    if (!n)
        return;
    promql_node **c;
    for (size_t i = 0; (c = child_slot(n, i)) != NULL; i++)
        promql_node_free(*c);
    free_shallow(n);
}

static char *memdup0(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static bool strv_clone(char **src, size_t n, char ***dst)
{
    *dst = NULL;
    if (!src)
        return true;
    char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return false;
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(src[i]);
        if (!v[i]) {
            pqp_strv_free(v, i);
            return false;
        }
    }
    *dst = v;
    return true;
}

/* Copy of n without its children (child slots NULL; a call gets its
 * argument array, all NULL). */
NOINLINE static promql_node *clone_shallow(const promql_node *n)
{
    promql_node *c = pqp_node_new(n->kind, n->pos_start, n->pos_end);
    if (!c)
        return NULL;
    bool ok = true;
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
        c->number = n->number;
        break;
    case PROMQL_NODE_STRING:
        c->string.len = n->string.len;
        c->string.value = memdup0(n->string.value, n->string.len);
        ok = c->string.value != NULL;
        break;
    case PROMQL_NODE_VECTOR:
        c->vector.mod = n->vector.mod;
        if (n->vector.name && !(c->vector.name = strdup(n->vector.name))) {
            ok = false;
            break;
        }
        if (n->vector.n_matchers &&
            !(c->vector.matchers = calloc(n->vector.n_matchers, sizeof *c->vector.matchers))) {
            ok = false;
            break;
        }
        for (size_t i = 0; i < n->vector.n_matchers && ok; i++) {
            const promql_matcher *m = &n->vector.matchers[i];
            promql_matcher *d = &c->vector.matchers[i];
            c->vector.n_matchers = i + 1;
            d->op = m->op;
            d->value_len = m->value_len;
            d->name = strdup(m->name);
            d->value = memdup0(m->value, m->value_len);
            ok = d->name && d->value;
        }
        break;
    case PROMQL_NODE_MATRIX:
        c->matrix.range_ms = n->matrix.range_ms;
        break;
    case PROMQL_NODE_SUBQUERY:
        c->subquery.range_ms = n->subquery.range_ms;
        c->subquery.step_ms = n->subquery.step_ms;
        c->subquery.mod = n->subquery.mod;
        break;
    case PROMQL_NODE_PAREN:
        break;
    case PROMQL_NODE_UNARY:
        c->unary.op = n->unary.op;
        break;
    case PROMQL_NODE_BINARY: {
        c->binary.op = n->binary.op;
        c->binary.return_bool = n->binary.return_bool;
        const promql_vector_matching *m = n->binary.matching;
        if (!m)
            break;
        promql_vector_matching *d = calloc(1, sizeof *d);
        c->binary.matching = d;
        if (!d) {
            ok = false;
            break;
        }
        d->card = m->card;
        d->on = m->on;
        ok = strv_clone(m->labels, m->n_labels, &d->labels) &&
             strv_clone(m->include, m->n_include, &d->include);
        d->n_labels = d->labels ? m->n_labels : 0;
        d->n_include = d->include ? m->n_include : 0;
        break;
    }
    case PROMQL_NODE_AGGREGATE:
        c->aggregate.op = n->aggregate.op;
        c->aggregate.without = n->aggregate.without;
        ok = strv_clone(n->aggregate.grouping, n->aggregate.n_grouping, &c->aggregate.grouping);
        if (ok)
            c->aggregate.n_grouping = n->aggregate.n_grouping;
        break;
    case PROMQL_NODE_CALL:
        c->call.func = n->call.func;
        c->call.args = calloc(n->call.n_args ? n->call.n_args : 1, sizeof *c->call.args);
        ok = c->call.args != NULL;
        if (ok)
            c->call.n_args = n->call.n_args;
        break;
    }
    if (!ok) {
        promql_node_free(c);
        return NULL;
    }
    return c;
}

promql_node *promql_node_clone(const promql_node *n)
{
    if (!n)
        return NULL;
    promql_node *c = clone_shallow(n);
    if (!c)
        return NULL;
    promql_node **src, **dst;
    for (size_t i = 0; (src = child_slot((promql_node *)n, i)) != NULL; i++) {
        if (!*src)
            continue; /* aggregation without a parameter */
        dst = child_slot(c, i);
        if (!(*dst = promql_node_clone(*src))) {
            promql_node_free(c);
            return NULL;
        }
    }
    return c;
}

static bool strv_equal(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static bool matcher_equal(const promql_matcher *a, const promql_matcher *b)
{
    return a->op == b->op && !strcmp(a->name, b->name) && a->value_len == b->value_len &&
           !memcmp(a->value, b->value, a->value_len);
}

static bool mod_equal(const promql_modifiers *a, const promql_modifiers *b)
{
    return a->offset_ms == b->offset_ms && a->at == b->at &&
           (a->at != PROMQL_AT_TIMESTAMP || a->at_ms == b->at_ms);
}

/* Matchers compare as multisets (the printer sorts them): every matcher
 * occurs as often in a as in b. Quadratic but allocation-free, so equality
 * cannot fail. */
static bool matchers_equal(const promql_node *a, const promql_node *b)
{
    size_t n = a->vector.n_matchers;
    if (n != b->vector.n_matchers)
        return false;
    for (size_t i = 0; i < n; i++) {
        const promql_matcher *m = &a->vector.matchers[i];
        size_t ca = 0, cb = 0;
        for (size_t j = 0; j < n; j++) {
            ca += matcher_equal(m, &a->vector.matchers[j]);
            cb += matcher_equal(m, &b->vector.matchers[j]);
        }
        if (ca != cb)
            return false;
    }
    return true;
}

/* Equality of everything but the children. */
NOINLINE static bool shallow_equal(const promql_node *a, const promql_node *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case PROMQL_NODE_NUMBER:
        if (isnan(a->number.value) && isnan(b->number.value))
            return true;
        return memcmp(&a->number.value, &b->number.value, sizeof(double)) == 0;
    case PROMQL_NODE_STRING:
        return a->string.len == b->string.len &&
               !memcmp(a->string.value, b->string.value, a->string.len);
    case PROMQL_NODE_VECTOR:
        if ((a->vector.name == NULL) != (b->vector.name == NULL))
            return false;
        if (a->vector.name && strcmp(a->vector.name, b->vector.name))
            return false;
        return mod_equal(&a->vector.mod, &b->vector.mod) && matchers_equal(a, b);
    case PROMQL_NODE_MATRIX:
        return a->matrix.range_ms == b->matrix.range_ms;
    case PROMQL_NODE_SUBQUERY:
        return a->subquery.range_ms == b->subquery.range_ms &&
               a->subquery.step_ms == b->subquery.step_ms &&
               mod_equal(&a->subquery.mod, &b->subquery.mod);
    case PROMQL_NODE_PAREN:
        return true;
    case PROMQL_NODE_UNARY:
        return a->unary.op == b->unary.op;
    case PROMQL_NODE_BINARY: {
        if (a->binary.op != b->binary.op || a->binary.return_bool != b->binary.return_bool)
            return false;
        const promql_vector_matching *ma = a->binary.matching, *mb = b->binary.matching;
        if ((ma == NULL) != (mb == NULL))
            return false;
        return !ma || (ma->card == mb->card && ma->on == mb->on &&
                       strv_equal(ma->labels, ma->n_labels, mb->labels, mb->n_labels) &&
                       strv_equal(ma->include, ma->n_include, mb->include, mb->n_include));
    }
    case PROMQL_NODE_AGGREGATE:
        return a->aggregate.op == b->aggregate.op && a->aggregate.without == b->aggregate.without &&
               strv_equal(a->aggregate.grouping, a->aggregate.n_grouping, b->aggregate.grouping,
                          b->aggregate.n_grouping);
    case PROMQL_NODE_CALL:
        return a->call.func == b->call.func && a->call.n_args == b->call.n_args;
    }
    return false;
}

bool promql_node_equal(const promql_node *a, const promql_node *b)
{
    if (!a || !b)
        return a == b;
    if (!shallow_equal(a, b))
        return false;
    promql_node **ca, **cb;
    for (size_t i = 0; (ca = child_slot((promql_node *)a, i)) != NULL; i++) {
        cb = child_slot((promql_node *)b, i);
        if (!promql_node_equal(*ca, *cb))
            return false;
    }
    return true;
}

promql_value_type promql_node_type(const promql_node *n)
{
    if (!n)
        return PROMQL_VALUE_NONE;
    switch (n->kind) {
    case PROMQL_NODE_NUMBER: return PROMQL_VALUE_SCALAR;
    case PROMQL_NODE_STRING: return PROMQL_VALUE_STRING;
    case PROMQL_NODE_VECTOR: return PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_MATRIX: return PROMQL_VALUE_MATRIX;
    case PROMQL_NODE_SUBQUERY: return PROMQL_VALUE_MATRIX;
    case PROMQL_NODE_PAREN: return promql_node_type(n->paren.expr);
    case PROMQL_NODE_UNARY: return promql_node_type(n->unary.expr);
    case PROMQL_NODE_BINARY:
        if (promql_node_type(n->binary.lhs) == PROMQL_VALUE_SCALAR &&
            promql_node_type(n->binary.rhs) == PROMQL_VALUE_SCALAR)
            return PROMQL_VALUE_SCALAR;
        return PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_AGGREGATE: return PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_CALL: {
        const promql_function *f = promql_function_info(n->call.func);
        return f ? f->return_type : PROMQL_VALUE_NONE;
    }
    }
    return PROMQL_VALUE_NONE;
}

static int walk(promql_node *n, promql_node *parent, promql_visit_fn visit, void *ctx)
{
    if (!n)
        return 0;
    int rc = visit(n, parent, ctx);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return 0;
    promql_node **c;
    for (size_t i = 0; (c = child_slot(n, i)) != NULL; i++)
        if ((rc = walk(*c, n, visit, ctx)) < 0)
            return rc;
    return 0;
}

int promql_walk(promql_node *root, promql_visit_fn visit, void *ctx)
{
    return walk(root, NULL, visit, ctx);
}

static int set_at_visit(promql_node *n, promql_node *parent, void *ctx)
{
    int64_t at = *(const int64_t *)ctx;
    (void)parent;
    promql_modifiers *mod = NULL;
    if (n->kind == PROMQL_NODE_VECTOR)
        mod = &n->vector.mod;
    else if (n->kind == PROMQL_NODE_SUBQUERY)
        mod = &n->subquery.mod;
    if (mod && mod->at == PROMQL_AT_NONE) {
        mod->at = PROMQL_AT_TIMESTAMP;
        mod->at_ms = at;
    }
    /* Everything inside a subquery keeps its own timing. */
    return n->kind == PROMQL_NODE_SUBQUERY ? 1 : 0;
}

void promql_set_at_all(promql_node *root, int64_t at_ms)
{
    promql_walk(root, set_at_visit, &at_ms);
}
