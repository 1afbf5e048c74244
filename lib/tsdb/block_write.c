/* tsdb_block_write (series_set.h): index + chunks + tombstones + meta.json
 * into parent/<ULID>.tmp, fsynced, then renamed to parent/<ULID>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockio.h"
#include "chunk_xor.h"
#include "chunks_file.h"
#include "index_write.h"
#include "meta.h"
#include "series_set.h"
#include "tombstones.h"
#include "ulid.h"

static int collect_symbols(const tsdb_block_source *src, tsdb_symtab *syms, char *err, size_t errlen)
{
    for (size_t i = 0; i < src->nseries; i++) {
        tsdb_block_series s;
        int rc = src->get(src->ctx, i, &s);
        if (rc) {
            snprintf(err, errlen, "block source: series %zu: error %d", i, rc);
            return rc;
        }
        for (size_t k = 0; k < s.nlabels; k++) {
            if ((rc = tsdb_symtab_add(syms, s.labels[k].name, s.labels[k].name_len)) ||
                (rc = tsdb_symtab_add(syms, s.labels[k].value, s.labels[k].value_len))) {
                snprintf(err, errlen, "symbols: %s", strerror(-rc));
                return rc;
            }
        }
    }
    if (tsdb_symtab_finish(syms)) {
        snprintf(err, errlen, "symbols: out of memory");
        return -ENOMEM;
    }
    return 0;
}

struct wstate {
    tsdb_chunkw cw;
    tsdb_indexw *iw;
    tsdb_chunk_meta *metas;
    size_t capmetas;
    uint64_t samples, chunks, series, index_size;
    uint32_t nseg;
};

static int write_series(const tsdb_block_source *src, struct wstate *ws, char *err, size_t errlen)
{
    for (size_t i = 0; i < src->nseries; i++) {
        tsdb_block_series s;
        int rc = src->get(src->ctx, i, &s);
        if (rc) {
            snprintf(err, errlen, "block source: series %zu: error %d", i, rc);
            return rc;
        }
        if (s.nchunks == 0)
            continue; /* Prometheus blocks hold no chunk-less series */
        if (s.nchunks > ws->capmetas) {
            size_t nc = s.nchunks * 2;
            tsdb_chunk_meta *nm = realloc(ws->metas, nc * sizeof(*nm));
            if (!nm) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
            }
            ws->metas = nm;
            ws->capmetas = nc;
        }
        for (size_t k = 0; k < s.nchunks; k++) {
            const tsdb_chunk *c = &s.chunks[k];
            if (c->mint < src->mint || c->maxt >= src->maxt || c->maxt < c->mint) {
                snprintf(err, errlen, "series %zu: chunk [%lld, %lld] outside block [%lld, %lld)", i,
                         (long long)c->mint, (long long)c->maxt, (long long)src->mint,
                         (long long)src->maxt);
                return -EINVAL;
            }
            if ((rc = tsdb_chunkw_add(&ws->cw, c, &ws->metas[k].ref))) {
                snprintf(err, errlen, "write chunks: %s", strerror(-rc));
                return rc;
            }
            ws->metas[k].mint = c->mint;
            ws->metas[k].maxt = c->maxt;
            if (c->encoding == TSDB_ENC_XOR)
                ws->samples += tsdb_xor_count(c->data, c->len);
        }
        rc = tsdb_indexw_add_series(ws->iw, s.labels, s.nlabels, ws->metas, s.nchunks, err, errlen);
        if (rc) {
            if (rc != -EINVAL)
                snprintf(err, errlen, "write index: %s", strerror(-rc));
            return rc;
        }
        ws->chunks += s.nchunks;
        ws->series++;
    }
    return 0;
}

