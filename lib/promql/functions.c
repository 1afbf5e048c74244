/* Instant-vector and scalar functions (Prometheus 2.42 functions.go) and the
 * function-call dispatch. Range-vector functions are in functions_range.c,
 * label_replace/label_join in functions_label.c. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "eval_internal.h"


typedef struct fnctx {
    const promql_node *n;
    promql_function_id fn;
    const pq_lset *absent_labels;
} fnctx;

static double days_in_month(int year, int mon /* 1..12 */)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mon == 2) {
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return leap ? 29 : 28;
    }
    return d[mon - 1];
}

static double date_fn(promql_function_id fn, double v)
{
    if (!(v >= -9.2e18 && v <= 9.2e18))
        return NAN; /* a documented difference: docs/promql.md, "Date functions" */
    time_t t = (time_t)(int64_t)v;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return NAN;
    switch (fn) {
    case PROMQL_FN_DAY_OF_MONTH: return tm.tm_mday;
    case PROMQL_FN_DAY_OF_WEEK: return tm.tm_wday;
    case PROMQL_FN_DAY_OF_YEAR: return tm.tm_yday + 1;
    case PROMQL_FN_DAYS_IN_MONTH: return days_in_month(tm.tm_year + 1900, tm.tm_mon + 1);
    case PROMQL_FN_HOUR: return tm.tm_hour;
    case PROMQL_FN_MINUTE: return tm.tm_min;
    case PROMQL_FN_MONTH: return tm.tm_mon + 1;
    case PROMQL_FN_YEAR: return (double)tm.tm_year + 1900;
    default: return NAN;
    }
}

static bool is_date_fn(promql_function_id fn)
{
    switch (fn) {
    case PROMQL_FN_DAY_OF_MONTH:
    case PROMQL_FN_DAY_OF_WEEK:
    case PROMQL_FN_DAY_OF_YEAR:
    case PROMQL_FN_DAYS_IN_MONTH:
    case PROMQL_FN_HOUR:
    case PROMQL_FN_MINUTE:
    case PROMQL_FN_MONTH:
    case PROMQL_FN_YEAR:
        return true;
    default:
        return false;
    }
}

/* Go's math.Log as its amd64 assembly (log_amd64.s) computes it (FreeBSD
 * e_log.c), so ln, log2 and log10 give Prometheus' exact bits; libm's log
 * may differ in the last place. The assembly splits x into fraction and
 * exponent straight from the bits, without normalising subnormals first, so
 * a subnormal x gives about -709.09 (as if x were 2^-1023 * (1 + tiny)):
 * ln(1e-320) is -709.0895657128236 in Prometheus on amd64, and here. */
static double go_log(double x)
{
    const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10,
                 l1 = 6.666666666666735130e-01, l2 = 3.999999999940941908e-01, l3 = 2.857142874366239149e-01,
                 l4 = 2.222219843214978396e-01, l5 = 1.818357216161805012e-01, l6 = 1.531383769920937332e-01,
                 l7 = 1.479819860511658591e-01;
    if (isnan(x) || (isinf(x) && x > 0))
        return x;
    if (x < 0)
        return NAN;
    if (x == 0)
        return -INFINITY;
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int ki = (int)((bits >> 52) & 0x7ff) - 0x3fe;
    bits = (bits & 0x000fffffffffffffULL) | 0x3fe0000000000000ULL; /* fraction in [0.5, 1) */
    double f1;
    memcpy(&f1, &bits, sizeof f1);
    if (f1 < M_SQRT2 / 2) {
        f1 *= 2;
        ki--;
    }
    double f = f1 - 1, k = (double)ki;
    double s = f / (2 + f), s2 = s * s, s4 = s2 * s2;
    double t1 = s2 * (l1 + s4 * (l3 + s4 * (l5 + s4 * l7)));
    double t2 = s4 * (l2 + s4 * (l4 + s4 * l6));
    double r = t1 + t2, hfsq = 0.5 * f * f;
    return k * ln2hi - ((hfsq - (s * (hfsq + r) + k * ln2lo)) - f);
}

static double go_log2(double x)
{
    int e;
    double frac = frexp(x, &e);
    if (frac == 0.5) /* exact powers of two */
        return (double)(e - 1);
    return go_log(frac) * 0x1.71547652b82fep+0 /* 1/Ln2 rounded once, as Go */ + (double)e;
}

