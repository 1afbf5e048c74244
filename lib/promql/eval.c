/* Evaluator core: query setup, selectors, subqueries, rangeEval, results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "eval_internal.h"
#include "promql/parse.h"

const promql_node *pq_unparen(const promql_node *n)
{
    while (n && n->kind == PROMQL_NODE_PAREN)
        n = n->paren.expr;
    return n;
}

/* Points of s within [mint, maxt] (a queryable may return more). */
static void trim_points(promql_series *s, int64_t mint, int64_t maxt)
{
    size_t lo = 0, hi = s->n_points;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->points[mid].t < mint)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t a = lo;
    hi = s->n_points;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->points[mid].t <= maxt)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->points += a;
    s->n_points = lo - a;
}

/* ---- selection ------------------------------------------------------------ */
static int cmp_series_idx(const void *a, const void *b, void *ctx)
{
    const promql_series *base = ctx;
    const promql_series *x = &base[*(const size_t *)a], *y = &base[*(const size_t *)b];
    return labels_cmp(x->labels, x->n_labels, y->labels, y->n_labels);
}

/* Union of two sorted point arrays into query memory; a's point wins on
 * equal timestamps. */
static int merge_points(pq_query *q, promql_series *a, const promql_series *b)
{
    promql_point *o = pq_arena_alloc(&q->arena, (a->n_points + b->n_points + 1) * sizeof *o);
    if (!o)
        return pq_oom(q);
    size_t i = 0, j = 0, n = 0;
    while (i < a->n_points || j < b->n_points) {
        if (j >= b->n_points || (i < a->n_points && a->points[i].t <= b->points[j].t)) {
            if (j < b->n_points && a->points[i].t == b->points[j].t)
                j++;
            o[n++] = a->points[i++];
        } else {
            o[n++] = b->points[j++];
        }
    }
    a->points = o;
    a->n_points = n;
    return 0;
}

int pq_select(pq_ev *ev, const promql_node *vs, int64_t mint, int64_t maxt, int64_t range,
              const char *func, promql_series **out, size_t *n, const pq_lset ***lsets)
{
    pq_query *q = ev->q;
    int64_t smin, smax;
    pq_static_range(ev, &vs->vector.mod, range, &smin, &smax);
    if (smin > mint)
        mint = smin;
    if (smax < maxt)
        maxt = smax;
    if (mint > maxt) { /* nothing selected there: no series at all */
        *out = pq_arena_alloc(&q->arena, sizeof **out);
        *lsets = pq_arena_alloc(&q->arena, sizeof **lsets);
        *n = 0;
        return *out && *lsets ? 0 : pq_oom(q);
    }
    size_t nm = vs->vector.n_matchers;
    labels_matcher **ms = calloc(nm ? nm : 1, sizeof *ms);
    if (!ms)
        return pq_oom(q);
    int rc = 0;
    char emsg[256];
    for (size_t i = 0; i < nm; i++) {
        const promql_matcher *pm = &vs->vector.matchers[i];
        labels_match_type t = pm->op == PROMQL_MATCH_EQ   ? LABELS_MATCH_EQ
                              : pm->op == PROMQL_MATCH_NE ? LABELS_MATCH_NEQ
                              : pm->op == PROMQL_MATCH_RE ? LABELS_MATCH_RE
                                                          : LABELS_MATCH_NRE;
        emsg[0] = 0;
        rc = labels_matcher_new(t, pm->name, strlen(pm->name), pm->value, pm->value_len, &ms[i],
                                emsg, sizeof emsg);
        if (rc < 0) {
            rc = rc == -ENOMEM ? pq_oom(q) : pq_errorf(q, rc, "%s", emsg);
            goto done;
        }
    }
    if (q->nsets == q->capsets) {
        size_t nc = q->capsets ? q->capsets * 2 : 8;
        promql_series_set *ns = realloc(q->sets, nc * sizeof *ns);
        if (!ns) {
            rc = pq_oom(q);
            goto done;
        }
        q->sets = ns;
        q->capsets = nc;
    }
    promql_select_hints h = {.start = mint, .end = maxt, .step = ev->start == ev->end ? 0 : ev->interval,
                             .range = range, .func = func};
    promql_series_set *set = &q->sets[q->nsets];
    memset(set, 0, sizeof *set);
    emsg[0] = 0;
    rc = q->qa->select(q->qa->ctx, (const labels_matcher *const *)ms, nm, mint, maxt, &h, set, emsg,
                       sizeof emsg);
    if (rc < 0) {
        rc = pq_errorf(q, rc, "%s", emsg[0] ? emsg : "select failed");
        goto done;
    }
    q->nsets++;
    size_t ns = set->n_series;
    size_t *idx = malloc((ns ? ns : 1) * sizeof *idx);
    promql_series *sorted = pq_arena_alloc(&q->arena, (ns ? ns : 1) * sizeof *sorted);
    const pq_lset **ls = pq_arena_alloc(&q->arena, (ns ? ns : 1) * sizeof *ls);
    if (!idx || !sorted || !ls) {
        free(idx);
        rc = pq_oom(q);
        goto done;
    }
    for (size_t i = 0; i < ns; i++)
        idx[i] = i;
    qsort_r(idx, ns, sizeof *idx, cmp_series_idx, set->series);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        promql_series cur = set->series[idx[i]];
        trim_points(&cur, mint, maxt);
        if (cur.n_points == 0)
            continue;
        const pq_lset *m = pq_intern(q, cur.labels, cur.n_labels);
        if (!m) {
            free(idx);
            rc = pq_oom(q);
            goto done;
        }
        if (k > 0 && ls[k - 1] == m) {
            /* the same series from several stores: merge, first one wins */
            if ((rc = merge_points(q, &sorted[k - 1], &cur)) < 0) {
                free(idx);
                goto done;
            }
            continue;
        }
        sorted[k] = cur;
        ls[k++] = m;
    }
    free(idx);
    *out = sorted;
    *n = k;
    *lsets = ls;
