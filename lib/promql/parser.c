/* PromQL parser: recursive descent with precedence climbing over the
 * lexer's tokens. Mirrors the grammar and error texts of Prometheus 2.42
 * (generated_parser.y, parse.go); stops at the first error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

#define NOINLINE __attribute__((noinline))

/* Binary operator precedences, lowest first (Prometheus' %left/%right). */
enum { PREC_OR = 1, PREC_AND, PREC_CMP, PREC_ADD, PREC_MUL, PREC_POW };

void pqp_oom(pqp_parser *p)
{
    if (!p->failed) {
        p->oom = true;
        pqp_error(p, 0, 0, "out of memory");
    }
}

void pqp_error(pqp_parser *p, size_t start, size_t end, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    promql_parse_error *e = p->err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->pos_start = start;
    e->pos_end = end;
    int line = 1;
    size_t last_nl = 0;
    bool have_nl = false;
    for (size_t i = 0; i < start && i < p->lx.len; i++) {
        if (p->lx.in[i] == '\n') {
            line++;
            last_nl = i;
            have_nl = true;
        }
    }
    e->line = line;
    e->col = (int)(have_nl ? start - last_nl : start + 1);
    if (start > p->lx.len)
        snprintf(e->text, sizeof e->text, "invalid position: parse error: %s", e->msg);
    else
        snprintf(e->text, sizeof e->text, "%d:%d: parse error: %s", e->line, e->col, e->msg);
}

void pqp_next(pqp_parser *p)
{
    pqp_lex_next(&p->lx, &p->tok);
    if (p->tok.type == T_ERROR)
        pqp_error(p, p->tok.pos, p->lx.len, "%s", p->lx.err);
}

void pqp_unexpected(pqp_parser *p, const char *ctx, const char *expected)
{
    if (p->failed || p->tok.type == T_ERROR)
        return;
    if (!ctx && p->agg_depth > 0)
        ctx = "aggregation";
    pqp_buf b = {0};
    pqp_buf_adds(&b, "unexpected ");
    pqp_token_desc(p->lx.in, &p->tok, &b);
    if (ctx) {
        pqp_buf_adds(&b, " in ");
        pqp_buf_adds(&b, ctx);
    }
    if (expected) {
        pqp_buf_adds(&b, ", expected ");
        pqp_buf_adds(&b, expected);
    }
    if (b.oom || !b.s)
        pqp_oom(p);
    else
        pqp_error(p, p->tok.pos, p->tok.pos + p->tok.len, "%s", b.s);
    free(b.s);
}

bool pqp_is_word_token(pqp_tok t)
{
    return t == T_IDENT || t == T_METRIC_IDENT || (t > T_AGG_START && t < T_AGG_END) ||
           (t > T_KW_START && t < T_KW_END) || t == T_LAND || t == T_LOR || t == T_LUNLESS ||
           t == T_ATAN2 || t == T_START || t == T_END;
}

static int binop_prec(pqp_tok t)
{
    switch (t) {
    case T_LOR: return PREC_OR;
    case T_LAND: case T_LUNLESS: return PREC_AND;
    case T_EQLC: case T_NEQ: case T_LSS: case T_LTE: case T_GTR: case T_GTE: return PREC_CMP;
    case T_ADD: case T_SUB: return PREC_ADD;
    case T_MUL: case T_DIV: case T_MOD: case T_ATAN2: return PREC_MUL;
    case T_POW: return PREC_POW;
    default: return 0;
    }
}

static promql_binop tok_binop(pqp_tok t)
{
    switch (t) {
    case T_ADD: return PROMQL_OP_ADD;
    case T_SUB: return PROMQL_OP_SUB;
    case T_MUL: return PROMQL_OP_MUL;
    case T_DIV: return PROMQL_OP_DIV;
    case T_MOD: return PROMQL_OP_MOD;
    case T_POW: return PROMQL_OP_POW;
    case T_ATAN2: return PROMQL_OP_ATAN2;
    case T_EQLC: return PROMQL_OP_EQL;
    case T_NEQ: return PROMQL_OP_NEQ;
    case T_GTR: return PROMQL_OP_GTR;
    case T_LSS: return PROMQL_OP_LSS;
    case T_GTE: return PROMQL_OP_GTE;
    case T_LTE: return PROMQL_OP_LTE;
    case T_LAND: return PROMQL_OP_AND;
    case T_LOR: return PROMQL_OP_OR;
    default: return PROMQL_OP_UNLESS;
    }
}

