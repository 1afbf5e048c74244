/* Label sets: ordering, hashing, lookup, copy, format, validity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "labels/labels.h"
#include "tests.h"

#define L(n, v) labels_make(n, v)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

/* Cases from Prometheus' TestLabels_Compare. */
static void t_cmp(void **state)
{
    (void)state;
    labels_label base[] = { L("aaa", "111"), L("bbb", "222") };
    struct {
        labels_label ls[3];
        size_t n;
        int want;
    } cases[] = {
        { { L("aaa", "111") }, 1, 1 },
        { { L("aaa", "111"), L("bar", "222") }, 2, 1 },
        { { L("aaa", "111"), L("bbb", "233") }, 2, -1 },
        { { L("aaa", "111"), L("bbb", "222"), L("ccc", "333") }, 3, -1 },
        { { L("aaa", "111"), L("bb", "222") }, 2, 1 },
        { { L("aaa", "111"), L("bbb", "222") }, 2, 0 },
        { { L("aaa", "111"), L("bbb", "2221") }, 2, -1 },
        { { L("aa", "111"), L("bbb", "222") }, 2, 1 },
    };
    for (size_t i = 0; i < N(cases); i++) {
        assert_int_equal(sign(labels_cmp(base, 2, cases[i].ls, cases[i].n)), cases[i].want);
        assert_int_equal(sign(labels_cmp(cases[i].ls, cases[i].n, base, 2)), -cases[i].want);
        assert_int_equal(labels_equal(base, 2, cases[i].ls, cases[i].n), cases[i].want == 0);
    }
    assert_int_equal(labels_cmp(NULL, 0, NULL, 0), 0);
    assert_true(labels_cmp(NULL, 0, base, 2) < 0);
    /* bytes compare unsigned, like Go strings */
    assert_true(labels_str_cmp("\xff", 1, "a", 1) > 0);
    assert_true(labels_str_cmp("a", 1, "ab", 2) < 0);
    assert_true(labels_str_cmp("", 0, "", 0) == 0);
    assert_true(labels_str_cmp("b", 1, "ab", 2) > 0);
    /* views need not be NUL-terminated */
    labels_label x = { "abX", "1Y", 2, 1 }, y = { "ab", "1", 2, 1 };
    assert_true(labels_equal(&x, 1, &y, 1));
}

static void t_sort(void **state)
{
    (void)state;
    labels_label ls[] = { L("c", "1"), L("a", "1"), L("b", "1"), L("a", "2"), L("__name__", "x") };
    labels_sort(ls, N(ls));
    const char *names[] = { "__name__", "a", "a", "b", "c" };
    for (size_t i = 0; i < N(ls); i++)
        assert_string_equal(ls[i].name, names[i]);
    assert_string_equal(ls[1].value, "1"); /* stable */
    assert_string_equal(ls[2].value, "2");

    /* the large path (merge sort) is stable too */
    enum { BIG = 500 };
    static char names_buf[BIG][8], vals_buf[BIG][8];
    labels_label big[BIG];
    srand(7);
    for (int i = 0; i < BIG; i++) {
        snprintf(names_buf[i], 8, "n%03d", rand() % 100);
        snprintf(vals_buf[i], 8, "%d", i);
        big[i] = L(names_buf[i], vals_buf[i]);
    }
    labels_sort(big, BIG);
    for (int i = 1; i < BIG; i++) {
        int c = strcmp(big[i - 1].name, big[i].name);
        assert_true(c <= 0);
        if (c == 0)
            assert_true(atoi(big[i - 1].value) < atoi(big[i].value));
    }
    labels_sort(NULL, 0);
}

static uint64_t ref_hash(const labels_label *ls, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += ls[i].name_len + ls[i].value_len + 2;
    unsigned char *b = malloc(len + 1), *p = b;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, ls[i].name, ls[i].name_len);
        p += ls[i].name_len;
        *p++ = 0xff;
        memcpy(p, ls[i].value, ls[i].value_len);
        p += ls[i].value_len;
        *p++ = 0xff;
    }
    uint64_t h = XXH3_64bits(b, len);
    free(b);
    return h;
}

static void t_hash(void **state)
{
    (void)state;
    labels_label a[] = { L("a", "b"), L("c", "d") };
    labels_label b[] = { L("a", "b"), L("c", "d") };
    labels_label c[] = { L("a", "b"), L("c", "e") };
    labels_label d[] = { L("ab", ""), L("c", "d") };
    assert_true(labels_hash(a, 2) == labels_hash(b, 2));
    assert_true(labels_hash(a, 2) != labels_hash(c, 2));
    assert_true(labels_hash(a, 2) != labels_hash(d, 2)); /* separators matter */
    assert_true(labels_hash(a, 2) == ref_hash(a, 2));
    assert_true(labels_hash(NULL, 0) == ref_hash(NULL, 0));

    /* sets bigger than the stack buffer stream, same function of the bytes */
    static char big_val[3000];
    memset(big_val, 'v', sizeof(big_val) - 1);
    labels_label big[] = { L("a", "x"), L("b", big_val), L("c", "y"), L("d", big_val) };
    assert_true(labels_hash(big, 4) == ref_hash(big, 4));
    labels_label big2[] = { L("a", "x"), L("b", big_val), L("c", "z"), L("d", big_val) };
    assert_true(labels_hash(big, 4) != labels_hash(big2, 4));
}

