/* Engine API tests: errors and their Prometheus wording, limits,
 * cancellation, lookback, staleness, result shapes and ordering, and the
 * in-memory queryable. Expected texts are Prometheus 2.42's. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql/parse.h"
#include "promql/promql.h"

static void add(promql_memstore *m, const char *name, const char *k1, const char *v1, const char *k2,
                const char *v2, int64_t t, double v)
{
    labels_label ls[3];
    size_t n = 0;
    ls[n++] = labels_make("__name__", name);
    if (k1)
        ls[n++] = labels_make(k1, v1);
    if (k2)
        ls[n++] = labels_make(k2, v2);
    assert_int_equal(promql_memstore_add(m, ls, n, t, v), 0);
}

static int query(promql_memstore *m, const promql_opts *o, const char *q, int64_t t, promql_result *r, char *err,
                 size_t errlen)
{
    promql_node *e = NULL;
    promql_parse_error perr;
    assert_int_equal(promql_parse(q, strlen(q), &e, &perr), 0);
    promql_queryable qa = promql_memstore_queryable(m);
    int rc = promql_exec_instant(o, &qa, e, t, r, err, errlen);
    promql_node_free(e);
    return rc;
}

static int query_range(promql_memstore *m, const char *q, int64_t s, int64_t e, int64_t step, promql_result *r,
                       char *err, size_t errlen)
{
    promql_node *n = NULL;
    promql_parse_error perr;
    assert_int_equal(promql_parse(q, strlen(q), &n, &perr), 0);
    promql_queryable qa = promql_memstore_queryable(m);
    int rc = promql_exec_range(NULL, &qa, n, s, e, step, r, err, errlen);
    promql_node_free(n);
    return rc;
}

static const char *lv(const promql_series *s, const char *name)
{
    const labels_label *l = labels_get(s->labels, s->n_labels, name, strlen(name));
    return l ? l->value : NULL;
}

static void test_many_to_many_message(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "x", "2", NULL, NULL, 0, 1);
    add(m, "b", "x", "2", "z", "q", 0, 1);
    add(m, "b", "x", "2", "z", "r", 0, 1);
    promql_result r;
    char err[1024];
    assert_int_equal(query(m, NULL, "a + on(x) b", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "found duplicate series for the match group {x=\"2\"} on the right hand-side of the "
                             "operation: [{__name__=\"b\", x=\"2\", z=\"r\"}, {__name__=\"b\", x=\"2\", z=\"q\"}]"
                             ";many-to-many matching not allowed: matching labels must be unique on one side");
    assert_int_equal(query(m, NULL, "b + on(x) group_right a", 0, &r, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "on the left hand-side of the operation"));
    promql_memstore_free(m);
}

static void test_one_to_one_multiple_matches(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "x", "1", "y", "1", 0, 1);
    add(m, "a", "x", "2", "y", "1", 0, 2);
    add(m, "c", "y", "1", NULL, NULL, 0, 10);
    promql_result r;
    char err[512];
    assert_int_equal(query(m, NULL, "a + on(y) c", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "multiple matches for labels: many-to-one matching must be explicit "
                             "(group_left/group_right)");
    /* group_left makes it legal and keeps the "many" side's labels */
    assert_int_equal(query(m, NULL, "a + on(y) group_left c", 0, &r, err, sizeof err), 0);
    assert_int_equal(r.type, PROMQL_VALUE_VECTOR);
    assert_int_equal(r.n_series, 2);
    for (size_t i = 0; i < r.n_series; i++) {
        assert_null(lv(&r.series[i], "__name__"));
        assert_non_null(lv(&r.series[i], "x"));
    }
    promql_result_free(&r);
    /* many-to-one whose output label sets collide (the names differ only) */
    add(m, "b", "y", "1", NULL, NULL, 0, 3);
    add(m, "d", "y", "1", NULL, NULL, 0, 4);
    assert_int_equal(query(m, NULL, "{__name__=~\"b|d\"} * on(y) group_left c", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "multiple matches for labels: grouping labels must ensure unique matches");
    promql_memstore_free(m);
}