done:
    for (size_t i = 0; i < nm; i++)
        if (ms[i])
            labels_matcher_free(ms[i]);
    free(ms);
    return rc;
}

/* Index of the last point with t <= ref, or -1. */
static ptrdiff_t last_le(const promql_point *p, size_t n, int64_t ref)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p[mid].t <= ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

int pq_eval_vector_selector(pq_ev *ev, const promql_node *vs, bool ts_values, pq_val *out)
{
    pq_query *q = ev->q;
    const promql_modifiers *mod = &vs->vector.mod;
    int64_t r0 = pq_ref_time(ev, mod, ev->start), r1 = pq_ref_time(ev, mod, ev->end);
    /* timestamp(x @ t) resets the offset at every step to reach t alone
     * (engine.go): it drops both the subquery bookkeeping above and the
     * selector's own offset, which still narrows the data selected (so
     * timestamp(x @ 100 offset 1m) gives the last sample at or before 40s) */
    if (ts_values && mod->at != PROMQL_AT_NONE)
        r0 = r1 = pq_at_time(ev, mod);
    int64_t lb = q->opts.lookback_delta_ms;
    promql_series *ss;
    size_t ns;
    const pq_lset **ls;
    PQ_TRY(pq_select(ev, vs, pq_tsub(r0, lb), r1, 0, NULL, &ss, &ns, &ls));
    out->kind = PQ_VECTOR;
    bool fixed = mod->at != PROMQL_AT_NONE;
    for (size_t i = 0; i < ns; i++) {
        const promql_point *p = ss[i].points;
        size_t np = ss[i].n_points;
        pq_series *o = NULL;
        ptrdiff_t j = -1;
        if (fixed) {
            j = last_le(p, np, r0);
            if (j < 0 || p[j].t < pq_tsub(r0, lb) || pq_is_stale(p[j].v))
                continue;
        } else if (np) {
            j = last_le(p, np, r0);
        }
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            PQ_TRY(pq_check_abort(q));
            if (!fixed) {
                int64_t ref = pq_tsub(ts, mod->offset_ms);
                while ((size_t)(j + 1) < np && p[j + 1].t <= ref)
                    j++;
                if (j < 0 || p[j].t < pq_tsub(ref, lb) || pq_is_stale(p[j].v))
                    continue;
            }
            if (!o && pq_val_add_series(out, ls[i], &o) < 0)
                return pq_oom(q);
            /* grows by doubling: short-lived series in long ranges stay small */
            if (pq_series_push(o, ts, ts_values ? (double)p[j].t / 1000.0 : p[j].v) < 0)
                return pq_oom(q);
        }
        if (o)
            PQ_TRY(pq_add_samples(q, o->n));
        PQ_TRY(pq_check_abort(q));
    }
    return 0;
}

