/* expfmt parser: edge cases, the error table, streaming in pieces, and
 * OpenMetrics. Expected values are written by hand from the format spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expfmt/expfmt.h>

/* Renders every callback as one line of text for easy comparison:
 *   S name|family|type|l1=v1,l2=v2|value|ts
 *   T name type / H name help */
typedef struct {
    char out[8192];
    size_t len;
} rec;

static void addf(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->out + r->len, sizeof(r->out) - r->len, fmt, ap);
    va_end(ap);
    r->len += (size_t)n;
    assert_true(r->len < sizeof(r->out));
}

static int on_sample(void *ctx, const expfmt_sample *s)
{
    rec *r = ctx;
    addf(r, "S %.*s|%.*s|%s|", (int)s->name_len, s->name, (int)s->family_len, s->family,
         expfmt_type_str(s->type));
    for (size_t k = 0; k < s->label_count; k++)
        addf(r, "%s%.*s=%.*s", k ? "," : "", (int)s->labels[k].name_len, s->labels[k].name,
             (int)s->labels[k].value_len, s->labels[k].value);
    uint64_t bits;
    memcpy(&bits, &s->value, 8);
    if (isnan(s->value))
        addf(r, "|NaN:%llx", (unsigned long long)bits);
    else
        addf(r, "|%.17g", s->value);
    if (s->has_timestamp)
        addf(r, "|%lld", (long long)s->timestamp_ms);
    addf(r, "\n");
    return 0;
}

static int on_type(void *ctx, const char *n, size_t nl, expfmt_type t, size_t line)
{
    addf(ctx, "T %.*s %s\n", (int)nl, n, expfmt_type_str(t));
    return 0;
}

static int on_help(void *ctx, const char *n, size_t nl, const char *h, size_t hl, size_t line)
{
    addf(ctx, "H %.*s [%.*s]\n", (int)nl, n, (int)hl, h);
    return 0;
}

static const expfmt_callbacks cbs = {on_sample, on_type, on_help};

typedef struct {
    const char *what;
    expfmt_format fmt;
    const char *in;
    const char *want;      /* recorded callbacks, or NULL when an error is expected */
    const char *err;       /* expected error message */
} pcase;