static void test_same_labelset(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "x", "1", NULL, NULL, 0, 1);
    add(m, "a", "x", "2", NULL, NULL, 0, 2);
    promql_result r;
    char err[512];
    assert_int_equal(query(m, NULL, "label_replace(a, \"x\", \"same\", \"\", \"\")", 0, &r, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "vector cannot contain metrics with the same labelset");
    /* dropping the name of a{x=..} and b{x=..} collides too */
    add(m, "b", "x", "1", NULL, NULL, 0, 3);
    assert_int_equal(query(m, NULL, "abs({x=\"1\"})", 0, &r, err, sizeof err), -EINVAL);
    assert_int_equal(query(m, NULL, "rate({x=\"1\"}[5m])", 0, &r, err, sizeof err), 0); /* < 2 points: empty */
    assert_int_equal(r.n_series, 0);
    promql_result_free(&r);
    promql_memstore_free(m);
}

static void test_max_samples(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    char v[16];
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof v, "%d", i);
        add(m, "a", "i", v, NULL, NULL, 0, i);
    }
    promql_opts o;
    promql_opts_init(&o);
    o.max_samples = 10;
    promql_result r;
    char err[512];
    assert_int_equal(query(m, &o, "a", 0, &r, err, sizeof err), -E2BIG);
    assert_string_equal(err, "query processing would load too many samples into memory in query execution");
    o.max_samples = 20;
    assert_int_equal(query(m, &o, "a", 0, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 20);
    promql_result_free(&r);
    /* the limit is on samples held at once, not the total over the query:
     * each sum() holds 20 input samples, then only its 1 output */
    o.max_samples = 22;
    assert_int_equal(query(m, &o, "sum(a) + sum(a) + sum(a)", 0, &r, err, sizeof err), 0);
    assert_true(r.series[0].points[0].v == 3 * 190);
    promql_result_free(&r);
    promql_memstore_free(m);
}

static void test_cancel(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", NULL, NULL, NULL, NULL, 0, 1);
    volatile int flag = 1;
    promql_opts o;
    promql_opts_init(&o);
    o.cancel = &flag;
    promql_result r;
    char err[512];
    assert_int_equal(query(m, &o, "a", 0, &r, err, sizeof err), -ECANCELED);
    flag = 0;
    assert_int_equal(query(m, &o, "a", 0, &r, err, sizeof err), 0);
    promql_result_free(&r);
    promql_memstore_free(m);
}

static void test_timeout(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    char v[16];
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof v, "%d", i);
        for (int64_t t = 0; t < 3600000; t += 60000)
            add(m, "a", "i", v, NULL, NULL, t, (double)t);
    }
    promql_opts o;
    promql_opts_init(&o);
    o.timeout_ms = 1;
    promql_queryable q = promql_memstore_queryable(m);
    promql_result r;
    char err[256];
    /* 200 series x 36001 steps takes far longer than 1 ms */
    const char *qs = "sum(rate(a[5m])) by (i)";
    assert_int_equal(promql_query_range(&o, &q, qs, strlen(qs), 0, 3600000, 100, &r, err, sizeof err), -ETIMEDOUT);
    assert_string_equal(err, "query timed out in query execution");
    promql_memstore_free(m);
}

