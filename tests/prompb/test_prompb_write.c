/* Remote write decoders: differential against protoc-c, encoder round trip,
 * the bad-input table, truncation at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prompb_ref.h"

static uint8_t *unhex(const char *hex, size_t *len)
{
    uint8_t *b = malloc(strlen(hex) / 2 + 1);
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        b[n++] = (uint8_t)v;
        p += 2;
    }
    *len = n;
    return b;
}

/* The hand-computed example of the remote-write fact sheet. */
static void test_spec_example(void **state)
{
    size_t len;
    uint8_t *b = unhex("0a 28 0a 0e 0a 08 5f 5f 6e 61 6d 65 5f 5f 12 02 75 70 0a 08 0a 03 6a 6f"
                       " 62 12 01 61 12 0c 09 00 00 00 00 00 00 f0 3f 10 e8 07", &len);
    assert_int_equal(len, 42);
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_error err;
    assert_int_equal(prompb_write_decode_v1(&r, b, len, &err), 0);
    assert_int_equal(r.series_count, 1);
    assert_int_equal(r.label_count, 2);
    assert_int_equal(r.sample_count, 1);
    /* One allocation sized for 1 series, 2 labels, 1 sample plus headroom. */
    assert_true(prompb_write_request_mem(&r) >= sizeof(prompb_series) + 2 * sizeof(prompb_label) +
                                                    sizeof(prompb_sample));
    assert_ptr_equal(prompb_series_labels(&r, &r.series[0]), r.labels);
    assert_ptr_equal(prompb_series_samples(&r, &r.series[0]), r.samples);
    assert_memory_equal(r.labels[0].name, "__name__", 8);
    assert_int_equal(r.labels[0].name_len, 8);
    assert_memory_equal(r.labels[0].value, "up", 2);
    assert_memory_equal(r.labels[1].name, "job", 3);
    assert_memory_equal(r.labels[1].value, "a", 1);
    assert_int_equal(r.samples[0].timestamp_ms, 1000);
    assert_true(r.samples[0].value == 1.0);
    assert_int_equal(prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES, NULL, NULL), 0);
    /* Our encoder produces the same bytes for the same content. */
    prompb_buf out = {0};
    prompb_series_data sd = {r.labels, 2, r.samples, 1};
    assert_int_equal(prompb_write_encode_v1(&sd, 1, &out, NULL), 0);
    assert_int_equal(out.len, 42);
    assert_memory_equal(out.data, b, 42);
    prompb_buf_free(&out);
    prompb_write_request_free(&r);
    free(b);
}

/* Valid encodings protoc-c never produces: unknown fields inside labels
 * and samples, reversed field order, repeated scalar fields (last wins),
 * unpacked labels_refs. Each is also checked against protoc-c's unpack. */