static promql_aggop tok_aggop(pqp_tok t)
{
    switch (t) {
    case T_SUM: return PROMQL_AGG_SUM;
    case T_AVG: return PROMQL_AGG_AVG;
    case T_COUNT: return PROMQL_AGG_COUNT;
    case T_MIN: return PROMQL_AGG_MIN;
    case T_MAX: return PROMQL_AGG_MAX;
    case T_GROUP: return PROMQL_AGG_GROUP;
    case T_STDDEV: return PROMQL_AGG_STDDEV;
    case T_STDVAR: return PROMQL_AGG_STDVAR;
    case T_TOPK: return PROMQL_AGG_TOPK;
    case T_BOTTOMK: return PROMQL_AGG_BOTTOMK;
    case T_COUNT_VALUES: return PROMQL_AGG_COUNT_VALUES;
    default: return PROMQL_AGG_QUANTILE;
    }
}

static promql_node *parse_expr(pqp_parser *p, int min_prec);

/* Records the height of the subtree just built; trees deeper than
 * PROMQL_MAX_DEPTH are refused so every recursive walker stays safe. */
bool pqp_set_depth(pqp_parser *p, size_t d, size_t pos)
{
    p->last_depth = d;
    if (d > PROMQL_MAX_DEPTH) {
        pqp_error(p, pos, pos, "expression nesting too deep (more than %d levels)", PROMQL_MAX_DEPTH);
        return false;
    }
    return true;
}

static bool is_label_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

/* grouping_labels after the keyword: "(" [label {"," label} [","]] ")". */
NOINLINE static bool parse_grouping_list(pqp_parser *p, char ***out, size_t *n_out)
{
    size_t n = 0, cap = 0;
    char **v = NULL;
    if (p->tok.type != T_LPAREN) {
        pqp_unexpected(p, "grouping opts", "\"(\"");
        return false;
    }
    pqp_next(p);
    while (!p->failed && p->tok.type != T_RPAREN) {
        bool label_tok = pqp_is_word_token(p->tok.type);
        if (!label_tok || !is_label_name(p->lx.in + p->tok.pos, p->tok.len)) {
            pqp_unexpected(p, "grouping opts", "label");
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                pqp_oom(p);
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n] = strndup(p->lx.in + p->tok.pos, p->tok.len);
        if (!v[n]) {
            pqp_oom(p);
            break;
        }
        n++;
        pqp_next(p);
        if (p->tok.type == T_COMMA)
            pqp_next(p);
        else if (p->tok.type != T_RPAREN)
            pqp_unexpected(p, "grouping opts", "\",\" or \")\"");
    }
    if (p->failed) {
        pqp_strv_free(v, n);
        return false;
    }
    if (!v && !(v = calloc(1, sizeof *v))) { /* empty list: keep "by ()" apart from none */
        pqp_oom(p);
        return false;
    }
    *out = v; /* current token stays ')': callers may check before advancing */
    *n_out = n;
    return true;
}

static bool can_start_expr(pqp_tok t)
{
    return t == T_NUMBER || t == T_STRING || t == T_LPAREN || t == T_LBRACE || t == T_ADD ||
           t == T_SUB || t == T_IDENT || t == T_METRIC_IDENT || (t > T_AGG_START && t < T_AGG_END) ||
           t == T_BY || t == T_WITHOUT || t == T_OFFSET || t == T_LAND || t == T_LOR ||
           t == T_LUNLESS || t == T_START || t == T_END;
}

/* "(" args ")" of calls and aggregations; current token is "(". */
static bool parse_call_args(pqp_parser *p, promql_node ***args_out, size_t *n_out, size_t *end,
                            size_t *max_depth)
{
    size_t n = 0, cap = 0;
    *max_depth = 0;
    promql_node **args = NULL;
    pqp_next(p);
    if (!p->failed && p->tok.type != T_RPAREN) {
        for (;;) {
            promql_node *e = parse_expr(p, 0);
            if (!e)
                break;
            if (p->last_depth > *max_depth)
                *max_depth = p->last_depth;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 4;
                promql_node **na = realloc(args, nc * sizeof *na);
                if (!na) {
                    promql_node_free(e);
                    pqp_oom(p);
                    break;
                }
                args = na;
                cap = nc;
            }
            args[n++] = e;
            if (p->failed)
                break;
            if (p->tok.type == T_COMMA) {
                size_t comma = p->tok.pos;
                pqp_next(p);
                /* Prometheus reduces `args ,` as soon as no expression can follow */
                if (!p->failed && !can_start_expr(p->tok.type)) {
                    pqp_error(p, comma, comma + 1, "trailing commas not allowed in function call args");
                    break;
                }
                continue;
            }
            if (p->tok.type != T_RPAREN)
                pqp_unexpected(p, NULL, NULL);
            break;
        }
    }
    if (!p->failed && !args && !(args = calloc(1, sizeof *args)))
        pqp_oom(p);
    if (p->failed) {
        for (size_t i = 0; i < n; i++)
            promql_node_free(args[i]);
        free(args);
        return false;
    }
    *end = p->tok.pos + 1; /* current token stays ')': callers check, then advance */
    *args_out = args;
    *n_out = n;
    return true;
}

