/* PromQL parser: valid expressions, tree shape, printing and round trips.
 * Expected printed forms follow Prometheus' printer_test.go and the trees
 * follow parse_test.go (Prometheus 2.42). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql/ast.h"
#include "promql/parse.h"

#include "parser_cases.h"

static promql_node *parse_ok(const char *q)
{
    promql_node *n = NULL;
    promql_parse_error e;
    int rc = promql_parse(q, strlen(q), &n, &e);
    if (rc != 0)
        fail_msg("parse of `%s` failed: %s", q, e.text);
    return n;
}

/* Tree shape as an S-expression: binary, unary and paren nodes are made
 * explicit, everything else uses the printer. Returns a malloc()ed string. */
static char *sexpr(const promql_node *n)
{
    char *a, *b, *out = NULL;
    switch (n->kind) {
    case PROMQL_NODE_BINARY:
        a = sexpr(n->binary.lhs);
        b = sexpr(n->binary.rhs);
        if (asprintf(&out, "(%s%s %s %s)", promql_binop_str(n->binary.op),
                     n->binary.return_bool ? " bool" : "", a, b) < 0)
            out = NULL;
        free(a);
        free(b);
        break;
    case PROMQL_NODE_UNARY:
        a = sexpr(n->unary.expr);
        if (asprintf(&out, "(u%s %s)", n->unary.op == PROMQL_UNOP_SUB ? "-" : "+", a) < 0)
            out = NULL;
        free(a);
        break;
    case PROMQL_NODE_PAREN:
        a = sexpr(n->paren.expr);
        if (asprintf(&out, "(paren %s)", a) < 0)
            out = NULL;
        free(a);
        break;
    default:
        out = promql_node_print(n);
    }
    assert_non_null(out);
    return out;
}

static void test_valid_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        promql_node *n = parse_ok(valid[i].in);
        char *s = promql_node_print(n);
        assert_non_null(s);
        const char *want = valid[i].out ? valid[i].out : valid[i].in;
        if (strcmp(s, want) != 0)
            fail_msg("`%s`: printed `%s`, want `%s`", valid[i].in, s, want);
        if (valid[i].shape) {
            char *sh = sexpr(n);
            if (strcmp(sh, valid[i].shape) != 0)
                fail_msg("`%s`: shape %s, want %s", valid[i].in, sh, valid[i].shape);
            free(sh);
        }
        /* round trip: the printed form parses back to the same tree */
        promql_node *n2 = parse_ok(s);
        if (!promql_node_equal(n, n2))
            fail_msg("`%s`: round trip through `%s` changed the tree", valid[i].in, s);
        /* a clone is equal and independent */
        promql_node *c = promql_node_clone(n);
        assert_non_null(c);
        assert_true(promql_node_equal(n, c));
        promql_node_free(c);
        promql_node_free(n2);
        promql_node_free(n);
        free(s);
    }
}