int tsdb_block_write(const char *parent_dir, const tsdb_block_source *src,
                     const tsdb_block_write_opts *opts, char ulid_out[27], char *err, size_t errlen)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tsdb_ulid u;
    int rc = tsdb_ulid_new((uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000, &u);
    if (rc) {
        snprintf(err, errlen, "ulid: %s", strerror(-rc));
        return rc;
    }
    char ulid[27];
    tsdb_ulid_format(&u, ulid);

    char tmp[4096], fin[4096], path[4096];
    if (strlen(parent_dir) > 4000 || tsdb_pathf(tmp, sizeof(tmp), "%s/%s.tmp", parent_dir, ulid) ||
        tsdb_pathf(fin, sizeof(fin), "%s/%s", parent_dir, ulid) ||
        tsdb_pathf(path, sizeof(path), "%s/chunks", tmp)) {
        snprintf(err, errlen, "block dir path too long");
        return -ENAMETOOLONG;
    }
    tsdb_rm_rf(tmp);
    if (mkdir(tmp, 0755) < 0 || mkdir(path, 0755) < 0) {
        rc = -errno;
        snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
        tsdb_rm_rf(tmp);
        return rc;
    }

    struct wstate ws;
    memset(&ws, 0, sizeof(ws));
    tsdb_symtab *syms = tsdb_symtab_new();
    if (!syms) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = collect_symbols(src, syms, err, errlen)))
        goto fail;
    if ((rc = tsdb_chunkw_open(&ws.cw, path, 0))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    tsdb_pathf(path, sizeof(path), "%s/index", tmp);
    if ((rc = tsdb_indexw_open(path, syms, &ws.iw))) {
        snprintf(err, errlen, "write %s: %s", path, strerror(-rc));
        goto fail;
    }
    if ((rc = write_series(src, &ws, err, errlen)))
        goto fail;
    if ((rc = tsdb_chunkw_close(&ws.cw, true, &ws.nseg))) {
        snprintf(err, errlen, "write chunks: %s", strerror(-rc));
        goto fail;
    }
    rc = tsdb_indexw_close(ws.iw, true, &ws.index_size);
    ws.iw = NULL;
    if (rc) {
        snprintf(err, errlen, "write index: %s", strerror(-rc));
        goto fail;
    }
    uint64_t tsize;
    if ((rc = tsdb_tombstones_write(tmp, NULL, 0, true, &tsize))) {
        snprintf(err, errlen, "write tombstones: %s", strerror(-rc));
        goto fail;
    }

    /* meta.json last: a block dir without it is incomplete. */
    tsdb_block_meta m;
    memset(&m, 0, sizeof(m));
    memcpy(m.ulid, ulid, 27);
    m.mint = src->mint;
    m.maxt = src->maxt;
    m.num_samples = ws.samples;
    m.num_series = ws.series;
    m.num_chunks = ws.chunks;
    m.compaction_level = opts && opts->compaction_level > 0 ? opts->compaction_level : 1;
    if (opts && opts->thanos_source) {
        snprintf(m.thanos_source, sizeof(m.thanos_source), "%s", opts->thanos_source);
        m.thanos_labels = (labels_label *)opts->external_labels;
        m.n_thanos_labels = opts->n_external_labels;
    }
    tsdb_meta_file *files = calloc(ws.nseg + 1, sizeof(*files));
    char (*names)[16] = calloc(ws.nseg + 1, 16);
    if (!files || !names) {
        free(files);
        free(names);
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < ws.nseg; i++) {
        tsdb_pathf(names[i], 16, "chunks/%06u", i + 1);
        files[i] = (tsdb_meta_file){names[i], ws.cw.sizes[i]};
    }
    files[ws.nseg] = (tsdb_meta_file){"index", ws.index_size};
    rc = tsdb_meta_write(tmp, &m, files, ws.nseg + 1, true, err, errlen);
    free(files);
    free(names);
    if (rc)
        goto fail;

    tsdb_pathf(path, sizeof(path), "%s/chunks", tmp);
    if ((rc = tsdb_fsync_dir(path)) || (rc = tsdb_fsync_dir(tmp))) {
        snprintf(err, errlen, "fsync %s: %s", tmp, strerror(-rc));
        goto fail;
    }
    if (rename(tmp, fin) < 0) {
        rc = -errno;
        snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if ((rc = tsdb_fsync_dir(parent_dir))) {
        snprintf(err, errlen, "fsync %s: %s", parent_dir, strerror(-rc));
        tsdb_rm_rf(fin);
        goto fail;
    }
    tsdb_chunkw_free(&ws.cw);
    free(ws.metas);
    tsdb_symtab_free(syms);
    memcpy(ulid_out, ulid, 27);
    return 0;
fail:
    if (ws.iw)
        tsdb_indexw_abort(ws.iw);
    tsdb_chunkw_free(&ws.cw);
    free(ws.metas);
    tsdb_symtab_free(syms);
    tsdb_rm_rf(tmp);
    return rc;
}
