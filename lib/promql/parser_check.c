/* Type checks of a parsed tree, as Prometheus' checkAST (parse.go) does
 * them, in the same order so the first error reported is the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

static promql_value_type check(pqp_parser *p, promql_node *n);

#define NOINLINE __attribute__((noinline))

/* Prometheus' expectType, after n was checked and found to be of type t. */
NOINLINE static void type_rule(pqp_parser *p, const promql_node *n, promql_value_type t,
                               promql_value_type want, const char *ctx, const char *fname)
{
    if (p->failed || t == want)
        return;
    char buf[96];
    if (fname) {
        snprintf(buf, sizeof buf, "call to function \"%s\"", fname);
        ctx = buf;
    }
    pqp_error(p, n->pos_start, n->pos_end, "expected type %s in %s, got %s",
              promql_value_type_doc(want), ctx, promql_value_type_doc(t));
}

NOINLINE static void subquery_rule(pqp_parser *p, const promql_node *n, promql_value_type t)
{
    if (!p->failed && t != PROMQL_VALUE_VECTOR)
        pqp_error(p, n->pos_start, n->pos_end,
                  "subquery is only allowed on instant vector, got %s instead",
                  promql_value_type_name(t));
}

NOINLINE static void unary_rule(pqp_parser *p, const promql_node *n, promql_value_type t)
{
    if (!p->failed && t != PROMQL_VALUE_SCALAR && t != PROMQL_VALUE_VECTOR)
        pqp_error(p, n->pos_start, n->pos_end,
                  "unary expression only allowed on expressions of type scalar or instant vector, got \"%s\"",
                  promql_value_type_doc(t));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Start of the operator text between lhs and rhs (Prometheus' opRange). */
static size_t op_start(pqp_parser *p, const promql_node *n)
{
    size_t s = n->binary.lhs->pos_end;
    while (s < p->lx.len && is_space(p->lx.in[s]))
        s++;
    return s;
}

/* The rules below run after the operands were checked; they are out of
 * line so the recursive check() keeps a small stack frame. */
NOINLINE static void binary_rules(pqp_parser *p, promql_node *n, promql_value_type lt,
                                  promql_value_type rt)
{
    promql_binop op = n->binary.op;
    promql_vector_matching *m = n->binary.matching;
    size_t os = op_start(p, n);
    if (n->binary.return_bool && !promql_binop_is_comparison(op)) {
        pqp_error(p, os, os + 1, "bool modifier can only be used on comparison operators");
        return;
    }
    if (promql_binop_is_comparison(op) && !n->binary.return_bool && lt == PROMQL_VALUE_SCALAR &&
        rt == PROMQL_VALUE_SCALAR) {
        pqp_error(p, os, os + 1, "comparisons between scalars must use BOOL modifier");
        return;
    }
    if (m && promql_binop_is_set(op) && m->card == PROMQL_CARD_ONE_TO_ONE)
        m->card = PROMQL_CARD_MANY_TO_MANY;
    if (m && m->on) {
        for (size_t i = 0; i < m->n_labels; i++) {
            for (size_t j = 0; j < m->n_include; j++) {
                if (!strcmp(m->labels[i], m->include[j])) {
                    pqp_error(p, os, os + 1, "label \"%s\" must not occur in ON and GROUP clause at once",
                             m->labels[i]);
                    return;
                }
            }
        }
    }
    if (lt != PROMQL_VALUE_SCALAR && lt != PROMQL_VALUE_VECTOR) {
        pqp_error(p, n->binary.lhs->pos_start, n->binary.lhs->pos_end,
                 "binary expression must contain only scalar and instant vector types");
        return;
    }
    if (rt != PROMQL_VALUE_SCALAR && rt != PROMQL_VALUE_VECTOR) {
        pqp_error(p, n->binary.rhs->pos_start, n->binary.rhs->pos_end,
                 "binary expression must contain only scalar and instant vector types");
        return;
    }
    if ((lt != PROMQL_VALUE_VECTOR || rt != PROMQL_VALUE_VECTOR) && m) {
        if (m->n_labels > 0) {
            pqp_error(p, n->pos_start, n->pos_end, "vector matching only allowed between instant vectors");
            return;
        }
        pqp_matching_free(m);
        n->binary.matching = NULL;
    } else if (m && promql_binop_is_set(op)) {
        if (m->card == PROMQL_CARD_ONE_TO_MANY || m->card == PROMQL_CARD_MANY_TO_ONE) {
            pqp_error(p, n->pos_start, n->pos_end, "no grouping allowed for \"%s\" operation",
                     promql_binop_str(op));
            return;
        }
        if (m->card != PROMQL_CARD_MANY_TO_MANY) {
            pqp_error(p, n->pos_start, n->pos_end, "set operations must always be many-to-many");
            return;
        }
    }
    if ((lt == PROMQL_VALUE_SCALAR || rt == PROMQL_VALUE_SCALAR) && promql_binop_is_set(op))
        pqp_error(p, n->pos_start, n->pos_end,
                 "set operator \"%s\" not allowed in binary scalar expression", promql_binop_str(op));
}

/* Argument counts; returns false after an error. */
NOINLINE static bool call_count_rule(pqp_parser *p, promql_node *n)
{
    const promql_function *f = promql_function_info(n->call.func);
    int nargs = f->n_arg_types;
    int got = (int)n->call.n_args;
    if (f->variadic == 0) {
        if (nargs != got) {
            pqp_error(p, n->pos_start, n->pos_end, "expected %d argument(s) in call to \"%s\", got %d",
                     nargs, f->name, got);
            return false;
        }
    } else {
        int na = nargs - 1;
        if (na > got) {
            pqp_error(p, n->pos_start, n->pos_end,
                     "expected at least %d argument(s) in call to \"%s\", got %d", na, f->name, got);
            return false;
        }
        if (f->variadic > 0 && na + f->variadic < got) {
            pqp_error(p, n->pos_start, n->pos_end,
                     "expected at most %d argument(s) in call to \"%s\", got %d", na + f->variadic,
                     f->name, got);
            return false;
        }
    }
    return true;
}

/* Type of argument i of a call, as Prometheus checks it (variadic tails
 * repeat the last type); NONE when it is not checked. */
static promql_value_type call_arg_type(const promql_function *f, size_t i)
{
    if (i >= (size_t)f->n_arg_types) {
        if (f->variadic == 0)
            return PROMQL_VALUE_NONE;
        i = (size_t)f->n_arg_types - 1;
    }
    return f->arg_types[i];
}

NOINLINE static void check_vector(pqp_parser *p, promql_node *n)
{
    if (n->vector.name) {
        /* The last matcher is the one made from the name outside braces. */
        for (size_t i = 0; i + 1 < n->vector.n_matchers; i++) {
            const promql_matcher *m = &n->vector.matchers[i];
            if (!strcmp(m->name, "__name__")) {
                pqp_buf b = {0};
                pqp_buf_adds(&b, "metric name must not be set twice: ");
                pqp_buf_go_quote(&b, n->vector.name, strlen(n->vector.name), 0);
                pqp_buf_adds(&b, " or ");
                pqp_buf_go_quote(&b, m->value, m->value_len, 0);
                if (b.oom)
                    pqp_oom(p);
                else
                    pqp_error(p, n->pos_start, n->pos_end, "%s", b.s);
                free(b.s);
                return;
            }
        }
    }
    for (size_t i = 0; i < n->vector.n_matchers; i++)
        if (!pqp_matcher_matches_empty(&n->vector.matchers[i]))
            return;
    pqp_error(p, n->pos_start, n->pos_end,
             "vector selector must contain at least one non-empty matcher");
}

/* Checks n and returns its type (Prometheus' checkAST). */
static promql_value_type check(pqp_parser *p, promql_node *n)
{
    promql_value_type t, u;
    if (p->failed || !n)
        return PROMQL_VALUE_NONE;
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
        return PROMQL_VALUE_SCALAR;
    case PROMQL_NODE_STRING:
        return PROMQL_VALUE_STRING;
    case PROMQL_NODE_VECTOR:
        check_vector(p, n);
        return PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_MATRIX:
        check(p, n->matrix.vector);
        return PROMQL_VALUE_MATRIX;
    case PROMQL_NODE_SUBQUERY:
        subquery_rule(p, n, check(p, n->subquery.expr));
        return PROMQL_VALUE_MATRIX;
    case PROMQL_NODE_PAREN:
        return check(p, n->paren.expr);
    case PROMQL_NODE_UNARY:
        t = check(p, n->unary.expr);
        unary_rule(p, n, t);
        return t;
    case PROMQL_NODE_BINARY:
        t = check(p, n->binary.lhs);
        u = check(p, n->binary.rhs);
        if (!p->failed)
            binary_rules(p, n, t, u);
        return t == PROMQL_VALUE_SCALAR && u == PROMQL_VALUE_SCALAR ? PROMQL_VALUE_SCALAR
                                                                     : PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_AGGREGATE:
        t = check(p, n->aggregate.expr);
        type_rule(p, n->aggregate.expr, t, PROMQL_VALUE_VECTOR, "aggregation expression", NULL);
        if (promql_aggop_has_param(n->aggregate.op) && !p->failed) {
            t = check(p, n->aggregate.param);
            type_rule(p, n->aggregate.param, t,
                      n->aggregate.op == PROMQL_AGG_COUNT_VALUES ? PROMQL_VALUE_STRING
                                                                 : PROMQL_VALUE_SCALAR,
                      "aggregation parameter", NULL);
        }
        return PROMQL_VALUE_VECTOR;
    case PROMQL_NODE_CALL: {
        const promql_function *f = promql_function_info(n->call.func);
        if (!call_count_rule(p, n))
            return f->return_type;
        for (size_t i = 0; i < n->call.n_args && !p->failed; i++) {
            u = call_arg_type(f, i);
            if (u == PROMQL_VALUE_NONE)
                break;
            t = check(p, n->call.args[i]);
            type_rule(p, n->call.args[i], t, u, NULL, f->name);
        }
        return f->return_type;
    }
    }
    return PROMQL_VALUE_NONE;
}

int pqp_check(pqp_parser *p, promql_node *root)
{
    check(p, root);
    return p->failed ? -1 : 0;
}
