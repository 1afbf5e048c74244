/* receive's pure parts without a running aiond: content negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "content_type.h"
#include "refcache.h"

static void test_content_types(void **state)
{
    (void)state;
    static const struct {
        const char *ct;
        int want;
    } cases[] = {
        { NULL, 1 },
        { "", 1 },
        { "application/x-protobuf", 1 },
        { "APPLICATION/X-PROTOBUF", 1 },
        { " application/x-protobuf ", 1 },
        { "application/x-protobuf;proto=prometheus.WriteRequest", 1 },
        { "application/x-protobuf; proto=prometheus.WriteRequest; charset=utf-8", 1 },
        { "application/x-protobuf;proto=io.prometheus.write.v2.Request", 2 },
        { "application/x-protobuf ; PROTO = io.prometheus.write.v2.Request", 2 },
        { "application/x-protobuf;proto=io.prometheus.write.v2.request", 0 }, /* values are case-sensitive */
        { "application/x-protobuf;proto=", 0 },
        { "application/x-protobuf;proto=foo.Bar", 0 },
        { "application/x-protobufx", 0 },
        { "application/json", 0 },
        { "text/plain;proto=prometheus.WriteRequest", 0 },
        { ";proto=io.prometheus.write.v2.Request", 0 },
        { "application/x-protobuf;", 1 },
        { "application/x-protobuf;foo", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = recv_content_version(cases[i].ct);
        if (got != cases[i].want)
            print_error("case %zu (%s): got %d want %d\n", i, cases[i].ct ? cases[i].ct : "NULL", got,
                        cases[i].want);
        assert_int_equal(got, cases[i].want);
    }
}

/* The ref cache: keys from label sets, get/put/replace, growth, trim. */
static void test_refcache(void **state)
{
    (void)state;
    recv_refcache *c = recv_refcache_new();
    assert_non_null(c);
    enum { N = 20000 };
    static char vals[N][16];
    uint64_t h1[N], h2[N];
    for (int i = 0; i < N; i++) {
        snprintf(vals[i], sizeof vals[i], "%d", i);
        labels_label ls[2] = { labels_make("__name__", "m"), labels_make("id", vals[i]) };
        recv_refcache_hash(ls, 2, &h1[i], &h2[i]);
        assert_int_equal(recv_refcache_get(c, h1[i], h2[i]), 0);
        recv_refcache_put(c, h1[i], h2[i], (uint64_t)i + 1);
    }
    assert_int_equal(recv_refcache_len(c), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(recv_refcache_get(c, h1[i], h2[i]), (uint64_t)i + 1);
    /* the same label set gives the same key; a name/value boundary shift does not */
    labels_label a[2] = { labels_make("__name__", "m"), labels_make("id", "12") };
    labels_label b[2] = { labels_make("__name__", "m"), labels_make("id1", "2") };
    uint64_t a1, a2, b1, b2;
    recv_refcache_hash(a, 2, &a1, &a2);
    recv_refcache_hash(b, 2, &b1, &b2);
    assert_true(a1 == h1[12] && a2 == h2[12]);
    assert_true(a1 != b1 && a2 != b2);
    /* replace: no new entry */
    recv_refcache_put(c, h1[5], h2[5], 999999);
    assert_int_equal(recv_refcache_get(c, h1[5], h2[5]), 999999);
    assert_int_equal(recv_refcache_len(c), N);
    /* only the full 128-bit key matches */
    assert_int_equal(recv_refcache_get(c, h1[5], h2[5] ^ 1), 0);
    /* trim keeps a cache close to the live series, empties a stale one */
    recv_refcache_trim(c, N);
    assert_int_equal(recv_refcache_len(c), N);
    recv_refcache_trim(c, 100);
    assert_int_equal(recv_refcache_len(c), 0);
    assert_int_equal(recv_refcache_get(c, h1[7], h2[7]), 0);
    recv_refcache_put(c, h1[7], h2[7], 8);
    assert_int_equal(recv_refcache_get(c, h1[7], h2[7]), 8);
    recv_refcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcache),
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
