/* XOR chunk, CRC32C and sample iterator tests. Expected bytes come from
 * Prometheus (storage/remote/read_handler_test.go) and the format fact sheet's
 * vectors, not from our own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tsdb/tsdb.h>

#include "chunk_xor.h"
#include "crc32c.h"

static uint64_t bits_of(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}
static double from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(tsdb_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(tsdb_crc32c(0, "", 0), 0);
    /* Chaining and every alignment/length agree with one shot. */
    uint8_t buf[300];
    for (int i = 0; i < 300; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= 300; len += 13) {
            uint32_t one = tsdb_crc32c(0, buf + off, len);
            size_t h = len / 3;
            uint32_t two = tsdb_crc32c(tsdb_crc32c(0, buf + off, h), buf + off + h, len - h);
            assert_int_equal(one, two);
        }
    /* RFC 3720 B.4: 32 bytes of zeros -> 0x8A9136AA. */
    uint8_t z[32] = {0};
    assert_int_equal(tsdb_crc32c(0, z, 32), 0x8A9136AAu);
}

static void check_vector(const int64_t *ts, const double *vs, size_t n, const uint8_t *want,
                         size_t wantlen)
{
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tsdb_xor_enc_append(&e, ts[i], vs[i]), 0);
    uint32_t len;
    const uint8_t *b = tsdb_xor_enc_bytes(&e, &len);
    assert_int_equal(len, wantlen);
    assert_memory_equal(b, want, wantlen);
    assert_int_equal(tsdb_xor_enc_count(&e), n);

    tsdb_xor_dec d;
    assert_int_equal(tsdb_xor_dec_init(&d, want, wantlen), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t t;
        double v;
        assert_int_equal(tsdb_xor_dec_next(&d, &t, &v), 1);
        assert_int_equal(t, ts[i]);
        assert_int_equal(bits_of(v), bits_of(vs[i]));
    }
    int64_t t;
    double v;
    assert_int_equal(tsdb_xor_dec_next(&d, &t, &v), 0);
    tsdb_xor_enc_free(&e);
}

static void test_xor_vectors(void **state)
{
    (void)state;
    {
        int64_t ts[] = {7200000};
        double vs[] = {12000.0};
        uint8_t want[] = {0x00, 0x01, 0x80, 0xf4, 0xee, 0x06, 0x40, 0xc7, 0x70, 0, 0, 0, 0, 0};
        check_vector(ts, vs, 1, want, sizeof(want));
    }
    {
        int64_t ts[] = {1000, 2000, 3000, 4005, 5000, 16000, 100000};
        double vs[] = {1, 1, 2, 3, 3, -1.5, 0.1};
        uint8_t want[] = {0x00, 0x07, 0xd0, 0x0f, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00,
                          0x00, 0xe8, 0x07, 0x30, 0x97, 0xff, 0xe0, 0x01, 0x76, 0x03, 0xbf,
                          0xf6, 0x61, 0x38, 0xae, 0x03, 0x3f, 0xff, 0x84, 0x74, 0xa3, 0x07,
                          0xf0, 0x08, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x40};
        check_vector(ts, vs, 7, want, sizeof(want));
    }
    {
        int64_t ts[] = {-5, 10};
        double vs[] = {0.0, 7.5};
        uint8_t want[] = {0x00, 0x02, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f, 0xc2, 0x74, 0x01, 0xe0};
        check_vector(ts, vs, 2, want, sizeof(want));
    }
}

