/* WAL checkpoint (after Prometheus wlog/checkpoint.go): the previous
 * checkpoint plus segments up to N are filtered into checkpoint.N (series
 * still in the head, samples at or after the head's lower bound), written to
 * checkpoint.N.tmp and renamed; then the inputs are deleted. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wal.h"

#define CP_FLUSH_BYTES (1u << 20)

typedef struct cp_ctx {
    wal out;
    bool (*keep)(void *ctx, uint64_t ref);
    void *kctx;
    int64_t mint;
    tsdb_buf series, samples;
    size_t nsamples;
    int err;
} cp_ctx;

static int flush(cp_ctx *c, bool force)
{
    if (c->series.err || c->samples.err)
        return -ENOMEM;
    if (!force && c->series.n < CP_FLUSH_BYTES && c->samples.n < CP_FLUSH_BYTES && c->nsamples < 10000)
        return 0;
    tsdb_buf recs[2] = {c->series, c->samples};
    int rc = tsdb_wal_log(&c->out, NULL, NULL, NULL, recs, 2);
    c->series.n = c->samples.n = 0;
    c->nsamples = 0;
    return rc;
}

static int cp_series(void *ctx, uint64_t ref, const labels_label *ls, size_t n)
{
    cp_ctx *c = ctx;
    if (!c->keep(c->kctx, ref))
        return 0;
    tsdb_wal_enc_series(&c->series, ref, ls, n);
    return flush(c, false);
}

static int cp_sample(void *ctx, uint64_t ref, int64_t t, double v)
{
    cp_ctx *c = ctx;
    if (t < c->mint || !c->keep(c->kctx, ref))
        return 0;
    tsdb_wal_enc_sample(&c->samples, ref, t, v);
    c->nsamples++;
    return flush(c, false);
}

static int cp_record(void *ctx, const uint8_t *rec, size_t len)
{
    cp_ctx *c = ctx;
    int rc = 0;
    if (len == 0)
        return 0;
    if (rec[0] == WAL_REC_SERIES) {
        /* series first: a samples record of the same input may reference them */
        if ((rc = flush(c, c->samples.n > 0)) < 0)
            return rc;
        rc = tsdb_wal_dec_series(rec, len, cp_series, c);
    } else if (rec[0] == WAL_REC_SAMPLES) {
        rc = tsdb_wal_dec_samples(rec, len, cp_sample, c);
    }
    return rc == TSDB_ERR_CORRUPT ? 0 : rc;
}

static int cp_file(cp_ctx *c, const char *path)
{
    tsdb_mmap m;
    if (tsdb_mmap_open(&m, path) < 0)
        return 0; /* unreadable input: what replay would have skipped too */
    size_t good;
    char why[128];
    int rc = tsdb_wal_parse_segment(m.p, m.len, cp_record, c, &good, why, sizeof(why));
    tsdb_mmap_close(&m);
    return rc == TSDB_ERR_CORRUPT ? 0 : rc;
}

static void remove_old(const char *dir, uint32_t upto)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4200];
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        snprintf(path, sizeof(path), "%s/%s", dir, s);
        if (strlen(s) == 8 && strspn(s, "0123456789") == 8 && strtoul(s, NULL, 10) <= upto)
            unlink(path);
        else if (strncmp(s, "checkpoint.", 11) == 0 && strspn(s + 11, "0123456789") == 8 &&
                 (strtoul(s + 11, NULL, 10) < upto || strcmp(s + 19, ".tmp") == 0))
            tsdb_rm_rf(path);
    }
    closedir(d);
}

int tsdb_wal_checkpoint(const char *dir, uint32_t upto, bool (*keep)(void *ctx, uint64_t ref), void *kctx,
                   int64_t mint, char *err, size_t errlen)
{
    char prev[4096], tmp[4200], fin[4200], path[4200];
    uint32_t pn = 0, *segs = NULL;
    size_t nseg = 0;
    int has_prev = tsdb_wal_last_checkpoint(dir, &pn, prev, sizeof(prev));
    if (has_prev && pn > upto)
        return 0; /* already done */
    snprintf(tmp, sizeof(tmp), "%s/checkpoint.%08u.tmp", dir, upto);
    snprintf(fin, sizeof(fin), "%s/checkpoint.%08u", dir, upto);
    tsdb_rm_rf(tmp);
    cp_ctx c = {.keep = keep, .kctx = kctx, .mint = mint};
    int rc = tsdb_wal_open(&c.out, tmp, 0, 128u << 20, TSDB_FSYNC_NEVER, 0, err, errlen);
    if (rc < 0)
        return rc;
    if (has_prev) {
        uint32_t *cs = NULL;
        size_t ncs = 0;
        rc = tsdb_wal_list_segments(prev, &cs, &ncs);
        for (size_t i = 0; rc == 0 && i < ncs; i++) {
            snprintf(path, sizeof(path), "%s/%08u", prev, cs[i]);
            rc = cp_file(&c, path);
        }
        free(cs);
    }
    if (rc == 0)
        rc = tsdb_wal_list_segments(dir, &segs, &nseg);
    for (size_t i = 0; rc == 0 && i < nseg; i++) {
        if (segs[i] > upto || (has_prev && segs[i] <= pn))
            continue;
        snprintf(path, sizeof(path), "%s/%08u", dir, segs[i]);
        rc = cp_file(&c, path);
    }
    free(segs);
    if (rc == 0)
        rc = flush(&c, true);
    if (rc == 0)
        rc = tsdb_wal_sync(&c.out);
    tsdb_wal_close(&c.out);
    tsdb_buf_free(&c.series);
    tsdb_buf_free(&c.samples);
    if (rc == 0 && (tsdb_fsync_dir(tmp) < 0 || rename(tmp, fin) < 0 || tsdb_fsync_dir(dir) < 0))
        rc = TSDB_ERR_IO;
    if (rc < 0) {
        snprintf(err, errlen, "WAL checkpoint %s: %s", fin, tsdb_strerror(rc));
        tsdb_rm_rf(tmp);
        return rc;
    }
    remove_old(dir, upto);
    return 0;
}
