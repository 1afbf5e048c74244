/* receive's pure parts without a running aiond: content negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "content_type.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