/* Element-wise math; returns false when fn is not one. */
static bool math_fn(promql_function_id fn, double v, double *out)
{
    switch (fn) {
    case PROMQL_FN_ABS: *out = fabs(v); break;
    case PROMQL_FN_CEIL: *out = ceil(v); break;
    case PROMQL_FN_FLOOR: *out = floor(v); break;
    case PROMQL_FN_EXP: *out = exp(v); break;
    case PROMQL_FN_SQRT: *out = sqrt(v); break;
    case PROMQL_FN_LN: *out = go_log(v); break;
    case PROMQL_FN_LOG2: *out = go_log2(v); break;
    case PROMQL_FN_LOG10: *out = go_log(v) * 0x1.bcb7b1526e50ep-2; /* 1/Ln10 rounded once */ break;
    case PROMQL_FN_SIN: *out = sin(v); break;
    case PROMQL_FN_COS: *out = cos(v); break;
    case PROMQL_FN_TAN: *out = tan(v); break;
    case PROMQL_FN_ASIN: *out = asin(v); break;
    case PROMQL_FN_ACOS: *out = acos(v); break;
    case PROMQL_FN_ATAN: *out = atan(v); break;
    case PROMQL_FN_SINH: *out = sinh(v); break;
    case PROMQL_FN_COSH: *out = cosh(v); break;
    case PROMQL_FN_TANH: *out = tanh(v); break;
    case PROMQL_FN_ASINH: *out = asinh(v); break;
    case PROMQL_FN_ACOSH: *out = acosh(v); break;
    case PROMQL_FN_ATANH: *out = atanh(v); break;
    case PROMQL_FN_DEG: *out = v * 180 / M_PI; break;
    case PROMQL_FN_RAD: *out = v * M_PI / 180; break;
    case PROMQL_FN_SGN: *out = v < 0 ? -1 : v > 0 ? 1 : v; break;
    default: return false;
    }
    return true;
}

static int push_noname(pq_ev *ev, pq_vec *out, const pq_lset *m, double v, int64_t ts)
{
    m = pq_noname(ev->q, m);
    if (!m || pq_vec_push(out, m, v, ts) < 0)
        return pq_oom(ev->q);
    return 0;
}

static int step_fn(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step, pq_vec *out)
{
    fnctx *c = ctx;
    pq_query *q = ev->q;
    double r;
    if (is_date_fn(c->fn)) {
        if (nin == 0) {
            int64_t sec = ts / 1000;
            if (pq_vec_push(out, q->empty, date_fn(c->fn, (double)sec), ts) < 0)
                return pq_oom(q);
            return 0;
        }
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, date_fn(c->fn, in[0].s[i].v), ts));
        return 0;
    }
    switch (c->fn) {
    case PROMQL_FN_ROUND: {
        double to = nin > 1 ? in[1].s[0].v : 1;
        double inv = 1.0 / to;
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, floor(in[0].s[i].v * inv + 0.5) / inv, ts));
        return 0;
    }
    case PROMQL_FN_CLAMP: {
        double mn = in[1].s[0].v, mx = in[2].s[0].v;
        if (mx < mn)
            return 0;
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, pq_go_max(mn, pq_go_min(mx, in[0].s[i].v)), ts));
        return 0;
    }
    case PROMQL_FN_CLAMP_MAX:
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, pq_go_min(in[0].s[i].v, in[1].s[0].v), ts));
        return 0;
    case PROMQL_FN_CLAMP_MIN:
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, pq_go_max(in[0].s[i].v, in[1].s[0].v), ts));
        return 0;
    case PROMQL_FN_TIMESTAMP:
        for (size_t i = 0; i < in[0].n; i++)
            PQ_TRY(push_noname(ev, out, in[0].s[i].m, (double)in[0].s[i].t / 1000.0, ts));
        return 0;
    case PROMQL_FN_VECTOR:
        if (pq_vec_push(out, q->empty, in[0].s[0].v, ts) < 0)
            return pq_oom(q);
        return 0;
    case PROMQL_FN_ABSENT:
        if (in[0].n == 0 && pq_vec_push(out, c->absent_labels, 1, ts) < 0)
            return pq_oom(q);
        return 0;
    case PROMQL_FN_SORT:
    case PROMQL_FN_SORT_DESC:
        for (size_t i = 0; i < in[0].n; i++)
            if (pq_vec_push(out, in[0].s[i].m, in[0].s[i].v, ts) < 0)
                return pq_oom(q);
        pq_sort_reverse(out->s, out->n, c->fn == PROMQL_FN_SORT);
        return 0;
    default:
        break;
    }
    for (size_t i = 0; i < in[0].n; i++) {
        if (!math_fn(c->fn, in[0].s[i].v, &r))
            return pq_errorf(q, -EINVAL, "function %s not implemented", promql_function_info(c->fn)->name);
        PQ_TRY(push_noname(ev, out, in[0].s[i].m, r, ts));
    }
    return 0;
}