static void test_unusual_encodings(void **state)
{
    static const struct {
        const char *what, *hex;
        int v2;
        const char *name, *value;
        int64_t ts;
        double v;
    } t[] = {
        {"unknown field in label", "0a 0a 0a 08 0a 01 61 18 05 12 01 62", 0, "a", "b", 0, 0},
        {"value before name", "0a 08 0a 06 12 01 62 0a 01 61", 0, "a", "b", 0, 0},
        {"name twice, last wins", "0a 0b 0a 09 0a 01 61 0a 01 63 12 01 62", 0, "c", "b", 0, 0},
        {"sample fields reversed", "0a 16 0a 06 0a 01 61 12 01 62 12 0c 10 e8 07 09 00 00 00 00 00 00 "
                                   "f0 3f", 0, "a", "b", 1000, 1.0},
        {"unknown fixed32 in sample", "0a 1b 0a 06 0a 01 61 12 01 62 12 11 09 00 00 00 00 00 00 f0 "
                                      "3f 10 e8 07 1d 01 02 03 04", 0, "a", "b", 1000, 1.0},
        {"v2 unpacked refs", "22 00 22 01 61 22 01 62 2a 12 08 01 08 02 12 0c 09 00 00 00 00 00 00 "
                             "f0 3f 10 e8 07", 1, "a", "b", 1000, 1.0},
        {"v2 symbols after series", "2a 12 08 01 08 02 12 0c 09 00 00 00 00 00 00 f0 3f 10 e8 07 22 "
                                    "00 22 01 61 22 01 62", 1, "a", "b", 1000, 1.0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len;
        uint8_t *b = unhex(t[i].hex, &len);
        for (int warm = 0; warm < 2; warm++) {
            prompb_write_request r;
            prompb_write_request_init(&r);
            if (warm) {   /* kept arrays: the single-pass path */
                uint8_t *w = unhex("0a 0c 0a 06 0a 01 61 12 01 62 12 02 10 01", &len);
                assert_int_equal(prompb_write_decode_v1(&r, w, len, NULL), 0);
                free(w);
                free(b);
                b = unhex(t[i].hex, &len);
            }
            prompb_error err;
            int rc = t[i].v2 ? prompb_write_decode_v2(&r, b, len, &err)
                             : prompb_write_decode_v1(&r, b, len, &err);
            if (rc)
                fail_msg("%s: %s", t[i].what, err.msg);
            assert_int_equal(r.series_count, 1);
            assert_int_equal(r.label_count, 1);
            if (!ref_str_eq(r.labels[0].name, r.labels[0].name_len, t[i].name) ||
                !ref_str_eq(r.labels[0].value, r.labels[0].value_len, t[i].value))
                fail_msg("%s: wrong label", t[i].what);
            if (t[i].ts) {
                assert_int_equal(r.sample_count, 1);
                assert_int_equal(r.samples[0].timestamp_ms, t[i].ts);
                assert_true(r.samples[0].value == t[i].v);
            }
            assert_int_equal(prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES, NULL, NULL), 0);
            char why[200];
            if (t[i].v2) {
                Io__Prometheus__Write__V2__Request *u =
                    io__prometheus__write__v2__request__unpack(NULL, len, b);
                assert_non_null(u);
                if (ref_compare_v2(&r, u, why, sizeof(why)))
                    fail_msg("%s: %s", t[i].what, why);
                io__prometheus__write__v2__request__free_unpacked(u, NULL);
            } else {
                Prometheus__WriteRequest *u = prometheus__write_request__unpack(NULL, len, b);
                assert_non_null(u);
                if (ref_compare_v1(&r, u, why, sizeof(why)))
                    fail_msg("%s: %s", t[i].what, why);
                prometheus__write_request__free_unpacked(u, NULL);
            }
            prompb_write_request_free(&r);
        }
        free(b);
    }
}

/* A warm request meeting larger requests (more series, labels, samples,
 * symbols than its kept arrays hold) falls back and still decodes right. */
static void test_warm_growth(void **state)
{
    static prompb_label many[300];
    static char names[300][8];
    static prompb_sample ss[500];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof(names[i]), "l%03d", i);
        many[i] = (prompb_label){names[i], names[i], 4, 4};
    }
    for (int i = 0; i < 500; i++)
        ss[i] = (prompb_sample){i, i * 0.5};
    prompb_series_data small = {many, 1, ss, 1};
    prompb_series_data wide = {many, 300, ss, 1};
    prompb_series_data longs = {many, 2, ss, 500};
    static prompb_series_data lots[200];
    for (int i = 0; i < 200; i++)
        lots[i] = (prompb_series_data){&many[i], 1, &ss[i], 1};
    struct {
        const prompb_series_data *sd;
        size_t n;
    } seq[] = {{&small, 1}, {lots, 200}, {&small, 1}, {&wide, 1}, {&longs, 1}, {lots, 200}};
    prompb_write_request warm;
    prompb_write_request_init(&warm);
    prompb_buf out = {0};
    for (int v = 1; v <= 2; v++) {
        for (size_t k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
            assert_int_equal(v == 1 ? prompb_write_encode_v1(seq[k].sd, seq[k].n, &out, NULL)
                                    : prompb_write_encode_v2(seq[k].sd, seq[k].n, &out, NULL), 0);
            prompb_write_request cold;
            prompb_write_request_init(&cold);
            int rw = v == 1 ? prompb_write_decode_v1(&warm, out.data, out.len, NULL)
                            : prompb_write_decode_v2(&warm, out.data, out.len, NULL);
            int rc = v == 1 ? prompb_write_decode_v1(&cold, out.data, out.len, NULL)
                            : prompb_write_decode_v2(&cold, out.data, out.len, NULL);
            assert_int_equal(rw, 0);
            assert_int_equal(rc, 0);
            assert_int_equal(warm.series_count, seq[k].n);
            assert_int_equal(warm.label_count, cold.label_count);
            assert_int_equal(warm.sample_count, cold.sample_count);
            assert_memory_equal(warm.labels, cold.labels, cold.label_count * sizeof(prompb_label));
            assert_memory_equal(warm.samples, cold.samples,
                                cold.sample_count * sizeof(prompb_sample));
            prompb_write_request_free(&cold);
        }
    }
    prompb_write_request_free(&warm);
    prompb_buf_free(&out);
}