static void test_lookback_and_staleness(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", NULL, NULL, NULL, NULL, 0, 1);
    add(m, "b", NULL, NULL, NULL, NULL, 0, 1);
    add(m, "b", NULL, NULL, NULL, NULL, 30000, promql_stale_nan());
    promql_result r;
    char err[512];
    /* default lookback 5m: the sample at 0 is visible at 5m, not after */
    assert_int_equal(query(m, NULL, "a", 300000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].points[0].t, 300000);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "a", 300001, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 0);
    promql_result_free(&r);
    promql_opts o;
    promql_opts_init(&o);
    o.lookback_delta_ms = 60000;
    assert_int_equal(query(m, &o, "a", 60001, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 0);
    promql_result_free(&r);
    /* a stale marker ends the series at once; range selectors drop it */
    assert_int_equal(query(m, NULL, "b", 29999, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "b", 30000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 0);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "count_over_time(b[1m])", 40000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_true(r.series[0].points[0].v == 1);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "b[1m]", 40000, &r, err, sizeof err), 0);
    assert_int_equal(r.type, PROMQL_VALUE_MATRIX);
    assert_int_equal(r.series[0].n_points, 1);
    promql_result_free(&r);
    promql_memstore_free(m);
}

static void test_range_query_shapes(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    for (int64_t t = 0; t <= 600000; t += 60000) {
        add(m, "a", "x", "2", NULL, NULL, t, (double)t / 1000);
        add(m, "a", "x", "1", NULL, NULL, t, 1);
    }
    promql_result r;
    char err[512];
    assert_int_equal(query_range(m, "a", 60000, 240000, 60000, &r, err, sizeof err), 0);
    assert_int_equal(r.type, PROMQL_VALUE_MATRIX);
    assert_int_equal(r.n_series, 2);
    assert_string_equal(lv(&r.series[0], "x"), "1"); /* sorted by labels */
    assert_int_equal(r.series[1].n_points, 4);
    assert_int_equal(r.series[1].points[3].t, 240000);
    assert_true(r.series[1].points[3].v == 240);
    promql_result_free(&r);
    /* a scalar expression gives one series without labels */
    assert_int_equal(query_range(m, "time() * 2", 0, 120000, 60000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n_labels, 0);
    assert_int_equal(r.series[0].n_points, 3);
    assert_true(r.series[0].points[2].v == 240);
    promql_result_free(&r);
    assert_int_equal(query_range(m, "a[5m]", 0, 120000, 60000, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "invalid expression type \"range vector\" for range query, must be Scalar or "
                             "instant Vector");
    /* scalar instant result, string result */
    assert_int_equal(query(m, NULL, "scalar(a{x=\"2\"})", 120000, &r, err, sizeof err), 0);
    assert_int_equal(r.type, PROMQL_VALUE_SCALAR);
    assert_true(r.scalar == 120);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "\"hello\"", 0, &r, err, sizeof err), 0);
    assert_int_equal(r.type, PROMQL_VALUE_STRING);
    assert_string_equal(r.string, "hello");
    promql_result_free(&r);
    promql_memstore_free(m);
}

static void test_order_of_instant_vectors(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "i", "1", NULL, NULL, 0, 3);
    add(m, "a", "i", "2", NULL, NULL, 0, NAN);
    add(m, "a", "i", "3", NULL, NULL, 0, 7);
    add(m, "a", "i", "4", NULL, NULL, 0, 5);
    promql_result r;
    char err[512];
    const char *want_desc[] = {"3", "4", "1", "2"}, *want_asc[] = {"1", "4", "3", "2"};
    assert_int_equal(query(m, NULL, "sort_desc(a)", 0, &r, err, sizeof err), 0);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(lv(&r.series[i], "i"), want_desc[i]);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "sort(a)", 0, &r, err, sizeof err), 0);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(lv(&r.series[i], "i"), want_asc[i]);
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "topk(2, a)", 0, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 2);
    assert_string_equal(lv(&r.series[0], "i"), "3");
    assert_string_equal(lv(&r.series[1], "i"), "4");
    assert_string_equal(lv(&r.series[0], "__name__"), "a"); /* topk keeps the name */
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "topk(NaN, a)", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "Scalar value NaN overflows int64");
    promql_memstore_free(m);
}