/* A matrix selector outside a function call (instant queries only). */
static int eval_matrix_selector(pq_ev *ev, const promql_node *n, pq_val *out)
{
    pq_query *q = ev->q;
    if (ev->start != ev->end)
        return pq_errorf(q, -EINVAL, "cannot do range evaluation of matrix selector");
    const promql_node *vs = n->matrix.vector;
    int64_t ref = pq_ref_time(ev, &vs->vector.mod, ev->start);
    int64_t mint = pq_tsub(ref, n->matrix.range_ms);
    promql_series *ss;
    size_t ns;
    const pq_lset **ls;
    PQ_TRY(pq_select(ev, vs, mint, ref, n->matrix.range_ms, NULL, &ss, &ns, &ls));
    out->kind = PQ_MATRIX;
    for (size_t i = 0; i < ns; i++) {
        pq_series *o = NULL;
        for (size_t k = 0; k < ss[i].n_points; k++) {
            const promql_point *p = &ss[i].points[k];
            if (p->t < mint || p->t > ref || pq_is_stale(p->v))
                continue;
            if (!o && pq_val_add_series(out, ls[i], &o) < 0)
                return pq_oom(q);
            if (pq_series_push(o, p->t, p->v) < 0)
                return pq_oom(q);
        }
        if (o)
            PQ_TRY(pq_add_samples(q, o->n));
    }
    return 0;
}

int pq_eval_subquery(pq_ev *ev, const promql_node *sq, pq_val *out)
{
    pq_query *q = ev->q;
    int64_t step = pq_tclamp(sq->subquery.step_ms > 0 ? sq->subquery.step_ms : q->opts.default_subquery_step_ms);
    int64_t off = pq_tclamp(sq->subquery.mod.offset_ms), range = pq_tclamp(sq->subquery.range_ms);
    const promql_modifiers *mod = &sq->subquery.mod;
    bool at = mod->at != PROMQL_AT_NONE;
    /* with @, pq_ref_time applies Prometheus' adjusted offset */
    int64_t end = pq_ref_time(ev, mod, ev->end);
    int64_t base = pq_tsub(pq_ref_time(ev, mod, ev->start), range);
    int64_t nstart = step * (base / step); /* Go truncates toward zero, as C */
    if (nstart < base)
        nstart = pq_tadd(nstart, step);
    pq_ev sub = {.q = q, .start = nstart, .end = end, .interval = step, .at = ev->at, .path = ev->path};
    if (nstart != ev->start) {
        /* Prometheus sets the @ offsets inside again, against this start */
        sub.at = (pq_atstate){.x = nstart};
    } else if (at) {
        sub.at.sum = off;
        sub.at.has_ts = true;
        sub.at.tsp = pq_at_time(ev, mod);
    } else {
        sub.at.sum = pq_tadd(sub.at.sum, off);
    }
    if (at) {
        sub.path = (pq_path){.off = off, .range = range, .ts = pq_at_time(ev, mod), .has_ts = true};
    } else {
        sub.path.off = pq_tadd(sub.path.off, off);
        sub.path.range = pq_tadd(sub.path.range, range);
    }
    out->kind = PQ_MATRIX;
    /* every step costs memory even when empty: bound it like samples */
    if (sub.end >= sub.start && (sub.end - sub.start) / step >= q->opts.max_samples)
        return pq_add_samples(q, q->opts.max_samples + 1);
    /* with no step at all the expression is still evaluated, as Prometheus
     * does: a subquery nested inside has a window of its own, and its errors
     * (e.g. many-to-many matching) must surface */
    sub.nsteps = sub.end < sub.start ? 0 : (size_t)((sub.end - sub.start) / step) + 1;
    /* Prometheus evaluates a step-invariant expression once at the start
     * even then, so its sample lies past the end, where the window of an @
     * subquery around this one (placed from the @ alone) can see it */
    const promql_node *e = sq->subquery.expr;
    if (sub.nsteps == 0 && e->kind != PROMQL_NODE_NUMBER && e->kind != PROMQL_NODE_STRING && pq_step_invariant(e)) {
        sub.end = sub.start;
        sub.nsteps = 1;
    }
    pq_val v = {0};
    int rc = pq_eval(&sub, e, &v);
    if (rc < 0) {
        pq_val_free(&v);
        return rc;
    }
    if (v.kind == PQ_SCALAR) { /* not reachable after type checks; be lenient */
        pq_series *o;
        if (pq_val_add_series(out, q->empty, &o) < 0) {
            pq_val_free(&v);
            return pq_oom(q);
        }
        for (size_t k = 0; k < sub.nsteps; k++)
            if (pq_series_push(o, sub.start + (int64_t)k * step, v.sv[k]) < 0) {
                pq_val_free(&v);
                return pq_oom(q);
            }
        pq_val_free(&v);
        return 0;
    }
    *out = v;
    out->kind = PQ_MATRIX;
    return 0;
}

