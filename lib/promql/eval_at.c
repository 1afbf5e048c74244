/* The @ modifier and step invariance, as Prometheus 2.42's engine.go does
 * them (PreprocessExpr, setOffsetForAtModifier, getTimeRangesForSelector).
 * Prometheus turns every @ into an offset relative to an evaluation time and
 * evaluates step-invariant subtrees once; both have corner cases where the
 * answer is not "the data at t" (see pq_atstate in eval_internal.h), and the
 * answers must match, so the bookkeeping is reproduced here literally. */
#include <stdlib.h>

#include "eval_internal.h"

int64_t pq_at_time(const pq_ev *ev, const promql_modifiers *mod)
{
    switch (mod->at) {
    case PROMQL_AT_START: return pq_tclamp(ev->q->qstart);
    case PROMQL_AT_END: return pq_tclamp(ev->q->qend);
    default: return pq_tclamp(mod->at_ms);
    }
}

/* getOffset of setOffsetForAtModifier for an @ node. */
static int64_t at_offset(const pq_ev *ev, const promql_modifiers *mod)
{
    const pq_atstate *a = &ev->at;
    int64_t subq = a->has_ts ? pq_tadd(a->sum, pq_tsub(a->x, a->tsp)) : a->sum;
    return pq_tsub(pq_tadd(mod->offset_ms, pq_tsub(a->x, pq_at_time(ev, mod))), subq);
}

int64_t pq_ref_time(pq_ev *ev, const promql_modifiers *mod, int64_t ts)
{
    if (mod->at != PROMQL_AT_NONE)
        return pq_tsub(pq_tclamp(ts), at_offset(ev, mod));
    return pq_tsub(pq_tclamp(ts), mod->offset_ms);
}

void pq_static_range(const pq_ev *ev, const promql_modifiers *mod, int64_t range, int64_t *mint, int64_t *maxt)
{
    int64_t s = ev->q->qstart, e = ev->q->qend;
    if (ev->path.has_ts)
        s = e = ev->path.ts;
    if (mod->at != PROMQL_AT_NONE) {
        s = e = pq_at_time(ev, mod);
    } else {
        s = pq_tsub(pq_tsub(s, ev->path.off), ev->path.range);
        e = pq_tsub(e, ev->path.off);
    }
    s = pq_tsub(s, range ? range : ev->q->opts.lookback_delta_ms);
    *mint = pq_tsub(s, mod->offset_ms);
    *maxt = pq_tsub(e, mod->offset_ms);
}

bool promql_function_at_unsafe(promql_function_id f)
{
    switch (f) {
    case PROMQL_FN_DAYS_IN_MONTH:
    case PROMQL_FN_DAY_OF_MONTH:
    case PROMQL_FN_DAY_OF_WEEK:
    case PROMQL_FN_DAY_OF_YEAR:
    case PROMQL_FN_HOUR:
    case PROMQL_FN_MINUTE:
    case PROMQL_FN_MONTH:
    case PROMQL_FN_YEAR:
    case PROMQL_FN_PREDICT_LINEAR:
    case PROMQL_FN_TIME:
    case PROMQL_FN_TIMESTAMP: return true;
    default: return false;
    }
}

bool pq_step_invariant(const promql_node *n)
{
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
    case PROMQL_NODE_STRING: return true;
    case PROMQL_NODE_VECTOR: return n->vector.mod.at != PROMQL_AT_NONE;
    case PROMQL_NODE_MATRIX: return n->matrix.vector->vector.mod.at != PROMQL_AT_NONE;
    case PROMQL_NODE_SUBQUERY: return n->subquery.mod.at != PROMQL_AT_NONE;
    case PROMQL_NODE_PAREN: return pq_step_invariant(n->paren.expr);
    case PROMQL_NODE_UNARY: return pq_step_invariant(n->unary.expr);
    /* the parameter is not looked at (topk(scalar(x), y @ t) counts as
     * invariant, so it uses the first step's parameter throughout) */
    case PROMQL_NODE_AGGREGATE: return pq_step_invariant(n->aggregate.expr);
    case PROMQL_NODE_BINARY: return pq_step_invariant(n->binary.lhs) && pq_step_invariant(n->binary.rhs);
    case PROMQL_NODE_CALL: {
        bool inv = !promql_function_at_unsafe(n->call.func);
        for (size_t i = 0; i < n->call.n_args && inv; i++)
            inv = pq_step_invariant(n->call.args[i]);
        return inv;
    }
    }
    return false;
}

int pq_eval_once(pq_ev *ev, const promql_node *n, pq_val *out)
{
    pq_ev one = *ev;
    one.end = ev->start;
    one.nsteps = 1;
    PQ_TRY(pq_eval(&one, n, out));
    if (out->kind == PQ_SCALAR) {
        double *sv = realloc(out->sv, ev->nsteps * sizeof *sv);
        if (!sv)
            return pq_oom(ev->q);
        out->sv = sv;
        for (size_t k = 1; k < ev->nsteps; k++)
            sv[k] = sv[0];
        return 0;
    }
    if (out->kind != PQ_VECTOR) /* range results keep their own times */
        return 0;
    /* the same sample at every step, as StepInvariantExpr duplicates it */
    for (size_t i = 0; i < out->ns; i++) {
        pq_series *s = &out->s[i];
        if (s->n == 0)
            continue;
        double v = s->v[0];
        for (size_t k = 1; k < ev->nsteps; k++)
            if (pq_series_push(s, ev->start + (int64_t)k * ev->interval, v) < 0)
                return pq_oom(ev->q);
        PQ_TRY(pq_add_samples(ev->q, (int64_t)ev->nsteps - 1));
    }
    return 0;
}