/* Old Prometheus (< 3.0) left a trailing zero byte: readers must ignore it. */
static void test_xor_old_padding(void **state)
{
    (void)state;
    uint8_t old[] = {0x00, 0x01, 0x80, 0xf4, 0xee, 0x06, 0x40, 0xc7, 0x70, 0, 0, 0, 0, 0, 0};
    tsdb_xor_dec d;
    assert_int_equal(tsdb_xor_dec_init(&d, old, sizeof(old)), 0);
    int64_t t;
    double v;
    assert_int_equal(tsdb_xor_dec_next(&d, &t, &v), 1);
    assert_int_equal(t, 7200000);
    assert_true(v == 12000.0);
    assert_int_equal(tsdb_xor_dec_next(&d, &t, &v), 0);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xr(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double special(uint64_t r)
{
    switch (r % 10) {
    case 0: return from_bits(TSDB_STALE_NAN_BITS);
    case 1: return NAN;
    case 2: return INFINITY;
    case 3: return -INFINITY;
    case 4: return -1e308;
    case 5: return 1.7976931348623157e308;
    case 6: return -0.0;
    case 7: return 5e-324;
    case 8: return from_bits(xr()); /* any bit pattern, including odd NaNs */
    default: return (double)(int64_t)(xr() % 1000) - 500;
    }
}

/* Random series with every timestamp-delta class and value kind round-trip
 * bit-exactly; resume() continues an existing chunk identically. */
static void test_xor_roundtrip(void **state)
{
    (void)state;
    enum { N = 3000 };
    static int64_t ts[N];
    static double vs[N];
    for (int round = 0; round < 50; round++) {
        size_t n = 1 + xr() % N;
        int64_t t = (int64_t)(xr() % 2000000000000ull) - 1000;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = xr();
            switch (r % 6) {
            case 0: t += 15000; break;
            case 1: t += 15000 + (int64_t)(xr() % 17) - 8; break;
            case 2: t += (int64_t)(xr() % 100000); break;
            case 3: t += (int64_t)(xr() % 1000000); break;
            case 4: t += (int64_t)(xr() % 100000000000ull); break;
            default: t += 1; break;
            }
            ts[i] = t;
            vs[i] = (r >> 8) % 3 ? (i ? vs[i - 1] + (double)(xr() % 100) : 0) : special(xr());
        }
        tsdb_xor_enc e, e2;
        tsdb_xor_enc_init(&e);
        size_t half = n / 2;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(tsdb_xor_enc_append(&e, ts[i], vs[i]), 0);
            if (i + 1 == half) {
                uint32_t l;
                const uint8_t *b = tsdb_xor_enc_bytes(&e, &l);
                assert_int_equal(tsdb_xor_enc_resume(&e2, b, l), 0);
            }
        }
        if (half == 0)
            tsdb_xor_enc_init(&e2);
        for (size_t i = half; i < n; i++)
            assert_int_equal(tsdb_xor_enc_append(&e2, ts[i], vs[i]), 0);
        uint32_t len, len2;
        const uint8_t *b = tsdb_xor_enc_bytes(&e, &len);
        const uint8_t *b2 = tsdb_xor_enc_bytes(&e2, &len2);
        assert_int_equal(len, len2);
        assert_memory_equal(b, b2, len);

        tsdb_xor_dec d;
        assert_int_equal(tsdb_xor_dec_init(&d, b, len), 0);
        for (size_t i = 0; i < n; i++) {
            int64_t tt;
            double vv;
            assert_int_equal(tsdb_xor_dec_next(&d, &tt, &vv), 1);
            assert_int_equal(tt, ts[i]);
            assert_int_equal(bits_of(vv), bits_of(vs[i]));
        }
        int64_t tt;
        double vv;
        assert_int_equal(tsdb_xor_dec_next(&d, &tt, &vv), 0);
        /* Every truncation decodes a prefix or reports corruption, never overreads. */
        for (uint32_t cut = 0; cut < len; cut += 1 + len / 20) {
            uint8_t *c = malloc(cut ? cut : 1);
            memcpy(c, b, cut);
            if (tsdb_xor_dec_init(&d, c, cut) == 0) {
                int rc;
                size_t k = 0;
                while ((rc = tsdb_xor_dec_next(&d, &tt, &vv)) == 1)
                    k++;
                assert_true(rc == TSDB_ERR_CORRUPT && k < n);
            }
            free(c);
        }
        uint32_t tl;
        uint8_t *taken = tsdb_xor_enc_take(&e, &tl);
        assert_int_equal(tl, len);
        free(taken);
        assert_null(tsdb_xor_enc_bytes(&e, &tl));
        tsdb_xor_enc_free(&e2);
    }
}