/* Prometheus' newAggregateExpr checks. */
static void check_agg_args(pqp_parser *p, promql_node *a, size_t n_args, size_t depth)
{
    size_t want = promql_aggop_has_param(a->aggregate.op) ? 2 : 1;
    if (p->failed)
        return;
    if (n_args == 0)
        pqp_error(p, a->pos_start, a->pos_end, "no arguments for aggregate expression provided");
    else if (n_args != want)
        pqp_error(p, a->pos_start, a->pos_end,
                  "wrong number of arguments for aggregate expression provided, expected %zu, got %zu",
                  want, n_args);
    else
        pqp_set_depth(p, depth + 1, a->pos_start);
}

static promql_node *parse_aggregate(pqp_parser *p, pqp_token optok)
{
    promql_node *a = pqp_node_new(PROMQL_NODE_AGGREGATE, optok.pos, optok.pos + optok.len);
    if (!a) {
        pqp_oom(p);
        return NULL;
    }
    a->aggregate.op = tok_aggop(optok.type);
    bool have_mod = false;
    promql_node **args = NULL;
    size_t n_args = 0, end = 0;
    p->agg_depth++;
    if (p->tok.type == T_BY || p->tok.type == T_WITHOUT) {
        a->aggregate.without = p->tok.type == T_WITHOUT;
        have_mod = true;
        pqp_next(p);
        if (!p->failed && parse_grouping_list(p, &a->aggregate.grouping, &a->aggregate.n_grouping))
            pqp_next(p);
    }
    if (!p->failed && p->tok.type != T_LPAREN)
        pqp_unexpected(p, "aggregation", NULL);
    size_t depth = 0;
    bool have_args = !p->failed && parse_call_args(p, &args, &n_args, &end, &depth);
    p->agg_depth--;
    a->pos_end = end;
    /* With the modifier first, Prometheus checks the arguments before it
     * reads the next token; otherwise it looks for a modifier first. */
    if (have_args && have_mod)
        check_agg_args(p, a, n_args, depth);
    if (have_args)
        pqp_next(p); /* ')' */
    bool mod_after = false;
    if (!p->failed && !have_mod && (p->tok.type == T_BY || p->tok.type == T_WITHOUT)) {
        a->aggregate.without = p->tok.type == T_WITHOUT;
        pqp_next(p);
        mod_after = !p->failed &&
                    parse_grouping_list(p, &a->aggregate.grouping, &a->aggregate.n_grouping);
    }
    if (have_args && !have_mod)
        check_agg_args(p, a, n_args, depth);
    if (mod_after) {
        size_t d = p->last_depth;
        a->pos_end = p->tok.pos + 1; /* the node ends at the grouping's ')' */
        pqp_next(p); /* the grouping's ')', after the checks as in Prometheus */
        p->last_depth = d;
    }
    if (p->failed) {
        for (size_t i = 0; i < n_args; i++)
            promql_node_free(args[i]);
        free(args);
        promql_node_free(a);
        return NULL;
    }
    if (n_args == 2) {
        a->aggregate.param = args[0];
        a->aggregate.expr = args[1];
    } else {
        a->aggregate.expr = args[0];
    }
    free(args);
    return a;
}