static void test_count_values_labels(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "i", "1", NULL, NULL, 0, 1e21);
    add(m, "a", "i", "2", NULL, NULL, 0, 1e-7);
    add(m, "a", "i", "3", NULL, NULL, 0, -0.5);
    add(m, "a", "i", "4", NULL, NULL, 0, 1e-7);
    promql_result r;
    char err[512];
    assert_int_equal(query(m, NULL, "count_values(\"v\", a)", 0, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 3);
    /* strconv.FormatFloat(v, 'f', -1, 64) */
    assert_string_equal(lv(&r.series[0], "v"), "1000000000000000000000");
    assert_string_equal(lv(&r.series[1], "v"), "0.0000001");
    assert_true(r.series[1].points[0].v == 2);
    assert_string_equal(lv(&r.series[2], "v"), "-0.5");
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "count_values(\"0bad\", a)", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "invalid label name \"0bad\"");
    promql_memstore_free(m);
}

static void test_label_fn_errors(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", "src", "abc", NULL, NULL, 0, 1);
    promql_result r;
    char err[512];
    assert_int_equal(query(m, NULL, "label_replace(a, \"dst\", \"$1\", \"src\", \"(.*\")", 0, &r, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "invalid regular expression in label_replace(): error parsing regexp: missing closing ): "
                             "`^(?:(.*)$`");
    /* Go's `.` does not match a newline, `$` is the end of the text */
    add(m, "nl", "src", "a\nb", NULL, NULL, 0, 1);
    assert_int_equal(query(m, NULL, "label_replace(nl, \"dst\", \"x\", \"src\", \"a.b\")", 0, &r, err, sizeof err), 0);
    assert_null(lv(&r.series[0], "dst"));
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "label_replace(nl, \"dst\", \"x\", \"src\", \"a\\\\nb\")", 0, &r, err, sizeof err), 0);
    assert_string_equal(lv(&r.series[0], "dst"), "x");
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "label_replace(a, \"0dst\", \"$1\", \"src\", \"(.*)\")", 0, &r, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "invalid destination label name in label_replace(): 0dst");
    assert_int_equal(query(m, NULL, "label_join(a, \"d\", \",\", \"src\", \"-x\")", 0, &r, err, sizeof err),
                     -EINVAL);
    assert_string_equal(err, "invalid source label name in label_join(): -x");
    /* anchored: "b" does not match "abc"; no match leaves the series alone */
    assert_int_equal(query(m, NULL, "label_replace(a, \"dst\", \"x$1\", \"src\", \"b\")", 0, &r, err, sizeof err), 0);
    assert_null(lv(&r.series[0], "dst"));
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "label_replace(a, \"dst\", \"<$1|${2}>\", \"src\", \"a(b)(c)\")", 0, &r, err,
                           sizeof err),
                     0);
    assert_string_equal(lv(&r.series[0], "dst"), "<b|c>");
    assert_string_equal(lv(&r.series[0], "__name__"), "a");
    promql_result_free(&r);
    assert_int_equal(query(m, NULL, "holt_winters(a[5m], 2, 0.5)", 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000");
    promql_memstore_free(m);
}

static void test_memstore(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    labels_label empty[] = {labels_make("a", "")};
    assert_int_equal(promql_memstore_add(m, empty, 1, 0, 1), -EINVAL);
    labels_label ls[] = {labels_make("b", "2"), labels_make("a", ""), labels_make("__name__", "m")};
    assert_int_equal(promql_memstore_add(m, ls, 3, 2000, 1), 0);
    assert_int_equal(promql_memstore_add(m, ls, 3, 1000, 5), 0); /* out of order: inserted */
    assert_int_equal(promql_memstore_add(m, ls, 3, 2000, 7), 0); /* same time: replaced */
    assert_int_equal(promql_memstore_n_series(m), 1);
    promql_result r;
    char err[512];
    assert_int_equal(query(m, NULL, "m[5s]", 2000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n_labels, 2); /* the empty label was dropped */
    assert_int_equal(r.series[0].n_points, 2);
    assert_true(r.series[0].points[0].v == 5 && r.series[0].points[1].v == 7);
    promql_result_free(&r);
    promql_memstore_remove(m, ls, 3);
    assert_int_equal(promql_memstore_n_series(m), 0);
    promql_memstore_free(m);
}

static void test_query_helpers(void **state)
{
    (void)state;
    promql_memstore *m = promql_memstore_new();
    add(m, "a", NULL, NULL, NULL, NULL, 0, 0.1);
    promql_queryable q = promql_memstore_queryable(m);
    promql_result r;
    char err[512];
    assert_int_equal(promql_query_instant(NULL, &q, "a +", 3, 0, &r, err, sizeof err), -EINVAL);
    assert_string_equal(err, "1:4: parse error: unexpected end of input");
    assert_int_equal(promql_query_range(NULL, &q, "a * 3", 5, 0, 60000, 30000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n_points, 3);
    char b[400];
    /* Go strconv.FormatFloat(v, 'f', -1, 64) as Prometheus' API prints */
    assert_string_equal(promql_format_value(r.series[0].points[0].v, b, sizeof b), "0.30000000000000004");
    promql_result_free(&r);
    assert_string_equal(promql_format_value(1e21, b, sizeof b), "1000000000000000000000");
    assert_string_equal(promql_format_value(-2.5e-5, b, sizeof b), "-0.000025");
    assert_string_equal(promql_format_value(0, b, sizeof b), "0");
    assert_string_equal(promql_format_value(-INFINITY, b, sizeof b), "-Inf");
    assert_string_equal(promql_format_value(NAN, b, sizeof b), "NaN");
    assert_string_equal(promql_format_value(123456789, b, sizeof b), "123456789");
    promql_memstore_free(m);
}

/* A queryable returning the same series twice (two "stores"). */
static int dup_select(void *ctx, const labels_matcher *const *ms, size_t nm, int64_t mint, int64_t maxt,
                      const promql_select_hints *h, promql_series_set *out, char *err, size_t errlen)
{
    static labels_label ls[1];
    static promql_point a[] = {{0, 1}, {20000, 2}, {40000, 3}};
    static promql_point b[] = {{10000, 10}, {20000, 20}, {50000, 50}};
    ls[0] = labels_make("__name__", "x");
    promql_series *s = calloc(2, sizeof *s);
    if (!s)
        return -ENOMEM;
    s[0] = (promql_series){ls, 1, a, 3};
    s[1] = (promql_series){ls, 1, b, 3};
    out->series = s;
    out->n_series = 2;
    return 0;
}

static void dup_release(void *ctx, promql_series_set *set)
{
    free(set->series);
}

static void test_duplicate_series_merge(void **state)
{
    (void)state;
    promql_queryable q = {.select = dup_select, .release = dup_release};
    promql_result r;
    char err[256];
    assert_int_equal(promql_query_instant(NULL, &q, "x[1m]", 5, 60000, &r, err, sizeof err), 0);
    assert_int_equal(r.n_series, 1);
    assert_int_equal(r.series[0].n_points, 5);
    double want[] = {1, 10, 2, 3, 50};
    for (size_t i = 0; i < 5; i++)
        assert_true(r.series[0].points[i].v == want[i]);
    promql_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_to_many_message),
        cmocka_unit_test(test_one_to_one_multiple_matches),
        cmocka_unit_test(test_same_labelset),
        cmocka_unit_test(test_max_samples),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_lookback_and_staleness),
        cmocka_unit_test(test_range_query_shapes),
        cmocka_unit_test(test_order_of_instant_vectors),
        cmocka_unit_test(test_count_values_labels),
        cmocka_unit_test(test_label_fn_errors),
        cmocka_unit_test(test_memstore),
        cmocka_unit_test(test_query_helpers),
        cmocka_unit_test(test_duplicate_series_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
