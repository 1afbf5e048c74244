/* expfmt writer: Go-identical number rendering, escaping, quoting, and
 * writer -> parser round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expfmt/expfmt.h>
#include <expfmt/writer.h>

static void test_values(void **state)
{
    /* Go strconv.FormatFloat(v, 'g', -1, 64) results (from the Go spec of
     * 'g' with shortest precision: exponent form iff exp < -4 || exp >= 6). */
    static const struct {
        double v;
        const char *want;
    } t[] = {
        {0, "0"}, {1, "1"}, {-1, "-1"}, {100000, "100000"}, {999999.5, "999999.5"},
        {1e6, "1e+06"}, {1234567, "1.234567e+06"}, {0.0001, "0.0001"}, {1e-05, "1e-05"},
        {608863452348.1149, "6.088634523481149e+11"}, {0.1, "0.1"}, {0.005, "0.005"},
        {2.5, "2.5"}, {-0.25, "-0.25"}, {123456, "123456"}, {12345.678, "12345.678"},
        {1e21, "1e+21"}, {1e100, "1e+100"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.000123, "0.000123"},
        {16647389184, "1.6647389184e+10"}, {1.5e-7, "1.5e-07"}, {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"}, {NAN, "NaN"}, {-0.0, "-0"}, {0.3, "0.3"},
        {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char b[EXPFMT_VALUE_MAX];
        size_t n = expfmt_format_value(b, sizeof(b), t[i].v);
        if (strcmp(b, t[i].want) != 0)
            fail_msg("%.17g: got %s want %s", t[i].v, b, t[i].want);
        assert_int_equal(n, strlen(t[i].want));
    }
}

static void test_sample_lines(void **state)
{
    char b[256];
    expfmt_label l[] = {{"path", "C:\\DIR\\FILE.TXT", 4, 15},
                        {"error", "Cannot find file:\n\"FILE.TXT\"", 5, 28}};
    expfmt_format_sample(b, sizeof(b), "msdos_file_access_time_seconds", 30, l, 2, 1.458255915e9,
                         NULL);
    assert_string_equal(b, "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\","
                           "error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e+09\n");
    int64_t ts = -1395066363000;
    expfmt_format_sample(b, sizeof(b), "up", 2, NULL, 0, 1, &ts);
    assert_string_equal(b, "up 1 -1395066363000\n");
    expfmt_label q[] = {{"a.b", "x", 3, 1}};
    expfmt_format_sample(b, sizeof(b), "my.metric", 9, q, 1, 2, NULL);
    assert_string_equal(b, "{\"my.metric\",\"a.b\"=\"x\"} 2\n");
    expfmt_format_help(b, sizeof(b), "h", 1, "a\\b\nc \"d\"", 9);
    assert_string_equal(b, "# HELP h a\\\\b\\nc \"d\"\n");
    expfmt_format_type(b, sizeof(b), "h", 1, EXPFMT_UNTYPED);
    assert_string_equal(b, "# TYPE h untyped\n");
    /* Truncation: returns the full length, output NUL-terminated. */
    char small[5];
    size_t n = expfmt_format_sample(small, sizeof(small), "up", 2, NULL, 0, 1, NULL);
    assert_int_equal(n, 5);
    assert_string_equal(small, "up 1");
}

/* Significant digits of the shortest round-trip form, by brute force. */
static int shortest_digits(double v)
{
    char e[40];
    for (int p = 0; p <= 16; p++) {
        snprintf(e, sizeof(e), "%.*e", p, v);
        if (strtod(e, NULL) == v)
            return p + 1;
    }
    return 17;
}

/* Significant digits in a formatted value ("1.25e+06" -> 3, "0.0001" -> 1). */
static int digits_of(const char *s)
{
    int n = 0, started = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s >= '1' && *s <= '9')
            started = 1;
        if (started && *s >= '0' && *s <= '9')
            n++;
    }
    return n;   /* the caller discounts an integer's trailing zeros */
}

/* Random doubles: the writer's output round-trips and is as short as the
 * brute-force shortest form (which is what Go prints). */
static void test_shortest(void **state)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int it = 0; it < 200000; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        uint64_t bits = it % 4 == 0 ? (x >> 12) : x;   /* include subnormals */
        if (it % 4 == 1)
            v = (double)(x % 100000000) / 1000.0;
        else
            memcpy(&v, &bits, 8);
        if (isnan(v) || isinf(v) || v == 0)
            continue;
        char b[EXPFMT_VALUE_MAX];
        expfmt_format_value(b, sizeof(b), v);
        if (strtod(b, NULL) != v)
            fail_msg("%.17g written as %s does not round-trip", v, b);
        int want = shortest_digits(v), got = digits_of(b);
        if (strchr(b, 'e') == NULL && strchr(b, '.') == NULL) {
            /* integer form: trailing zeros are padding */
            const char *q = b + strlen(b);
            while (q > b && q[-1] == '0') {
                q--;
                got--;
            }
        }
        if (got != want)
            fail_msg("%.17g written as %s: %d digits, shortest has %d", v, b, got, want);
    }
}

typedef struct {
    char name[64];
    expfmt_label l[4];
    char store[4][2][64];
    size_t n;
    double v;
    int got;
} one;

static int keep(void *ctx, const expfmt_sample *s)
{
    one *o = ctx;
    memcpy(o->name, s->name, s->name_len);
    o->name[s->name_len] = '\0';
    o->n = s->label_count;
    for (size_t k = 0; k < s->label_count && k < 4; k++) {
        memcpy(o->store[k][0], s->labels[k].name, s->labels[k].name_len);
        memcpy(o->store[k][1], s->labels[k].value, s->labels[k].value_len);
        o->l[k] = (expfmt_label){o->store[k][0], o->store[k][1], s->labels[k].name_len,
                                 s->labels[k].value_len};
    }
    o->v = s->value;
    o->got++;
    return 0;
}

/* Random values and awkward strings survive writer -> parser exactly. */
static void test_roundtrip(void **state)
{
    uint64_t x = 88172645463325252ull;
    const char *vals[] = {"plain", "with \"quotes\"", "back\\slash", "new\nline", "\xe2\x82\xac",
                          "{}=,# \t"};
    for (int it = 0; it < 20000; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        uint64_t bits = x;
        if (it % 3 == 0)
            v = (double)(int64_t)(x % 2000001) - 1000000;
        else
            memcpy(&v, &bits, 8);
        expfmt_label l[2] = {{"a", vals[x % 6], 1, (uint32_t)strlen(vals[x % 6])},
                             {"b.c", vals[(x >> 8) % 6], 3, (uint32_t)strlen(vals[(x >> 8) % 6])}};
        char line[512];
        size_t n = expfmt_format_sample(line, sizeof(line), "m", 1, l, 2, v, NULL);
        one o = {0};
        expfmt_callbacks cb = {keep, NULL, NULL};
        expfmt_error err;
        if (expfmt_parse(line, n, EXPFMT_TEXT, &cb, &o, &err))
            fail_msg("%s -> %s", line, err.msg);
        assert_int_equal(o.got, 1);
        assert_int_equal(o.n, 2);
        assert_memory_equal(o.l[0].value, l[0].value, l[0].value_len);
        assert_memory_equal(o.l[1].name, "b.c", 3);
        assert_memory_equal(o.l[1].value, l[1].value, l[1].value_len);
        if (isnan(v))
            assert_true(isnan(o.v));
        else if (memcmp(&o.v, &v, 8) != 0)
            fail_msg("value %.17g written %s read back %.17g", v, line, o.v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_sample_lines),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_shortest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
