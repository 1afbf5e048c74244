/* WAL replay on open: the newest checkpoint, then the segments after it, into
 * the head. A corrupt or torn segment is truncated after its last good
 * record and later segments are removed, with a warning: never a refusal to
 * start. Single-threaded (runs inside tsdb_open). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"

typedef struct alias {
    uint64_t ref;
    head_series *s;   /* NULL: the series was refused (limits) */
} alias;

typedef struct rctx {
    tsdb_db *db;
    head *h;
    alias *al;        /* open addressing by ref; rare (duplicate/remapped refs) */
    size_t alcap, aln;
    uint64_t unknown, rejected, samples, refused, badrec;
    int64_t mint, maxt;
} rctx;

static size_t al_slot(const rctx *c, uint64_t ref)
{
    return (size_t)((ref * 0x9E3779B97F4A7C15ULL) >> 20) & (c->alcap - 1);
}

static alias *al_find(rctx *c, uint64_t ref)
{
    if (!c->aln)
        return NULL;
    for (size_t j = al_slot(c, ref); c->al[j].ref; j = (j + 1) & (c->alcap - 1))
        if (c->al[j].ref == ref)
            return &c->al[j];
    return NULL;
}

static int al_put(rctx *c, uint64_t ref, head_series *s)
{
    alias *e = al_find(c, ref);
    if (e) {
        e->s = s;
        return 0;
    }
    if ((c->aln + 1) * 2 > c->alcap) {
        size_t ncap = c->alcap ? c->alcap * 2 : 64;
        alias *old = c->al;
        size_t ocap = c->alcap;
        c->al = calloc(ncap, sizeof(alias));
        if (!c->al) {
            c->al = old;
            return -ENOMEM;
        }
        c->alcap = ncap;
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i].ref)
                continue;
            size_t j = al_slot(c, old[i].ref);
            while (c->al[j].ref)
                j = (j + 1) & (ncap - 1);
            c->al[j] = old[i];
        }
        free(old);
    }
    size_t j = al_slot(c, ref);
    while (c->al[j].ref)
        j = (j + 1) & (c->alcap - 1);
    c->al[j] = (alias){ref, s};
    c->aln++;
    return 0;
}

static int on_series(void *ctx, uint64_t ref, const labels_label *ls, size_t n)
{
    rctx *c = ctx;
    head_series *s;
    bool created;
    if (ref == 0)
        return 0;
    int rc = tsdb_head_get_or_create(c->h, ls, n, ref, &s, &created);
    if (rc == -EEXIST) /* ref taken by other labels: give this series a new id */
        rc = tsdb_head_get_or_create(c->h, ls, n, 0, &s, &created);
    if (rc == TSDB_ERR_LIMIT || rc == -EINVAL) {
        c->refused++;
        return al_put(c, ref, NULL);
    }
    if (rc < 0)
        return rc;
    if (s->ref == ref)
        atomic_store(&s->logged, 1);
    else
        return al_put(c, ref, s);
    return 0;
}

static int on_sample(void *ctx, uint64_t ref, int64_t t, double v)
{
    rctx *c = ctx;
    alias *a = al_find(c, ref);
    head_series *s = a ? a->s : tsdb_head_by_ref(c->h, ref);
    if (!s) {
        if (!a)
            c->unknown++;
        return 0;
    }
    head_stripe *st = head_stripe_of(c->h, s->hash);
    pthread_mutex_lock(&st->mu);
    int rc = tsdb_head_series_append(c->h, s, t, v);
    pthread_mutex_unlock(&st->mu);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        c->rejected++;
        return 0;
    }
    c->samples++;
    if (t < c->mint)
        c->mint = t;
    if (t > c->maxt)
        c->maxt = t;
    return 0;
}

static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
    rctx *c = ctx;
    int rc = 0;
    if (len == 0)
        return 0;
    switch (rec[0]) {
    case WAL_REC_SERIES:
        rc = tsdb_wal_dec_series(rec, len, on_series, c);
        break;
    case WAL_REC_SAMPLES:
        rc = tsdb_wal_dec_samples(rec, len, on_sample, c);
        break;
    default:
        return 0; /* record types we do not write (tombstones, exemplars, ...) */
    }
    if (rc == TSDB_ERR_CORRUPT) { /* checksum was fine: skip the record, keep going */
        c->badrec++;
        return 0;
    }
    return rc;
}

