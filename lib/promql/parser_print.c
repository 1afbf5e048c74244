/* Prints an AST back as PromQL, like Prometheus' printer.go (Node.String()).
 * Deliberate differences, so that printing always round-trips: a
 * group_left/group_right after an empty `ignoring()` is kept (Prometheus
 * drops it), `__name__=""` in a selector without a name is kept, and +Inf
 * before `^` prints as `Inf`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

#define NOINLINE __attribute__((noinline))

static void print_node(pqp_buf *b, const promql_node *n);

static void print_duration(pqp_buf *b, int64_t ms)
{
    char d[64];
    pqp_buf_adds(b, promql_duration_format(ms, d, sizeof d));
}

static void print_mods(pqp_buf *b, const promql_modifiers *m)
{
    if (m->at == PROMQL_AT_TIMESTAMP)
        pqp_buf_printf(b, " @ %.3f", (double)m->at_ms / 1000.0);
    else if (m->at == PROMQL_AT_START)
        pqp_buf_adds(b, " @ start()");
    else if (m->at == PROMQL_AT_END)
        pqp_buf_adds(b, " @ end()");
    if (m->offset_ms > 0) {
        pqp_buf_adds(b, " offset ");
        print_duration(b, m->offset_ms);
    } else if (m->offset_ms < 0) {
        pqp_buf_adds(b, " offset -");
        print_duration(b, -m->offset_ms);
    }
}

static void print_strv(pqp_buf *b, char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            pqp_buf_adds(b, ", ");
        pqp_buf_adds(b, v[i]);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name{sorted matchers}, without modifiers. */
static void print_selector(pqp_buf *b, const promql_node *n)
{
    if (b->limit) {
        /* Length probe: the printed form is at least this long (name, and
         * each matcher other than __name__ with its quotes and operator);
         * when that already passes the limit, skip the formatting. */
        size_t est = n->vector.name ? strlen(n->vector.name) : 0;
        for (size_t i = 0; i < n->vector.n_matchers; i++)
            if (strcmp(n->vector.matchers[i].name, "__name__") != 0)
                est += strlen(n->vector.matchers[i].name) + n->vector.matchers[i].value_len + 3;
        if (b->len + est > b->limit) {
            while (b->len <= b->limit && !b->oom)
                pqp_buf_addc(b, '~');
            return;
        }
    }
    size_t cnt = 0;
    char **strs = calloc(n->vector.n_matchers ? n->vector.n_matchers : 1, sizeof *strs);
    if (!strs) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < n->vector.n_matchers; i++) {
        const promql_matcher *m = &n->vector.matchers[i];
        /* The name matcher is left out when it repeats the name written
         * outside braces. (Prometheus also drops `__name__=""` when there is
         * no name, which changes the query; we keep it.) */
        if (n->vector.name && m->op == PROMQL_MATCH_EQ && !strcmp(m->name, "__name__") &&
            m->value_len == strlen(n->vector.name) &&
            !memcmp(m->value, n->vector.name, m->value_len))
            continue;
        pqp_buf s = {0};
        pqp_buf_adds(&s, m->name);
        pqp_buf_adds(&s, promql_match_op_str(m->op));
        pqp_buf_go_quote(&s, m->value, m->value_len, 0);
        if (s.oom || !s.s) {
            free(s.s);
            b->oom = true;
            break;
        }
        strs[cnt++] = s.s;
    }
    /* Sorted like Prometheus (sort.Strings on the rendered matchers). */
    qsort(strs, cnt, sizeof *strs, cmp_str);
    if (n->vector.name)
        pqp_buf_adds(b, n->vector.name);
    if (cnt) {
        pqp_buf_addc(b, '{');
        for (size_t i = 0; i < cnt; i++) {
            if (i)
                pqp_buf_addc(b, ',');
            pqp_buf_adds(b, strs[i]);
        }
        pqp_buf_addc(b, '}');
    }
    for (size_t i = 0; i < cnt; i++)
        free(strs[i]);
    free(strs);
}

/* `+Inf` would re-parse as a unary plus that swallows a following `^`, so
 * an infinite left operand of `^` is printed without its sign. */
static void print_operand(pqp_buf *b, const promql_node *n, bool before_pow)
{
    if (before_pow && n->kind == PROMQL_NODE_NUMBER && isinf(n->number.value) &&
        n->number.value > 0)
        pqp_buf_adds(b, "Inf");
    else
        print_node(b, n);
}

static void print_binary(pqp_buf *b, const promql_node *n)
{
    print_operand(b, n->binary.lhs, n->binary.op == PROMQL_OP_POW);
    pqp_buf_addc(b, ' ');
    pqp_print_binop(b, n);
    pqp_buf_addc(b, ' ');
    print_node(b, n->binary.rhs);
}