static void test_types(void **state)
{
    (void)state;
    static const struct {
        const char *q;
        promql_value_type t;
    } cases[] = {
        {"1", PROMQL_VALUE_SCALAR},
        {"1 + 2", PROMQL_VALUE_SCALAR},
        {"\"a\"", PROMQL_VALUE_STRING},
        {"foo", PROMQL_VALUE_VECTOR},
        {"foo + 1", PROMQL_VALUE_VECTOR},
        {"1 - foo", PROMQL_VALUE_VECTOR},
        {"foo[5m]", PROMQL_VALUE_MATRIX},
        {"foo[5m:1m]", PROMQL_VALUE_MATRIX},
        {"rate(foo[5m])", PROMQL_VALUE_VECTOR},
        {"scalar(foo)", PROMQL_VALUE_SCALAR},
        {"time()", PROMQL_VALUE_SCALAR},
        {"(1)", PROMQL_VALUE_SCALAR},
        {"-foo", PROMQL_VALUE_VECTOR},
        {"sum(foo)", PROMQL_VALUE_VECTOR},
        {"(foo[5m])", PROMQL_VALUE_MATRIX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        promql_node *n = parse_ok(cases[i].q);
        if (promql_node_type(n) != cases[i].t)
            fail_msg("`%s`: type %s", cases[i].q, promql_value_type_name(promql_node_type(n)));
        promql_node_free(n);
    }
}

static void test_tree_fields(void **state)
{
    (void)state;
    promql_node *n = parse_ok("foo{a=\"b\"}[5m] offset -1m @ 3.3335");
    assert_int_equal(n->kind, PROMQL_NODE_MATRIX);
    assert_int_equal(n->matrix.range_ms, 300000);
    promql_node *v = n->matrix.vector;
    assert_int_equal(v->kind, PROMQL_NODE_VECTOR);
    assert_string_equal(v->vector.name, "foo");
    assert_int_equal(v->vector.n_matchers, 2);
    assert_string_equal(v->vector.matchers[0].name, "a");
    assert_string_equal(v->vector.matchers[1].name, "__name__");
    assert_string_equal(v->vector.matchers[1].value, "foo");
    assert_int_equal(v->vector.mod.offset_ms, -60000);
    assert_int_equal(v->vector.mod.at, PROMQL_AT_TIMESTAMP);
    assert_int_equal(v->vector.mod.at_ms, 3334);
    promql_node_free(n);

    n = parse_ok("{__name__=\"x\"}");
    assert_null(n->vector.name);
    assert_int_equal(n->vector.n_matchers, 1);
    promql_node_free(n);

    n = parse_ok("a + on(x) group_left(y) b");
    assert_non_null(n->binary.matching);
    assert_int_equal(n->binary.matching->card, PROMQL_CARD_MANY_TO_ONE);
    assert_true(n->binary.matching->on);
    assert_int_equal(n->binary.matching->n_labels, 1);
    assert_string_equal(n->binary.matching->include[0], "y");
    promql_node_free(n);

    n = parse_ok("a and b");
    assert_int_equal(n->binary.matching->card, PROMQL_CARD_MANY_TO_MANY);
    promql_node_free(n);

    n = parse_ok("a + 1");
    assert_null(n->binary.matching); /* scalar side: no vector matching */
    promql_node_free(n);

    n = parse_ok("topk(3, x)");
    assert_int_equal(n->aggregate.op, PROMQL_AGG_TOPK);
    assert_int_equal(n->aggregate.param->kind, PROMQL_NODE_NUMBER);
    assert_true(n->aggregate.param->number.value == 3);
    promql_node_free(n);

    n = parse_ok("x[1h:]");
    assert_int_equal(n->subquery.step_ms, 0);
    assert_int_equal(n->subquery.range_ms, 3600000);
    promql_node_free(n);

    n = parse_ok("\"a\\x00b\"");
    assert_int_equal(n->string.len, 3);
    assert_memory_equal(n->string.value, "a\0b", 3);
    promql_node_free(n);

    n = parse_ok("rate(x[5m])");
    assert_int_equal(n->call.func, PROMQL_FN_RATE);
    assert_int_equal(n->pos_start, 0);
    assert_int_equal(n->pos_end, 11);
    promql_node_free(n);

    n = parse_ok("foo @ 9.3e15"); /* in bounds for the check, overflows int64 ms like Go */
    assert_int_equal(n->vector.mod.at_ms, INT64_MIN);
    promql_node_free(n);
}

static void test_functions_table(void **state)
{
    (void)state;
    static const char *names[] = {
        "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
        "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
        "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
        "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
        "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
        "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
        "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
        "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
        "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
        "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
    };
    assert_int_equal(sizeof names / sizeof names[0], PROMQL_FN__COUNT);
    for (int i = 0; i < PROMQL_FN__COUNT; i++) {
        const promql_function *f = promql_function_info((promql_function_id)i);
        assert_non_null(f);
        assert_int_equal(f->id, i);
        assert_string_equal(f->name, names[i]);
        assert_ptr_equal(promql_function_lookup(names[i]), f);
    }
    assert_null(promql_function_lookup("Rate"));
    assert_null(promql_function_lookup("nope"));
    assert_null(promql_function_info(PROMQL_FN__COUNT));
    const promql_function *f = promql_function_lookup("label_join");
    assert_int_equal(f->variadic, -1);
    f = promql_function_lookup("round");
    assert_int_equal(f->variadic, 1);
    assert_int_equal(f->arg_types[1], PROMQL_VALUE_SCALAR);
    f = promql_function_lookup("quantile_over_time");
    assert_int_equal(f->arg_types[0], PROMQL_VALUE_SCALAR);
    assert_int_equal(f->arg_types[1], PROMQL_VALUE_MATRIX);
    assert_int_equal(promql_function_lookup("scalar")->return_type, PROMQL_VALUE_SCALAR);
}

static void test_set_at_all(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"foo", "foo @ 10.000"},
        {"foo @ 5", "foo @ 5.000"},
        {"foo @ start()", "foo @ start()"},
        {"rate(foo[5m]) + bar offset 1m",
         "rate(foo[5m] @ 10.000) + bar @ 10.000 offset 1m"},
        {"max_over_time(rate(foo[1m])[5m:1m])", "max_over_time(rate(foo[1m])[5m:1m] @ 10.000)"},
        {"max_over_time(rate(foo[1m])[5m:1m] @ 3)", "max_over_time(rate(foo[1m])[5m:1m] @ 3.000)"},
        {"sum by (a) (x) * on (a) group_left y", "sum by (a) (x @ 10.000) * on (a) group_left () y @ 10.000"},
        {"1 + 2", "1 + 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        promql_node *n = parse_ok(cases[i].in);
        promql_set_at_all(n, 10000);
        char *s = promql_node_print(n);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("`%s`: got `%s`, want `%s`", cases[i].in, s, cases[i].out);
        free(s);
        promql_node_free(n);
    }
}