static void t_get(void **state)
{
    (void)state;
    labels_label ls[] = { L("__name__", "up"), L("a", "1"), L("b", "2"), L("job", "x") };
    for (size_t i = 0; i < N(ls); i++) {
        const labels_label *l = labels_get(ls, N(ls), ls[i].name, ls[i].name_len);
        assert_ptr_equal(l, &ls[i]);
    }
    assert_null(labels_get(ls, N(ls), "c", 1));
    assert_null(labels_get(ls, N(ls), "", 0));
    assert_null(labels_get(ls, N(ls), "jobs", 4));
    assert_non_null(labels_get(ls, N(ls), "jobs", 3));
    assert_null(labels_get(NULL, 0, "a", 1));
}

static void t_copy(void **state)
{
    (void)state;
    char name[] = "abcdef", val[] = "123456";
    labels_label ls[] = { { name, val, 3, 2 }, { name + 3, "", 3, 0 } };
    labels_label *c = labels_copy(ls, 2);
    assert_non_null(c);
    assert_true(labels_equal(c, 2, ls, 2));
    assert_string_equal(c[0].name, "abc");
    assert_string_equal(c[0].value, "12");
    assert_string_equal(c[1].name, "def");
    assert_string_equal(c[1].value, "");
    name[0] = 'X'; /* deep copy */
    assert_string_equal(c[0].name, "abc");
    assert_true(labels_copy_size(ls, 2) >= 2 * sizeof(labels_label) + 4 + 3 + 4 + 1);
    free(c);
    labels_label *e = labels_copy(NULL, 0);
    assert_non_null(e);
    free(e);
}

static void check_fmt(const labels_label *ls, size_t n, const char *want)
{
    char buf[256];
    size_t need = labels_format(ls, n, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(need, strlen(want));
    /* truncation like snprintf */
    char small[5];
    need = labels_format(ls, n, small, sizeof(small));
    assert_int_equal(need, strlen(want));
    assert_int_equal(strlen(small), strlen(want) < 4 ? strlen(want) : 4);
    assert_memory_equal(small, want, strlen(small));
    assert_int_equal(labels_format(ls, n, NULL, 0), strlen(want));
}

static void t_format(void **state)
{
    (void)state;
    labels_label a[] = { L("__name__", "up"), L("instance", "h:9090"), L("job", "p") };
    check_fmt(a, 3, "up{instance=\"h:9090\", job=\"p\"}");
    check_fmt(a, 1, "up");
    check_fmt(a + 1, 2, "{instance=\"h:9090\", job=\"p\"}");
    check_fmt(NULL, 0, "{}");
    labels_label e[] = { L("a", "q\"b\\c\nd\te\x01"), L("b", "\xc3\xa9\xff") };
    check_fmt(e, 2, "{a=\"q\\\"b\\\\c\\nd\\te\\x01\", b=\"\xc3\xa9\\xff\"}");
    /* Go's %q escapes what strconv.IsPrint rejects */
    labels_label u[] = { L("a", "\xc2\xa0|\xe2\x80\x8b|\xf3\xb0\x80\x80|\xc2\x85|\x7f|\xe2\x82\xac") };
    check_fmt(u, 1, "{a=\"\\u00a0|\\u200b|\\U000f0000|\\u0085|\\x7f|\xe2\x82\xac\"}");
}

static void t_valid(void **state)
{
    (void)state;
    struct { const char *s; bool name, metric; } cases[] = {
        { "a", true, true },       { "_", true, true },       { "a1_B", true, true },
        { "__name__", true, true }, { "1a", false, false },    { "", false, false },
        { "a:b", false, true },    { ":a", false, true },     { "a-b", false, false },
        { "a b", false, false },   { "é", false, false },     { "a.b", false, false },
    };
    for (size_t i = 0; i < N(cases); i++) {
        assert_int_equal(labels_valid_name(cases[i].s, strlen(cases[i].s)), cases[i].name);
        assert_int_equal(labels_valid_metric_name(cases[i].s, strlen(cases[i].s)), cases[i].metric);
    }
    assert_false(labels_valid_name("a\0b", 3));

    struct { const char *s; size_t n; bool ok; } u[] = {
        { "", 0, true },
        { "plain ascii text longer than eight", 34, true },
        { "\xc3\xa9", 2, true },
        { "\xe2\x82\xac", 3, true },
        { "\xf0\x9f\x98\x80", 4, true },
        { "\xf4\x8f\xbf\xbf", 4, true },      /* U+10FFFF */
        { "\xed\x9f\xbf", 3, true },          /* U+D7FF */
        { "\xee\x80\x80", 3, true },          /* U+E000 */
        { "a\0b", 3, true },
        { "\xff", 1, false },
        { "\xc0\x80", 2, false },             /* overlong NUL */
        { "\xc1\xbf", 2, false },             /* overlong */
        { "\xe0\x9f\xbf", 3, false },         /* overlong */
        { "\xf0\x8f\xbf\xbf", 4, false },     /* overlong */
        { "\xed\xa0\x80", 3, false },         /* surrogate */
        { "\xed\xbf\xbf", 3, false },         /* surrogate */
        { "\xf4\x90\x80\x80", 4, false },     /* > U+10FFFF */
        { "\xf5\x80\x80\x80", 4, false },
        { "\xe2\x82", 2, false },             /* truncated */
        { "12345678\xe2\x82", 10, false },
        { "\x80", 1, false },
        { "\xc3\xa9\x80", 3, false },
    };
    for (size_t i = 0; i < N(u); i++)
        assert_int_equal(labels_valid_utf8(u[i].s, u[i].n), u[i].ok);
}

const struct CMUnitTest labels_set_tests[] = {
    cmocka_unit_test(t_cmp),  cmocka_unit_test(t_sort),   cmocka_unit_test(t_hash),
    cmocka_unit_test(t_get),  cmocka_unit_test(t_copy),   cmocka_unit_test(t_format),
    cmocka_unit_test(t_valid),
};
const size_t labels_set_ntests = N(labels_set_tests);