/* "op[ bool][ on/ignoring (...)][ group_x (...)]" */
NOINLINE void pqp_print_binop(pqp_buf *b, const promql_node *n)
{
    pqp_buf_adds(b, promql_binop_str(n->binary.op));
    if (n->binary.return_bool)
        pqp_buf_adds(b, " bool");
    const promql_vector_matching *m = n->binary.matching;
    bool grouped = m && (m->card == PROMQL_CARD_MANY_TO_ONE || m->card == PROMQL_CARD_ONE_TO_MANY);
    if (m && (m->n_labels > 0 || m->on || grouped)) {
        pqp_buf_adds(b, m->on ? " on (" : " ignoring (");
        print_strv(b, m->labels, m->n_labels);
        pqp_buf_addc(b, ')');
        if (grouped) {
            pqp_buf_adds(b, m->card == PROMQL_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
            print_strv(b, m->include, m->n_include);
            pqp_buf_addc(b, ')');
        }
    }
}

/* Non-recursive parts, out of line so print_node keeps a small frame. */
NOINLINE static void print_leaf(pqp_buf *b, const promql_node *n)
{
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
        pqp_buf_go_float(b, n->number.value);
        break;
    case PROMQL_NODE_STRING:
        pqp_buf_go_quote(b, n->string.value, n->string.len, 0);
        break;
    case PROMQL_NODE_VECTOR:
        print_selector(b, n);
        print_mods(b, &n->vector.mod);
        break;
    case PROMQL_NODE_MATRIX:
        print_selector(b, n->matrix.vector);
        pqp_buf_addc(b, '[');
        print_duration(b, n->matrix.range_ms);
        pqp_buf_addc(b, ']');
        print_mods(b, &n->matrix.vector->vector.mod);
        break;
    default:
        break;
    }
}

NOINLINE void pqp_print_subquery_suffix(pqp_buf *b, const promql_node *n)
{
    pqp_buf_addc(b, '[');
    print_duration(b, n->subquery.range_ms);
    pqp_buf_addc(b, ':');
    if (n->subquery.step_ms)
        print_duration(b, n->subquery.step_ms);
    pqp_buf_addc(b, ']');
    print_mods(b, &n->subquery.mod);
}

NOINLINE void pqp_print_agg_head(pqp_buf *b, const promql_node *n)
{
    pqp_buf_adds(b, promql_aggop_str(n->aggregate.op));
    if (n->aggregate.without) {
        pqp_buf_adds(b, " without (");
        print_strv(b, n->aggregate.grouping, n->aggregate.n_grouping);
        pqp_buf_adds(b, ") ");
    } else if (n->aggregate.n_grouping > 0) {
        pqp_buf_adds(b, " by (");
        print_strv(b, n->aggregate.grouping, n->aggregate.n_grouping);
        pqp_buf_adds(b, ") ");
    }
}

static void print_node(pqp_buf *b, const promql_node *n)
{
    if (!n || (b->limit && b->len > b->limit))
        return;
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
    case PROMQL_NODE_STRING:
    case PROMQL_NODE_VECTOR:
    case PROMQL_NODE_MATRIX:
        print_leaf(b, n);
        break;
    case PROMQL_NODE_SUBQUERY:
        print_node(b, n->subquery.expr);
        pqp_print_subquery_suffix(b, n);
        break;
    case PROMQL_NODE_PAREN:
        pqp_buf_addc(b, '(');
        print_node(b, n->paren.expr);
        pqp_buf_addc(b, ')');
        break;
    case PROMQL_NODE_UNARY:
        pqp_buf_adds(b, n->unary.op == PROMQL_UNOP_SUB ? "-" : "+");
        print_operand(b, n->unary.expr, true);
        break;
    case PROMQL_NODE_BINARY:
        print_binary(b, n);
        break;
    case PROMQL_NODE_AGGREGATE:
        pqp_print_agg_head(b, n);
        pqp_buf_addc(b, '(');
        if (n->aggregate.param) {
            print_node(b, n->aggregate.param);
            pqp_buf_adds(b, ", ");
        }
        print_node(b, n->aggregate.expr);
        pqp_buf_addc(b, ')');
        break;
    case PROMQL_NODE_CALL:
        pqp_buf_adds(b, promql_function_info(n->call.func)->name);
        pqp_buf_addc(b, '(');
        for (size_t i = 0; i < n->call.n_args; i++) {
            if (i)
                pqp_buf_adds(b, ", ");
            print_node(b, n->call.args[i]);
        }
        pqp_buf_addc(b, ')');
        break;
    }
}

void pqp_print(pqp_buf *b, const promql_node *n)
{
    print_node(b, n);
}

char *promql_node_print(const promql_node *n)
{
    pqp_buf b = {0};
    pqp_buf_add(&b, "", 0);
    print_node(&b, n);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
