/* PromQL parser: invalid expressions and their error texts. The expected
 * messages and positions are Prometheus 2.42's (parse_test.go and its
 * parser/lexer sources), so API users see the same errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "promql/parse.h"

#include "parser_cases.h"

static void test_invalid_table(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        promql_node *n = (promql_node *)1;
        promql_parse_error e;
        int rc = promql_parse(invalid[i].in, strlen(invalid[i].in), &n, &e);
        if (rc == 0) {
            print_error("`%s` parsed, want error %s\n", invalid[i].in, invalid[i].err);
            promql_node_free(n);
            failures++;
            continue;
        }
        assert_null(n);
        if (invalid[i].err && strcmp(e.text, invalid[i].err) != 0) {
            print_error("`%s`:\n got  %s\n want %s\n", invalid[i].in, e.text, invalid[i].err);
            failures++;
        }
        /* text is "line:col: parse error: " + msg */
        assert_non_null(strstr(e.text, e.msg));
    }
    assert_int_equal(failures, 0);
}

static void test_error_fields(void **state)
{
    (void)state;
    promql_node *n;
    promql_parse_error e;
    const char *q = "sum(rate(x[5m]))\n  + on(a) group_left(a) y";
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_int_equal(e.line, 2);
    assert_int_equal(e.col, 3);
    assert_int_equal(e.pos_start, 19);
    assert_string_equal(e.msg, "label \"a\" must not occur in ON and GROUP clause at once");

    q = "foo{a=~\"(\"}";
    assert_int_not_equal(promql_parse(q, strlen(q), &n, &e), 0);
    assert_int_equal(e.col, 5);
    assert_true(strncmp(e.msg, "error parsing regexp: ", 22) == 0);

    q = "foo + on(a,) bar"; /* trailing comma in grouping is fine */
    assert_int_equal(promql_parse(q, strlen(q), &n, &e), 0);
    promql_node_free(n);

    /* a NULL error struct is allowed */
    assert_int_not_equal(promql_parse("(", 1, &n, NULL), 0);
    assert_null(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_error_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
