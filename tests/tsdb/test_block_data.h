/* Shared by the format tests: generated series with awkward values, chunked
 * as the head does (120 samples), fed to tsdb_block_write. Header-only
 * (static functions); each test includes it once. */
#ifndef AION_TEST_BLOCK_DATA_H
#define AION_TEST_BLOCK_DATA_H

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tsdb/tsdb.h>

#include "blockio.h"
#include "chunk_xor.h"
#include "series_set.h"

/* Every helper may be unused by one of the tests including this header. */
#define TD_FN static __attribute__((unused))

typedef struct td_series {
    labels_label ls[4];
    size_t nls;
    int64_t *ts;
    double *vs;
    size_t n;
    tsdb_chunk *chunks;
    size_t nchunks;
} td_series;

typedef struct td_data {
    td_series *s;
    size_t n;
    int64_t mint, maxt; /* block range, maxt exclusive */
} td_data;

static uint64_t td_rng = 0x9E3779B97F4A7C15ull;
TD_FN uint64_t td_rand(void)
{
    td_rng ^= td_rng << 13;
    td_rng ^= td_rng >> 7;
    td_rng ^= td_rng << 17;
    return td_rng;
}

TD_FN double td_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* Byte-wise comparison as Prometheus labels.Compare. */
TD_FN int td_cmp_str(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}
TD_FN int td_cmp_series(const void *x, const void *y)
{
    const td_series *a = x, *b = y;
    for (size_t i = 0; i < a->nls && i < b->nls; i++) {
        int c = td_cmp_str(a->ls[i].name, a->ls[i].name_len, b->ls[i].name, b->ls[i].name_len);
        if (!c)
            c = td_cmp_str(a->ls[i].value, a->ls[i].value_len, b->ls[i].value, b->ls[i].value_len);
        if (c)
            return c;
    }
    return a->nls < b->nls ? -1 : a->nls > b->nls;
}

TD_FN void td_chunkify(td_series *s, size_t per_chunk)
{
    s->chunks = calloc(s->n / per_chunk + 2, sizeof(*s->chunks));
    s->nchunks = 0;
    for (size_t i = 0; i < s->n;) {
        tsdb_xor_enc e;
        tsdb_xor_enc_init(&e);
        size_t j = i;
        for (; j < s->n && j - i < per_chunk; j++)
            if (tsdb_xor_enc_append(&e, s->ts[j], s->vs[j]))
                abort();
        tsdb_chunk *c = &s->chunks[s->nchunks++];
        c->mint = s->ts[i];
        c->maxt = s->ts[j - 1];
        c->encoding = TSDB_ENC_XOR;
        c->data = tsdb_xor_enc_take(&e, &c->len);
        i = j;
    }
}

/* nseries series over [mint, mint + 2h): 15 s steps with jitter; values a
 * random walk with stale markers, NaN, +-Inf, negative and huge values. */
TD_FN void td_generate(td_data *d, size_t nseries, size_t nsamples, int64_t mint)
{
    static const char *names[] = {"aion_test_gauge", "aion_test_counter", "up"};
    d->s = calloc(nseries, sizeof(*d->s));
    d->n = nseries;
    d->mint = mint;
    d->maxt = mint + 7200000;
    for (size_t k = 0; k < nseries; k++) {
        td_series *s = &d->s[k];
        char *inst = malloc(32), *job = malloc(32);
        snprintf(inst, 32, "host-%zu:9100", k);
        snprintf(job, 32, k % 3 == 2 ? "caf\xc3\xa9 bar" : "job%zu", k % 3);
        s->ls[0] = labels_make("__name__", names[k % 3]);
        s->ls[1] = labels_make("instance", inst);
        s->ls[2] = labels_make("job", job);
        s->nls = 3;
        if (k % 4 == 1) {
            s->ls[3] = labels_make("zone", k % 8 == 1 ? "a" : "b");
            s->nls = 4;
        }
        s->n = nsamples;
        s->ts = malloc(nsamples * sizeof(int64_t));
        s->vs = malloc(nsamples * sizeof(double));
        int64_t t = mint + (int64_t)(td_rand() % 1000);
        double v = (double)(td_rand() % 1000);
        int64_t step = nsamples > 1 ? (7200000 - 2000) / (int64_t)nsamples : 1000;
        for (size_t i = 0; i < nsamples; i++) {
            s->ts[i] = t;
            t += step - 10 + (int64_t)(td_rand() % 20);
            uint64_t r = td_rand() % 40;
            double x;
            switch (r) {
            case 0: x = td_bits(TSDB_STALE_NAN_BITS); break;
            case 1: x = NAN; break;
            case 2: x = INFINITY; break;
            case 3: x = -INFINITY; break;
            case 4: x = -1.7976931348623157e308; break;
            case 5: x = 1.7976931348623157e308; break;
            case 6: x = -123456.789e-300; break;
            case 7: x = 4.9e-324; break;
            default:
                v += (double)(td_rand() % 1000) / 8.0;
                x = k % 3 == 1 ? v : -v;
            }
            s->vs[i] = x;
        }
        td_chunkify(s, 120);
    }
    qsort(d->s, d->n, sizeof(*d->s), td_cmp_series);
}