/* ---- rangeEval ------------------------------------------------------------ */
int pq_range_eval(pq_ev *ev, pq_val *args, size_t nargs, pq_stepfn fn, void *ctx, pq_val *out)
{
    pq_query *q = ev->q;
    pq_vec in[nargs ? nargs : 1];
    size_t *cur[nargs ? nargs : 1];
    memset(in, 0, sizeof in);
    memset(cur, 0, sizeof cur);
    pq_out o = {0};
    pq_vec res = {0};
    int rc = 0;
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].kind == PQ_VECTOR) {
            cur[i] = calloc(args[i].ns ? args[i].ns : 1, sizeof(size_t));
            if (!cur[i]) {
                rc = pq_oom(q);
                goto done;
            }
        }
    }
    for (size_t k = 0; k < ev->nsteps; k++) {
        int64_t ts = ev->start + (int64_t)k * ev->interval;
        if ((rc = pq_check_abort(q)) < 0)
            goto done;
        for (size_t i = 0; i < nargs; i++) {
            in[i].n = 0;
            if (args[i].kind == PQ_SCALAR) {
                if (pq_vec_push(&in[i], q->empty, args[i].sv[k], ts) < 0) {
                    rc = pq_oom(q);
                    goto done;
                }
            } else if (args[i].kind == PQ_VECTOR) {
                for (size_t j = 0; j < args[i].ns; j++) {
                    pq_series *s = &args[i].s[j];
                    size_t c = cur[i][j];
                    if (c < s->n && s->t[c] == ts) {
                        if (pq_vec_push(&in[i], s->m, s->v[c], ts) < 0) {
                            rc = pq_oom(q);
                            goto done;
                        }
                        in[i].s[in[i].n - 1].src = (uint32_t)j;
                        cur[i][j] = c + 1;
                    }
                }
            }
        }
        res.n = 0;
        if ((rc = fn(ev, ctx, in, nargs, ts, k, &res)) < 0)
            goto done;
        for (size_t j = 0; j < res.n; j++)
            if ((rc = pq_out_add(ev, &o, res.s[j].m, ts, res.s[j].v)) < 0)
                goto done;
    }
    for (size_t i = 0; i < o.val.ns; i++)
        if ((rc = pq_add_samples(q, o.val.s[i].n)) < 0)
            goto done;
done:
    for (size_t i = 0; i < nargs; i++) {
        pq_vec_free(&in[i]);
        free(cur[i]);
    }
    pq_vec_free(&res);
    pq_map_free(&o.idx);
    if (rc < 0) {
        pq_val_free(&o.val);
        return rc;
    }
    o.val.kind = PQ_VECTOR;
    *out = o.val;
    return 0;
}