static promql_node *parse_call(pqp_parser *p, pqp_token name)
{
    promql_node **args = NULL;
    size_t n_args = 0, end = 0, depth;
    if (!parse_call_args(p, &args, &n_args, &end, &depth))
        return NULL;
    char fname[64];
    size_t fl = name.len < sizeof fname - 1 ? name.len : sizeof fname - 1;
    memcpy(fname, p->lx.in + name.pos, fl);
    fname[fl] = '\0';
    const promql_function *f = name.len < sizeof fname - 1 ? promql_function_lookup(fname) : NULL;
    promql_node *c = f ? pqp_node_new(PROMQL_NODE_CALL, name.pos, end) : NULL;
    if (!c) {
        if (!f) {
            pqp_buf b = {0};
            pqp_buf_go_quote(&b, p->lx.in + name.pos, name.len, 0);
            pqp_error(p, name.pos, name.pos + name.len, "unknown function with name %s",
                     b.s ? b.s : "");
            free(b.s);
        } else {
            pqp_oom(p);
        }
        for (size_t i = 0; i < n_args; i++)
            promql_node_free(args[i]);
        free(args);
        return NULL;
    }
    c->call.func = f->id;
    c->call.args = args;
    c->call.n_args = n_args;
    if (!pqp_set_depth(p, depth + 1, c->pos_start)) {
        promql_node_free(c);
        return NULL;
    }
    size_t d = p->last_depth;
    pqp_next(p); /* ')': after the name check, as Prometheus reduces the call first */
    p->last_depth = d;
    return c;
}

/* A metric name (already the current token) with optional "{...}". */
NOINLINE static promql_node *parse_selector(pqp_parser *p, const pqp_token *name)
{
    promql_matcher *ms = NULL;
    size_t n = 0;
    size_t start = name ? name->pos : p->tok.pos;
    size_t end = name ? name->pos + name->len : 0;
    if (p->tok.type == T_LBRACE) {
        if (pqp_parse_label_matchers(p, &ms, &n, &end) != 0) {
            pqp_matchers_free(ms, n);
            return NULL;
        }
    }
    p->last_depth = 1;
    return pqp_vector_selector(p, name ? p->lx.in + name->pos : NULL, name ? name->len : 0, ms, n,
                              start, end);
}

/* Number and string literals. Kept out of line (like every non-recursive
 * helper with buffers) so the recursive parse functions have small frames. */
NOINLINE static promql_node *parse_literal(pqp_parser *p)
{
    pqp_token t = p->tok;
    promql_node *n;
    if (t.type == T_NUMBER) {
        double v;
        char err[400];
        if (pqp_parse_number(p->lx.in + t.pos, t.len, &v, err, sizeof err) != 0) {
            pqp_error(p, t.pos, t.pos + t.len, "%s", err);
            return NULL;
        }
        if (!(n = pqp_node_new(PROMQL_NODE_NUMBER, t.pos, t.pos + t.len))) {
            pqp_oom(p);
            return NULL;
        }
        n->number.value = v;
    } else {
        size_t len;
        char *s = pqp_unquote_token(p, &t, &len);
        if (!s)
            return NULL;
        if (!(n = pqp_node_new(PROMQL_NODE_STRING, t.pos, t.pos + t.len))) {
            free(s);
            pqp_oom(p);
            return NULL;
        }
        n->string.value = s;
        n->string.len = len;
    }
    p->last_depth = 1;
    pqp_next(p);
    return n;
}

static promql_node *parse_primary(pqp_parser *p)
{
    pqp_token t = p->tok;
    switch (t.type) {
    case T_NUMBER:
    case T_STRING:
        return parse_literal(p);
    case T_LPAREN: {
        pqp_next(p);
        promql_node *e = parse_expr(p, 0);
        if (!e)
            return NULL;
        if (p->tok.type != T_RPAREN) {
            pqp_unexpected(p, NULL, NULL);
            promql_node_free(e);
            return NULL;
        }
        promql_node *n = pqp_node_new(PROMQL_NODE_PAREN, t.pos, p->tok.pos + 1);
        if (!n) {
            promql_node_free(e);
            pqp_oom(p);
            return NULL;
        }
        n->paren.expr = e;
        if (!pqp_set_depth(p, p->last_depth + 1, n->pos_start)) {
            promql_node_free(n);
            return NULL;
        }
        pqp_next(p);
        return n;
    }
    case T_LBRACE:
        return parse_selector(p, NULL);
    case T_IDENT:
        pqp_next(p);
        if (p->failed)
            return NULL;
        if (p->tok.type == T_LPAREN)
            return parse_call(p, t);
        return parse_selector(p, &t);
    case T_METRIC_IDENT:
    case T_BY:
    case T_WITHOUT:
    case T_OFFSET:
    case T_LAND:
    case T_LOR:
    case T_LUNLESS:
    case T_START:
    case T_END:
        pqp_next(p);
        if (p->failed)
            return NULL;
        return parse_selector(p, &t);
    default:
        break;
    }
    if (t.type > T_AGG_START && t.type < T_AGG_END) {
        pqp_next(p);
        if (p->failed)
            return NULL;
        if (p->tok.type == T_LPAREN || p->tok.type == T_BY || p->tok.type == T_WITHOUT)
            return parse_aggregate(p, t);
        return parse_selector(p, &t); /* e.g. `sum` used as a metric name */
    }
    pqp_unexpected(p, NULL, NULL);
    return NULL;
}


