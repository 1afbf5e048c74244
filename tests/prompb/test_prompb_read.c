/* Remote read: ReadRequest decoder vs protoc-c, ReadResponse and chunked
 * frame encoders through protoc-c's unpack, CRC-32C, negotiation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompb_ref.h"

static const char *const strs[] = {"", "__name__", "up", "job", "node.*", "a\"b", "x"};

static Prometheus__ReadRequest *random_read(ref_arena *a, uint64_t *rng)
{
    Prometheus__ReadRequest *q = ref_alloc(a, sizeof(*q));
    prometheus__read_request__init(q);
    q->n_queries = ref_rand(rng) % 4;
    q->queries = ref_alloc(a, q->n_queries * sizeof(void *));
    for (size_t i = 0; i < q->n_queries; i++) {
        Prometheus__Query *x = ref_alloc(a, sizeof(*x));
        prometheus__query__init(x);
        x->start_timestamp_ms = (int64_t)(ref_rand(rng) % 3) - 1 + 1700000000000;
        x->end_timestamp_ms = (int64_t)(ref_rand(rng) >> 1) * ((ref_rand(rng) & 1) ? 1 : -1);
        x->n_matchers = ref_rand(rng) % 5;
        x->matchers = ref_alloc(a, x->n_matchers * sizeof(void *));
        for (size_t k = 0; k < x->n_matchers; k++) {
            Prometheus__LabelMatcher *m = ref_alloc(a, sizeof(*m));
            prometheus__label_matcher__init(m);
            m->type = (Prometheus__LabelMatcher__Type)(ref_rand(rng) % 4);
            m->name = (char *)strs[ref_rand(rng) % 7];
            m->value = (char *)strs[ref_rand(rng) % 7];
            x->matchers[k] = m;
        }
        if (ref_rand(rng) & 1) {
            Prometheus__ReadHints *h = ref_alloc(a, sizeof(*h));
            prometheus__read_hints__init(h);
            h->step_ms = (int64_t)(ref_rand(rng) % 100000);
            h->func = (char *)strs[ref_rand(rng) % 7];
            h->start_ms = -5;
            h->end_ms = (int64_t)ref_rand(rng) >> 3;
            h->n_grouping = ref_rand(rng) % 3;
            h->grouping = ref_alloc(a, h->n_grouping * sizeof(char *));
            for (size_t k = 0; k < h->n_grouping; k++)
                h->grouping[k] = (char *)strs[ref_rand(rng) % 7];
            h->by = ref_rand(rng) & 1;
            h->range_ms = 300000;
            x->hints = h;
        }
        q->queries[i] = x;
    }
    q->n_accepted_response_types = ref_rand(rng) % 3;
    q->accepted_response_types = ref_alloc(a, 2 * sizeof(int));
    q->accepted_response_types[0] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__STREAMED_XOR_CHUNKS;
    q->accepted_response_types[1] = PROMETHEUS__READ_REQUEST__RESPONSE_TYPE__SAMPLES;
    return q;
}

static void compare_read(const prompb_read_request *r, const Prometheus__ReadRequest *q)
{
    assert_int_equal(r->query_count, q->n_queries);
    assert_int_equal(r->accepted_count, q->n_accepted_response_types);
    for (size_t i = 0; i < q->n_accepted_response_types; i++)
        assert_int_equal(r->accepted_types[i], q->accepted_response_types[i]);
    for (size_t i = 0; i < q->n_queries; i++) {
        const Prometheus__Query *x = q->queries[i];
        const prompb_query *y = &r->queries[i];
        assert_int_equal(y->start_ms, x->start_timestamp_ms);
        assert_int_equal(y->end_ms, x->end_timestamp_ms);
        assert_int_equal(y->matchers_count, x->n_matchers);
        for (size_t k = 0; k < x->n_matchers; k++) {
            const prompb_matcher *m = &r->matchers[y->matchers_start + k];
            assert_int_equal(m->type, x->matchers[k]->type);
            assert_true(ref_str_eq(m->name, m->name_len, x->matchers[k]->name));
            assert_true(ref_str_eq(m->value, m->value_len, x->matchers[k]->value));
        }
        assert_int_equal(y->hints.present, x->hints != NULL);
        if (x->hints) {
            assert_int_equal(y->hints.step_ms, x->hints->step_ms);
            assert_int_equal(y->hints.start_ms, x->hints->start_ms);
            assert_int_equal(y->hints.end_ms, x->hints->end_ms);
            assert_int_equal(y->hints.range_ms, x->hints->range_ms);
            assert_int_equal(y->hints.by, x->hints->by);
            assert_true(ref_str_eq(y->hints.func, y->hints.func_len, x->hints->func));
            assert_int_equal(y->hints.grouping_count, x->hints->n_grouping);
            for (size_t k = 0; k < x->hints->n_grouping; k++) {
                const prompb_str *g = &r->grouping[y->hints.grouping_start + k];
                assert_true(ref_str_eq(g->ptr, g->len, x->hints->grouping[k]));
            }
        }
    }
}

static void test_read_request_differential(void **state)
{
    uint64_t rng = 31337;
    prompb_read_request r;
    prompb_read_request_init(&r);
    for (int it = 0; it < 2000; it++) {
        ref_arena a = {0};
        Prometheus__ReadRequest *q = random_read(&a, &rng);
        size_t len;
        uint8_t *b = ref_pack(&q->base, &len);
        prompb_error e;
        if (prompb_read_request_decode(&r, b, len, &e))
            fail_msg("decode: %s", e.msg);
        compare_read(&r, q);
        /* Every prefix: no crash, and agreement when protoc-c accepts. */
        if (it < 100) {
            for (size_t cut = 0; cut < len; cut++) {
                uint8_t *pre = malloc(cut ? cut : 1);
                memcpy(pre, b, cut);
                int rc = prompb_read_request_decode(&r, pre, cut, &e);
                Prometheus__ReadRequest *u = prometheus__read_request__unpack(NULL, cut, pre);
                if (rc == 0 && u)
                    compare_read(&r, u);
                if (rc)
                    assert_int_equal(e.code, PROMPB_ERR_PROTOBUF);
                if (u)
                    prometheus__read_request__free_unpacked(u, NULL);
                free(pre);
            }
        }
        free(b);
        ref_arena_free(&a);
    }
    prompb_read_request_free(&r);
}