int pq_map_series(pq_ev *ev, pq_val *v, bool drop_name, pq_pointfn fn, void *ctx)
{
    pq_query *q = ev->q;
    if (drop_name) {
        pq_map seen = {0};
        for (size_t i = 0; i < v->ns; i++) {
            const pq_lset *m = pq_noname(q, v->s[i].m);
            bool isnew;
            if (!m || !pq_map_put(&seen, pq_ptrkey(m), &isnew)) {
                pq_map_free(&seen);
                return pq_oom(q);
            }
            if (!isnew) {
                pq_map_free(&seen);
                return 1;
            }
        }
        pq_map_free(&seen);
        for (size_t i = 0; i < v->ns; i++)
            v->s[i].m = v->s[i].m->noname; /* cached by the pass above */
    }
    int64_t removed = 0;
    size_t keep = 0;
    for (size_t i = 0; i < v->ns; i++) {
        pq_series *s = &v->s[i];
        uint32_t k = 0;
        for (uint32_t j = 0; j < s->n; j++) {
            double r;
            if (fn(ctx, (size_t)((s->t[j] - ev->start) / ev->interval), s->t[j], s->v[j], &r)) {
                s->t[k] = s->t[j];
                s->v[k] = r;
                k++;
            }
        }
        removed += s->n - k;
        s->n = k;
        if (k == 0) {
            free(s->t);
            free(s->v);
            continue;
        }
        v->s[keep++] = *s;
    }
    v->ns = keep;
    q->samples -= removed;
    return 0;
}

/* ---- dispatch ------------------------------------------------------------- */
static int eval_unary(pq_ev *ev, const promql_node *n, pq_val *out)
{
    PQ_TRY(pq_eval(ev, n->unary.expr, out));
    if (n->unary.op != PROMQL_UNOP_SUB)
        return 0;
    if (out->kind == PQ_SCALAR) {
        for (size_t k = 0; k < ev->nsteps; k++)
            out->sv[k] = -out->sv[k];
        return 0;
    }
    pq_map seen = {0};
    for (size_t i = 0; i < out->ns; i++) {
        pq_series *s = &out->s[i];
        s->m = pq_noname(ev->q, s->m);
        if (!s->m) {
            pq_map_free(&seen);
            return pq_oom(ev->q);
        }
        for (uint32_t j = 0; j < s->n; j++)
            s->v[j] = -s->v[j];
        bool isnew;
        if (!pq_map_put(&seen, pq_ptrkey(s->m), &isnew)) {
            pq_map_free(&seen);
            return pq_oom(ev->q);
        }
        if (!isnew) {
            pq_map_free(&seen);
            return pq_errorf(ev->q, -EINVAL, "vector cannot contain metrics with the same labelset");
        }
    }
    pq_map_free(&seen);
    return 0;
}

int pq_eval(pq_ev *ev, const promql_node *n, pq_val *out)
{
    memset(out, 0, sizeof *out);
    PQ_TRY(pq_check_abort(ev->q));
    /* a step-invariant subtree is evaluated with end = start (Prometheus'
     * StepInvariantExpr), with a single step too: a subquery's end is its
     * parent's end less offsets, not a step, and a subquery nested in the
     * subtree would otherwise count its own steps up to that later end */
    if (ev->nsteps >= 1 && ev->end != ev->start && n->kind != PROMQL_NODE_NUMBER &&
        n->kind != PROMQL_NODE_STRING && pq_step_invariant(n))
        return pq_eval_once(ev, n, out);
    switch (n->kind) {
    case PROMQL_NODE_NUMBER:
        out->kind = PQ_SCALAR;
        out->sv = malloc((ev->nsteps ? ev->nsteps : 1) * sizeof(double));
        if (!out->sv)
            return pq_oom(ev->q);
        for (size_t k = 0; k < ev->nsteps; k++)
            out->sv[k] = n->number.value;
        return 0;
    case PROMQL_NODE_STRING:
        out->kind = PQ_STRING;
        out->str = n->string.value;
        out->slen = n->string.len;
        return 0;
    case PROMQL_NODE_PAREN:
        return pq_eval(ev, n->paren.expr, out);
    case PROMQL_NODE_UNARY:
        return eval_unary(ev, n, out);
    case PROMQL_NODE_VECTOR:
        return pq_eval_vector_selector(ev, n, false, out);
    case PROMQL_NODE_MATRIX:
        return eval_matrix_selector(ev, n, out);
    case PROMQL_NODE_SUBQUERY:
        return pq_eval_subquery(ev, n, out);
    case PROMQL_NODE_BINARY:
        return pq_eval_binary(ev, n, out);
    case PROMQL_NODE_AGGREGATE:
        return pq_eval_aggregate(ev, n, out);
    case PROMQL_NODE_CALL:
        return pq_eval_call(ev, n, out);
    }
    return pq_errorf(ev->q, -EINVAL, "unknown node kind %d", (int)n->kind);
}

