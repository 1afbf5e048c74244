/* tsdb_db: open/close, block list, block cutting from the head (the 1.5x
 * rule and alignment of Prometheus' db.go), WAL checkpointing, retention,
 * stats. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"


void tsdb_db_logf(const tsdb_db *db, tsdb_log_level lvl, const char *fmt, ...)
{
    if (!db->opts.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    db->opts.log(db->opts.log_ctx, lvl, buf);
}

/* ---- block list ---------------------------------------------------------------- */

void tsdb_db_block_unref(db_block *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    tsdb_block_close(b->b);
    if (atomic_load(&b->doomed))
        tsdb_rm_rf(b->dir);
    free(b->dir);
    free(b);
}

int tsdb_db_blocks_ref(tsdb_db *db, db_block ***out, size_t *n)
{
    pthread_mutex_lock(&db->blocks_mu);
    db_block **v = malloc((db->nblocks ? db->nblocks : 1) * sizeof(*v));
    if (!v) {
        pthread_mutex_unlock(&db->blocks_mu);
        return -ENOMEM;
    }
    for (size_t i = 0; i < db->nblocks; i++) {
        v[i] = db->blocks[i];
        atomic_fetch_add(&v[i]->refs, 1);
    }
    *n = db->nblocks;
    pthread_mutex_unlock(&db->blocks_mu);
    *out = v;
    return 0;
}

static int add_block(tsdb_db *db, const char *dir, char *err, size_t errlen)
{
    tsdb_block *b;
    int rc = tsdb_block_open(dir, &b, err, errlen);
    if (rc < 0)
        return rc;
    db_block *e = calloc(1, sizeof(*e));
    char *d = strdup(dir);
    pthread_mutex_lock(&db->blocks_mu);
    db_block **v = e && d ? realloc(db->blocks, (db->nblocks + 1) * sizeof(*v)) : NULL;
    if (!v) {
        pthread_mutex_unlock(&db->blocks_mu);
        free(e);
        free(d);
        tsdb_block_close(b);
        return -ENOMEM;
    }
    e->b = b;
    e->dir = d;
    atomic_store(&e->refs, 1);
    int64_t mint = tsdb_block_get_meta(b)->mint;
    size_t i = db->nblocks;
    while (i > 0 && tsdb_block_get_meta(v[i - 1]->b)->mint > mint) {
        v[i] = v[i - 1];
        i--;
    }
    v[i] = e;
    db->blocks = v;
    db->nblocks++;
    pthread_mutex_unlock(&db->blocks_mu);
    return 0;
}

static bool is_ulid_name(const char *s)
{
    if (strlen(s) != 26)
        return false;
    for (size_t i = 0; i < 26; i++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz", s[i]))
            return false;
    return true;
}

static int load_blocks(tsdb_db *db)
{
    DIR *d = opendir(db->dir);
    if (!d)
        return -errno;
    struct dirent *e;
    char path[4200], err[256];
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        snprintf(path, sizeof(path), "%s/%s", db->dir, e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".tmp") == 0) {
            tsdb_db_logf(db, TSDB_LOG_WARN, "removing leftover %s", path);
            tsdb_rm_rf(path);
            continue;
        }
        if (!is_ulid_name(e->d_name))
            continue;
        int rc = add_block(db, path, err, sizeof(err));
        if (rc < 0)
            tsdb_db_logf(db, TSDB_LOG_WARN, "skipping block %s: %s", path, err);
    }
    closedir(d);
    return 0;
}

/* ---- open / close -------------------------------------------------------------- */

static void db_logf_sync_error(const tsdb_db *db)
{
    tsdb_db_logf(db, TSDB_LOG_ERROR, "WAL: periodic fsync failed");
}

static void *syncer_main(void *arg)
{
    tsdb_db *db = arg;
    pthread_mutex_lock(&db->syncer_mu);
    while (!db->stop_syncer) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (db->opts.wal_fsync_interval_ms % 1000) * 1000000;
        until.tv_sec += db->opts.wal_fsync_interval_ms / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&db->syncer_cv, &db->syncer_mu, &until);
        if (db->stop_syncer)
            break;
        pthread_mutex_unlock(&db->syncer_mu);
        if (tsdb_wal_sync(&db->wal) < 0)
            db_logf_sync_error(db);
        pthread_mutex_lock(&db->syncer_mu);
    }
    pthread_mutex_unlock(&db->syncer_mu);
    return NULL;
}