static int count_visit(promql_node *n, promql_node *parent, void *ctx)
{
    (void)parent;
    int *c = ctx;
    (*c)++;
    return n->kind == PROMQL_NODE_CALL ? 1 : 0;
}

static int stop_visit(promql_node *n, promql_node *parent, void *ctx)
{
    (void)n;
    (void)parent;
    (void)ctx;
    return -5;
}

static void test_walk(void **state)
{
    (void)state;
    promql_node *n = parse_ok("sum(rate(x[5m])) + (y offset 1m) - -z");
    int c = 0;
    assert_int_equal(promql_walk(n, count_visit, &c), 0);
    /* - ( + (sum (call skipped)) (paren y) ) (unary z) */
    assert_int_equal(c, 8);
    assert_int_equal(promql_walk(n, stop_visit, NULL), -5);
    promql_node_free(n);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ms;
        const char *out;
    } ok[] = {
        {"0", 0, "0s"},      {"0s", 0, "0s"},        {"1ms", 1, "1ms"},
        {"1s", 1000, "1s"},  {"1h30m", 5400000, "1h30m"}, {"90m", 5400000, "1h30m"},
        {"1y", 31536000000LL, "1y"}, {"2w", 1209600000LL, "2w"}, {"90d", 7776000000LL, "90d"},
        {"1d1ms", 86400001, "1d1ms"}, {"1y2w3d4h5m6s7ms", 33019506007LL, "382d4h5m6s7ms"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        char err[128], buf[64];
        if (promql_parse_duration(ok[i].in, strlen(ok[i].in), &ms, err, sizeof err) != 0)
            fail_msg("%s: %s", ok[i].in, err);
        assert_int_equal(ms, ok[i].ms);
        assert_string_equal(promql_duration_format(ms, buf, sizeof buf), ok[i].out);
    }
    char buf[64];
    assert_string_equal(promql_duration_format(7776000000LL, buf, sizeof buf), "90d");
    assert_string_equal(promql_duration_format(5400000, buf, sizeof buf), "1h30m");
    assert_string_equal(promql_duration_format(31536000000LL, buf, sizeof buf), "1y");
    assert_string_equal(promql_duration_format(0, buf, sizeof buf), "0s");
    
    static const char *bad[] = {"", "1", "5m1h", "5m1m", "1.5m", "1hs", "m", "5y1hs", "1ms1s",
                                "999999999999y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        char err[128];
        if (promql_parse_duration(bad[i], strlen(bad[i]), &ms, err, sizeof err) == 0)
            fail_msg("`%s` should not parse", bad[i]);
    }
    int64_t ms;
    char err[128];
    assert_int_not_equal(promql_parse_duration("5m1h", 4, &ms, err, sizeof err), 0);
    assert_string_equal(err, "not a valid duration string: \"5m1h\"");
    assert_int_not_equal(promql_parse_duration("999999999999y", 13, &ms, err, sizeof err), 0);
    assert_string_equal(err, "duration out of range");
}