/* Resuming a chunk whose values were all equal (no XOR window yet) still
 * continues byte-identically. */
static void test_xor_resume_constant(void **state)
{
    (void)state;
    for (int cut = 1; cut <= 4; cut++) {
        tsdb_xor_enc a, b;
        tsdb_xor_enc_init(&a);
        for (int i = 0; i < 8; i++) {
            assert_int_equal(tsdb_xor_enc_append(&a, 1000 * i, i < 5 ? 42.0 : 42.5 + i), 0);
            if (i + 1 == cut) {
                uint32_t l;
                const uint8_t *p = tsdb_xor_enc_bytes(&a, &l);
                assert_int_equal(tsdb_xor_enc_resume(&b, p, l), 0);
            }
        }
        for (int i = cut; i < 8; i++)
            assert_int_equal(tsdb_xor_enc_append(&b, 1000 * i, i < 5 ? 42.0 : 42.5 + i), 0);
        uint32_t la, lb;
        const uint8_t *pa = tsdb_xor_enc_bytes(&a, &la), *pb = tsdb_xor_enc_bytes(&b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(pa, pb, la);
        tsdb_xor_enc_free(&a);
        tsdb_xor_enc_free(&b);
    }
}

static void test_xor_limit(void **state)
{
    (void)state;
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    for (unsigned i = 0; i < TSDB_XOR_MAX_SAMPLES; i++)
        assert_int_equal(tsdb_xor_enc_append(&e, i, 1.0), 0);
    assert_int_equal(tsdb_xor_enc_append(&e, 70000, 1.0), -ERANGE);
    assert_int_equal(tsdb_xor_enc_count(&e), 65535);
    tsdb_xor_enc_free(&e);
    /* Per-series encoder state stays small (the head keeps one per series). */
    assert_true(sizeof(tsdb_xor_enc) <= 48);
}

/* ---- sample iterator ---------------------------------------------------------- */

static tsdb_chunk mk(const int64_t *ts, const double *vs, size_t n)
{
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tsdb_xor_enc_append(&e, ts[i], vs[i]), 0);
    tsdb_chunk c = {.mint = ts[0], .maxt = ts[n - 1], .encoding = TSDB_ENC_XOR};
    c.data = tsdb_xor_enc_take(&e, &c.len);
    return c;
}

static size_t drain(tsdb_sample_iter *it, int64_t *ts, double *vs)
{
    size_t n = 0;
    int rc;
    while ((rc = tsdb_sample_iter_next(it, &ts[n], &vs[n])) == 1)
        n++;
    assert_int_equal(rc, 0);
    return n;
}

