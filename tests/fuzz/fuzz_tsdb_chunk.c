/* Fuzz target: chunk-level parsers of block files. The first byte selects:
 *   0: XOR chunk decoder + re-encoding round trip (decoded samples must
 *      re-encode to a chunk that decodes to the same samples)
 *   1: sample iterator over the rest split into two overlapping chunks
 *   2: chunk segment file lookup (refs from the first 8 bytes)
 *   3: tombstones file, 4: meta.json
 * Must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_xor.h"
#include "chunks_file.h"
#include "meta.h"
#include "tombstones.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void xor_roundtrip(const uint8_t *p, size_t n)
{
    tsdb_xor_dec d;
    if (tsdb_xor_dec_init(&d, p, n))
        return;
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    int64_t ts[64];
    uint64_t vs[64];
    size_t k = 0;
    int64_t t;
    double v;
    int rc;
    while ((rc = tsdb_xor_dec_next(&d, &t, &v)) == 1) {
        if (k < 64) {
            ts[k] = t;
            memcpy(&vs[k], &v, 8);
        }
        k++;
        if (tsdb_xor_enc_append(&e, t, v))
            abort();
    }
    if (rc == 0) {
        uint32_t len;
        const uint8_t *b = tsdb_xor_enc_bytes(&e, &len);
        tsdb_xor_dec d2;
        if (k && tsdb_xor_dec_init(&d2, b, len))
            abort();
        for (size_t i = 0; i < k && i < 64; i++) {
            if (tsdb_xor_dec_next(&d2, &t, &v) != 1 || t != ts[i] || memcmp(&v, &vs[i], 8))
                abort();
        }
        tsdb_xor_enc re;
        if (tsdb_xor_enc_resume(&re, p, n) == 0) {
            (void)tsdb_xor_enc_append(&re, 1, 1.0);
            tsdb_xor_enc_free(&re);
        }
    }
    tsdb_xor_enc_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 5;
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 1, n);
    switch (mode) {
    case 0:
        xor_roundtrip(p, n);
        break;
    case 1: {
        size_t h = n / 2;
        tsdb_chunk cs[2] = {
            {.mint = 0, .maxt = INT64_MAX / 2, .data = p, .len = (uint32_t)h, .encoding = TSDB_ENC_XOR},
            {.mint = 100, .maxt = INT64_MAX, .data = p + h, .len = (uint32_t)(n - h), .encoding = TSDB_ENC_XOR},
        };
        tsdb_sample_iter it;
        int64_t t;
        double v;
        tsdb_sample_iter_init(&it, cs, 2, INT64_MIN, INT64_MAX);
        while (tsdb_sample_iter_next(&it, &t, &v) == 1)
            ;
        tsdb_sample_iter_free(&it);
        tsdb_sample_iter_init(&it, cs, 1, -1000, 1000000);
        (void)tsdb_sample_iter_seek(&it, 500, &t, &v);
        while (tsdb_sample_iter_next(&it, &t, &v) == 1)
            ;
        tsdb_sample_iter_free(&it);
        break;
    }
    case 2: {
        if (n < 8)
            break;
        tsdb_mmap seg = {.p = p + 8, .len = n - 8};
        tsdb_chunkr r = {.segs = &seg, .n = 1};
        uint64_t ref;
        memcpy(&ref, p, 8);
        tsdb_chunk c;
        for (int i = 0; i < 4; i++) {
            uint64_t rr = i == 0 ? ref : (ref & 0xffffffffu) % (seg.len + 1) + (uint64_t)i;
            if (tsdb_chunkr_get(&r, rr, true, &c) == 0)
                xor_roundtrip(c.data, c.len);
        }
        break;
    }
    case 3: {
        tsdb_tombstone *t;
        size_t nt;
        if (tsdb_tombstones_parse(p, n, &t, &nt) == 0)
            free(t);
        break;
    }
    case 4: {
        tsdb_block_meta m;
        char err[256];
        if (tsdb_meta_parse((const char *)p, n, &m, err, sizeof(err)) == 0)
            tsdb_meta_free(&m);
        break;
    }
    }
    free(p);
    return 0;
}
