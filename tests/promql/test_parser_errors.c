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

static const struct {
    const char *in;
    const char *err; /* full text: "line:col: parse error: msg" */
} invalid[] = {
    /* lexer and number errors */
    {"", "1:1: parse error: no expression found in input"},
    {"# just a comment\n\n", "1:1: parse error: no expression found in input"},
    {"1+", "1:3: parse error: unexpected end of input"},
    {".", "1:1: parse error: unexpected character: '.'"},
    {"2.5.", "1:4: parse error: unexpected character: '.'"},
    {"100..4", "1:5: parse error: unexpected number \".4\""},
    {"0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""},
    {"1 /", "1:4: parse error: unexpected end of input"},
    {"*1", "1:1: parse error: unexpected <op:*>"},
    {"(1))", "1:5: parse error: unexpected right parenthesis ')'"},
    {"((1)", "1:5: parse error: unclosed left parenthesis"},
    {"(", "1:2: parse error: unclosed left parenthesis"},
    {"1e", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax"},
    {"1e999", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e999\": value out of range"},
    {"0x", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax"},
    {"1 !~ 1", "1:3: parse error: unexpected character after '!': '~'"},
    {"1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"},
    {"1 ! 1", "1:3: parse error: unexpected character after '!': ' '"},
    {"@@", "1:1: parse error: unexpected \"<Item 57385>\" <op:@>"}, /* sic, 2.42 */
    {"-=", "1:2: parse error: unexpected \"=\""},
    {"++-++-+-+-<", "1:11: parse error: unexpected <op:<>"},
    {"e-+=/(0)", "1:4: parse error: unexpected \"=\""},
    {"foo ]", "1:5: parse error: unexpected right bracket ']'"},
    {"foo[5m[", "1:7: parse error: unexpected left bracket '['"},
    {"foo[5m][", "1:9: parse error: missing unit character in duration"},
    {"foo[5m", "1:7: parse error: unclosed left bracket"},
    {"foo bar", "1:5: parse error: unexpected identifier \"bar\""},
    {"foo 12345678901", "1:5: parse error: unexpected number \"1234567890\"..."},
    {"foo \"abc\"", "1:5: parse error: unexpected string \"\\\"abc\\\"\""},
    {"a\nb", "2:1: parse error: unexpected identifier \"b\""},
    {"a +\n  #c\n  ]", "3:3: parse error: unexpected right bracket ']'"},
    {"foo ~", "1:5: parse error: unexpected character: '~'"},
    {"start()", "1:6: parse error: unexpected \"(\""},
    {"end()", "1:4: parse error: unexpected \"(\""},
    {"bool", "1:1: parse error: unexpected <bool>"},
    {"atan2", "1:1: parse error: unexpected <op:atan2>"},
    /* scalar operations */
    {"1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
    {"1 or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"1 unless 1", "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"-\"string\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""},
    {"-test[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""},
    {"*test", "1:1: parse error: unexpected <op:*>"},
    {"1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"foo offset 1s offset 2s", "1:1: parse error: offset may not be set multiple times"},
    {"a - on(b) ignoring(c) d", "1:11: parse error: unexpected <ignoring>"},
    /* vector binary operations */
    {"foo and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"1 and foo", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
    {"foo or 1", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"1 or foo", "1:1: parse error: set operator \"or\" not allowed in binary scalar expression"},
    {"foo unless 1", "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"1 unless foo", "1:1: parse error: set operator \"unless\" not allowed in binary scalar expression"},
    {"1 or on(bar) foo", "1:1: parse error: vector matching only allowed between instant vectors"},
    {"foo == on(bar) 10", "1:1: parse error: vector matching only allowed between instant vectors"},
    {"foo + group_left(baz) bar", "1:7: parse error: unexpected <group_left>"},
    {"foo and on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo and on(bar) group_right(baz) bar", "1:1: parse error: no grouping allowed for \"and\" operation"},
    {"foo or on(bar) group_left(baz) bar", "1:1: parse error: no grouping allowed for \"or\" operation"},
    {"foo unless on(bar) group_right(baz) bar", "1:1: parse error: no grouping allowed for \"unless\" operation"},
    {"http_requests{group=\"production\"} + on(instance) group_left(job,instance) cpu_count{type=\"smp\"}",
     "1:35: parse error: label \"instance\" must not occur in ON and GROUP clause at once"},
    {"foo + bool bar", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo + bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo and bool 10", "1:5: parse error: bool modifier can only be used on comparison operators"},
    {"foo == on(bar) bool baz", "1:16: parse error: unexpected <bool>"},
    {"1 + avg(x) without (b) - bool y", "1:24: parse error: bool modifier can only be used on comparison operators"},
    {"foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"1 + foo[5m:]", "1:5: parse error: binary expression must contain only scalar and instant vector types"},
    {"\"a\" + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"},
    {"foo + on(a b) bar", "1:12: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""},
    {"foo + on bar", "1:10: parse error: unexpected identifier \"bar\" in grouping opts, expected \"(\""},
    {"foo + on(a:b) bar", "1:10: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label"},
    /* @ modifier */
    {"foo @ +Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"},
    {"foo @ -Inf", "1:1: parse error: timestamp out of bounds for @ modifier: -Inf"},
    {"foo @ NaN", "1:1: parse error: timestamp out of bounds for @ modifier: NaN"},
    {"foo @ 9223372036854775808", "1:1: parse error: timestamp out of bounds for @ modifier: 9223372036854775808.000000"},
    {"foo @ -9223372036854775809", "1:1: parse error: timestamp out of bounds for @ modifier: -9223372036854775808.000000"},
    {"foo @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"foo @ start() @ end()", "1:1: parse error: @ <timestamp> may not be set multiple times"},
    {"rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"1 @ start()", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
    {"foo @ start", "1:12: parse error: unexpected end of input in @, expected timestamp"},
    {"foo @ bar", "1:7: parse error: unexpected identifier \"bar\" in @, expected timestamp"},
    /* selectors */
    {"{", "1:2: parse error: unexpected end of input inside braces"},
    {"}", "1:1: parse error: unexpected character: '}'"},
    {"some{", "1:6: parse error: unexpected end of input inside braces"},
    {"some}", "1:5: parse error: unexpected character: '}'"},
    {"some_metric{a=b}", "1:15: parse error: unexpected identifier \"b\" in label matching, expected string"},
    {"some_metric{a:b=\"b\"}", "1:14: parse error: unexpected character inside braces: ':'"},
    {"foo{a*\"b\"}", "1:6: parse error: unexpected character inside braces: '*'"},
    {"foo{a>=\"b\"}", "1:6: parse error: unexpected character inside braces: '>'"},
    {"some_metric{a=\"\xff\"}", "1:15: parse error: invalid UTF-8 rune"},
    {"foo{gibberish}", "1:14: parse error: unexpected \"}\" in label matching, expected label matching operator"},
    {"foo{1}", "1:5: parse error: unexpected character inside braces: '1'"},
    {"{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=\"\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!~\".+\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x!=\"a\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{x=~\"a|\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\""},
    {"foo{__name__= =}", "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""},
    {"foo{__name__ == \"bar\"}", "1:15: parse error: unexpected \"=\" in label matching, expected string"},
    {"foo{__name__=\"bar\" lol}", "1:20: parse error: unexpected identifier \"lol\" in label matching, expected \",\" or \"}\""},
    {"foo{a!b=\"c\"}", "1:6: parse error: unexpected character after '!' inside braces: 'b'"},
    {"foo{a=\"b\"{", "1:10: parse error: unexpected left brace '{'"},
    /* regexes: Go RE2 syntax and error texts (via lib/labels) */
    {"foo{a=~\"(\"}", "1:5: parse error: error parsing regexp: missing closing ): `^(?:()$`"},
    {"foo{a!~\"a(?=b)\"}", "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
    {"foo{a=~\"a\\\\1\"}", "1:5: parse error: error parsing regexp: invalid escape sequence: `\\1`"},
    {"foo{a=~\"a**\"}", "1:5: parse error: error parsing regexp: invalid nested repetition operator: `**`"},
    {"foo{a=~\"[z-a]\"}", "1:5: parse error: error parsing regexp: invalid character class range: `z-a`"},
    {"{a=~\"(?s).*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    {"{a=~\"x*\", b!~\"y\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"},
    /* ranges */
    {"foo[5mm]", "1:5: parse error: bad duration syntax: \"5mm\""},
    {"foo[5m1]", "1:5: parse error: bad duration syntax: \"5m1\""},
    {"foo[5m:1m1]", "1:8: parse error: bad number or duration syntax: \"1m1\""},
    {"foo[5y1hs]", "1:5: parse error: not a valid duration string: \"5y1hs\""},
    {"foo[5m1h]", "1:5: parse error: not a valid duration string: \"5m1h\""},
    {"foo[5m1m]", "1:5: parse error: not a valid duration string: \"5m1m\""},
    {"foo[0m]", "1:5: parse error: duration must be greater than 0"},
    {"foo[\"5m\"]", "1:5: parse error: missing unit character in duration"},
    {"foo[]", "1:5: parse error: missing unit character in duration"},
    {"foo[1]", "1:5: parse error: missing unit character in duration"},
    {"some_metric[5m] OFFSET 1", "1:24: parse error: unexpected number \"1\" in offset, expected duration"},
    {"some_metric[5m] OFFSET 1mm", "1:24: parse error: bad number or duration syntax: \"1mm\""},
    {"some_metric[5m] OFFSET", "1:23: parse error: unexpected end of input in offset, expected duration"},
    {"some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"},
    {"some_metric[5m] @ 1m", "1:19: parse error: unexpected duration \"1m\" in @, expected timestamp"},
    {"some_metric[5m] @", "1:18: parse error: unexpected end of input in @, expected timestamp"},
    {"some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"},
    {"(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"},
    {"foo offset 0s", "1:12: parse error: duration must be greater than 0"},
    {"foo[5m:0s]", "1:8: parse error: duration must be greater than 0"},
    {"foo[5m:1m:]", "1:10: parse error: unexpected colon ':'"},
    {"foo[5m 5m]", "1:8: parse error: unexpected duration \"5m\" in subquery or range, expected \":\" or \"]\""},
    {"foo[5m:1]", "1:8: parse error: unexpected number \"1\" in subquery selector, expected duration or \"]\""},
    {"foo[5m:1m 2m]", "1:11: parse error: unexpected duration \"2m\" in subquery selector, expected \"]\""},
    /* aggregations */
    {"sum without(==)(some_metric)", "1:13: parse error: unexpected <op:==> in grouping opts, expected label"},
    {"sum without(,)(some_metric)", "1:13: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum without(foo,,)(some_metric)", "1:17: parse error: unexpected \",\" in grouping opts, expected label"},
    {"sum some_metric by (test)", "1:5: parse error: unexpected identifier \"some_metric\""},
    {"sum (some_metric) by test", "1:22: parse error: unexpected identifier \"test\" in grouping opts, expected \"(\""},
    {"sum () by (test)", "1:1: parse error: no arguments for aggregate expression provided"},
    {"MIN keep_common (some_metric)", "1:5: parse error: unexpected identifier \"keep_common\""},
    {"MIN (some_metric) keep_common", "1:19: parse error: unexpected identifier \"keep_common\""},
    {"sum (some_metric) without (test) by (test)", "1:34: parse error: unexpected <by>"},
    {"sum without (test) (some_metric) by (test)", "1:34: parse error: unexpected <by>"},
    {"topk(some_metric)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
    {"topk(some_metric,)", "1:17: parse error: trailing commas not allowed in function call args"},
    {"topk(some_metric, other_metric)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"},
    {"count_values(5, other_metric)", "1:14: parse error: expected type string in aggregation parameter, got scalar"},
    {"sum(a, b)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"},
    {"sum(x[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"},
    {"quantile(\"a\", x)", "1:10: parse error: expected type scalar in aggregation parameter, got string"},
    {"sum by (a) x", "1:12: parse error: unexpected identifier \"x\" in aggregation"},
    {"sum(a b)", "1:7: parse error: unexpected identifier \"b\" in aggregation"},
    {"sum by (inf) (x)", "1:9: parse error: unexpected number \"inf\" in grouping opts, expected label"},
    /* calls */
    {"floor()", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 0"},
    {"floor(some_metric, other_metric)", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(some_metric, 1)", "1:1: parse error: expected 1 argument(s) in call to \"floor\", got 2"},
    {"floor(1)", "1:7: parse error: expected type instant vector in call to function \"floor\", got scalar"},
    {"hour(some_metric, some_metric, some_metric)", "1:1: parse error: expected at most 1 argument(s) in call to \"hour\", got 3"},
    {"time(some_metric)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
    {"non_existent_function_far_bar()", "1:1: parse error: unknown function with name \"non_existent_function_far_bar\""},
    {"rate(some_metric)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"},
    {"label_replace(a, `b`, `c\xff`, `d`, `.*`)", "1:23: parse error: invalid UTF-8 rune"},
    {"a>b()", "1:3: parse error: unknown function with name \"b\""},
    {"rate(avg)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"},
    {"label_join(a, \"b\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"},
    {"label_join(a, \"b\", \",\", 1)", "1:25: parse error: expected type string in call to function \"label_join\", got scalar"},
    {"round(a, b)", "1:10: parse error: expected type scalar in call to function \"round\", got instant vector"},
    {"rate(x[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2"},
    {"Rate(x[5m])", "1:1: parse error: unknown function with name \"Rate\""},
    {"rate(x[5m] y)", "1:12: parse error: unexpected identifier \"y\""},
    {"histogram_quantile(x, y)", "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got instant vector"},
    /* strings */
    {"`\\``", "1:4: parse error: unterminated raw string"},
    {"\"\\", "1:1: parse error: escape sequence not terminated"},
    {"\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"},
    {"\"\\x.\"", "1:1: parse error: illegal character U+002E '.' in escape sequence"},
    {"'\\\"'", "1:1: parse error: unknown escape sequence U+0022 '\"'"},
    {"\"\\uD800\"", "1:1: parse error: escape sequence is an invalid Unicode code point"},
    {"\"abc\ndef\"", "1:1: parse error: unterminated quoted string"},
    {"\"abc", "1:1: parse error: unterminated quoted string"},
    /* Prometheus reduces a call (checking its name) before lexing further */
    {"(a()", "1:2: parse error: unknown function with name \"a\""},
    {"sum(x) - sr(y))", "1:10: parse error: unknown function with name \"sr\""},
    {"rate(x, , y)", "1:7: parse error: trailing commas not allowed in function call args"},
    {"sum by (a) () )", "1:1: parse error: no arguments for aggregate expression provided"},
    {"sum () by (a) )", "1:1: parse error: no arguments for aggregate expression provided"},
    {"sum(x) by (a) foo", "1:15: parse error: unexpected identifier \"foo\""},
    {"sum(x) by (a) ]", "1:15: parse error: unexpected right bracket ']'"},
    {"\"\\6\\", "1:1: parse error: illegal character U+005C '\\' in escape sequence"},
    {"\"\\u00e\xc3\xa9\"", "1:1: parse error: illegal character U+00E9 '\xc3\xa9' in escape sequence"},
    {"\xf3\x96\x96\x96", "1:1: parse error: unexpected character: '\\U000d6596'"},
    {"foo \xc2\xa0", "1:5: parse error: unexpected character: '\\u00a0'"},
    /* subqueries */
    {"test[5d] OFFSET 10s [10m:5s]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"(foo + bar{nm=\"val\"})[5m:][10m:5s]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"},
    {"rate(food[1m])[1h] offset 1h", "1:15: parse error: ranges only allowed for vector selectors"},
    {"rate(food[1m])[1h] @ 100", "1:15: parse error: ranges only allowed for vector selectors"},
    {"\"a\"[5m:]", "1:1: parse error: subquery is only allowed on instant vector, got string instead"},
    {"foo[5m:] offset 1m offset 1m", "1:1: parse error: offset may not be set multiple times"},
};

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