/* Appends an unknown varint field (number 15) to a packed message: both
 * decoders must skip it. */
static uint8_t *with_unknown(uint8_t *b, size_t *len)
{
    b = realloc(b, *len + 3);
    b[(*len)++] = 0x78;     /* field 15, varint */
    b[(*len)++] = 0x96;
    b[(*len)++] = 0x01;
    return b;
}

static void diff_v1(int edge, int iters, uint64_t seed)
{
    uint64_t rng = seed;
    ref_shape sh = {12, 12, 8, edge};
    prompb_write_request r;
    prompb_write_request_init(&r);
    for (int it = 0; it < iters; it++) {
        ref_arena a = {0};
        Prometheus__WriteRequest *w = ref_random_v1(&a, &rng, &sh);
        size_t len;
        uint8_t *b = ref_pack(&w->base, &len);
        if (it % 3 == 0)
            b = with_unknown(b, &len);
        Prometheus__WriteRequest *u = prometheus__write_request__unpack(NULL, len, b);
        assert_non_null(u);
        prompb_error err;
        if (it % 5 == 0) {            /* cold: count pass + allocation */
            prompb_write_request_free(&r);
            prompb_write_request_init(&r);
        }
        int rc = prompb_write_decode_v1(&r, b, len, &err);
        if (rc)
            fail_msg("iteration %d: decode failed: %s", it, err.msg);
        char why[200];
        if (ref_compare_v1(&r, u, why, sizeof(why)))
            fail_msg("iteration %d (seed %llu): %s", it, (unsigned long long)seed, why);
        /* Validation never crashes on arbitrary content. */
        prompb_validate(&r, PROMPB_VALIDATE_LEGACY_NAMES | PROMPB_VALIDATE_METRIC_NAME, NULL,
                        NULL);
        prometheus__write_request__free_unpacked(u, NULL);
        free(b);
        ref_arena_free(&a);
    }
    prompb_write_request_free(&r);
}

static void test_differential_v1(void **state)
{
    diff_v1(0, 500, 0x1234567);
    diff_v1(1, 3000, 0xfeedbeef);
}

static void diff_v2(int edge, int iters, uint64_t seed)
{
    uint64_t rng = seed;
    ref_shape sh = {10, 10, 6, edge};
    prompb_write_request r;
    prompb_write_request_init(&r);
    for (int it = 0; it < iters; it++) {
        ref_arena a = {0};
        Io__Prometheus__Write__V2__Request *w = ref_random_v2(&a, &rng, &sh);
        size_t len;
        uint8_t *b = ref_pack(&w->base, &len);
        if (it % 3 == 0)
            b = with_unknown(b, &len);
        Io__Prometheus__Write__V2__Request *u =
            io__prometheus__write__v2__request__unpack(NULL, len, b);
        assert_non_null(u);
        prompb_error err;
        if (it % 5 == 0) {
            prompb_write_request_free(&r);
            prompb_write_request_init(&r);
        }
        if (prompb_write_decode_v2(&r, b, len, &err))
            fail_msg("iteration %d: decode failed: %s", it, err.msg);
        char why[200];
        if (ref_compare_v2(&r, u, why, sizeof(why)))
            fail_msg("iteration %d: %s", it, why);
        prompb_validate(&r, 0, NULL, NULL);
        io__prometheus__write__v2__request__free_unpacked(u, NULL);
        free(b);
        ref_arena_free(&a);
    }
    prompb_write_request_free(&r);
}

static void test_differential_v2(void **state)
{
    diff_v2(0, 500, 99);
    diff_v2(1, 3000, 0xabcdef);
}