static const pcase cases[] = {
    {"simple", EXPFMT_TEXT, "up 1\n", "S up|up|untyped||1\n", NULL},
    {"labels and timestamp", EXPFMT_TEXT,
     "# HELP http_requests_total The total.\n# TYPE http_requests_total counter\n"
     "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
     "H http_requests_total [The total.]\nT http_requests_total counter\n"
     "S http_requests_total|http_requests_total|counter|method=post,code=200|1027|"
     "1395066363000\n", NULL},
    {"escapes", EXPFMT_TEXT,
     "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n"
     "\\\"FILE.TXT\\\"\"} 1.458255915e9\n",
     "S msdos_file_access_time_seconds|msdos_file_access_time_seconds|untyped|"
     "path=C:\\DIR\\FILE.TXT,error=Cannot find file:\n\"FILE.TXT\"|1458255915\n", NULL},
    {"specials", EXPFMT_TEXT, "a NaN\nb +Inf\nc -Inf\nd Inf\ne -0\nf 1e-05\ng 0x1p-2\n",
     "S a|a|untyped||NaN:7ff8000000000001\nS b|b|untyped||inf\nS c|c|untyped||-inf\n"
     "S d|d|untyped||inf\nS e|e|untyped||-0\nS f|f|untyped||1.0000000000000001e-05\n"
     "S g|g|untyped||0.25\n", NULL},
    {"negative timestamp, blanks, trailing comma, CRLF", EXPFMT_TEXT,
     "  x{ a = \"1\" , b=\"2\", }\t 3   -5  \r\n\n\t\n",
     "S x|x|untyped|a=1,b=2|3|-5\n", NULL},
    {"histogram family", EXPFMT_TEXT,
     "# TYPE rpc histogram\nrpc_bucket{le=\"0.05\"} 24054\nrpc_bucket{le=\"+Inf\"} 144320\n"
     "rpc_sum 53423\nrpc_count 144320\nrpc_other 1\n",
     "T rpc histogram\nS rpc_bucket|rpc|histogram|le=0.05|24054\n"
     "S rpc_bucket|rpc|histogram|le=+Inf|144320\nS rpc_sum|rpc|histogram||53423\n"
     "S rpc_count|rpc|histogram||144320\nS rpc_other|rpc_other|untyped||1\n", NULL},
    {"summary family", EXPFMT_TEXT,
     "# TYPE s summary\ns{quantile=\"0.5\"} 4773\ns_sum 1.7560473e+07\ns_count 2693\n",
     "T s summary\nS s|s|summary|quantile=0.5|4773\nS s_sum|s|summary||17560473\n"
     "S s_count|s|summary||2693\n", NULL},
    {"untyped type and other comments", EXPFMT_TEXT,
     "# just a comment\n#no space\n# TYPE u untyped\nu 1\n",
     "T u untyped\nS u|u|untyped||1\n", NULL},
    {"help escapes", EXPFMT_TEXT, "# HELP h a\\\\b\\nc \\\" d\n# HELP e\n",
     "H h [a\\b\nc \\\" d]\nH e []\n", NULL},
    {"quoted names", EXPFMT_TEXT, "{\"my.metric\",\"a.b\"=\"x\"} 1\n{\"only.name\"} 2\n",
     "S my.metric|my.metric|untyped|a.b=x|1\nS only.name|only.name|untyped||2\n", NULL},
    {"utf8 value", EXPFMT_TEXT, "a{b=\"h\xc3\xa9\"} 1\n", "S a|a|untyped|b=h\xc3\xa9|1\n",
     NULL},
    {"no final newline", EXPFMT_TEXT, "a 1\nb 2", "S a|a|untyped||1\nS b|b|untyped||2\n", NULL},
    {"empty input", EXPFMT_TEXT, "", "", NULL},
    {"openmetrics", EXPFMT_OPENMETRICS,
     "# TYPE c counter\n# HELP c Help \\\"q\\\".\n# UNIT c seconds\nc_total 1 1520879607.789\n"
     "c_created 1520430000.123\n# TYPE b histogram\nb_bucket{le=\"1.0\"} 3 # {trace_id=\"a}\"} "
     "0.67 1520879607\nb_count 3\n# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\n",
     "T c counter\nH c [Help \"q\".]\nS c_total|c|counter||1|1520879607789\n"
     "S c_created|c|counter||1520430000.1229999\n" /* value shown %.17g */
     "T b histogram\nS b_bucket|b|histogram|le=1.0|3\nS b_count|b|histogram||3\n"
     "T i info\nS i_info|i|info|v=1|1\n", NULL},
    {"unknown escape kept", EXPFMT_TEXT, "a{b=\"x\\qy\"} 1\n", "S a|a|untyped|b=x\\qy|1\n", NULL},
    {"om gaugehistogram", EXPFMT_OPENMETRICS,
     "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum 3\n# EOF\n",
     "T g gaugehistogram\nS g_bucket|g|gaugehistogram|le=+Inf|2\nS g_gcount|g|gaugehistogram||2\n"
     "S g_gsum|g|gaugehistogram||3\n", NULL},
    {"quoted name in TYPE", EXPFMT_TEXT, "# TYPE \"my.m\" counter\n{\"my.m\"} 1\n",
     "T my.m counter\nS my.m|my.m|counter||1\n", NULL},

    /* errors */
    {"empty quoted metric name", EXPFMT_TEXT, "{\"\"} 1\n", NULL,
     "line 1, column 2: empty metric name"},
    {"empty quoted label name", EXPFMT_TEXT, "x{\"\"=\"a\"} 1\n", NULL,
     "line 1, column 3: empty label name"},
    {"om unterminated exemplar", EXPFMT_OPENMETRICS, "a_total 1 # {x=\"y} 2\n# EOF\n", NULL,
     "line 1, column 13: unterminated exemplar labels"},
    {"om exemplar without '}'", EXPFMT_OPENMETRICS, "a_total 1 # {x=\"y\"\n# EOF\n", NULL,
     "line 1, column 13: expected '}' to end exemplar labels"},
    {"om exemplar without space", EXPFMT_OPENMETRICS, "a_total 1 #{x=\"y\"} 1\n# EOF\n", NULL,
     "line 1, column 12: expected ' ' after '#' of an exemplar"},
    {"om bad timestamp", EXPFMT_OPENMETRICS, "a 1 abc\n# EOF\n", NULL,
     "line 1, column 5: invalid timestamp \"abc\""},
    {"om text after eof", EXPFMT_OPENMETRICS, "a 1\n# EOF x\n", NULL,
     "line 2, column 7: unexpected text after # EOF"},
    {"bad char in TYPE name", EXPFMT_TEXT, "# TYPE a-b counter\n", NULL,
     "line 1, column 9: unexpected '-' in metric name of # TYPE"},
    {"text after type", EXPFMT_TEXT, "# TYPE a counter x\n", NULL,
     "line 1, column 17: unexpected text after metric type"},
    {"invalid utf8 in help", EXPFMT_TEXT, "# HELP a \xff\n", NULL,
     "line 1, column 10: invalid UTF-8 in help text"},
    {"missing '='", EXPFMT_TEXT, "a 1\nb 2\nx{job\"a\"} 1\n", NULL,
     "line 3, column 6: expected '=' after label name \"job\""},
    {"missing value", EXPFMT_TEXT, "x{a=\"b\"}\n", NULL,
     "line 1, column 9: expected value after metric \"x\""},
    {"bad value", EXPFMT_TEXT, "x 1.2.3\n", NULL, "line 1, column 3: invalid value \"1.2.3\""},
    {"nan payload refused", EXPFMT_TEXT, "x nan(0x1)\n", NULL,
     "line 1, column 3: invalid value \"nan(0x1)\""},
    {"overflow", EXPFMT_TEXT, "x 1e999\n", NULL, "line 1, column 3: invalid value \"1e999\""},
    {"bad timestamp", EXPFMT_TEXT, "x 1 12.5\n", NULL,
     "line 1, column 5: invalid timestamp \"12.5\""},
    {"timestamp overflow", EXPFMT_TEXT, "x 1 9223372036854775808\n", NULL,
     "line 1, column 5: invalid timestamp \"9223372036854775808\""},
    {"junk after timestamp", EXPFMT_TEXT, "x 1 2 3\n", NULL,
     "line 1, column 7: unexpected '3' after timestamp"},
    {"unterminated value", EXPFMT_TEXT, "x{a=\"b} 1\n", NULL,
     "line 1, column 5: unterminated quoted label value"},
    {"missing quote", EXPFMT_TEXT, "x{a=b} 1\n", NULL,
     "line 1, column 5: expected '\"' to start the value of label \"a\""},
    {"bad separator", EXPFMT_TEXT, "x{a=\"b\";c=\"d\"} 1\n", NULL,
     "line 1, column 8: expected ',' or '}' after the value of label \"a\", got ';'"},
    {"duplicate label", EXPFMT_TEXT, "x{a=\"1\",a=\"2\"} 1\n", NULL,
     "line 1, column 9: duplicate label name \"a\""},
    {"bad label name", EXPFMT_TEXT, "x{1a=\"1\"} 1\n", NULL,
     "line 1, column 3: expected label name or '}', got '1'"},
    {"bad metric char", EXPFMT_TEXT, "x-y 1\n", NULL,
     "line 1, column 2: unexpected '-' after metric name \"x\""},
    {"no metric name", EXPFMT_TEXT, "=1\n", NULL, "line 1, column 1: expected metric name, got '='"},
    {"invalid utf8", EXPFMT_TEXT, "x{a=\"\xff\"} 1\n", NULL,
     "line 1, column 5: invalid UTF-8 in label value"},
    {"unknown type", EXPFMT_TEXT, "# TYPE x countr\n", NULL,
     "line 1, column 10: unknown metric type \"countr\""},
    {"unknown is OpenMetrics only", EXPFMT_TEXT, "# TYPE x unknown\n", NULL,
     "line 1, column 10: unknown metric type \"unknown\""},
    {"type without type", EXPFMT_TEXT, "# TYPE x\n", NULL,
     "line 1, column 9: expected metric type after # TYPE x"},
    {"om missing eof", EXPFMT_OPENMETRICS, "a 1\n", NULL,
     "line 1, column 1: missing # EOF at end of OpenMetrics input"},
    {"om data after eof", EXPFMT_OPENMETRICS, "a 1\n# EOF\nb 2\n", NULL,
     "line 3, column 1: unexpected data after # EOF"},
    {"om carriage return", EXPFMT_OPENMETRICS, "a 1\r\n# EOF\n", NULL,
     "line 1, column 4: carriage return not allowed in OpenMetrics"},
    {"om bad exemplar", EXPFMT_OPENMETRICS, "a_total 1 # trace\n# EOF\n", NULL,
     "line 1, column 13: expected '{' to start exemplar labels, got 't'"},
    {"text has no exemplars", EXPFMT_TEXT, "a 1 # {a=\"b\"} 1\n", NULL,
     "line 1, column 5: invalid timestamp \"#\""},
};