int tsdb_open(const char *dir, const tsdb_options *opts, tsdb_db **out, char *err, size_t errlen)
{
    tsdb_db *db = calloc(1, sizeof(*db));
    if (!db)
        return -ENOMEM;
    if (opts)
        db->opts = *opts;
    else
        tsdb_options_init(&db->opts);
    if (db->opts.block_duration_ms <= 0)
        db->opts.block_duration_ms = 2 * 3600 * 1000;
    if (!db->opts.wal_segment_size)
        db->opts.wal_segment_size = 128u << 20;
    pthread_mutex_init(&db->maint_mu, NULL);
    pthread_mutex_init(&db->blocks_mu, NULL);
    pthread_mutex_init(&db->syncer_mu, NULL);
    pthread_cond_init(&db->syncer_cv, NULL);
    int rc = -ENOMEM;
    db->dir = strdup(dir);
    if (!db->dir || asprintf(&db->wal_dir, "%s/wal", dir) < 0) {
        db->wal_dir = NULL;
        goto fail;
    }
    if (db->opts.n_external_labels) {
        db->ext_labels = labels_copy(db->opts.external_labels, db->opts.n_external_labels);
        if (!db->ext_labels)
            goto fail;
        db->opts.external_labels = db->ext_labels;
    }
    if (db->opts.thanos_source) {
        if (!(db->thanos_source = strdup(db->opts.thanos_source)))
            goto fail;
        db->opts.thanos_source = db->thanos_source;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        rc = TSDB_ERR_IO;
        goto fail;
    }
    if ((rc = tsdb_head_init(&db->head, db->opts.block_duration_ms, db->opts.out_of_order_window_ms,
                        db->opts.max_series, db->opts.max_head_bytes)) < 0)
        goto fail;
    if ((rc = load_blocks(db)) < 0) {
        snprintf(err, errlen, "read %s: %s", dir, strerror(-rc));
        rc = TSDB_ERR_IO;
        goto fail;
    }
    if (db->nblocks) {
        int64_t mv = INT64_MIN;
        for (size_t i = 0; i < db->nblocks; i++) {
            int64_t m = tsdb_block_get_meta(db->blocks[i]->b)->maxt;
            if (m > mv)
                mv = m;
        }
        atomic_store(&db->head.min_valid, mv);
    }
    if (!db->opts.no_wal) {
        int64_t last = -1;
        if (mkdir(db->wal_dir, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "mkdir %s: %s", db->wal_dir, strerror(errno));
            rc = TSDB_ERR_IO;
            goto fail;
        }
        if ((rc = tsdb_db_replay_wal(db, &last, err, errlen)) < 0)
            goto fail;
        if ((rc = tsdb_wal_open(&db->wal, db->wal_dir, (uint32_t)(last + 1), db->opts.wal_segment_size,
                           db->opts.wal_fsync, db->opts.wal_fsync_interval_ms, err, errlen)) < 0)
            goto fail;
        db->has_wal = true;
        if (db->opts.wal_fsync == TSDB_FSYNC_INTERVAL) {
            if (db->opts.wal_fsync_interval_ms <= 0)
                db->opts.wal_fsync_interval_ms = 1000;
            db->has_syncer = pthread_create(&db->syncer, NULL, syncer_main, db) == 0;
        }
    }
    *out = db;
    return 0;
fail:
    tsdb_close(db);
    return rc;
}

