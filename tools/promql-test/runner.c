/* Runs parsed test scripts against lib/promql (see runner.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/parse.h"
#include "promql/promql.h"
#include "runner.h"
#include "script.h"


static bool almost_equal(double a, double b)
{
    const double min_normal = 2.2250738585072014e-308, eps = 1e-6;
    if (isnan(a) && isnan(b))
        return true;
    if (a == b)
        return true;
    double d = fabs(a - b);
    if (a == 0 || b == 0 || d < min_normal)
        return d < eps * min_normal;
    return d / (fabs(a) + fabs(b)) < eps;
}

static void fmt_labels(const labels_label *l, size_t n, char *buf, size_t len)
{
    labels_format(l, n, buf, len);
}

typedef struct sample {
    const labels_label *l;
    size_t n;
    double v;
} sample;

/* compareResult of promql/test.go over a vector of samples or a scalar. */
static int compare(const cmd *c, bool is_scalar, double sv, const sample *s, size_t ns, char *msg, size_t ml)
{
    char a[512];
    if (is_scalar) {
        if (!c->scalar_expected) {
            snprintf(msg, ml, "got scalar %g but expected a vector", sv);
            return -1;
        }
        if (!almost_equal(c->scalar, sv)) {
            snprintf(msg, ml, "expected scalar %.17g but got %.17g", c->scalar, sv);
            return -1;
        }
        return 0;
    }
    bool *seen = calloc(c->nexp + 1, sizeof *seen);
    if (!seen) {
        snprintf(msg, ml, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < ns && rc == 0; i++) {
        size_t k;
        for (k = 0; k < c->nexp; k++)
            if (labels_equal(c->exp[k].ls.l, c->exp[k].ls.n, s[i].l, s[i].n))
                break;
        fmt_labels(s[i].l, s[i].n, a, sizeof a);
        if (k == c->nexp) {
            snprintf(msg, ml, "unexpected metric %s in result (value %.17g)", a, s[i].v);
            rc = -1;
        } else if (c->ordered && c->exp[k].pos != (int)i + 1) {
            snprintf(msg, ml, "expected metric %s at position %d but was at %zu", a, c->exp[k].pos, i + 1);
            rc = -1;
        } else if (!almost_equal(c->exp[k].v, s[i].v)) {
            snprintf(msg, ml, "expected %.17g for %s but got %.17g", c->exp[k].v, a, s[i].v);
            rc = -1;
        } else {
            seen[k] = true;
        }
    }
    if (rc == 0 && c->scalar_expected) {
        snprintf(msg, ml, "expected scalar %.17g but got a vector of %zu samples", c->scalar, ns);
        rc = -1;
    }
    for (size_t k = 0; k < c->nexp && rc == 0; k++) {
        if (!seen[k]) {
            fmt_labels(c->exp[k].ls.l, c->exp[k].ls.n, a, sizeof a);
            snprintf(msg, ml, "expected metric %s with %.17g not found (got %zu samples)", a, c->exp[k].v, ns);
            rc = -1;
        }
    }
    free(seen);
    return rc;
}

static int compare_instant(const cmd *c, const promql_result *r, char *msg, size_t ml)
{
    if (r->type == PROMQL_VALUE_SCALAR)
        return compare(c, true, r->scalar, NULL, 0, msg, ml);
    if (r->type != PROMQL_VALUE_VECTOR) {
        snprintf(msg, ml, r->type == PROMQL_VALUE_MATRIX ? "received range result on instant evaluation"
                                                         : "unexpected string result");
        return -1;
    }
    sample *s = calloc(r->n_series + 1, sizeof *s);
    if (!s) {
        snprintf(msg, ml, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->n_series; i++)
        s[i] = (sample){r->series[i].labels, r->series[i].n_labels, r->series[i].points[0].v};
    int rc = compare(c, false, 0, s, r->n_series, msg, ml);
    free(s);
    return rc;
}

static int compare_range(const cmd *c, bool scalar, int64_t t, const promql_result *r, char *msg, size_t ml)
{
    sample *s = calloc(r->n_series + 1, sizeof *s);
    size_t n = 0;
    if (!s) {
        snprintf(msg, ml, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->n_series; i++)
        for (size_t j = 0; j < r->series[i].n_points; j++)
            if (r->series[i].points[j].t == t) {
                s[n++] = (sample){r->series[i].labels, r->series[i].n_labels, r->series[i].points[j].v};
                break;
            }
    int rc;
    if (scalar) {
        if (n == 0) {
            snprintf(msg, ml, "no point at the evaluation time in range mode");
            rc = -1;
        } else {
            rc = compare(c, true, s[0].v, NULL, 0, msg, ml);
        }
    } else {
        rc = compare(c, false, 0, s, n, msg, ml);
    }
    free(s);
    return rc;
}

typedef struct walkinfo {
    bool unsafe_at; /* calls a function that makes @ variants meaningless */
    /* native-histogram series loaded so far (borrowed from the script) */
    const lset *const *native;
    size_t nnative;
    bool reads_native; /* a selector matches one of them */
    bool oom;
} walkinfo;

/* Does the selector's matcher set accept one of the native series? */
static void check_native(walkinfo *w, const promql_node *vs)
{
    size_t nm = vs->vector.n_matchers;
    labels_matcher **ms = calloc(nm + 1, sizeof *ms);
    if (!ms) {
        w->oom = true;
        return;
    }
    static const labels_match_type types[] = {
        [PROMQL_MATCH_EQ] = LABELS_MATCH_EQ, [PROMQL_MATCH_NE] = LABELS_MATCH_NEQ,
        [PROMQL_MATCH_RE] = LABELS_MATCH_RE, [PROMQL_MATCH_NRE] = LABELS_MATCH_NRE};
    size_t k;
    for (k = 0; k < nm; k++) {
        const promql_matcher *m = &vs->vector.matchers[k];
        char err[256];
        if (labels_matcher_new(types[m->op], m->name, strlen(m->name), m->value, m->value_len, &ms[k], err,
                               sizeof err) < 0)
            break; /* the query will fail on its own; not a histogram question */
    }
    if (k == nm)
        for (size_t i = 0; i < w->nnative && !w->reads_native; i++)
            if (labels_matches((const labels_matcher *const *)ms, nm, w->native[i]->l, w->native[i]->n))
                w->reads_native = true;
    for (size_t i = 0; i < k; i++)
        labels_matcher_free(ms[i]);
    free(ms);
}

static int visit(promql_node *n, promql_node *parent, void *ctx)
{
    walkinfo *w = ctx;
    (void)parent;
    if (n->kind == PROMQL_NODE_VECTOR && w->nnative)
        check_native(w, n);
    if (n->kind != PROMQL_NODE_CALL)
        return 0;
    if (promql_function_at_unsafe(n->call.func))
        w->unsafe_at = true;
    return 0;
}

/* Puts pre in front of msg (truncating at ml). */
static void prefix_msg(char *msg, size_t ml, const char *pre)
{
    size_t pl = strlen(pre), l = strlen(msg);
    if (pl >= ml)
        return;
    if (l + pl >= ml)
        l = ml - pl - 1;
    memmove(msg + pl, msg, l);
    memcpy(msg, pre, pl);
    msg[pl + l] = 0;
}

static const promql_opts *harness_opts(void)
{
    static promql_opts o;
    static bool init;
    if (!init) {
        promql_opts_init(&o);
        o.max_samples = 10000; /* as the upstream harness */
        o.timeout_ms = 100000;
        o.default_subquery_step_ms = 60000;
        init = true;
    }
    return &o;
}

static bool instant_only;

void runner_set_instant_only(bool on)
{
    instant_only = on;
}

/* One query check at evaluation time t (instant + range mode). */
static int check_at(const cmd *c, const promql_node *expr, int64_t t, const promql_queryable *q, char *msg,
                    size_t ml)
{
    promql_result r;
    char err[1024];
    int rc = promql_exec_instant(harness_opts(), q, expr, t, &r, err, sizeof err);
    if (c->fail) {
        if (rc == 0) {
            promql_result_free(&r);
            snprintf(msg, ml, "expected error evaluating query at %lld but got none", (long long)t);
            return -1;
        }
        return 0;
    }
    if (rc < 0) {
        snprintf(msg, ml, "error evaluating query at %lld: %s", (long long)t, err);
        return -1;
    }
    bool scalar = r.type == PROMQL_VALUE_SCALAR;
    if (compare_instant(c, &r, msg, ml) < 0) {
        promql_result_free(&r);
        return -1;
    }
    promql_result_free(&r);
    if (instant_only)
        return 0;
    rc = promql_exec_range(harness_opts(), q, expr, t - 60000, t + 60000, 60000, &r, err, sizeof err);
    if (rc < 0) {
        snprintf(msg, ml, "error evaluating query at %lld in range mode: %s", (long long)t, err);
        return -1;
    }
    if (!c->ordered && compare_range(c, scalar, t, &r, msg, ml) < 0) {
        prefix_msg(msg, ml, "range mode: ");
        promql_result_free(&r);
        return -1;
    }
    promql_result_free(&r);
    return 0;
}

static int run_eval(const cmd *c, const promql_queryable *q, char *msg, size_t ml)
{
    if (check_at(c, c->expr, c->at, q, msg, ml) < 0)
        return -1;
    if (instant_only)
        return 0;
    walkinfo w = {0};
    promql_walk(c->expr, visit, &w);
    if (w.unsafe_at)
        return 0;
    promql_node *e = promql_node_clone(c->expr);
    if (!e) {
        snprintf(msg, ml, "out of memory");
        return -1;
    }
    promql_set_at_all(e, c->at);
    int64_t T = c->at;
    int64_t times[5];
    size_t nt;
    if (T != 0) {
        times[0] = -10 * T;
        times[1] = 0;
        times[2] = T / 5;
        times[3] = T;
        times[4] = 10 * T;
        nt = 5;
    } else {
        times[0] = -1000;
        times[1] = 0;
        times[2] = 1000;
        nt = 3;
    }
    int rc = 0;
    for (size_t i = 0; i < nt && rc == 0; i++) {
        if (check_at(c, e, times[i], q, msg, ml) < 0) {
            char pre[96];
            snprintf(pre, sizeof pre, "@ variant (all selectors @ %lld ms): ", (long long)T);
            prefix_msg(msg, ml, pre);
            rc = -1;
        }
    }
    promql_node_free(e);
    return rc;
}

/* Loads the float series; native-histogram ones are only remembered in
 * *native (grown as needed) so evals reading them can be skipped. */
static int run_load(const cmd *c, promql_memstore *m, const lset ***native, size_t *nnative, char *msg,
                    size_t ml)
{
    for (size_t i = 0; i < c->nseries; i++) {
        const load_series *s = &c->series[i];
        if (s->native) {
            const lset **nn = realloc(*native, (*nnative + 1) * sizeof *nn);
            if (!nn) {
                snprintf(msg, ml, "out of memory");
                return -1;
            }
            *native = nn;
            nn[(*nnative)++] = &s->ls;
            continue;
        }
        for (size_t j = 0; j < s->n; j++) {
            if (!s->present[j])
                continue;
            int rc = promql_memstore_add(m, s->ls.l, s->ls.n, (int64_t)j * c->interval, s->vals[j]);
            if (rc < 0) {
                snprintf(msg, ml, "load failed: %s", strerror(-rc));
                return -1;
            }
        }
    }
    return 0;
}

void runner_run_text(const char *path, const char *text, size_t len, runner_counts *total, char ***skipped,
                     size_t *nskipped)
{
    runner_counts c = {0};
    script s;
    char err[1024];
    if (script_parse(text, len, &s, err, sizeof err) < 0) {
        printf("%s:%s (the whole file fails)\n", path, err);
        c.failed = 1;
        goto out;
    }
    promql_memstore *m = promql_memstore_new();
    if (!m) {
        printf("%s:0: out of memory\n", path);
        c.failed = 1;
        script_free(&s);
        goto out;
    }
    promql_queryable q = promql_memstore_queryable(m);
    const lset **native = NULL; /* native-histogram series since the last clear */
    size_t nnative = 0;
    for (size_t i = 0; i < s.ncmds; i++) {
        const cmd *cm = &s.cmds[i];
        char msg[2048];
        switch (cm->kind) {
        case CMD_CLEAR:
            promql_memstore_clear(m);
            nnative = 0;
            break;
        case CMD_LOAD:
            if (run_load(cm, m, &native, &nnative, msg, sizeof msg) < 0) {
                printf("%s:%d: %s\n", path, cm->line, msg);
                c.failed++;
            }
            break;
        case CMD_EVAL: {
            /* Only what truly needs native histograms is skipped: an
             * expected histogram value, or a selector matching a series
             * loaded in histogram notation. histogram_count/_sum/_fraction
             * on float series run (2.42 returns nothing for floats). */
            walkinfo w = {.native = native, .nnative = nnative};
            promql_walk(cm->expr, visit, &w);
            if (w.oom) {
                printf("%s:%d: out of memory\n", path, cm->line);
                c.failed++;
                break;
            }
            if (cm->native_expected || w.reads_native) {
                c.skipped++;
                char name[1200];
                snprintf(name, sizeof name, "%s:%d: %s", path, cm->line, cm->expr_text);
                char **ns = realloc(*skipped, (*nskipped + 1) * sizeof *ns);
                if (ns) {
                    *skipped = ns;
                    ns[(*nskipped)++] = strdup(name);
                }
                break;
            }
            if (run_eval(cm, &q, msg, sizeof msg) < 0) {
                printf("%s:%d: %s%s: %s\n", path, cm->line,
                       cm->fail ? "eval_fail " : cm->ordered ? "eval_ordered " : "eval ", cm->expr_text, msg);
                c.failed++;
            } else {
                c.passed++;
            }
            break;
        }
        }
    }
    free(native);
    promql_memstore_free(m);
    script_free(&s);
out:
    printf("%s: %d passed, %d failed, %d skipped\n", path, c.passed, c.failed, c.skipped);
    total->passed += c.passed;
    total->failed += c.failed;
    total->skipped += c.skipped;
}

