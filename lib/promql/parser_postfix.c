/* Postfix modifiers of an expression: range `[5m]`, subquery `[1h:5m]`,
 * `offset` and `@`, with Prometheus' checks and error texts. Kept apart
 * from the recursive parser (and out of line) so its frames stay small. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

#define NOINLINE __attribute__((noinline))

/* Current token is a DURATION: parses it (must be > 0, as Prometheus'
 * parser demands for ranges, steps and offsets). */
static bool take_duration(pqp_parser *p, int64_t *ms)
{
    char err[200];
    if (promql_parse_duration(p->lx.in + p->tok.pos, p->tok.len, ms, err, sizeof err) != 0) {
        pqp_error(p, p->tok.pos, p->tok.pos + p->tok.len, "%s", err);
        return false;
    }
    if (*ms == 0) {
        pqp_error(p, p->tok.pos, p->tok.pos + p->tok.len, "duration must be greater than 0");
        return false;
    }
    return true;
}


/* `[range]` / `[range:step]` after e (current token '['). */
NOINLINE static promql_node *parse_range(pqp_parser *p, promql_node *e)
{
    size_t lb = p->tok.pos;
    int64_t range, step = 0;
    pqp_next(p);
    if (p->failed)
        goto fail;
    if (p->tok.type != T_DURATION) {
        pqp_unexpected(p, "subquery selector", "duration");
        goto fail;
    }
    if (!take_duration(p, &range))
        goto fail;
    pqp_next(p);
    if (p->failed)
        goto fail;
    if (p->tok.type == T_RBRACKET) {
        size_t rb = p->tok.pos + 1;
        const char *msg = NULL;
        if (e->kind != PROMQL_NODE_VECTOR)
            msg = "ranges only allowed for vector selectors";
        else if (e->vector.mod.offset_ms != 0)
            msg = "no offset modifiers allowed before range";
        else if (e->vector.mod.at == PROMQL_AT_TIMESTAMP)
            /* Prometheus 2.42 checks only a timestamp here: `foo @ start() [5m]`
             * is accepted and means `foo[5m] @ start()`. */
            msg = "no @ modifiers allowed before range";
        if (msg) {
            pqp_error(p, lb, rb, "%s", msg);
            goto fail;
        }
        promql_node *m = pqp_node_new(PROMQL_NODE_MATRIX, e->pos_start, rb);
        if (!m) {
            pqp_oom(p);
            goto fail;
        }
        m->matrix.vector = e;
        m->matrix.range_ms = range;
        p->last_depth = 2;
        pqp_next(p);
        return m;
    }
    if (p->tok.type != T_COLON) {
        pqp_unexpected(p, "subquery or range", "\":\" or \"]\"");
        goto fail;
    }
    pqp_next(p);
    if (p->failed)
        goto fail;
    if (p->tok.type == T_DURATION) {
        if (!take_duration(p, &step))
            goto fail;
        pqp_next(p);
        if (p->failed)
            goto fail;
        if (p->tok.type != T_RBRACKET) {
            pqp_unexpected(p, "subquery selector", "\"]\"");
            goto fail;
        }
    } else if (p->tok.type != T_RBRACKET) {
        pqp_unexpected(p, "subquery selector", "duration or \"]\"");
        goto fail;
    }
    size_t d = p->last_depth + 1; /* e was the last subtree built */
    promql_node *s = pqp_node_new(PROMQL_NODE_SUBQUERY, e->pos_start, p->tok.pos + 1);
    if (!s) {
        pqp_oom(p);
        goto fail;
    }
    if (!pqp_set_depth(p, d, s->pos_start)) {
        free(s);
        goto fail;
    }
    s->subquery.expr = e;
    s->subquery.range_ms = range;
    s->subquery.step_ms = step;
    pqp_next(p);
    return s;
fail:
    promql_node_free(e);
    return NULL;
}

/* The modifiers an offset or @ applies to, or NULL with an error. */
static promql_modifiers *modifiers_of(pqp_parser *p, promql_node *e, const char *what)
{
    if (e->kind == PROMQL_NODE_VECTOR)
        return &e->vector.mod;
    if (e->kind == PROMQL_NODE_MATRIX)
        return &e->matrix.vector->vector.mod;
    if (e->kind == PROMQL_NODE_SUBQUERY)
        return &e->subquery.mod;
    pqp_error(p, e->pos_start, e->pos_end,
             "%s modifier must be preceded by an instant vector selector or range vector selector or a subquery",
             what);
    return NULL;
}