int tsdb_close(tsdb_db *db)
{
    if (!db)
        return 0;
    atomic_store(&db->closing, true);
    int rc = 0;
    if (db->has_syncer) {
        pthread_mutex_lock(&db->syncer_mu);
        db->stop_syncer = true;
        pthread_cond_signal(&db->syncer_cv);
        pthread_mutex_unlock(&db->syncer_mu);
        pthread_join(db->syncer, NULL);
    }
    if (db->head.stripes) {
        /* waits for open appenders and queriers */
        tsdb_gclock_wrlock(&db->head.gc);
        tsdb_gclock_wrunlock(&db->head.gc);
    }
    if (db->has_wal) {
        rc = db->wal.err;
        tsdb_wal_close(&db->wal);
    }
    tsdb_head_destroy(&db->head);
    for (size_t i = 0; i < db->nblocks; i++)
        tsdb_db_block_unref(db->blocks[i]);
    free(db->blocks);
    pthread_mutex_destroy(&db->maint_mu);
    pthread_mutex_destroy(&db->blocks_mu);
    pthread_mutex_destroy(&db->syncer_mu);
    pthread_cond_destroy(&db->syncer_cv);
    free(db->ext_labels);
    free(db->thanos_source);
    free(db->dir);
    free(db->wal_dir);
    free(db);
    return rc;
}

/* ---- block cutting ----------------------------------------------------------------- */

typedef struct cut_src {
    tsdb_db *db;
    head_series **series;
    size_t n;
    int64_t mint, maxt;             /* [mint, maxt) */
    labels_label *lbl;
    size_t lcap;
    tsdb_chunk *chunks;
    size_t ccap;
    uint8_t *scratch;               /* open chunk copy / re-encoded chunks */
    size_t scap;
} cut_src;

static int cs_push(cut_src *c, size_t n, tsdb_chunk ch)
{
    if (n == c->ccap) {
        size_t nc = c->ccap ? c->ccap * 2 : 16;
        tsdb_chunk *v = realloc(c->chunks, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->chunks = v;
        c->ccap = nc;
    }
    c->chunks[n] = ch;
    return 0;
}

/* Chunks of s within [mint, maxt) while holding its stripe lock. OOO
 * samples are merged in by decoding and re-encoding (blocks need sorted,
 * non-overlapping chunks). Returns the count or <0. */
static int series_block_chunks(cut_src *c, const head_series *s)
{
    size_t n = 0;
    bool ooo = false;
    if (s->ooo)
        for (uint32_t i = 0; i < s->ooo->n && !ooo; i++)
            ooo = s->ooo->s[i].t >= c->mint && s->ooo->s[i].t < c->maxt;
    for (uint32_t i = 0; i < s->nchunks; i++) {
        const head_chunk *h = &s->chunks[i];
        if (h->mint >= c->mint && h->maxt < c->maxt &&
            cs_push(c, n++, (tsdb_chunk){h->mint, h->maxt, h->data, h->len, TSDB_ENC_XOR}) < 0)
            return -ENOMEM;
    }
    if (s->enc.count && s->open_mint >= c->mint && s->enc.t < c->maxt) {
        uint32_t len;
        const uint8_t *p = tsdb_xor_enc_bytes(&s->enc, &len);
        if (c->scap < len) {
            uint8_t *b = realloc(c->scratch, len);
            if (!b)
                return -ENOMEM;
            c->scratch = b;
            c->scap = len;
        }
        memcpy(c->scratch, p, len);
        if (cs_push(c, n++, (tsdb_chunk){s->open_mint, s->enc.t, c->scratch, len, TSDB_ENC_XOR}) < 0)
            return -ENOMEM;
    }
    if (!ooo)
        return (int)n;
    /* merge: decode in-order chunks and OOO samples, re-encode by 120 */
    ooo_sample *all = NULL;
    size_t na = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; i <= n && rc == 0; i++) {
        tsdb_xor_dec d;
        int64_t t;
        double v;
        if (i == n)
            break;
        if (tsdb_xor_dec_init(&d, c->chunks[i].data, c->chunks[i].len) < 0)
            continue;
        while (tsdb_xor_dec_next(&d, &t, &v) == 1) {
            if (na == cap) {
                cap = cap ? cap * 2 : 256;
                ooo_sample *x = realloc(all, cap * sizeof(*x));
                if (!x) {
                    rc = -ENOMEM;
                    break;
                }
                all = x;
            }
            all[na].t = t;
            memcpy(&all[na].v, &v, 8);
            na++;
        }
    }
    /* merge the sorted OOO samples in (a linear merge of two sorted runs) */
    size_t no = 0;
    for (uint32_t i = 0; i < s->ooo->n; i++)
        no += s->ooo->s[i].t >= c->mint && s->ooo->s[i].t < c->maxt;
    ooo_sample *m = rc == 0 ? malloc((na + no + 1) * sizeof(*m)) : NULL;
    if (!m) {
        free(all);
        return -ENOMEM;
    }
    size_t i = 0, j = 0, k = 0;
    const ooo_sample *os = s->ooo->s;
    uint32_t on = s->ooo->n;
    while (j < on && os[j].t < c->mint)
        j++;
    while (i < na || (j < on && os[j].t < c->maxt)) {
        bool take_o = j < on && os[j].t < c->maxt && (i >= na || os[j].t <= all[i].t);
        if (take_o) {
            if (i < na && all[i].t == os[j].t)
                i++; /* same timestamp: the in-order sample loses, as in queries */
            m[k++] = os[j++];
        } else {
            m[k++] = all[i++];
        }
    }
    free(all);
    /* re-encode into scratch: worst case 19 bytes per sample + headers */
    size_t need = k * TSDB_XOR_MAX_SAMPLE_BYTES + (k / HEAD_SAMPLES_PER_CHUNK + 1) * 32;
    if (c->scap < need) {
        uint8_t *b = realloc(c->scratch, need);
        if (!b) {
            free(m);
            return -ENOMEM;
        }
        c->scratch = b;
        c->scap = need;
    }
    size_t off = 0;
    n = 0;
    for (size_t a = 0; a < k && rc == 0; a += HEAD_SAMPLES_PER_CHUNK) {
        tsdb_xor_enc e;
        tsdb_xor_enc_init(&e);
        size_t end = a + HEAD_SAMPLES_PER_CHUNK < k ? a + HEAD_SAMPLES_PER_CHUNK : k;
        for (size_t b = a; b < end && rc == 0; b++) {
            double v;
            memcpy(&v, &m[b].v, 8);
            rc = tsdb_xor_enc_append(&e, m[b].t, v);
        }
        uint32_t len;
        const uint8_t *p = tsdb_xor_enc_bytes(&e, &len);
        if (rc == 0 && off + len <= c->scap) {
            memcpy(c->scratch + off, p, len);
            rc = cs_push(c, n++, (tsdb_chunk){m[a].t, m[end - 1].t, c->scratch + off, len, TSDB_ENC_XOR});
            off += len;
        } else if (rc == 0) {
            rc = -ENOMEM;
        }
        tsdb_xor_enc_free(&e);
    }
    free(m);
    return rc < 0 ? rc : (int)n;
}