static promql_node *parse_unary_inner(pqp_parser *p);

static promql_node *parse_unary(pqp_parser *p)
{
    if (++p->rec > PROMQL_MAX_NESTING) {
        pqp_error(p, p->tok.pos, p->tok.pos, "expression nesting too deep (more than %d levels)",
                  PROMQL_MAX_NESTING);
        p->rec--;
        return NULL;
    }
    promql_node *e = parse_unary_inner(p);
    p->rec--;
    return e;
}

/* A run of unary signs, applied innermost first. Collected in a loop
 * rather than by recursion so long runs (`----1`) cannot exhaust the stack. */
NOINLINE static promql_node *parse_signs(pqp_parser *p)
{
    pqp_token *ops = NULL;
    size_t n = 0, cap = 0;
    promql_node *e = NULL;
    while (!p->failed && (p->tok.type == T_ADD || p->tok.type == T_SUB)) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            pqp_token *no = realloc(ops, nc * sizeof *no);
            if (!no) {
                pqp_oom(p);
                break;
            }
            ops = no;
            cap = nc;
        }
        ops[n++] = p->tok;
        pqp_next(p);
    }
    /* Unary binds like '*' (Prometheus: %prec MUL): only '^' binds tighter. */
    if (!p->failed)
        e = parse_expr(p, PREC_POW);
    while (e && n > 0) {
        pqp_token op = ops[--n];
        if (e->kind == PROMQL_NODE_NUMBER) { /* folded, as Prometheus does */
            if (op.type == T_SUB)
                e->number.value = -e->number.value;
            e->pos_start = op.pos;
            continue;
        }
        promql_node *u = pqp_node_new(PROMQL_NODE_UNARY, op.pos, e->pos_end);
        if (!u) {
            promql_node_free(e);
            e = NULL;
            pqp_oom(p);
            break;
        }
        u->unary.op = op.type == T_SUB ? PROMQL_UNOP_SUB : PROMQL_UNOP_ADD;
        u->unary.expr = e;
        e = u;
        if (!pqp_set_depth(p, p->last_depth + 1, u->pos_start)) {
            promql_node_free(e);
            e = NULL;
        }
    }
    free(ops);
    return e;
}

static promql_node *parse_unary_inner(pqp_parser *p)
{
    if (p->tok.type == T_ADD || p->tok.type == T_SUB)
        return parse_signs(p);
    promql_node *e = parse_primary(p);
    return e ? pqp_parse_postfix(p, e) : NULL;
}

/* bool, on/ignoring (...), group_left/group_right [(...)]. */
NOINLINE static promql_vector_matching *parse_bin_modifiers(pqp_parser *p, bool *ret_bool)
{
    promql_vector_matching *m = calloc(1, sizeof *m);
    if (!m) {
        pqp_oom(p);
        return NULL;
    }
    m->card = PROMQL_CARD_ONE_TO_ONE;
    if (p->tok.type == T_BOOL) {
        *ret_bool = true;
        pqp_next(p);
    }
    if (!p->failed && (p->tok.type == T_ON || p->tok.type == T_IGNORING)) {
        m->on = p->tok.type == T_ON;
        pqp_next(p);
        if (!p->failed && parse_grouping_list(p, &m->labels, &m->n_labels))
            pqp_next(p);
        if (!p->failed && (p->tok.type == T_GROUP_LEFT || p->tok.type == T_GROUP_RIGHT)) {
            m->card = p->tok.type == T_GROUP_LEFT ? PROMQL_CARD_MANY_TO_ONE
                                                  : PROMQL_CARD_ONE_TO_MANY;
            pqp_next(p);
            /* The list is optional, but a token that cannot start the right
             * operand is reported as Prometheus' grouping rule does. */
            if (!p->failed && p->tok.type != T_LPAREN && !can_start_expr(p->tok.type))
                pqp_unexpected(p, "grouping opts", "\"(\"");
            else if (!p->failed && p->tok.type == T_LPAREN &&
                     parse_grouping_list(p, &m->include, &m->n_include))
                pqp_next(p);
        }
    }
    if (p->failed) {
        pqp_matching_free(m);
        return NULL;
    }
    return m;
}