static void test_unquote(void **state)
{
    (void)state;
    char *out, err[64];
    size_t len;
    assert_int_equal(promql_unquote("\"a\\tb\"", 6, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "a\tb");
    free(out);
    assert_int_equal(promql_unquote("'\\u00e9'", 8, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "\xc3\xa9");
    free(out);
    assert_int_equal(promql_unquote("`a\\b`", 5, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "a\\b");
    free(out);
    assert_int_not_equal(promql_unquote("'\\\"'", 4, &out, &len, err, sizeof err), 0);
    assert_int_not_equal(promql_unquote("\"abc", 4, &out, &len, err, sizeof err), 0);
    static const char *bad[] = {"\"\\q\"", "\"\\x4\"", "\"\\u12\"", "\"\\400\"", "'a'b'",
                                "\"a\nb\"", "`a`b`", "\"\\", "\"\\UFFFFFFFF\"", "x", "\"a'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (promql_unquote(bad[i], strlen(bad[i]), &out, &len, err, sizeof err) == 0)
            fail_msg("`%s` should not unquote", bad[i]);
        assert_string_equal(err, "invalid syntax");
        assert_null(out);
    }
    const char *four = "\"\\101\\x41\\u0041\\U00000041\"";
    assert_int_equal(promql_unquote(four, strlen(four), &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "AAAA");
    free(out);
}

static void test_series_desc(void **state)
{
    (void)state;
    promql_series_desc d;
    size_t used;
    const char *s = "http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+10x10";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_string_equal(d.name, "http_requests");
    assert_int_equal(d.n_labels, 3);
    assert_string_equal(d.labels[0].name, "job");
    assert_string_equal(d.labels[0].value, "api-server");
    assert_string_equal(d.labels[2].name, "group");
    assert_string_equal(s + used, " 0+10x10");
    promql_series_desc_free(&d);

    s = "node_namespace_pod:kube_pod_info:{namespace=\"o\",pod=\"p\",} 1";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_string_equal(d.name, "node_namespace_pod:kube_pod_info:");
    assert_int_equal(d.n_labels, 2);
    assert_string_equal(s + used, " 1");
    promql_series_desc_free(&d);

    s = "{__name__=\"x\", a='b'} 1 2 3";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_null(d.name);
    assert_int_equal(d.n_labels, 2);
    assert_string_equal(d.labels[1].value, "b");
    promql_series_desc_free(&d);

    s = "sum 1 2";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_string_equal(d.name, "sum");
    assert_int_equal(d.n_labels, 0);
    assert_int_equal(used, 3);
    promql_series_desc_free(&d);

    s = "{} 1";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_int_equal(d.n_labels, 0);
    assert_int_equal(used, 2);
    promql_series_desc_free(&d);

    s = "  foo{a=\"\\n\\x41\"}";
    assert_int_equal(promql_parse_series_desc(s, strlen(s), &d, &used, NULL), 0);
    assert_string_equal(d.labels[0].value, "\nA");
    assert_int_equal(used, strlen(s));
    promql_series_desc_free(&d);

    promql_parse_error e;
    static const char *bad[] = {"foo{a=~\"b\"}", "foo{a}", "foo{a=\"b\"", "1", "{a=b}", "",
                                "{,}", "{a=\"b\" c=\"d\"}", "{a=\"\\q\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (promql_parse_series_desc(bad[i], strlen(bad[i]), &d, &used, &e) == 0)
            fail_msg("`%s` should not parse", bad[i]);
        assert_null(d.labels);
        assert_true(strstr(e.text, "parse error") != NULL);
    }
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    /* The parser must respect len and never read past it. */
    const char *q = "foo + bar GARBAGE";
    promql_node *n;
    promql_parse_error e;
    assert_int_equal(promql_parse(q, 9, &n, &e), 0);
    char *s = promql_node_print(n);
    assert_string_equal(s, "foo + bar");
    free(s);
    promql_node_free(n);
    char *heap = malloc(3);
    memcpy(heap, "up{", 3);
    assert_int_not_equal(promql_parse(heap, 3, &n, &e), 0);
    assert_string_equal(e.text, "1:4: parse error: unexpected end of input inside braces");
    free(heap);
}

/* Expected texts are Prometheus 2.42's /api/v1/format_query answers. */
static void test_pretty(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"sum by (job, instance) (rate(http_requests_total{job=\"api-server\",code=~\"5..\"}[5m])) / on "
         "(job) group_left () sum by (job) (rate(http_requests_total{job=\"api-server\"}[5m])) > bool 0.05",
         "    sum by (job, instance) (rate(http_requests_total{code=~\"5..\",job=\"api-server\"}[5m]))\n"
         "  / on (job) group_left ()\n"
         "    sum by (job) (rate(http_requests_total{job=\"api-server\"}[5m]))\n"
         "> bool\n"
         "  0.05"},
        {"max_over_time(histogram_quantile(0.99, sum by (le, job) "
         "(rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))[1h:5m])",
         "max_over_time(\n"
         "  histogram_quantile(\n"
         "    0.99,\n"
         "    sum by (le, job) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m]))\n"
         "  )[1h:5m]\n"
         ")"},
        {"sum by(a) (x)", "sum by (a) (x)"},
        /* a literal or selector longer than a line is never split or cut */
        {"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
        {"rate(x{a=\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}[5m])",
         "rate(\n  x{a=\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}[5m]\n)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        promql_node *n = parse_ok(cases[i].in);
        char *s = promql_node_pretty(n);
        assert_non_null(s);
        if (strcmp(s, cases[i].out) != 0)
            fail_msg("`%s`:\n%s\nwant\n%s", cases[i].in, s, cases[i].out);
        /* the multi-line form parses back to the same tree */
        promql_node *n2 = parse_ok(s);
        assert_true(promql_node_equal(n, n2));
        promql_node_free(n2);
        promql_node_free(n);
        free(s);
    }
}

static char *repeat(const char *pre, int n, const char *mid, const char *post, int m)
{
    size_t len = strlen(pre) * (size_t)n + strlen(mid) + strlen(post) * (size_t)m + 1;
    char *s = malloc(len), *q = s;
    assert_non_null(s);
    for (int i = 0; i < n; i++)
        q = stpcpy(q, pre);
    q = stpcpy(q, mid);
    for (int i = 0; i < m; i++)
        q = stpcpy(q, post);
    return s;
}

static int depth_of(const promql_node *n)
{
    int d = 0;
    switch (n->kind) {
    case PROMQL_NODE_PAREN: d = depth_of(n->paren.expr); break;
    case PROMQL_NODE_BINARY: {
        int a = depth_of(n->binary.lhs), b = depth_of(n->binary.rhs);
        d = a > b ? a : b;
        break;
    }
    case PROMQL_NODE_UNARY: d = depth_of(n->unary.expr); break;
    case PROMQL_NODE_MATRIX: d = 1; break;
    case PROMQL_NODE_SUBQUERY: d = depth_of(n->subquery.expr); break;
    default: break;
    }
    return d + 1;
}

static void test_depth_limit(void **state)
{
    (void)state;
    promql_node *n;
    promql_parse_error e;
    const char *too_deep = "expression nesting too deep (more than 500 levels)";
    const char *too_nested = "expression nesting too deep (more than 256 levels)";
    char *q = repeat("(", PROMQL_MAX_NESTING - 1, "1", ")", PROMQL_MAX_NESTING - 1);
    assert_int_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_int_equal(depth_of(n), PROMQL_MAX_NESTING);
    promql_node_free(n);
    free(q);
    q = repeat("(", PROMQL_MAX_NESTING, "1", ")", PROMQL_MAX_NESTING);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.text, "1:257: parse error: expression nesting too deep (more than 256 levels)");
    free(q);
    /* left-deep chains are built without recursion but still limited */
    q = repeat("a+", PROMQL_MAX_DEPTH - 1, "a", "", 0);
    assert_int_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_int_equal(depth_of(n), PROMQL_MAX_DEPTH);
    promql_node_free(n);
    free(q);
    q = repeat("a+", PROMQL_MAX_DEPTH, "a", "", 0);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.text, "1:1: parse error: expression nesting too deep (more than 500 levels)");
    free(q);
    /* huge inputs fail cleanly instead of exhausting the stack */
    /* sign runs are folded without recursion, as Prometheus folds them */
    q = repeat("-", 1000000, "1", "", 0);
    assert_int_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_true(n->kind == PROMQL_NODE_NUMBER && n->number.value == 1);
    promql_node_free(n);
    free(q);
    q = repeat("-", PROMQL_MAX_DEPTH - 1, "x", "", 0);
    assert_int_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_int_equal(depth_of(n), PROMQL_MAX_DEPTH);
    promql_node_free(n);
    free(q);
    q = repeat("-", PROMQL_MAX_DEPTH, "x", "", 0);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.msg, too_deep);
    free(q);
    q = repeat("x offset 1m + ", 200000, "x", "", 0);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.msg, too_deep);
    free(q);
    q = repeat("", 0, "x", "[1m:]", 2000);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.msg, too_deep);
    free(q);
    q = repeat("sum(", 5000, "x", ")", 5000);
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_string_equal(e.msg, too_nested);
    free(q);
}