/* Our encoder -> protoc-c unpack gives back what we encoded, bit-exact. */
static void test_encoder_roundtrip(void **state)
{
    uint64_t rng = 777;
    ref_shape sh = {10, 10, 10, 1};
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_buf out = {0}, z = {0}, back = {0};
    for (int it = 0; it < 1000; it++) {
        ref_arena a = {0};
        Prometheus__WriteRequest *w = ref_random_v1(&a, &rng, &sh);
        w->n_metadata = 0;   /* the encoder writes labels and samples only */
        for (size_t i = 0; i < w->n_timeseries; i++)
            w->timeseries[i]->n_exemplars = w->timeseries[i]->n_histograms = 0;
        size_t len;
        uint8_t *b = ref_pack(&w->base, &len);
        assert_int_equal(prompb_write_decode_v1(&r, b, len, NULL), 0);
        prompb_series_data *sd = calloc(r.series_count + 1, sizeof(*sd));
        for (size_t i = 0; i < r.series_count; i++) {
            sd[i].labels = r.labels + r.series[i].labels_start;
            sd[i].label_count = r.series[i].labels_count;
            sd[i].samples = r.samples + r.series[i].samples_start;
            sd[i].sample_count = r.series[i].samples_count;
        }
        assert_int_equal(prompb_write_encode_v1_snappy(sd, r.series_count, &out, &z, NULL), 0);
        assert_int_equal(prompb_snappy_uncompress(z.data, z.len, 1 << 26, &back, NULL), 0);
        assert_int_equal(back.len, out.len);
        Prometheus__WriteRequest *u =
            prometheus__write_request__unpack(NULL, back.len, (uint8_t *)back.data);
        assert_non_null(u);
        char why[200];
        if (ref_compare_v1(&r, u, why, sizeof(why)))
            fail_msg("iteration %d: %s", it, why);
        prometheus__write_request__free_unpacked(u, NULL);
        free(sd);
        free(b);
        ref_arena_free(&a);
    }
    prompb_buf_free(&out);
    prompb_buf_free(&z);
    prompb_buf_free(&back);
    prompb_write_request_free(&r);
}

/* The incremental encoder produces exactly the batch encoder's bytes, and
 * its snappy body decodes back. */
static void test_incremental_encoder(void **state)
{
    uint64_t rng = 4711;
    ref_shape sh = {12, 10, 5, 1};
    prompb_write_request r, back;
    prompb_write_request_init(&r);
    prompb_write_request_init(&back);
    prompb_write_encoder enc = {0};
    prompb_buf batch = {0}, z = {0}, raw = {0};
    for (int it = 0; it < 300; it++) {
        ref_arena a = {0};
        Prometheus__WriteRequest *w = ref_random_v1(&a, &rng, &sh);
        size_t len;
        uint8_t *b = ref_pack(&w->base, &len);
        assert_int_equal(prompb_write_decode_v1(&r, b, len, NULL), 0);
        prompb_series_data *sd = calloc(r.series_count + 1, sizeof(*sd));
        for (size_t i = 0; i < r.series_count; i++) {
            const prompb_series *s = &r.series[i];
            sd[i] = (prompb_series_data){prompb_series_labels(&r, s), s->labels_count,
                                         prompb_series_samples(&r, s), s->samples_count};
            assert_int_equal(prompb_write_encoder_add(&enc, sd[i].labels, sd[i].label_count,
                                                      sd[i].samples, sd[i].sample_count, NULL),
                             0);
        }
        assert_int_equal(enc.series, r.series_count);
        assert_int_equal(enc.samples, r.sample_count);
        assert_int_equal(prompb_write_encode_v1(sd, r.series_count, &batch, NULL), 0);
        assert_int_equal(enc.buf.len, batch.len);
        if (batch.len)
            assert_memory_equal(enc.buf.data, batch.data, batch.len);
        assert_int_equal(prompb_write_encoder_flush_snappy(&enc, &z, NULL), 0);
        assert_int_equal(enc.buf.len, 0);
        assert_int_equal(enc.series, 0);
        assert_int_equal(prompb_snappy_uncompress(z.data, z.len, 1 << 26, &raw, NULL), 0);
        assert_int_equal(prompb_write_decode_v1(&back, raw.data, raw.len, NULL), 0);
        assert_int_equal(back.sample_count, r.sample_count);
        assert_memory_equal(back.samples, r.samples, r.sample_count * sizeof(prompb_sample));
        free(sd);
        free(b);
        ref_arena_free(&a);
    }
    prompb_write_encoder_free(&enc);
    prompb_buf_free(&batch);
    prompb_buf_free(&z);
    prompb_buf_free(&raw);
    prompb_write_request_free(&r);
    prompb_write_request_free(&back);
}