static void test_read_errors(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *msg;
    } t[] = {
        {"\x0a\x02\x18\x01", 4, "invalid protobuf: wrong wire type for field in Query at byte 3"},
        {"\x0a\x05\x1a\x03\x0a\x01\x61", 7,
         "invalid protobuf: wrong wire type for field in LabelMatcher.type at byte 5"},
        {"\x0a\x04\x22\x02\x28\x01", 6,
         "invalid protobuf: wrong wire type for field in ReadHints at byte 5"},
        {"\x11\x00\x00\x00\x00\x00\x00\x00\x00", 9,
         "invalid protobuf: wrong wire type for field in ReadRequest.accepted_response_types at "
         "byte 1"},
        {"\x0a\x03\x1a\x01", 4, "invalid protobuf: truncated message in ReadRequest at byte 2"},
        {"\x12\x02\x01\x80", 4,
         "invalid protobuf: truncated message in ReadRequest.accepted_response_types at byte 3"},
    };
    prompb_read_request r;
    prompb_read_request_init(&r);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        prompb_error e = {0};
        assert_int_equal(prompb_read_request_decode(&r, t[i].in, t[i].len, &e), -EINVAL);
        assert_int_equal(e.code, PROMPB_ERR_PROTOBUF);
        if (strcmp(e.msg, t[i].msg) != 0)
            fail_msg("case %zu:\n got  %s\n want %s", i, e.msg, t[i].msg);
        Prometheus__ReadRequest *u =
            prometheus__read_request__unpack(NULL, t[i].len, (const uint8_t *)t[i].in);
        if (u)
            fail_msg("case %zu: protoc-c accepted it", i);
    }
    prompb_read_request_free(&r);
}