/* Replays one segment file; returns 0, 1 when it was corrupt (and has been
 * truncated when `repair`), or <0. */
static int replay_file(rctx *c, const char *path, bool repair)
{
    tsdb_mmap m;
    int rc = tsdb_mmap_open(&m, path);
    if (rc < 0) {
        tsdb_db_logf(c->db, TSDB_LOG_WARN, "WAL: cannot read %s: %s", path, strerror(-rc));
        return 1;
    }
    size_t good = 0;
    char why[160] = "";
    rc = tsdb_wal_parse_segment(m.p, m.len, on_record, c, &good, why, sizeof(why));
    size_t len = m.len;
    tsdb_mmap_close(&m);
    if (rc == TSDB_ERR_CORRUPT) {
        tsdb_db_logf(c->db, TSDB_LOG_WARN, "WAL: %s: %s; %s at byte %zu of %zu", path, why,
                repair ? "truncating" : "ignoring the rest", good, len);
        if (repair && truncate(path, (off_t)good) < 0)
            tsdb_db_logf(c->db, TSDB_LOG_ERROR, "WAL: truncate %s: %s", path, strerror(errno));
        return 1;
    }
    return rc;
}

int tsdb_db_replay_wal(tsdb_db *db, int64_t *last_seg, char *err, size_t errlen)
{
    rctx c = {.db = db, .h = &db->head, .mint = INT64_MAX, .maxt = INT64_MIN};
    char path[4200], cp[4096];
    uint32_t cpn = 0, *segs = NULL;
    size_t nseg = 0;
    int rc = 0;
    *last_seg = -1;
    if (tsdb_wal_last_checkpoint(db->wal_dir, &cpn, cp, sizeof(cp))) {
        *last_seg = cpn;
        uint32_t *cs = NULL;
        size_t ncs = 0;
        if ((rc = tsdb_wal_list_segments(cp, &cs, &ncs)) < 0)
            goto out;
        for (size_t i = 0; i < ncs && rc == 0; i++) {
            snprintf(path, sizeof(path), "%s/%08u", cp, cs[i]);
            rc = replay_file(&c, path, false);
        }
        free(cs);
        if (rc < 0)
            goto out;
        rc = 0;
    }
    if ((rc = tsdb_wal_list_segments(db->wal_dir, &segs, &nseg)) < 0)
        goto out;
    bool broken = false;
    for (size_t i = 0; i < nseg; i++) {
        snprintf(path, sizeof(path), "%s/%08u", db->wal_dir, segs[i]);
        if (*last_seg >= 0 && segs[i] <= (uint32_t)*last_seg && !broken) {
            unlink(path); /* covered by the checkpoint; a crash left it behind */
            continue;
        }
        if (broken) {
            tsdb_db_logf(db, TSDB_LOG_WARN, "WAL: removing %s after a corrupt segment", path);
            unlink(path);
            continue;
        }
        rc = replay_file(&c, path, true);
        if (rc < 0)
            goto out;
        if (rc == 1)
            broken = true;
        rc = 0;
        *last_seg = segs[i];
    }
    if (c.samples)
        tsdb_head_note_range(&db->head, c.mint, c.maxt);
    atomic_fetch_add(&db->head.samples, c.samples);
    if (c.unknown || c.rejected || c.refused || c.badrec)
        tsdb_db_logf(db, TSDB_LOG_WARN,
                "WAL replay: %llu samples of unknown series, %llu rejected samples, "
                "%llu series refused by limits, %llu undecodable records",
                (unsigned long long)c.unknown, (unsigned long long)c.rejected,
                (unsigned long long)c.refused, (unsigned long long)c.badrec);
    tsdb_db_logf(db, TSDB_LOG_INFO, "WAL replay: %llu samples, %zu series",
            (unsigned long long)c.samples, atomic_load(&db->head.nseries));
out:
    if (rc < 0)
        snprintf(err, errlen, "WAL replay: %s", tsdb_strerror(rc));
    free(segs);
    free(c.al);
    return rc;
}
