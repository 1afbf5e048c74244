/* Multi-line formatting as Prometheus 2.42's prettier (Node.Pretty, used by
 * /api/v1/format_query): a node whose one-line form is longer than 100
 * bytes is split, its children indented by two spaces per level; shorter
 * nodes print on one line. Quirks kept: a subquery that fits is not
 * indented, and a split binary expression does not indent its left side
 * beyond the child level. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

#define MAX_LINE 100

static void indent(pqp_buf *b, int level)
{
    for (int i = 0; i < level; i++)
        pqp_buf_adds(b, "  ");
}

static void pretty(pqp_buf *b, const promql_node *n, int level);

/* Appends the pretty form of a child, with its leading spaces removed. */
static void pretty_trimmed(pqp_buf *b, const promql_node *n, int level)
{
    pqp_buf t = {0};
    pqp_buf_add(&t, "", 0);
    pretty(&t, n, level);
    if (t.oom) {
        b->oom = true;
    } else {
        size_t s = 0, e = t.len;
        while (s < e && (t.s[s] == ' ' || t.s[s] == '\n' || t.s[s] == '\t' || t.s[s] == '\r'))
            s++;
        while (e > s && (t.s[e - 1] == ' ' || t.s[e - 1] == '\n' || t.s[e - 1] == '\t' ||
                         t.s[e - 1] == '\r'))
            e--;
        pqp_buf_add(b, t.s + s, e - s);
    }
    free(t.s);
}

static void pretty(pqp_buf *b, const promql_node *n, int level)
{
    /* Only whether the one-line form exceeds the limit matters when it does,
     * so printing stops there: formatting stays linear in the query size. */
    pqp_buf line = {.limit = MAX_LINE};
    pqp_buf_add(&line, "", 0);
    pqp_print(&line, n);
    if (line.oom) {
        b->oom = true;
        free(line.s);
        return;
    }
    bool split = line.len > MAX_LINE;
    switch (n->kind) {
    case PROMQL_NODE_SUBQUERY:
        if (!split) {
            pqp_buf_add(b, line.s, line.len);
        } else {
            pretty(b, n->subquery.expr, level);
            pqp_print_subquery_suffix(b, n);
        }
        break;
    case PROMQL_NODE_UNARY:
        indent(b, level);
        pqp_buf_adds(b, n->unary.op == PROMQL_UNOP_SUB ? "-" : "+");
        pretty_trimmed(b, n->unary.expr, level);
        break;
    case PROMQL_NODE_BINARY:
        if (!split) {
            indent(b, level);
            pqp_buf_add(b, line.s, line.len);
            break;
        }
        if (n->binary.op == PROMQL_OP_POW && n->binary.lhs->kind == PROMQL_NODE_NUMBER &&
            isinf(n->binary.lhs->number.value) && n->binary.lhs->number.value > 0) {
            indent(b, level + 1); /* as the one-line printer: `+Inf ^` would re-parse as unary */
            pqp_buf_adds(b, "Inf");
        } else {
            pretty(b, n->binary.lhs, level + 1);
        }
        pqp_buf_addc(b, '\n');
        indent(b, level);
        pqp_print_binop(b, n);
        pqp_buf_addc(b, '\n');
        pretty(b, n->binary.rhs, level + 1);
        break;
    case PROMQL_NODE_AGGREGATE:
        indent(b, level);
        if (!split) {
            pqp_buf_add(b, line.s, line.len);
            break;
        }
        pqp_print_agg_head(b, n);
        pqp_buf_adds(b, "(\n");
        if (n->aggregate.param) {
            pretty(b, n->aggregate.param, level + 1);
            pqp_buf_adds(b, ",\n");
        }
        pretty(b, n->aggregate.expr, level + 1);
        pqp_buf_addc(b, '\n');
        indent(b, level);
        pqp_buf_addc(b, ')');
        break;
    case PROMQL_NODE_CALL:
        indent(b, level);
        if (!split) {
            pqp_buf_add(b, line.s, line.len);
            break;
        }
        pqp_buf_adds(b, promql_function_info(n->call.func)->name);
        pqp_buf_adds(b, "(\n");
        for (size_t i = 0; i < n->call.n_args; i++) {
            if (i)
                pqp_buf_adds(b, ",\n");
            pretty(b, n->call.args[i], level + 1);
        }
        pqp_buf_addc(b, '\n');
        indent(b, level);
        pqp_buf_addc(b, ')');
        break;
    case PROMQL_NODE_PAREN:
        indent(b, level);
        if (!split) {
            pqp_buf_add(b, line.s, line.len);
            break;
        }
        pqp_buf_adds(b, "(\n");
        pretty(b, n->paren.expr, level + 1);
        pqp_buf_addc(b, '\n');
        indent(b, level);
        pqp_buf_addc(b, ')');
        break;
    default: /* selectors and literals never split: print them whole (the
              * probe above may have stopped early) */
        indent(b, level);
        pqp_print(b, n);
        break;
    }
    free(line.s);
}

char *promql_node_pretty(const promql_node *n)
{
    pqp_buf b = {0};
    pqp_buf_add(&b, "", 0);
    if (n)
        pretty(&b, n, 0);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