static int step_dropname(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step, pq_vec *out)
{
    for (size_t i = 0; i < in[0].n; i++)
        PQ_TRY(push_noname(ev, out, in[0].s[i].m, in[0].s[i].v, ts));
    return 0;
}

/* Prometheus createLabelsForAbsentFunction. */
static const pq_lset *absent_labels(pq_query *q, const promql_node *arg)
{
    arg = pq_unparen(arg);
    const promql_node *vs = NULL;
    if (arg->kind == PROMQL_NODE_VECTOR)
        vs = arg;
    else if (arg->kind == PROMQL_NODE_MATRIX)
        vs = arg->matrix.vector;
    if (!vs)
        return q->empty;
    size_t nm = vs->vector.n_matchers;
    labels_label *l = malloc((nm ? nm : 1) * sizeof *l);
    if (!l)
        return NULL;
    size_t n = 0;
    const char **empty = malloc((nm ? nm : 1) * sizeof *empty);
    size_t ne = 0;
    if (!empty) {
        free(l);
        return NULL;
    }
    for (size_t i = 0; i < nm; i++) {
        const promql_matcher *m = &vs->vector.matchers[i];
        if (strcmp(m->name, "__name__") == 0)
            continue;
        bool has = false;
        for (size_t j = 0; j < n; j++)
            has |= strcmp(l[j].name, m->name) == 0;
        if (m->op == PROMQL_MATCH_EQ && !has) {
            if (m->value_len) { /* Set(name, "") deletes in Go */
                l[n].name = m->name;
                l[n].name_len = (uint32_t)strlen(m->name);
                l[n].value = m->value;
                l[n].value_len = (uint32_t)m->value_len;
                n++;
            }
        } else {
            empty[ne++] = m->name;
        }
    }
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < n; j++)
            if (strcmp(l[j].name, empty[i]) == 0) {
                memmove(&l[j], &l[j + 1], (n - j - 1) * sizeof *l);
                n--;
                break;
            }
    free(empty);
    labels_sort(l, n);
    const pq_lset *r = pq_intern(q, l, n);
    free(l);
    return r;
}

const pq_lset *pq_absent_labels(pq_query *q, const promql_node *arg)
{
    return absent_labels(q, arg);
}

static int eval_scalar_fn(pq_ev *ev, pq_val *arg, pq_val *out)
{
    out->kind = PQ_SCALAR;
    out->sv = malloc((ev->nsteps ? ev->nsteps : 1) * sizeof(double));
    uint32_t *cnt = calloc(ev->nsteps ? ev->nsteps : 1, sizeof *cnt);
    if (!out->sv || !cnt) {
        free(cnt);
        return pq_oom(ev->q);
    }
    for (size_t i = 0; i < arg->ns; i++) {
        pq_series *s = &arg->s[i];
        for (uint32_t j = 0; j < s->n; j++) {
            size_t k = (size_t)((s->t[j] - ev->start) / ev->interval);
            if (cnt[k]++ == 0)
                out->sv[k] = s->v[j];
        }
    }
    for (size_t k = 0; k < ev->nsteps; k++)
        if (cnt[k] != 1)
            out->sv[k] = NAN;
    free(cnt);
    return 0;
}

typedef struct ptctx {
    promql_function_id fn;
    const double *a1, *a2; /* scalar arguments per step, or NULL */
} ptctx;

static bool point_fn(void *ctx, size_t step, int64_t t, double v, double *out)
{
    ptctx *c = ctx;
    switch (c->fn) {
    case PROMQL_FN_ROUND: {
        double inv = 1.0 / (c->a1 ? c->a1[step] : 1);
        *out = floor(v * inv + 0.5) / inv;
        return true;
    }
    case PROMQL_FN_CLAMP:
        if (c->a2[step] < c->a1[step])
            return false;
        *out = pq_go_max(c->a1[step], pq_go_min(c->a2[step], v));
        return true;
    case PROMQL_FN_CLAMP_MAX: *out = pq_go_min(v, c->a1[step]); return true;
    case PROMQL_FN_CLAMP_MIN: *out = pq_go_max(v, c->a1[step]); return true;
    case PROMQL_FN_TIMESTAMP: *out = (double)t / 1000.0; return true;
    default:
        if (is_date_fn(c->fn)) {
            *out = date_fn(c->fn, v);
            return true;
        }
        return math_fn(c->fn, v, out);
    }
}