static void test_negotiate(void **state)
{
    prompb_read_request r;
    prompb_read_request_init(&r);
    /* Empty list: SAMPLES. */
    assert_int_equal(prompb_read_request_decode(&r, "", 0, NULL), 0);
    assert_int_equal(prompb_read_negotiate(&r, 3), PROMPB_READ_SAMPLES);
    /* Prometheus' default [STREAMED_XOR_CHUNKS, SAMPLES], packed. */
    assert_int_equal(prompb_read_request_decode(&r, "\x12\x02\x01\x00", 4, NULL), 0);
    assert_int_equal(prompb_read_negotiate(&r, 3), PROMPB_READ_STREAMED_XOR_CHUNKS);
    assert_int_equal(prompb_read_negotiate(&r, 1), PROMPB_READ_SAMPLES);
    /* Unpacked form, unknown type only: none supported. */
    assert_int_equal(prompb_read_request_decode(&r, "\x10\x07", 2, NULL), 0);
    assert_int_equal(prompb_read_negotiate(&r, 3), -1);
    prompb_read_request_free(&r);
}

static void test_crc32c(void **state)
{
    assert_int_equal(prompb_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(prompb_crc32c(prompb_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void test_read_response_roundtrip(void **state)
{
    prompb_label l1[] = {{"__name__", "up", 8, 2}, {"job", "node", 3, 4}};
    prompb_label l2[] = {{"__name__", "x", 8, 1}};
    prompb_sample s1[3] = {{1000, 1.0}, {2000, 0.0}, {-3000, -2.5}};
    uint64_t stale = PROMPB_STALE_NAN_BITS;
    memcpy(&s1[1].value, &stale, 8);
    prompb_series_data sd[] = {{l1, 2, s1, 3}, {l2, 1, NULL, 0}};
    prompb_query_result qr[] = {{sd, 2}, {NULL, 0}, {sd + 1, 1}};
    prompb_buf out = {0};
    assert_int_equal(prompb_read_response_encode(qr, 3, &out, NULL), 0);
    Prometheus__ReadResponse *u =
        prometheus__read_response__unpack(NULL, out.len, (uint8_t *)out.data);
    assert_non_null(u);
    assert_int_equal(u->n_results, 3);
    assert_int_equal(u->results[0]->n_timeseries, 2);
    assert_int_equal(u->results[1]->n_timeseries, 0);
    assert_int_equal(u->results[2]->n_timeseries, 1);
    Prometheus__TimeSeries *t = u->results[0]->timeseries[0];
    assert_int_equal(t->n_labels, 2);
    assert_string_equal(t->labels[1]->name, "job");
    assert_string_equal(t->labels[1]->value, "node");
    assert_int_equal(t->n_samples, 3);
    assert_int_equal(t->samples[2]->timestamp, -3000);
    assert_true(t->samples[2]->value == -2.5);
    uint64_t got;
    memcpy(&got, &t->samples[1]->value, 8);
    assert_true(got == stale);
    assert_string_equal(u->results[2]->timeseries[0]->labels[0]->value, "x");
    prometheus__read_response__free_unpacked(u, NULL);
    prompb_buf_free(&out);
}

static void test_chunked_frames(void **state)
{
    /* Real XOR chunk bytes (one sample t=7200000, v=12000) from the fact sheet. */
    const uint8_t xor1[] = {0x00, 0x01, 0x80, 0xf4, 0xee, 0x06, 0x40, 0xc7, 0x70, 0, 0, 0, 0, 0};
    prompb_label l[] = {{"__name__", "up", 8, 2}, {"instance", "a:1", 8, 3}};
    prompb_chunk c[] = {{7200000, 7200000, 1, xor1, sizeof(xor1)}, {0, 5, 1, xor1, 3}};
    prompb_buf out = {0};
    assert_int_equal(prompb_chunked_frame_append(&out, 0, l, 2, c, 2, NULL), 0);
    assert_int_equal(prompb_chunked_frame_append(&out, 3, l, 1, c, 1, NULL), 0);
    const uint8_t *p = (const uint8_t *)out.data, *end = p + out.len;
    for (int frame = 0; frame < 2; frame++) {
        uint64_t n = 0;
        int shift = 0;
        while (*p & 0x80) {
            n |= (uint64_t)(*p++ & 0x7f) << shift;
            shift += 7;
        }
        n |= (uint64_t)*p++ << shift;
        uint32_t crc = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        p += 4;
        assert_true(p + n <= end);
        assert_int_equal(crc, prompb_crc32c(0, p, n));
        Prometheus__ChunkedReadResponse *u =
            prometheus__chunked_read_response__unpack(NULL, n, p);
        assert_non_null(u);
        assert_int_equal(u->n_chunked_series, 1);
        Prometheus__ChunkedSeries *cs = u->chunked_series[0];
        if (frame == 0) {
            assert_int_equal(u->query_index, 0);
            assert_int_equal(cs->n_labels, 2);
            assert_string_equal(cs->labels[1]->value, "a:1");
            assert_int_equal(cs->n_chunks, 2);
            assert_int_equal(cs->chunks[0]->min_time_ms, 7200000);
            assert_int_equal(cs->chunks[0]->type, PROMETHEUS__CHUNK__ENCODING__XOR);
            assert_int_equal(cs->chunks[0]->data.len, sizeof(xor1));
            assert_memory_equal(cs->chunks[0]->data.data, xor1, sizeof(xor1));
            assert_int_equal(cs->chunks[1]->min_time_ms, 0);
            assert_int_equal(cs->chunks[1]->max_time_ms, 5);
        } else {
            assert_int_equal(u->query_index, 3);
            assert_int_equal(cs->n_labels, 1);
            assert_int_equal(cs->n_chunks, 1);
        }
        prometheus__chunked_read_response__free_unpacked(u, NULL);
        p += n;
    }
    assert_true(p == end);

    /* The client-side splitter agrees, needs more bytes for partial frames,
     * and catches a flipped bit. */
    const uint8_t *m;
    size_t ml, fl, off = 0;
    int frames = 0;
    for (size_t cut = 0; cut < out.len; cut++) {
        int r = prompb_chunked_frame_next(out.data, cut, 1 << 20, &m, &ml, &fl, NULL);
        assert_true(r == 1 || (r == 0 && fl <= cut));
    }
    while (off < out.len) {
        assert_int_equal(prompb_chunked_frame_next(out.data + off, out.len - off, 1 << 20, &m,
                                                   &ml, &fl, NULL), 0);
        Prometheus__ChunkedReadResponse *u = prometheus__chunked_read_response__unpack(NULL, ml, m);
        assert_non_null(u);
        assert_int_equal(u->query_index, frames == 0 ? 0 : 3);
        prometheus__chunked_read_response__free_unpacked(u, NULL);
        off += fl;
        frames++;
    }
    assert_int_equal(frames, 2);
    prompb_error e;
    assert_int_equal(prompb_chunked_frame_next(out.data, out.len, 10, &m, &ml, &fl, &e), -EMSGSIZE);
    out.data[10] ^= 1;
    assert_int_equal(prompb_chunked_frame_next(out.data, out.len, 1 << 20, &m, &ml, &fl, &e),
                     -EINVAL);
    assert_string_equal(e.msg, "corrupted frame; checksum mismatch");
    prompb_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_request_differential),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_negotiate),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_read_response_roundtrip),
        cmocka_unit_test(test_chunked_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