static int cs_get(void *ctx, size_t i, tsdb_block_series *out)
{
    cut_src *c = ctx;
    head_series *s = c->series[i];
    if (s->nlabels > c->lcap) {
        labels_label *l = realloc(c->lbl, s->nlabels * sizeof(*l));
        if (!l)
            return -ENOMEM;
        c->lbl = l;
        c->lcap = s->nlabels;
    }
    tsdb_head_series_labels(s, c->lbl);
    head_stripe *st = head_stripe_of(&c->db->head, s->hash);
    pthread_mutex_lock(&st->mu);
    int n = series_block_chunks(c, s);
    pthread_mutex_unlock(&st->mu);
    if (n < 0)
        return n;
    *out = (tsdb_block_series){c->lbl, s->nlabels, c->chunks, (size_t)n};
    return 0;
}

static bool series_in_range(const head_series *s, int64_t mint, int64_t maxt)
{
    for (uint32_t i = 0; i < s->nchunks; i++)
        if (s->chunks[i].mint >= mint && s->chunks[i].maxt < maxt)
            return true;
    if (s->enc.count && s->open_mint >= mint && s->enc.t < maxt)
        return true;
    if (s->ooo)
        for (uint32_t i = 0; i < s->ooo->n; i++)
            if (s->ooo->s[i].t >= mint && s->ooo->s[i].t < maxt)
                return true;
    return false;
}

/* Writes the head's data in [mint, maxt) as a block, then drops it from the
 * head. Caller holds maint_mu. */