static void test_iter_plain(void **state)
{
    (void)state;
    int64_t t1[] = {10, 20, 30}, t2[] = {40, 50}, t3[] = {60, 70, 80};
    double v1[] = {1, 2, 3}, v2[] = {4, 5}, v3[] = {6, 7, 8};
    tsdb_chunk cs[] = {mk(t1, v1, 3), mk(t2, v2, 2), mk(t3, v3, 3)};
    int64_t ts[16];
    double vs[16];
    tsdb_sample_iter it;
    tsdb_sample_iter_init(&it, cs, 3, INT64_MIN, INT64_MAX);
    assert_int_equal(drain(&it, ts, vs), 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ts[i], 10 * (i + 1));
        assert_true(vs[i] == i + 1);
    }
    tsdb_sample_iter_free(&it);

    tsdb_sample_iter_init(&it, cs, 3, 25, 60);
    assert_int_equal(drain(&it, ts, vs), 4);
    assert_int_equal(ts[0], 30);
    assert_int_equal(ts[3], 60);
    tsdb_sample_iter_free(&it);

    /* seek: forward only, returns the current sample if already there. */
    int64_t t;
    double v;
    tsdb_sample_iter_init(&it, cs, 3, 0, 1000);
    assert_int_equal(tsdb_sample_iter_seek(&it, 45, &t, &v), 1);
    assert_int_equal(t, 50);
    assert_int_equal(tsdb_sample_iter_seek(&it, 12, &t, &v), 1);
    assert_int_equal(t, 50);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
    assert_int_equal(t, 60);
    assert_int_equal(tsdb_sample_iter_seek(&it, 80, &t, &v), 1);
    assert_int_equal(t, 80);
    assert_int_equal(tsdb_sample_iter_seek(&it, 81, &t, &v), 0);
    tsdb_sample_iter_free(&it);

    tsdb_sample_iter_init(&it, cs, 0, 0, 1000);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
    tsdb_sample_iter_free(&it);
    for (int i = 0; i < 3; i++)
        free((void *)cs[i].data);
}

static void test_iter_overlap(void **state)
{
    (void)state;
    /* Chunk 2 overlaps 1 and 3 (transitively one group); later chunk wins. */
    int64_t t1[] = {10, 20, 30, 40}, t2[] = {15, 20, 50}, t3[] = {50, 60}, t4[] = {100};
    double v1[] = {1, 2, 3, 4}, v2[] = {-1, -2, -5}, v3[] = {-50, 6}, v4[] = {10};
    tsdb_chunk cs[] = {mk(t1, v1, 4), mk(t2, v2, 3), mk(t3, v3, 2), mk(t4, v4, 1)};
    int64_t ts[16];
    double vs[16];
    tsdb_sample_iter it;
    tsdb_sample_iter_init(&it, cs, 4, INT64_MIN, INT64_MAX);
    size_t n = drain(&it, ts, vs);
    int64_t wt[] = {10, 15, 20, 30, 40, 50, 60, 100};
    double wv[] = {1, -1, -2, 3, 4, -50, 6, 10};
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ts[i], wt[i]);
        assert_true(vs[i] == wv[i]);
    }
    tsdb_sample_iter_free(&it);

    int64_t t;
    double v;
    tsdb_sample_iter_init(&it, cs, 4, 16, 55);
    assert_int_equal(tsdb_sample_iter_seek(&it, 35, &t, &v), 1);
    assert_int_equal(t, 40);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 1);
    assert_int_equal(t, 50);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), 0);
    tsdb_sample_iter_free(&it);
    for (int i = 0; i < 4; i++)
        free((void *)cs[i].data);
}

static void test_iter_corrupt(void **state)
{
    (void)state;
    uint8_t bad[] = {0x00, 0x05, 0x02};
    tsdb_chunk c = {.mint = 0, .maxt = 10, .data = bad, .len = sizeof(bad), .encoding = TSDB_ENC_XOR};
    tsdb_sample_iter it;
    int64_t t;
    double v;
    tsdb_sample_iter_init(&it, &c, 1, 0, 100);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), TSDB_ERR_CORRUPT);
    assert_int_equal(tsdb_sample_iter_next(&it, &t, &v), TSDB_ERR_CORRUPT);
    tsdb_sample_iter_free(&it);
    c.encoding = 7;
    tsdb_sample_iter_init(&it, &c, 1, 0, 100);
    assert_true(tsdb_sample_iter_next(&it, &t, &v) < 0);
    tsdb_sample_iter_free(&it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_xor_vectors),
        cmocka_unit_test(test_xor_old_padding),
        cmocka_unit_test(test_xor_roundtrip),
        cmocka_unit_test(test_xor_resume_constant),
        cmocka_unit_test(test_xor_limit),
        cmocka_unit_test(test_iter_plain),
        cmocka_unit_test(test_iter_overlap),
        cmocka_unit_test(test_iter_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