static void run_case(const pcase *c, size_t piece)
{
    rec r = {0};
    expfmt_error err = {0};
    int rc;
    if (piece == 0) {
        rc = expfmt_parse(c->in, strlen(c->in), c->fmt, &cbs, &r, &err);
    } else {
        /* Feed in pieces of `piece` bytes, carrying the unconsumed tail. */
        expfmt_parser *p = expfmt_parser_new(c->fmt, &cbs, &r);
        assert_non_null(p);
        char buf[4096];
        size_t have = 0, off = 0, n = strlen(c->in);
        rc = 0;
        while (off < n && rc == 0) {
            size_t take = n - off < piece ? n - off : piece;
            memcpy(buf + have, c->in + off, take);
            have += take;
            off += take;
            size_t used;
            rc = expfmt_parser_feed(p, buf, have, &used, &err);
            memmove(buf, buf + used, have - used);
            have -= used;
        }
        if (rc == 0)
            rc = expfmt_parser_finish(p, buf, have, &err);
        expfmt_parser_free(p);
    }
    if (c->want) {
        if (rc)
            fail_msg("%s (piece %zu): unexpected error: %s", c->what, piece, err.msg);
        if (strcmp(r.out, c->want) != 0)
            fail_msg("%s (piece %zu):\n got:\n%s\n want:\n%s", c->what, piece, r.out, c->want);
    } else {
        if (rc != -EINVAL)
            fail_msg("%s: rc %d, want error", c->what, rc);
        if (strcmp(err.msg, c->err) != 0)
            fail_msg("%s:\n got  %s\n want %s", c->what, err.msg, c->err);
    }
}