NOINLINE static promql_node *parse_offset(pqp_parser *p, promql_node *e)
{
    bool neg = false;
    int64_t d;
    pqp_next(p);
    if (!p->failed && p->tok.type == T_SUB) {
        neg = true;
        pqp_next(p);
    }
    if (p->failed)
        goto fail;
    if (p->tok.type != T_DURATION) {
        pqp_unexpected(p, "offset", "duration");
        goto fail;
    }
    if (!take_duration(p, &d))
        goto fail;
    promql_modifiers *mod = modifiers_of(p, e, "offset");
    if (!mod)
        goto fail;
    if (mod->offset_ms != 0) {
        pqp_error(p, e->pos_start, e->pos_end, "offset may not be set multiple times");
        goto fail;
    }
    mod->offset_ms = neg ? -d : d;
    e->pos_end = p->tok.pos + p->tok.len;
    pqp_next(p);
    return e;
fail:
    promql_node_free(e);
    return NULL;
}

NOINLINE static promql_node *parse_at(pqp_parser *p, promql_node *e)
{
    pqp_next(p);
    if (p->failed)
        goto fail;
    if (p->tok.type == T_START || p->tok.type == T_END) {
        promql_at_kind kind = p->tok.type == T_START ? PROMQL_AT_START : PROMQL_AT_END;
        pqp_next(p);
        if (!p->failed && p->tok.type != T_LPAREN)
            pqp_unexpected(p, "@", "timestamp");
        if (!p->failed)
            pqp_next(p);
        if (!p->failed && p->tok.type != T_RPAREN)
            pqp_unexpected(p, "@", "timestamp");
        if (p->failed)
            goto fail;
        promql_modifiers *mod = modifiers_of(p, e, "@");
        if (!mod)
            goto fail;
        if (mod->at != PROMQL_AT_NONE) {
            pqp_error(p, e->pos_start, e->pos_end, "@ <timestamp> may not be set multiple times");
            goto fail;
        }
        mod->at = kind;
        e->pos_end = p->tok.pos + 1;
        pqp_next(p);
        return e;
    }
    double sign = 1;
    if (p->tok.type == T_ADD || p->tok.type == T_SUB) {
        sign = p->tok.type == T_SUB ? -1 : 1;
        pqp_next(p);
        if (p->failed)
            goto fail;
    }
    if (p->tok.type != T_NUMBER) {
        pqp_unexpected(p, "@", "timestamp");
        goto fail;
    }
    double ts;
    char err[400];
    if (pqp_parse_number(p->lx.in + p->tok.pos, p->tok.len, &ts, err, sizeof err) != 0) {
        pqp_error(p, p->tok.pos, p->tok.pos + p->tok.len, "%s", err);
        goto fail;
    }
    ts *= sign;
    if (isnan(ts) || isinf(ts) || ts >= 9223372036854775808.0 || ts <= -9223372036854775808.0) {
        pqp_buf b = {0};
        pqp_buf_go_float_f(&b, ts);
        pqp_error(p, e->pos_start, e->pos_end, "timestamp out of bounds for @ modifier: %s",
                 b.s ? b.s : "");
        free(b.s);
        goto fail;
    }
    promql_modifiers *mod = modifiers_of(p, e, "@");
    if (!mod)
        goto fail;
    if (mod->at != PROMQL_AT_NONE) {
        pqp_error(p, e->pos_start, e->pos_end, "@ <timestamp> may not be set multiple times");
        goto fail;
    }
    double ms = round(ts * 1000);
    mod->at = PROMQL_AT_TIMESTAMP;
    /* Go's int64() of an out-of-range float gives MinInt64 on amd64. */
    mod->at_ms = (ms >= 9223372036854775808.0 || ms < -9223372036854775808.0) ? INT64_MIN
                                                                               : (int64_t)ms;
    e->pos_end = p->tok.pos + p->tok.len;
    pqp_next(p);
    return e;
fail:
    promql_node_free(e);
    return NULL;
}

promql_node *pqp_parse_postfix(pqp_parser *p, promql_node *e)
{
    while (e && !p->failed) {
        switch (p->tok.type) {
        case T_LBRACKET: e = parse_range(p, e); break;
        case T_OFFSET: e = parse_offset(p, e); break;
        case T_AT: e = parse_at(p, e); break;
        default: return e;
        }
    }
    return e;
}