static promql_node *parse_expr(pqp_parser *p, int min_prec)
{
    promql_node *lhs = parse_unary(p);
    size_t lhs_depth = p->last_depth;
    while (lhs && !p->failed) {
        int prec = binop_prec(p->tok.type);
        if (prec == 0 || prec < min_prec)
            break;
        promql_binop op = tok_binop(p->tok.type);
        bool ret_bool = false;
        pqp_next(p);
        promql_vector_matching *m = p->failed ? NULL : parse_bin_modifiers(p, &ret_bool);
        if (!m) {
            promql_node_free(lhs);
            return NULL;
        }
        /* '^' is right-associative, everything else left-associative. */
        promql_node *rhs = parse_expr(p, op == PROMQL_OP_POW ? prec : prec + 1);
        promql_node *b = rhs ? pqp_node_new(PROMQL_NODE_BINARY, lhs->pos_start, rhs->pos_end) : NULL;
        if (!b) {
            if (rhs)
                pqp_oom(p);
            pqp_matching_free(m);
            promql_node_free(lhs);
            promql_node_free(rhs);
            return NULL;
        }
        b->binary.op = op;
        b->binary.lhs = lhs;
        b->binary.rhs = rhs;
        b->binary.return_bool = ret_bool;
        b->binary.matching = m;
        lhs = b;
        lhs_depth = 1 + (lhs_depth > p->last_depth ? lhs_depth : p->last_depth);
        if (!pqp_set_depth(p, lhs_depth, b->pos_start))
            break;
    }
    p->last_depth = lhs_depth;
    if (p->failed) {
        promql_node_free(lhs);
        return NULL;
    }
    return lhs;
}

int promql_parse(const char *input, size_t len, promql_node **out, promql_parse_error *err)
{
    pqp_parser p;
    promql_parse_error dummy;
    memset(&p, 0, sizeof p);
    p.err = err ? err : &dummy;
    memset(p.err, 0, sizeof *p.err);
    *out = NULL;
    if (!input)
        len = 0;
    pqp_lex_init(&p.lx, input ? input : "", len);
    pqp_next(&p);
    promql_node *root = NULL;
    if (!p.failed && p.tok.type == T_EOF)
        pqp_error(&p, 0, 0, "no expression found in input");
    if (!p.failed)
        root = parse_expr(&p, 0);
    if (!p.failed && p.tok.type != T_EOF)
        pqp_unexpected(&p, NULL, NULL);
    if (!p.failed)
        pqp_check(&p, root);
    if (p.failed) {
        promql_node_free(root);
        return p.oom ? -ENOMEM : -EINVAL;
    }
    *out = root;
    return 0;
}

static bool is_metric_identifier(pqp_tok t)
{
    return t == T_IDENT || t == T_METRIC_IDENT || (t > T_AGG_START && t < T_AGG_END) ||
           t == T_BY || t == T_WITHOUT || t == T_OFFSET || t == T_LAND || t == T_LOR ||
           t == T_LUNLESS || t == T_START || t == T_END;
}

int promql_parse_metric_selector(const char *input, size_t len, promql_node **out,
                                 promql_parse_error *err)
{
    pqp_parser p;
    promql_parse_error dummy;
    memset(&p, 0, sizeof p);
    p.err = err ? err : &dummy;
    memset(p.err, 0, sizeof *p.err);
    *out = NULL;
    pqp_lex_init(&p.lx, input ? input : "", input ? len : 0);
    pqp_next(&p);
    promql_node *n = NULL;
    if (!p.failed && is_metric_identifier(p.tok.type)) {
        pqp_token name = p.tok;
        pqp_next(&p);
        if (!p.failed)
            n = parse_selector(&p, &name);
    } else if (!p.failed && p.tok.type == T_LBRACE) {
        n = parse_selector(&p, NULL);
    } else {
        pqp_unexpected(&p, NULL, NULL);
    }
    if (!p.failed && p.tok.type != T_EOF)
        pqp_unexpected(&p, NULL, NULL);
    if (p.failed) {
        promql_node_free(n);
        return p.oom ? -ENOMEM : -EINVAL;
    }
    *out = n;
    return 0;
}