static void test_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i], 0);
        for (size_t piece = 1; piece < 9; piece++)
            run_case(&cases[i], piece);
    }
}

static int stop_at_two(void *ctx, const expfmt_sample *s)
{
    int *n = ctx;
    return ++*n == 2 ? 42 : 0;
}

static void test_callback_stops(void **state)
{
    int n = 0;
    expfmt_callbacks cb = {stop_at_two, NULL, NULL};
    assert_int_equal(expfmt_parse("a 1\nb 2\nc 3\n", 12, EXPFMT_TEXT, &cb, &n, NULL), 42);
    assert_int_equal(n, 2);
}

/* After an error the parser refuses more input; finish reports it too. */
static void test_failed_parser_stays_failed(void **state)
{
    rec r = {0};
    expfmt_error err;
    size_t used;
    expfmt_parser *p = expfmt_parser_new(EXPFMT_TEXT, &cbs, &r);
    assert_int_equal(expfmt_parser_feed(p, "x{a} 1\n", 7, &used, &err), -EINVAL);
    assert_int_equal(expfmt_parser_feed(p, "y 1\n", 4, &used, &err), -EINVAL);
    assert_int_equal(used, 0);
    assert_int_equal(expfmt_parser_finish(p, "", 0, &err), -EINVAL);
    assert_int_equal(r.len, 0);
    expfmt_parser_free(p);
}

/* Every prefix of a valid exposition parses or fails cleanly (ASan). */
static void test_prefixes(void **state)
{
    const char *in = "# HELP a h\\n\n# TYPE a histogram\na_bucket{le=\"0.1\",x=\"\\\"q\\\"\"} 1 "
                     "-3\na_count 1\n{\"q.n\",\"l.x\"=\"v\"} NaN\n";
    size_t n = strlen(in);
    for (size_t cut = 0; cut <= n; cut++) {
        char *b = malloc(cut ? cut : 1);
        memcpy(b, in, cut);
        rec r = {0};
        expfmt_error err;
        int rc = expfmt_parse(b, cut, EXPFMT_TEXT, &cbs, &r, &err);
        assert_true(rc == 0 || rc == -EINVAL);
        if (rc)
            assert_int_equal(strncmp(err.msg, "line ", 5), 0);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_failed_parser_stays_failed),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