static void test_metric_selector(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"up", "up"},
        {"up{job=\"a\"}", "up{job=\"a\"}"},
        {"{__name__=~\"a.*\"}", "{__name__=~\"a.*\"}"},
        {"{}", ""},              /* the empty-matcher rule is the API's */
        {"sum", "sum"},
        {" foo:bar { a != 'b' } ", "foo:bar{a!=\"b\"}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        promql_node *n;
        promql_parse_error e;
        if (promql_parse_metric_selector(ok[i].in, strlen(ok[i].in), &n, &e) != 0)
            fail_msg("`%s`: %s", ok[i].in, e.text);
        assert_int_equal(n->kind, PROMQL_NODE_VECTOR);
        char *s = promql_node_print(n);
        assert_string_equal(s, ok[i].out);
        free(s);
        promql_node_free(n);
    }
    static const struct {
        const char *in, *err;
    } bad[] = {
        {"", "1:1: parse error: unexpected end of input"},
        {"rate(x[5m])", "1:5: parse error: unexpected \"(\""},
        {"up[5m]", "1:3: parse error: unexpected \"[\""},
        {"up + 1", "1:4: parse error: unexpected <op:+>"},
        {"up{a=~\"(\"}", NULL},
        {"1", "1:1: parse error: unexpected number \"1\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        promql_node *n = (promql_node *)1;
        promql_parse_error e;
        if (promql_parse_metric_selector(bad[i].in, strlen(bad[i].in), &n, &e) == 0)
            fail_msg("`%s` should not parse", bad[i].in);
        assert_null(n);
        if (bad[i].err)
            assert_string_equal(e.text, bad[i].err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_table),   cmocka_unit_test(test_types),
        cmocka_unit_test(test_tree_fields),   cmocka_unit_test(test_functions_table),
        cmocka_unit_test(test_set_at_all),    cmocka_unit_test(test_walk),
        cmocka_unit_test(test_durations),     cmocka_unit_test(test_unquote),
        cmocka_unit_test(test_series_desc),   cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_metric_selector),
        cmocka_unit_test(test_pretty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
