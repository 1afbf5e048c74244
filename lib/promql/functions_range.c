/* Range-vector functions: rate & co., *_over_time, deriv, predict_linear,
 * holt_winters, changes, resets, absent_over_time (Prometheus 2.42
 * functions.go; the per-series/per-step loop follows engine.go's Call case).
 * Windows are closed intervals [end - range, end] as in 2.42. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval_internal.h"


typedef struct win {
    const int64_t *t;
    const double *v;
    size_t n;
    int64_t start, end; /* window bounds (ms) */
    int64_t range;      /* ms */
    int64_t ts;         /* evaluation step time */
    bool no_resets;     /* known: no value decreases within the window */
} win;

static void kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (fabs(*sum) >= fabs(inc))
        *c += (*sum - t) + inc;
    else
        *c += (inc - t) + *sum;
    *sum = t;
}

static void linreg(const win *w, int64_t icept_t, double *slope, double *icept)
{
    double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    double inity = w->v[0];
    bool consty = true;
    for (size_t i = 0; i < w->n; i++) {
        if (consty && i > 0 && w->v[i] != inity)
            consty = false;
        n += 1;
        double x = (double)(w->t[i] - icept_t) / 1e3;
        kahan_inc(x, &sx, &cx);
        kahan_inc(w->v[i], &sy, &cy);
        kahan_inc(x * w->v[i], &sxy, &cxy);
        kahan_inc(x * x, &sx2, &cx2);
    }
    if (consty) {
        if (isinf(inity)) {
            *slope = NAN;
            *icept = NAN;
        } else {
            *slope = 0;
            *icept = inity;
        }
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    double cov = sxy - sx * sy / n, var = sx2 - sx * sx / n;
    *slope = cov / var;
    *icept = sy / n - *slope * sx / n;
}

static bool extrapolated_rate(const win *w, bool counter, bool rate, double *out)
{
    if (w->n < 2)
        return false;
    double result = w->v[w->n - 1] - w->v[0];
    if (counter && !w->no_resets) {
        double prev = w->v[0];
        for (size_t i = 1; i < w->n; i++) {
            if (w->v[i] < prev)
                result += prev;
            prev = w->v[i];
        }
    }
    double to_start = (double)(w->t[0] - w->start) / 1000;
    double to_end = (double)(w->end - w->t[w->n - 1]) / 1000;
    double sampled = (double)(w->t[w->n - 1] - w->t[0]) / 1000;
    double avg = sampled / (double)(w->n - 1);
    if (counter && result > 0 && w->v[0] >= 0) {
        double to_zero = sampled * (w->v[0] / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double thr = avg * 1.1, ext = sampled;
    ext += to_start < thr ? to_start : avg / 2;
    ext += to_end < thr ? to_end : avg / 2;
    double factor = ext / sampled;
    if (rate)
        factor /= (double)w->range / 1000;
    *out = result * factor;
    return true;
}

static bool instant_value(const win *w, bool rate, double *out)
{
    if (w->n < 2)
        return false;
    double last = w->v[w->n - 1], prev = w->v[w->n - 2];
    double r = (rate && last < prev) ? last : last - prev;
    int64_t dt = w->t[w->n - 1] - w->t[w->n - 2];
    if (dt == 0)
        return false;
    if (rate)
        r /= (double)dt / 1000;
    *out = r;
    return true;
}

typedef struct rctx {
    pq_query *q;
    promql_function_id fn;
    double *scratch;
    size_t capscratch;
    int err;
} rctx;

static bool kernel(rctx *c, const win *w, double p0, double p1, double *out)
{
    switch (c->fn) {
    case PROMQL_FN_RATE: return extrapolated_rate(w, true, true, out);
    case PROMQL_FN_INCREASE: return extrapolated_rate(w, true, false, out);
    case PROMQL_FN_DELTA: return extrapolated_rate(w, false, false, out);
    case PROMQL_FN_IRATE: return instant_value(w, true, out);
    case PROMQL_FN_IDELTA: return instant_value(w, false, out);
    case PROMQL_FN_AVG_OVER_TIME: {
        /* incremental mean with Kahan compensation, as 2.42 */
        double mean = 0, count = 0, comp = 0;
        for (size_t i = 0; i < w->n; i++) {
            double v = w->v[i];
            count++;
            if (isinf(mean)) {
                if (isinf(v) && (mean > 0) == (v > 0))
                    continue;
                if (!isinf(v) && !isnan(v))
                    continue;
            }
            kahan_inc(v / count - mean / count, &mean, &comp);
        }
        *out = isinf(mean) ? mean : mean + comp;
        return true;
    }
    case PROMQL_FN_COUNT_OVER_TIME: *out = (double)w->n; return true;
    case PROMQL_FN_LAST_OVER_TIME: *out = w->v[w->n - 1]; return true;
    case PROMQL_FN_PRESENT_OVER_TIME: *out = 1; return true;
    case PROMQL_FN_MAX_OVER_TIME: {
        double m = w->v[0];
        for (size_t i = 0; i < w->n; i++)
            if (w->v[i] > m || isnan(m))
                m = w->v[i];
        *out = m;
        return true;
    }
    case PROMQL_FN_MIN_OVER_TIME: {
        double m = w->v[0];
        for (size_t i = 0; i < w->n; i++)
            if (w->v[i] < m || isnan(m))
                m = w->v[i];
        *out = m;
        return true;
    }
    case PROMQL_FN_SUM_OVER_TIME: {
        double sum = 0, comp = 0;
        for (size_t i = 0; i < w->n; i++)
            kahan_inc(w->v[i], &sum, &comp);
        *out = isinf(sum) ? sum : sum + comp;
        return true;
    }
    case PROMQL_FN_STDDEV_OVER_TIME:
    case PROMQL_FN_STDVAR_OVER_TIME: {
        /* Welford with Kahan-compensated mean and sum of squares, as 2.42 */
        double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
        for (size_t i = 0; i < w->n; i++) {
            count++;
            double delta = w->v[i] - (mean + cmean);
            kahan_inc(delta / count, &mean, &cmean);
            kahan_inc(delta * (w->v[i] - (mean + cmean)), &aux, &caux);
        }
        double var = (aux + caux) / count;
        *out = c->fn == PROMQL_FN_STDDEV_OVER_TIME ? sqrt(var) : var;
        return true;
    }
    case PROMQL_FN_QUANTILE_OVER_TIME: {
        if (c->capscratch < w->n) {
            double *ns = realloc(c->scratch, w->n * sizeof *ns);
            if (!ns) {
                c->err = -ENOMEM;
                return false;
            }
            c->scratch = ns;
            c->capscratch = w->n;
        }
        memcpy(c->scratch, w->v, w->n * sizeof *w->v);
        *out = pq_quantile(p0, c->scratch, w->n);
        return true;
    }
    case PROMQL_FN_CHANGES: {
        double n = 0, prev = w->v[0];
        for (size_t i = 1; i < w->n; i++) {
            double cur = w->v[i];
            if (cur != prev && !(isnan(cur) && isnan(prev)))
                n++;
            prev = cur;
        }
        *out = n;
        return true;
    }
    case PROMQL_FN_RESETS: {
        double n = 0, prev = w->v[0];
        for (size_t i = 1; i < w->n; i++) {
            if (w->v[i] < prev)
                n++;
            prev = w->v[i];
        }
        *out = n;
        return true;
    }
    case PROMQL_FN_DERIV: {
        if (w->n < 2)
            return false;
        double s, ic;
        linreg(w, w->t[0], &s, &ic);
        *out = s;
        return true;
    }
    case PROMQL_FN_PREDICT_LINEAR: {
        if (w->n < 2)
            return false;
        double s, ic;
        linreg(w, w->ts, &s, &ic);
        *out = s * p0 + ic;
        return true;
    }
    case PROMQL_FN_HOLT_WINTERS: {
        double sf = p0, tf = p1;
        if (sf <= 0 || sf >= 1) {
            c->err = pq_errorf(c->q, -EINVAL, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
            return false;
        }
        if (tf <= 0 || tf >= 1) {
            c->err = pq_errorf(c->q, -EINVAL, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
            return false;
        }
        if (w->n < 2)
            return false;
        double s0 = 0, s1 = w->v[0], b = w->v[1] - w->v[0];
        for (size_t i = 1; i < w->n; i++) {
            double x = sf * w->v[i];
            if (i > 1)
                b = tf * (s1 - s0) + (1 - tf) * b;
            double y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        *out = s1;
        return true;
    }
    default:
        c->err = pq_errorf(c->q, -EINVAL, "function %s is not a range-vector function",
                           promql_function_info(c->fn)->name);
        return false;
    }
}

int pq_eval_range_call(pq_ev *ev, const promql_node *n, size_t mi, pq_val *out)
{
    pq_query *q = ev->q;
    promql_function_id fn = n->call.func;
    const promql_node *arg = pq_unparen(n->call.args[mi]);
    pq_val other[PROMQL_FN_MAX_ARGS] = {{0}};
    pq_val sub = {0};
    pq_map seen = {0};
    rctx c = {.q = q, .fn = fn};
    double *bt = NULL; /* scratch for stale-filtered points */
    int64_t *btt = NULL;
    size_t capb = 0;
    bool *found = NULL;
    uint32_t *resets = NULL;
    size_t caprs = 0;
    int rc = 0;
    size_t na = n->call.n_args < PROMQL_FN_MAX_ARGS ? n->call.n_args : PROMQL_FN_MAX_ARGS;
    for (size_t i = 0; i < na && rc == 0; i++)
        if (i != mi)
            rc = pq_eval(ev, n->call.args[i], &other[i]);
    if (rc < 0)
        goto done;

    const promql_modifiers *mod;
    int64_t range;
    promql_series *raw = NULL;
    const pq_lset **rawls = NULL;
    size_t ns;
    if (arg->kind == PROMQL_NODE_MATRIX) {
        const promql_node *vs = arg->matrix.vector;
        mod = &vs->vector.mod;
        range = arg->matrix.range_ms;
        int64_t r0 = pq_ref_time(ev, mod, ev->start), r1 = pq_ref_time(ev, mod, ev->end);
        if ((rc = pq_select(ev, vs, pq_tsub(r0, range), r1, range, promql_function_info(fn)->name, &raw, &ns,
                            &rawls)) < 0)
            goto done;
    } else {
        mod = &arg->subquery.mod;
        range = arg->subquery.range_ms;
        if ((rc = pq_eval_subquery(ev, arg, &sub)) < 0)
            goto done;
        ns = sub.ns;
    }
    out->kind = PQ_VECTOR;
    if (fn == PROMQL_FN_ABSENT_OVER_TIME) {
        found = calloc(ev->nsteps ? ev->nsteps : 1, sizeof *found);
        if (!found) {
            rc = pq_oom(q);
            goto done;
        }
    }
    for (size_t i = 0; i < ns; i++) {
        const int64_t *t;
        const double *v;
        size_t np;
        const pq_lset *m;
        if (raw) {
            np = 0;
            if (capb < raw[i].n_points) {
                capb = raw[i].n_points;
                free(bt);
                free(btt);
                bt = malloc(capb * sizeof *bt);
                btt = malloc(capb * sizeof *btt);
                if (!bt || !btt) {
                    rc = pq_oom(q);
                    goto done;
                }
            }
            for (size_t j = 0; j < raw[i].n_points; j++) {
                if (pq_is_stale(raw[i].points[j].v))
                    continue;
                btt[np] = raw[i].points[j].t;
                bt[np] = raw[i].points[j].v;
                np++;
            }
            t = btt;
            v = bt;
            m = rawls[i];
        } else {
            t = sub.s[i].t;
            v = sub.s[i].v;
            np = sub.s[i].n;
            m = sub.s[i].m;
        }
        if (fn != PROMQL_FN_LAST_OVER_TIME) {
            m = pq_noname(q, m);
            if (!m) {
                rc = pq_oom(q);
                goto done;
            }
        }
        pq_series *o = NULL;
        size_t lo = 0, hi = 0;
        /* resets[i]: value decreases among points 1..i; lets rate() skip
         * its reset scan for windows without any (the common case) */
        bool track = fn == PROMQL_FN_RATE || fn == PROMQL_FN_INCREASE;
        if (track && caprs < np) {
            free(resets);
            caprs = np;
            resets = malloc(caprs * sizeof *resets);
            if (!resets) {
                rc = pq_oom(q);
                goto done;
            }
        }
        if (track && np) {
            resets[0] = 0;
            for (size_t j = 1; j < np; j++)
                resets[j] = resets[j - 1] + (v[j] < v[j - 1]);
        }
        for (size_t k = 0; k < ev->nsteps; k++) {
            int64_t ts = ev->start + (int64_t)k * ev->interval;
            /* a subquery's window with @ is placed from its @ alone
             * (engine.go evalSubquery), unlike its evaluation; both move
             * with the step when the call is not step invariant */
            int64_t end = raw || mod->at == PROMQL_AT_NONE
                              ? pq_ref_time(ev, mod, ts)
                              : pq_tadd(pq_tsub(pq_at_time(ev, mod), mod->offset_ms), ts - ev->start);
            int64_t start = pq_tsub(end, range);
            if ((rc = pq_check_abort(q)) < 0)
                goto done;
            if (hi > 0 && (t[hi - 1] > end || (lo < np && t[lo] > start))) {
                lo = 0; /* window moved backwards (cannot happen with monotonic refs) */
                hi = 0;
            }
            while (hi < np && t[hi] <= end)
                hi++;
            while (lo < hi && t[lo] < start)
                lo++;
            if (hi == lo)
                continue;
            if (found) {
                found[k] = true;
                continue;
            }
            /* the window's samples are held while the function runs */
            if (q->samples + (int64_t)(hi - lo) > q->opts.max_samples) {
                rc = pq_add_samples(q, (int64_t)(hi - lo));
                goto done;
            }
            win w = {.t = t + lo, .v = v + lo, .n = hi - lo, .start = start, .end = end, .range = range, .ts = ts,
                     .no_resets = track && resets[hi - 1] == resets[lo]};
            double p0 = 0, p1 = 0;
            if (fn == PROMQL_FN_QUANTILE_OVER_TIME)
                p0 = other[0].sv ? other[0].sv[k] : 0;
            else if (fn == PROMQL_FN_PREDICT_LINEAR)
                p0 = other[1].sv ? other[1].sv[k] : 0;
            else if (fn == PROMQL_FN_HOLT_WINTERS) {
                p0 = other[1].sv ? other[1].sv[k] : 0;
                p1 = other[2].sv ? other[2].sv[k] : 0;
            }
            double r;
            bool ok = kernel(&c, &w, p0, p1, &r);
            if (c.err < 0) {
                rc = c.err == -ENOMEM ? pq_oom(q) : c.err;
                goto done;
            }
            if (!ok)
                continue;
            if (!o) {
                if (pq_val_add_series(out, m, &o) < 0) {
                    rc = pq_oom(q);
                    goto done;
                }
            }
            if (pq_series_push(o, ts, r) < 0) {
                rc = pq_oom(q);
                goto done;
            }
        }
        if ((rc = pq_add_samples(q, o ? o->n : 0)) < 0 || (rc = pq_check_abort(q)) < 0)
            goto done;
        if (o) {
            bool isnew;
            if (!pq_map_put(&seen, pq_ptrkey(m), &isnew)) {
                rc = pq_oom(q);
                goto done;
            }
            if (!isnew) {
                rc = pq_errorf(q, -EINVAL, "vector cannot contain metrics with the same labelset");
                goto done;
            }
        }
    }
    if (found) {
        const pq_lset *al = arg->kind == PROMQL_NODE_MATRIX ? pq_absent_labels(q, arg) : q->empty;
        if (!al) {
            rc = pq_oom(q);
            goto done;
        }
        pq_series *o = NULL;
        for (size_t k = 0; k < ev->nsteps; k++) {
            if (found[k])
                continue;
            if (!o && pq_val_add_series(out, al, &o) < 0) {
                rc = pq_oom(q);
                goto done;
            }
            if (pq_series_push(o, ev->start + (int64_t)k * ev->interval, 1) < 0) {
                rc = pq_oom(q);
                goto done;
            }
        }
    }
done:
    for (size_t i = 0; i < PROMQL_FN_MAX_ARGS; i++)
        pq_val_release(q, &other[i]);
    pq_val_release(q, &sub);
    pq_map_free(&seen);
    free(c.scratch);
    free(bt);
    free(btt);
    free(found);
    free(resets);
    if (rc < 0) /* callers do not free a failed result */
        pq_val_free(out);
    return rc;
}