static int cut_block(tsdb_db *db, int64_t mint, int64_t maxt, char *err, size_t errlen)
{
    head *h = &db->head;
    /* no append below maxt from now on; the barrier waits for appenders that
     * validated samples against the old bound */
    int64_t mv = atomic_load(&h->min_valid);
    if (maxt > mv)
        atomic_store(&h->min_valid, maxt);
    tsdb_gclock_wrlock(&h->gc);
    tsdb_gclock_wrunlock(&h->gc);
    /* commits between the caller reading the head's mint and the barrier may
     * have added older samples: the block must take them too */
    int64_t hm = atomic_load(&h->mint);
    if (hm < mint)
        mint = hm;

    tsdb_gclock_rdlock(&h->gc);
    cut_src c = {.db = db, .mint = mint, .maxt = maxt};
    int rc = tsdb_head_all_series_sorted(h, &c.series, &c.n);
    if (rc < 0) {
        tsdb_gclock_rdunlock(&h->gc);
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    size_t k = 0;
    for (size_t i = 0; i < c.n; i++) {
        head_series *s = c.series[i];
        head_stripe *st = head_stripe_of(h, s->hash);
        pthread_mutex_lock(&st->mu);
        if (series_in_range(s, mint, maxt))
            c.series[k++] = s;
        pthread_mutex_unlock(&st->mu);
    }
    c.n = k;
    char ulid[27] = "";
    if (k > 0) {
        tsdb_block_source src = {.nseries = k, .mint = mint, .maxt = maxt, .ctx = &c, .get = cs_get};
        tsdb_block_write_opts wo = {
            .external_labels = db->opts.external_labels,
            .n_external_labels = db->opts.n_external_labels,
            .thanos_source = db->opts.thanos_source,
            .compaction_level = 1,
        };
        rc = tsdb_block_write(db->dir, &src, &wo, ulid, err, errlen);
    }
    tsdb_gclock_rdunlock(&h->gc);
    free(c.series);
    free(c.lbl);
    free(c.chunks);
    free(c.scratch);
    if (rc < 0)
        return rc;
    if (k > 0) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", db->dir, ulid);
        if ((rc = add_block(db, path, err, errlen)) < 0)
            return rc;
        tsdb_db_logf(db, TSDB_LOG_INFO, "cut block %s [%lld, %lld), %zu series", ulid, (long long)mint,
                (long long)maxt, k);
        if (db->opts.on_block)
            db->opts.on_block(db->opts.on_block_ctx, path, ulid);
    }
    tsdb_head_truncate(h, maxt);
    return 0;
}

static int64_t align_down(int64_t t, int64_t d)
{
    int64_t r = t % d;
    if (r < 0)
        r += d;
    if (t < INT64_MIN + r) /* saturate instead of overflowing */
        return INT64_MIN;
    return t - r;
}

/* End of the aligned block range holding t (exclusive), saturating. */
static int64_t block_end(int64_t t, int64_t d)
{
    int64_t b = align_down(t, d);
    return b > INT64_MAX - d ? INT64_MAX : b + d;
}

static bool keep_series(void *ctx, uint64_t ref)
{
    return tsdb_head_by_ref(ctx, ref) != NULL;
}

static int checkpoint_wal(tsdb_db *db, char *err, size_t errlen)
{
    if (!db->has_wal)
        return 0;
    uint32_t seg;
    int rc = tsdb_wal_next_segment(&db->wal, &seg);
    if (rc < 0) {
        snprintf(err, errlen, "WAL: cannot start a new segment");
        return rc;
    }
    if (seg == 0)
        return 0;
    /* series are only deleted under maint_mu (which we hold): the keep
     * callback may look them up without the gc lock */
    return tsdb_wal_checkpoint(db->wal_dir, seg - 1, keep_series, &db->head,
                          atomic_load(&db->head.min_valid), err, errlen);
}

static void apply_retention(tsdb_db *db, int64_t now_ms)
{
    if (db->opts.retention_ms <= 0)
        return;
    int64_t bound = now_ms - db->opts.retention_ms;
    pthread_mutex_lock(&db->blocks_mu);
    size_t k = 0;
    for (size_t i = 0; i < db->nblocks; i++) {
        db_block *b = db->blocks[i];
        const tsdb_block_meta *m = tsdb_block_get_meta(b->b);
        if (m->maxt < bound) {
            tsdb_db_logf(db, TSDB_LOG_INFO, "retention: deleting block %s", m->ulid);
            atomic_store(&b->doomed, true);
            tsdb_db_block_unref(b);
        } else {
            db->blocks[k++] = b;
        }
    }
    db->nblocks = k;
    pthread_mutex_unlock(&db->blocks_mu);
}