TD_FN void td_free(td_data *d)
{
    for (size_t k = 0; k < d->n; k++) {
        td_series *s = &d->s[k];
        free((void *)s->ls[1].value);
        free((void *)s->ls[2].value);
        for (size_t c = 0; c < s->nchunks; c++)
            free((void *)s->chunks[c].data);
        free(s->chunks);
        free(s->ts);
        free(s->vs);
    }
    free(d->s);
}

TD_FN int td_get(void *ctx, size_t i, tsdb_block_series *out)
{
    td_data *d = ctx;
    out->labels = d->s[i].ls;
    out->nlabels = d->s[i].nls;
    out->chunks = d->s[i].chunks;
    out->nchunks = d->s[i].nchunks;
    return 0;
}

TD_FN int td_write(td_data *d, const char *dir, char ulid[27], const tsdb_block_write_opts *o)
{
    tsdb_block_source src = {.nseries = d->n, .mint = d->mint, .maxt = d->maxt, .ctx = d, .get = td_get};
    char err[256] = "";
    int rc = tsdb_block_write(dir, &src, o, ulid, err, sizeof(err));
    if (rc)
        fprintf(stderr, "tsdb_block_write: %d %s\n", rc, err);
    return rc;
}

/* Formats a series as Prometheus prints it: {a="b", c="d"} (our values
 * need no escaping). */
TD_FN void td_format(const td_series *s, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "{");
    for (size_t i = 0; i < s->nls; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%.*s=\"%.*s\"", i ? ", " : "",
                              (int)s->ls[i].name_len, s->ls[i].name, (int)s->ls[i].value_len,
                              s->ls[i].value);
    snprintf(buf + o, len - o, "}");
}

TD_FN char *td_mkdtemp(void)
{
    char *p = strdup("/tmp/aion-tformat-XXXXXX");
    if (!mkdtemp(p))
        abort();
    return p;
}

TD_FN void td_rm_rf(const char *path)
{
    if (getenv("AION_TEST_KEEP")) { /* debugging: leave the files */
        fprintf(stderr, "kept %s\n", path);
        return;
    }
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", path);
}

/* Writes a tombstones file into the block dir deleting, for series k of d:
 * k%4==0: samples 10..20; k%4==1: nothing; k%4==2: everything before sample
 * 5 and from sample n-40 on; k%4==3: everything. Removes those samples from
 * d's expectations (ts/vs/n), not from its chunks. Needs the index refs,
 * which follow d's order. */
#include "index_read.h"
#include "tombstones.h"
TD_FN int td_tombstone(td_data *d, const char *blockdir)
{
    char path[4200], err[256];
    snprintf(path, sizeof(path), "%s/index", blockdir);
    tsdb_mmap m;
    tsdb_indexr r;
    tsdb_refs refs = {0};
    if (tsdb_mmap_open(&m, path) || tsdb_indexr_init(&r, m.p, m.len, err, sizeof(err)) ||
        tsdb_indexr_postings_at(&r, r.all_off, &refs) || refs.n != d->n)
        return -1;
    tsdb_tombstone t[64];
    size_t nt = 0;
    for (size_t k = 0; k < d->n && nt + 2 <= 64; k++) {
        td_series *s = &d->s[k];
        if (s->n < 60)
            return -1;
        int64_t lo[2], hi[2];
        size_t ni = 0;
        switch (k % 4) {
        case 0: lo[0] = s->ts[10]; hi[0] = s->ts[20]; ni = 1; break;
        case 2:
            lo[0] = INT64_MIN / 2; hi[0] = s->ts[4];
            lo[1] = s->ts[s->n - 40]; hi[1] = INT64_MAX / 2; ni = 2;
            break;
        case 3: lo[0] = d->mint; hi[0] = d->maxt; ni = 1; break;
        default: break;
        }
        for (size_t i = 0; i < ni; i++)
            t[nt++] = (tsdb_tombstone){refs.v[k], lo[i], hi[i]};
        size_t w = 0;
        for (size_t i = 0; i < s->n; i++) {
            bool del = false;
            for (size_t j = 0; j < ni; j++)
                del |= s->ts[i] >= lo[j] && s->ts[i] <= hi[j];
            if (!del) {
                s->ts[w] = s->ts[i];
                s->vs[w] = s->vs[i];
                w++;
            }
        }
        s->n = w;
    }
    tsdb_refs_free(&refs);
    tsdb_indexr_free(&r);
    tsdb_mmap_close(&m);
    uint64_t size;
    return tsdb_tombstones_write(blockdir, t, nt, false, &size);
}

#endif