/* v2 encoder: protoc-c unpacks it (symbols[0] "", no duplicate symbols),
 * and our v2 decoder gives back exactly the labels and samples encoded. */
static void test_encoder_v2_roundtrip(void **state)
{
    uint64_t rng = 999;
    ref_shape sh = {10, 10, 6, 1};
    prompb_write_request r, r2;
    prompb_write_request_init(&r);
    prompb_write_request_init(&r2);
    prompb_buf out = {0};
    for (int it = 0; it < 1000; it++) {
        ref_arena a = {0};
        Prometheus__WriteRequest *w = ref_random_v1(&a, &rng, &sh);
        size_t len;
        uint8_t *b = ref_pack(&w->base, &len);
        assert_int_equal(prompb_write_decode_v1(&r, b, len, NULL), 0);
        prompb_series_data *sd = calloc(r.series_count + 1, sizeof(*sd));
        for (size_t i = 0; i < r.series_count; i++)
            sd[i] = (prompb_series_data){r.labels + r.series[i].labels_start,
                                         r.series[i].labels_count,
                                         r.samples + r.series[i].samples_start,
                                         r.series[i].samples_count};
        assert_int_equal(prompb_write_encode_v2(sd, r.series_count, &out, NULL), 0);
        Io__Prometheus__Write__V2__Request *u =
            io__prometheus__write__v2__request__unpack(NULL, out.len, (uint8_t *)out.data);
        assert_non_null(u);
        assert_true(u->n_symbols >= 1);
        assert_string_equal(u->symbols[0], "");
        assert_int_equal(u->n_timeseries, r.series_count);
        prompb_error err;
        if (prompb_write_decode_v2(&r2, out.data, out.len, &err))
            fail_msg("decode: %s", err.msg);
        for (size_t i = 0; i + 1 < r2.symbol_count; i++)
            for (size_t k = i + 1; k < r2.symbol_count; k++)
                if (r2.symbols[i].len == r2.symbols[k].len &&
                    memcmp(r2.symbols[i].ptr, r2.symbols[k].ptr, r2.symbols[i].len) == 0)
                    fail_msg("duplicate symbol %zu/%zu", i, k);
        assert_int_equal(r2.series_count, r.series_count);
        assert_int_equal(r2.label_count, r.label_count);
        assert_int_equal(r2.sample_count, r.sample_count);
        for (size_t i = 0; i < r.label_count; i++) {
            const prompb_label *x = &r.labels[i], *y = &r2.labels[i];
            assert_int_equal(x->name_len, y->name_len);
            assert_int_equal(x->value_len, y->value_len);
            assert_memory_equal(x->name, y->name, x->name_len);
            assert_memory_equal(x->value, y->value, x->value_len);
        }
        assert_memory_equal(r.samples, r2.samples, r.sample_count * sizeof(prompb_sample));
        for (size_t i = 0; i < r.series_count; i++)
            assert_int_equal(r2.series[i].flags, 0);
        io__prometheus__write__v2__request__free_unpacked(u, NULL);
        free(sd);
        free(b);
        ref_arena_free(&a);
    }
    prompb_buf_free(&out);
    prompb_write_request_free(&r);
    prompb_write_request_free(&r2);
}