/* ---- query execution ------------------------------------------------------ */
static int copy_series(pq_query *q, const pq_series *s, promql_series *o, bool one_point, int64_t t)
{
    o->labels = labels_copy(s->m->ls, s->m->n);
    if (!o->labels)
        return pq_oom(q);
    o->n_labels = s->m->n;
    size_t np = one_point ? 1 : s->n;
    o->points = malloc((np ? np : 1) * sizeof *o->points);
    if (!o->points)
        return pq_oom(q);
    o->n_points = np;
    for (size_t i = 0; i < np; i++) {
        o->points[i].t = one_point ? t : s->t[i];
        o->points[i].v = s->v[i];
    }
    return 0;
}

static int cmp_result_series(const void *a, const void *b)
{
    const promql_series *x = a, *y = b;
    return labels_cmp(x->labels, x->n_labels, y->labels, y->n_labels);
}

static int convert(pq_ev *ev, pq_val *v, bool instant, promql_result *r)
{
    pq_query *q = ev->q;
    switch (v->kind) {
    case PQ_SCALAR:
        if (instant) {
            r->type = PROMQL_VALUE_SCALAR;
            r->scalar = v->sv[0];
            return 0;
        }
        r->type = PROMQL_VALUE_MATRIX;
        r->series = calloc(1, sizeof *r->series);
        if (!r->series || !(r->series[0].labels = labels_copy(NULL, 0)))
            return pq_oom(q);
        r->n_series = 1;
        r->series[0].points = malloc(ev->nsteps * sizeof(promql_point));
        if (!r->series[0].points)
            return pq_oom(q);
        for (size_t k = 0; k < ev->nsteps; k++) {
            r->series[0].points[k].t = ev->start + (int64_t)k * ev->interval;
            r->series[0].points[k].v = v->sv[k];
        }
        r->series[0].n_points = ev->nsteps;
        return 0;
    case PQ_STRING:
        r->type = PROMQL_VALUE_STRING;
        r->string = malloc(v->slen + 1);
        if (!r->string)
            return pq_oom(q);
        memcpy(r->string, v->str, v->slen);
        r->string[v->slen] = 0;
        return 0;
    case PQ_VECTOR:
    case PQ_MATRIX: {
        bool vec = instant && v->kind == PQ_VECTOR;
        r->type = vec ? PROMQL_VALUE_VECTOR : PROMQL_VALUE_MATRIX;
        r->series = calloc(v->ns ? v->ns : 1, sizeof *r->series);
        if (!r->series)
            return pq_oom(q);
        for (size_t i = 0; i < v->ns; i++) {
            if (v->s[i].n == 0)
                continue;
            PQ_TRY(copy_series(q, &v->s[i], &r->series[r->n_series], vec, ev->start));
            r->n_series++;
        }
        if (!instant)
            qsort(r->series, r->n_series, sizeof *r->series, cmp_result_series);
        return 0;
    }
    default:
        return pq_errorf(q, -EINVAL, "unexpected result type");
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int exec(const promql_opts *opts, const promql_queryable *qa, const promql_node *expr,
                int64_t start, int64_t end, int64_t step, bool instant, promql_result *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = 0;
    pq_query q = {0};
    q.qa = qa;
    if (opts)
        q.opts = *opts;
    else
        promql_opts_init(&q.opts);
    if (q.opts.lookback_delta_ms <= 0)
        q.opts.lookback_delta_ms = 5 * 60 * 1000;
    if (q.opts.max_samples <= 0)
        q.opts.max_samples = 50000000;
    if (q.opts.default_subquery_step_ms <= 0)
        q.opts.default_subquery_step_ms = 60 * 1000;
    if (q.opts.timeout_ms > 0)
        q.deadline_ns = mono_ns() + q.opts.timeout_ms * 1000000;
    q.qstart = start;
    q.qend = end;
    q.qstep = step;
    q.err = err;
    q.errlen = errlen;
    int rc = 0;
    pq_val v = {0};
    pq_ev ev = {.q = &q, .start = start, .end = end, .interval = instant ? 1 : step};
    q.empty = pq_intern(&q, NULL, 0);
    if (!q.empty) {
        rc = pq_oom(&q);
        goto done;
    }
    if (!instant) {
        promql_value_type t = promql_node_type(expr);
        if (t != PROMQL_VALUE_SCALAR && t != PROMQL_VALUE_VECTOR) {
            rc = pq_errorf(&q, -EINVAL,
                           "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
                           promql_value_type_doc(t));
            goto done;
        }
        if (step <= 0 || end < start) {
            rc = pq_errorf(&q, -EINVAL, "invalid range query: start %lld end %lld step %lld",
                           (long long)start, (long long)end, (long long)step);
            goto done;
        }
    }
    start = pq_tclamp(start);
    end = pq_tclamp(end);
    ev.start = start;
    ev.end = end;
    ev.at.x = start; /* the top-level setOffsetForAtModifier */
    if ((end - start) / ev.interval >= q.opts.max_samples) {
        rc = pq_add_samples(&q, q.opts.max_samples + 1);
        goto done;
    }
    ev.nsteps = (size_t)((end - start) / ev.interval) + 1;
    q.tick = 255; /* check the deadline on the first step */
    rc = pq_eval(&ev, expr, &v);
    if (rc >= 0)
        rc = convert(&ev, &v, instant, out);
    if (rc >= 0)
        out->t = start;
done:
    pq_val_free(&v);
    if (rc < 0)
        promql_result_free(out);
    for (size_t i = 0; i < q.nsets; i++)
        if (qa->release)
            qa->release(qa->ctx, &q.sets[i]);
    free(q.sets);
    free(q.itab);
    pq_arena_free(&q.arena);
    return rc < 0 ? rc : 0;
}

int promql_exec_instant(const promql_opts *opts, const promql_queryable *q, const promql_node *expr,
                        int64_t t, promql_result *out, char *err, size_t errlen)
{
    return exec(opts, q, expr, t, t, 0, true, out, err, errlen);
}

int promql_exec_range(const promql_opts *opts, const promql_queryable *q, const promql_node *expr,
                      int64_t start, int64_t end, int64_t step, promql_result *out, char *err,
                      size_t errlen)
{
    return exec(opts, q, expr, start, end, step, false, out, err, errlen);
}

static int parse_for_query(const char *query, size_t len, promql_node **e, char *err, size_t errlen)
{
    promql_parse_error perr;
    int rc = promql_parse(query, len, e, &perr);
    if (rc < 0 && err && errlen)
        snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : perr.text);
    return rc;
}

int promql_query_instant(const promql_opts *opts, const promql_queryable *q, const char *query, size_t len,
                         int64_t t, promql_result *out, char *err, size_t errlen)
{
    promql_node *e = NULL;
    memset(out, 0, sizeof *out);
    int rc = parse_for_query(query, len, &e, err, errlen);
    if (rc < 0)
        return rc;
    rc = promql_exec_instant(opts, q, e, t, out, err, errlen);
    promql_node_free(e);
    return rc;
}

int promql_query_range(const promql_opts *opts, const promql_queryable *q, const char *query, size_t len,
                       int64_t start, int64_t end, int64_t step, promql_result *out, char *err, size_t errlen)
{
    promql_node *e = NULL;
    memset(out, 0, sizeof *out);
    int rc = parse_for_query(query, len, &e, err, errlen);
    if (rc < 0)
        return rc;
    rc = promql_exec_range(opts, q, e, start, end, step, out, err, errlen);
    promql_node_free(e);
    return rc;
}