/* Functions that map each sample on its own and drop the name. */
static bool is_pointwise(promql_function_id fn)
{
    double d;
    switch (fn) {
    case PROMQL_FN_ROUND:
    case PROMQL_FN_CLAMP:
    case PROMQL_FN_CLAMP_MAX:
    case PROMQL_FN_CLAMP_MIN:
    case PROMQL_FN_TIMESTAMP:
        return true;
    default:
        return is_date_fn(fn) || math_fn(fn, 0, &d);
    }
}

int pq_eval_call(pq_ev *ev, const promql_node *n, pq_val *out)
{
    pq_query *q = ev->q;
    promql_function_id fn = n->call.func;
    size_t na = n->call.n_args;
    for (size_t i = 0; i < na; i++) {
        const promql_node *a = pq_unparen(n->call.args[i]);
        if (a->kind == PROMQL_NODE_MATRIX || a->kind == PROMQL_NODE_SUBQUERY)
            return pq_eval_range_call(ev, n, i, out);
    }
    switch (fn) {
    case PROMQL_FN_TIME:
    case PROMQL_FN_PI:
        out->kind = PQ_SCALAR;
        out->sv = malloc((ev->nsteps ? ev->nsteps : 1) * sizeof(double));
        if (!out->sv)
            return pq_oom(q);
        for (size_t k = 0; k < ev->nsteps; k++)
            out->sv[k] = fn == PROMQL_FN_PI ? M_PI : (double)(ev->start + (int64_t)k * ev->interval) / 1000.0;
        return 0;
    case PROMQL_FN_HISTOGRAM_COUNT:
    case PROMQL_FN_HISTOGRAM_SUM:
    case PROMQL_FN_HISTOGRAM_FRACTION: {
        /* native histograms only: float samples give no output */
        pq_val a = {0};
        for (size_t i = 0; i < na; i++) {
            int rc = pq_eval(ev, n->call.args[i], &a);
            pq_val_release(q, &a);
            if (rc < 0)
                return rc;
        }
        out->kind = PQ_VECTOR;
        return 0;
    }
    default:
        break;
    }
    if (fn == PROMQL_FN_TIMESTAMP) {
        const promql_node *a = pq_unparen(n->call.args[0]);
        if (a->kind == PROMQL_NODE_VECTOR) {
            pq_val v = {0};
            int rc = pq_eval_vector_selector(ev, a, true, &v);
            if (rc < 0) {
                pq_val_free(&v);
                return rc;
            }
            /* drop names, with rangeEval's per-step duplicate check */
            pq_val res = {0};
            fnctx c = {.n = n, .fn = PROMQL_FN_ABS};
            rc = pq_range_eval(ev, &v, 1, step_dropname, &c, &res);
            pq_val_release(q, &v);
            if (rc < 0) {
                pq_val_free(&res);
                return rc;
            }
            v = res;
            *out = v;
            return 0;
        }
    }
    pq_val args[PROMQL_FN_MAX_ARGS + 8];
    size_t nargs = na < PROMQL_FN_MAX_ARGS + 8 ? na : PROMQL_FN_MAX_ARGS + 8;
    memset(args, 0, sizeof args);
    int rc = 0;
    for (size_t i = 0; i < nargs && rc == 0; i++)
        rc = pq_eval(ev, n->call.args[i], &args[i]);
    if (rc < 0)
        goto done;
    switch (fn) {
    case PROMQL_FN_SCALAR:
        rc = eval_scalar_fn(ev, &args[0], out);
        break;
    case PROMQL_FN_HISTOGRAM_QUANTILE:
        rc = pq_histogram_quantile(ev, args, out);
        break;
    case PROMQL_FN_LABEL_REPLACE:
    case PROMQL_FN_LABEL_JOIN:
        rc = pq_label_fn(ev, n, args, out);
        break;
    default: {
        if (nargs >= 1 && args[0].kind == PQ_VECTOR && is_pointwise(fn)) {
            ptctx pc = {.fn = fn, .a1 = nargs > 1 ? args[1].sv : NULL, .a2 = nargs > 2 ? args[2].sv : NULL};
            rc = pq_map_series(ev, &args[0], true, point_fn, &pc);
            if (rc == 0) {
                *out = args[0];
                memset(&args[0], 0, sizeof args[0]);
                break;
            }
            if (rc < 0)
                break;
        }
        fnctx c = {.n = n, .fn = fn};
        if (fn == PROMQL_FN_ABSENT) {
            c.absent_labels = absent_labels(q, n->call.args[0]);
            if (!c.absent_labels) {
                rc = pq_oom(q);
                break;
            }
        }
        rc = pq_range_eval(ev, args, nargs, step_fn, &c, out);
        break;
    }
    }
done:
    for (size_t i = 0; i < nargs; i++)
        pq_val_release(q, &args[i]);
    return rc;
}
