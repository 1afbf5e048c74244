/* The bad-input table of the receive issue: every entry gives its expected
 * error code and message; good series next to bad ones are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompb_ref.h"

#define L(n, v) {n, v, sizeof(n) - 1, sizeof(v) - 1}

typedef struct {
    const char *what;
    prompb_label labels[4];
    size_t n;
    unsigned flags;
    prompb_code code;           /* PROMPB_OK = valid */
    const char *msg;            /* full expected message */
} label_case;

static const label_case label_cases[] = {
    {"valid", {L("__name__", "up"), L("job", "x")}, 2, PROMPB_VALIDATE_LEGACY_NAMES, PROMPB_OK,
     NULL},
    {"no __name__ is valid", {L("job", "x"), L("zone", "a")}, 2, PROMPB_VALIDATE_LEGACY_NAMES,
     PROMPB_OK, NULL},
    {"unsorted", {L("__name__", "up"), L("zone", "a"), L("job", "x")}, 3, 0,
     PROMPB_ERR_UNSORTED,
     "series 0 ({__name__=\"up\", zone=\"a\", job=\"x\"}): labels not sorted: \"job\" after "
     "\"zone\""},
    {"duplicate", {L("a", "1"), L("a", "2")}, 2, 0, PROMPB_ERR_DUP_NAME,
     "series 0 ({a=\"1\", a=\"2\"}): duplicate label name: \"a\""},
    {"empty name", {L("", "1"), L("a", "2")}, 2, 0, PROMPB_ERR_EMPTY_NAME,
     "series 0 ({=\"1\", a=\"2\"}): empty label name: label 0"},
    {"empty value", {L("a", "1"), L("b", "")}, 2, 0, PROMPB_ERR_EMPTY_VALUE,
     "series 0 ({a=\"1\", b=\"\"}): empty label value: label \"b\""},
    {"invalid utf8 value", {L("a", "x\xff")}, 1, 0, PROMPB_ERR_UTF8,
     "series 0 ({a=\"x\\xff\"}): invalid UTF-8: value of label \"a\""},
    {"invalid utf8 name", {L("\xc0\x80", "x")}, 1, 0, PROMPB_ERR_UTF8,
     "series 0 ({\\xc0\\x80=\"x\"}): invalid UTF-8: label name \"\\xc0\\x80\""},
    {"surrogate", {L("a", "\xed\xa0\x80")}, 1, 0, PROMPB_ERR_UTF8, NULL},
    {"utf8 ok", {L("a", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80")}, 1, 0, PROMPB_OK, NULL},
    {"legacy name chars", {L("a-b", "x")}, 1, PROMPB_VALIDATE_LEGACY_NAMES,
     PROMPB_ERR_NAME_CHARS, "series 0 ({a-b=\"x\"}): invalid label name: \"a-b\""},
    {"utf8 name allowed without legacy flag", {L("a-b", "x")}, 1, 0, PROMPB_OK, NULL},
    {"digit first", {L("1a", "x")}, 1, PROMPB_VALIDATE_LEGACY_NAMES, PROMPB_ERR_NAME_CHARS,
     NULL},
    {"metric name", {L("__name__", "a.b")}, 1, PROMPB_VALIDATE_METRIC_NAME,
     PROMPB_ERR_METRIC_NAME, "series 0 ({__name__=\"a.b\"}): invalid metric name: \"a.b\""},
    {"metric name colon ok", {L("__name__", "job:up:rate5m")}, 1,
     PROMPB_VALIDATE_METRIC_NAME | PROMPB_VALIDATE_LEGACY_NAMES, PROMPB_OK, NULL},
    {"no labels", {{0}}, 0, 0, PROMPB_ERR_NO_LABELS, "series 0 ({}): no labels"},
};

static void test_label_rules(void **state)
{
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_buf out = {0};
    prompb_sample s = {1000, 1.0};
    for (size_t i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
        const label_case *c = &label_cases[i];
        prompb_series_data sd = {c->labels, c->n, &s, 1};
        assert_int_equal(prompb_write_encode_v1(&sd, 1, &out, NULL), 0);
        assert_int_equal(prompb_write_decode_v1(&r, out.data, out.len, NULL), 0);
        prompb_error err = {0};
        int rc = prompb_validate_series(&r, 0, c->flags, &err);
        if (c->code == PROMPB_OK) {
            if (rc)
                fail_msg("%s: unexpected error %s", c->what, err.msg);
            continue;
        }
        if (rc != -EINVAL || err.code != c->code)
            fail_msg("%s: got rc %d code %d (%s)", c->what, rc, err.code, err.msg);
        assert_int_equal(err.series, 0);
        if (c->msg && strcmp(err.msg, c->msg) != 0)
            fail_msg("%s:\n got  %s\n want %s", c->what, err.msg, c->msg);
    }
    prompb_buf_free(&out);
    prompb_write_request_free(&r);
}

/* A bad series in the middle is reported by index; the others stay good. */
static void test_bad_series_isolated(void **state)
{
    prompb_label good1[] = {L("__name__", "a"), L("job", "x")};
    prompb_label bad[] = {L("job", "x"), L("job", "y")};
    prompb_label good2[] = {L("__name__", "b")};
    prompb_sample s = {1, 2};
    prompb_series_data sd[] = {{good1, 2, &s, 1}, {bad, 2, &s, 1}, {good2, 1, &s, 1},
                               {NULL, 0, &s, 1}};
    prompb_buf out = {0};
    assert_int_equal(prompb_write_encode_v1(sd, 4, &out, NULL), 0);
    prompb_write_request r;
    prompb_write_request_init(&r);
    assert_int_equal(prompb_write_decode_v1(&r, out.data, out.len, NULL), 0);
    uint8_t flags[4];
    prompb_error first;
    assert_int_equal(prompb_validate(&r, 0, flags, &first), 2);
    assert_int_equal(flags[0], 0);
    assert_int_equal(flags[1], 1);
    assert_int_equal(flags[2], 0);
    assert_int_equal(flags[3], 1);
    assert_int_equal(first.series, 1);
    assert_string_equal(first.msg,
                        "series 1 ({job=\"x\", job=\"y\"}): duplicate label name: \"job\"");
    prompb_buf_free(&out);
    prompb_write_request_free(&r);
}

typedef struct {
    const char *what;
    const char *hex;
    int v2;
    const char *msg;            /* expected message */
} proto_case;

static const proto_case proto_cases[] = {
    {"truncated length", "0a 05 0a 03", 0,
     "invalid protobuf: truncated message in WriteRequest at byte 2"},
    {"truncated label", "0a 04 0a 02 0a 05", 0,
     "invalid protobuf: truncated message in series 0 label at byte 6"},
    {"wrong wire type top", "08 01", 0,
     "invalid protobuf: wrong wire type for field in WriteRequest.timeseries at byte 0"},
    {"wrong wire type label", "0a 02 08 01", 0,
     "invalid protobuf: wrong wire type for field in series 0 labels at byte 2"},
    {"wrong wire type sample value", "0a 04 12 02 08 01", 0,
     "invalid protobuf: wrong wire type for field in series 0 sample at byte 5"},
    {"varint overflow", "0a ff ff ff ff ff ff ff ff ff 7f", 0,
     "invalid protobuf: varint overflow in WriteRequest at byte 1"},
    {"11-byte varint", "10 80 80 80 80 80 80 80 80 80 80 00", 0,
     "invalid protobuf: varint overflow in WriteRequest at byte 1"},
    {"field 0", "00 00", 0, "invalid protobuf: invalid field number 0 in WriteRequest at byte 1"},
    {"group wire type", "7b", 0, "invalid protobuf: invalid wire type in WriteRequest at byte 1"},
    {"group on known field", "0b", 0,
     "invalid protobuf: wrong wire type for field in WriteRequest.timeseries at byte 0"},
    {"bad exemplar body", "0a 03 1a 01 ff", 0,
     "invalid protobuf: truncated message in series 0 exemplar at byte 4"},
    {"truncated fixed64", "0a 05 12 03 09 00 00", 0,
     "invalid protobuf: truncated message in series 0 sample at byte 5"},
    {"v2 wrong wire type symbols", "20 01", 1,
     "invalid protobuf: wrong wire type for field in Request.symbols at byte 0"},
    {"v2 truncated refs", "2a 03 0a 01 80", 1,
     "invalid protobuf: truncated message in series 0 labels_refs at byte 4"},
    {"v2 symbols[0] not empty", "22 01 61", 1,
     "invalid symbols table: symbols[0] must be the empty string"},
};

static void test_protobuf_errors(void **state)
{
    prompb_write_request r;
    prompb_write_request_init(&r);
    for (size_t i = 0; i < sizeof(proto_cases) / sizeof(proto_cases[0]); i++) {
        const proto_case *c = &proto_cases[i];
        size_t n = 0;
        uint8_t *b = malloc(strlen(c->hex) / 2 + 1);
        for (const char *p = c->hex; *p;) {
            unsigned v;
            if (*p == ' ') {
                p++;
                continue;
            }
            sscanf(p, "%2x", &v);
            b[n++] = (uint8_t)v;
            p += 2;
        }
        /* Twice: with a fresh request (count pass first) and with a warm one
         * whose kept arrays make the decoder take the single-pass path. */
        for (int warm = 0; warm < 2; warm++) {
            prompb_write_request w;
            prompb_write_request_init(&w);
            if (warm) {
                static const uint8_t ok[] = {0x0a, 0x0c, 0x0a, 0x06, 0x0a, 0x01, 'a', 0x12,
                                             0x01, 'b', 0x12, 0x02, 0x10, 0x01};
                assert_int_equal(prompb_write_decode_v1(&w, ok, sizeof(ok), NULL), 0);
                assert_int_equal(prompb_write_decode_v2(&w, "", 0, NULL), 0);
            }
            prompb_error err = {0};
            int rc = c->v2 ? prompb_write_decode_v2(&w, b, n, &err)
                           : prompb_write_decode_v1(&w, b, n, &err);
            prompb_write_request_free(&w);
            if (rc != -EINVAL)
                fail_msg("%s (warm %d): rc %d", c->what, warm, rc);
            if (strcmp(err.msg, c->msg) != 0)
                fail_msg("%s (warm %d):\n got  %s\n want %s", c->what, warm, err.msg, c->msg);
        }
        /* protoc-c agrees the input is not a valid message, except for
         * rules it does not know (symbols[0]) and 10-byte varints it
         * tolerates. */
        if (!strstr(c->what, "symbols[0]") && !strstr(c->what, "varint overflow")) {
            ProtobufCMessage *u =
                c->v2 ? (ProtobufCMessage *)io__prometheus__write__v2__request__unpack(NULL, n, b)
                      : (ProtobufCMessage *)prometheus__write_request__unpack(NULL, n, b);
            if (u)
                fail_msg("%s: protoc-c accepted it", c->what);
        }
        free(b);
    }
    prompb_write_request_free(&r);
}

static void test_v2_series_errors(void **state)
{
    /* symbols "", "__name__", "up", "job"; series: good, bad ref, odd refs,
     * samples+histograms. Built with protoc-c. */
    char *syms[] = {"", "__name__", "up", "job"};
    uint32_t good[] = {1, 2}, badref[] = {1, 9}, odd[] = {1, 2, 3};
    Io__Prometheus__Write__V2__Sample s = IO__PROMETHEUS__WRITE__V2__SAMPLE__INIT;
    Io__Prometheus__Write__V2__Sample *sp[] = {&s};
    Io__Prometheus__Write__V2__Histogram h = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__INIT;
    Io__Prometheus__Write__V2__Histogram *hp[] = {&h};
    Io__Prometheus__Write__V2__TimeSeries ts[4];
    Io__Prometheus__Write__V2__TimeSeries *tsp[4];
    for (int i = 0; i < 4; i++) {
        io__prometheus__write__v2__time_series__init(&ts[i]);
        ts[i].n_samples = 1;
        ts[i].samples = sp;
        tsp[i] = &ts[i];
    }
    ts[0].n_labels_refs = 2;
    ts[0].labels_refs = good;
    ts[1].n_labels_refs = 2;
    ts[1].labels_refs = badref;
    ts[2].n_labels_refs = 3;
    ts[2].labels_refs = odd;
    ts[3].n_labels_refs = 2;
    ts[3].labels_refs = good;
    ts[3].n_histograms = 1;
    ts[3].histograms = hp;
    Io__Prometheus__Write__V2__Request req = IO__PROMETHEUS__WRITE__V2__REQUEST__INIT;
    req.n_symbols = 4;
    req.symbols = syms;
    req.n_timeseries = 4;
    req.timeseries = tsp;
    size_t len;
    uint8_t *b = ref_pack(&req.base, &len);
    prompb_write_request r;
    prompb_write_request_init(&r);
    assert_int_equal(prompb_write_decode_v2(&r, b, len, NULL), 0);
    prompb_error e;
    assert_int_equal(prompb_validate_series(&r, 0, 0, &e), 0);
    assert_int_equal(prompb_validate_series(&r, 1, 0, &e), -EINVAL);
    assert_int_equal(e.code, PROMPB_ERR_BAD_REF);
    assert_string_equal(e.msg, "series 1 ({__name__=\"\"}): invalid symbol reference: label "
                               "reference 9 out of range (4 symbols)");
    assert_int_equal(prompb_validate_series(&r, 2, 0, &e), -EINVAL);
    assert_string_equal(e.msg, "series 2 ({__name__=\"up\"}): invalid symbol reference: odd "
                               "number of labels_refs");
    assert_int_equal(prompb_validate_series(&r, 3, 0, &e), -EINVAL);
    assert_int_equal(e.code, PROMPB_ERR_SAMPLES_AND_HISTOGRAMS);
    prompb_write_request_free(&r);
    free(b);
}

static void test_limits(void **state)
{
    prompb_label l1[] = {L("__name__", "a"), L("job", "x")};
    prompb_label l2[] = {L("__name__", "b"), L("job", "a-very-long-value"), L("zone", "z")};
    prompb_sample s[3] = {{1, 1}, {2, 2}, {3, 3}};
    prompb_series_data sd[] = {{l1, 2, s, 1}, {l2, 3, s, 2}};
    prompb_buf out = {0};
    assert_int_equal(prompb_write_encode_v1(sd, 2, &out, NULL), 0);
    prompb_write_request r;
    prompb_write_request_init(&r);
    assert_int_equal(prompb_write_decode_v1(&r, out.data, out.len, NULL), 0);
    prompb_error e;
    prompb_limits none = {0};
    assert_int_equal(prompb_check_request_limits(&r, &none, &e), 0);
    assert_int_equal(prompb_check_series_limits(&r, 1, &none, &e), 0);
    prompb_limits lim = {.max_series = 1};
    assert_int_equal(prompb_check_request_limits(&r, &lim, &e), -EMSGSIZE);
    assert_int_equal(e.code, PROMPB_ERR_LIMIT);
    assert_string_equal(e.msg, "request has 2 series, the limit is 1");
    lim = (prompb_limits){.max_samples = 2};
    assert_int_equal(prompb_check_request_limits(&r, &lim, &e), -EMSGSIZE);
    assert_string_equal(e.msg, "request has 3 samples, the limit is 2");
    lim = (prompb_limits){.max_labels = 2};
    assert_int_equal(prompb_check_series_limits(&r, 0, &lim, &e), 0);
    assert_int_equal(prompb_check_series_limits(&r, 1, &lim, &e), -EINVAL);
    assert_string_equal(e.msg, "series 1 ({__name__=\"b\", job=\"a-very-long-value\", "
                               "zone=\"z\"}): limit exceeded: 3 labels, the limit is 2");
    lim = (prompb_limits){.max_value_len = 10};
    assert_int_equal(prompb_check_series_limits(&r, 1, &lim, &e), -EINVAL);
    assert_int_equal(e.series, 1);
    assert_non_null(strstr(e.msg, "value of label \"job\" is 17 bytes, the limit is 10"));
    lim = (prompb_limits){.max_name_len = 4};
    assert_int_equal(prompb_check_series_limits(&r, 0, &lim, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "label name \"__name__\" is 8 bytes, the limit is 4"));
    prompb_write_request_free(&r);
    prompb_buf_free(&out);
}

static void test_snappy_errors(void **state)
{
    prompb_buf out = {0};
    prompb_error e;
    /* Garbage. */
    assert_int_equal(prompb_snappy_uncompress("\xff\xff\xff\xff\xff\xff", 6, 1 << 20, &out, &e),
                     -EINVAL);
    assert_int_equal(e.code, PROMPB_ERR_SNAPPY);
    assert_string_equal(e.msg, "invalid snappy: bad uncompressed-length preamble");
    /* Declares 100 bytes, holds a 3-byte literal. */
    assert_int_equal(prompb_snappy_uncompress("\x64\x08" "abc", 5, 1 << 20, &out, &e), -EINVAL);
    assert_string_equal(e.msg, "invalid snappy: corrupt block data");
    /* Declares 1 GiB: refused on the declared length, before allocating. */
    prompb_buf_free(&out);
    assert_int_equal(prompb_snappy_uncompress("\x80\x80\x80\x80\x04", 5, 1 << 20, &out, &e),
                     -EMSGSIZE);
    assert_int_equal(e.code, PROMPB_ERR_TOO_LARGE);
    assert_string_equal(e.msg, "decompressed body of 1073741824 bytes exceeds the limit of "
                               "1048576 bytes");
    assert_null(out.data);
    /* Under the limit but impossible for the input size. */
    assert_int_equal(prompb_snappy_uncompress("\x80\x80\x80\x80\x04", 5, SIZE_MAX, &out, &e),
                     -EINVAL);
    assert_null(out.data);
    /* The literal-only example of the fact sheet decodes. */
    char lit[44] = {0x2a, (char)0xa4};
    memset(lit + 2, 'x', 42);
    assert_int_equal(prompb_snappy_uncompress(lit, 44, 1 << 20, &out, &e), 0);
    assert_int_equal(out.len, 42);
    /* Empty body: decodes to an empty request. */
    assert_int_equal(prompb_snappy_uncompress("\x00", 1, 10, &out, &e), 0);
    assert_int_equal(out.len, 0);
    prompb_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_rules),
        cmocka_unit_test(test_bad_series_isolated),
        cmocka_unit_test(test_protobuf_errors),
        cmocka_unit_test(test_v2_series_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_snappy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