int tsdb_maintain(tsdb_db *db, int64_t now_ms, char *err, size_t errlen)
{
    pthread_mutex_lock(&db->maint_mu);
    int rc = 0;
    bool cut = false;
    int64_t bd = db->opts.block_duration_ms;
    for (;;) {
        int64_t hmin = atomic_load(&db->head.mint), hmax = atomic_load(&db->head.maxt);
        if (hmin > hmax || (uint64_t)hmax - (uint64_t)hmin <= (uint64_t)(bd / 2 * 3))
            break;
        /* like Prometheus: the block starts at the head's first sample and
         * ends at the aligned boundary */
        if ((rc = cut_block(db, hmin, block_end(hmin, bd), err, errlen)) < 0)
            break;
        cut = true;
        if (atomic_load(&db->head.mint) < block_end(hmin, bd) &&
            atomic_load(&db->head.mint) <= atomic_load(&db->head.maxt))
            break; /* no progress: leave it to the next run */
    }
    if (rc == 0 && cut)
        rc = checkpoint_wal(db, err, errlen);
    if (rc == 0 && db->has_wal && db->opts.wal_fsync == TSDB_FSYNC_INTERVAL)
        tsdb_wal_sync(&db->wal);
    apply_retention(db, now_ms);
    pthread_mutex_unlock(&db->maint_mu);
    return rc;
}

int tsdb_flush_head(tsdb_db *db, char *err, size_t errlen)
{
    pthread_mutex_lock(&db->maint_mu);
    int rc = 0;
    bool cut = false;
    int64_t bd = db->opts.block_duration_ms;
    /* What the head holds now; samples committed while we cut stay in the
     * head (and the WAL), else concurrent writers with newer timestamps
     * would keep the loop going for ever. */
    int64_t last = atomic_load(&db->head.maxt);
    for (;;) {
        int64_t hmin = atomic_load(&db->head.mint);
        if (hmin > last)
            break;
        int64_t bend = block_end(hmin, bd);
        /* The last block ends just after the newest sample, not at the
         * aligned boundary (as Prometheus' CompactHead over a RangeHead
         * does): after a restart the head refuses samples older than the
         * newest block's end, so an aligned end would refuse every write
         * until the wall clock reaches it. */
        if (last < bend && last < INT64_MAX)
            bend = last + 1;
        if ((rc = cut_block(db, hmin, bend, err, errlen)) < 0)
            break;
        cut = true;
        int64_t nmin = atomic_load(&db->head.mint);
        if (nmin <= atomic_load(&db->head.maxt) && nmin < bend)
            break; /* no progress */
        if (bend == INT64_MAX || bend > last)
            break;
    }
    if (rc == 0 && cut)
        rc = checkpoint_wal(db, err, errlen);
    pthread_mutex_unlock(&db->maint_mu);
    return rc;
}

void tsdb_get_stats(tsdb_db *db, tsdb_stats *st)
{
    memset(st, 0, sizeof(*st));
    head *h = &db->head;
    st->head_series = atomic_load(&h->nseries);
    st->head_chunks = atomic_load(&h->nchunks);
    int64_t b = atomic_load(&h->bytes);
    st->head_bytes = b > 0 ? (size_t)b : 0;
    st->head_mint = atomic_load(&h->mint);
    st->head_maxt = atomic_load(&h->maxt);
    st->samples_appended = atomic_load(&h->samples);
    if (db->has_wal) {
        pthread_mutex_lock(&db->wal.mu);
        st->wal_bytes = db->wal.bytes;
        pthread_mutex_unlock(&db->wal.mu);
    }
    st->mint = st->head_mint;
    st->maxt = st->head_maxt;
    pthread_mutex_lock(&db->blocks_mu);
    st->blocks = db->nblocks;
    for (size_t i = 0; i < db->nblocks; i++) {
        const tsdb_block_meta *m = tsdb_block_get_meta(db->blocks[i]->b);
        if (m->mint < st->mint)
            st->mint = m->mint;
        if (m->maxt - 1 > st->maxt)
            st->maxt = m->maxt - 1;
    }
    pthread_mutex_unlock(&db->blocks_mu);
}