/* The stale marker and NaN payloads survive decode and encode bit-exactly. */
static void test_stale_marker_bits(void **state)
{
    uint64_t bits[] = {PROMPB_STALE_NAN_BITS, UINT64_C(0x7ff8000000000001),
                       UINT64_C(0xfff8000000000000), UINT64_C(0x8000000000000000)};
    prompb_sample s[4];
    for (int i = 0; i < 4; i++) {
        memcpy(&s[i].value, &bits[i], 8);
        s[i].timestamp_ms = 1000 + i;
    }
    prompb_label l = {"__name__", "x", 8, 1};
    prompb_series_data sd = {&l, 1, s, 4};
    prompb_buf out = {0};
    assert_int_equal(prompb_write_encode_v1(&sd, 1, &out, NULL), 0);
    /* Serialized stale sample as the spec shows it. */
    const uint8_t stale[] = {0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0x10};
    assert_non_null(memmem(out.data, out.len, stale, sizeof(stale)));
    prompb_write_request r;
    prompb_write_request_init(&r);
    assert_int_equal(prompb_write_decode_v1(&r, out.data, out.len, NULL), 0);
    for (int i = 0; i < 4; i++) {
        uint64_t got;
        memcpy(&got, &r.samples[i].value, 8);
        assert_true(got == bits[i]);
    }
    Prometheus__WriteRequest *u =
        prometheus__write_request__unpack(NULL, out.len, (uint8_t *)out.data);
    uint64_t ref;
    memcpy(&ref, &u->timeseries[0]->samples[0]->value, 8);
    assert_true(ref == PROMPB_STALE_NAN_BITS);
    prometheus__write_request__free_unpacked(u, NULL);
    prompb_write_request_free(&r);
    prompb_buf_free(&out);
}

/* Decoding every prefix of valid requests never crashes or reads past the
 * end (ASan), and agrees with protoc-c whenever both accept. */
static void test_truncation_every_offset(void **state)
{
    uint64_t rng = 4242;
    ref_shape sh = {4, 6, 4, 1};
    prompb_write_request r;
    prompb_write_request_init(&r);
    for (int it = 0; it < 40; it++) {
        ref_arena a = {0};
        size_t len;
        uint8_t *b;
        int v2 = it & 1;
        Prometheus__WriteRequest *w1 = NULL;
        Io__Prometheus__Write__V2__Request *w2 = NULL;
        if (v2) {
            w2 = ref_random_v2(&a, &rng, &sh);
            b = ref_pack(&w2->base, &len);
        } else {
            w1 = ref_random_v1(&a, &rng, &sh);
            b = ref_pack(&w1->base, &len);
        }
        for (size_t cut = 0; cut <= len; cut++) {
            uint8_t *pre = malloc(cut ? cut : 1);   /* exact size: ASan sees overreads */
            memcpy(pre, b, cut);
            prompb_error err;
            int rc = v2 ? prompb_write_decode_v2(&r, pre, cut, &err)
                        : prompb_write_decode_v1(&r, pre, cut, &err);
            if (rc) {
                assert_int_equal(rc, -EINVAL);
                assert_true(err.code == PROMPB_ERR_PROTOBUF);
                assert_non_null(strstr(err.msg, "invalid protobuf"));
                assert_int_equal(r.series_count, 0);
            } else {
                prompb_validate(&r, 0, NULL, NULL);
                char why[200];
                if (v2) {
                    Io__Prometheus__Write__V2__Request *u =
                        io__prometheus__write__v2__request__unpack(NULL, cut, pre);
                    if (u) {
                        if (ref_compare_v2(&r, u, why, sizeof(why)))
                            fail_msg("cut %zu: %s", cut, why);
                        io__prometheus__write__v2__request__free_unpacked(u, NULL);
                    }
                } else {
                    Prometheus__WriteRequest *u =
                        prometheus__write_request__unpack(NULL, cut, pre);
                    if (u) {
                        if (ref_compare_v1(&r, u, why, sizeof(why)))
                            fail_msg("cut %zu: %s", cut, why);
                        prometheus__write_request__free_unpacked(u, NULL);
                    }
                }
            }
            free(pre);
        }
        free(b);
        ref_arena_free(&a);
    }
    prompb_write_request_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_unusual_encodings),
        cmocka_unit_test(test_warm_growth),
        cmocka_unit_test(test_differential_v1),
        cmocka_unit_test(test_differential_v2),
        cmocka_unit_test(test_encoder_roundtrip),
        cmocka_unit_test(test_encoder_v2_roundtrip),
        cmocka_unit_test(test_incremental_encoder),
        cmocka_unit_test(test_stale_marker_bits),
        cmocka_unit_test(test_truncation_every_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
