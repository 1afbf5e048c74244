/* Index v2 writer and symbol table (index_write.h). */
#include "index_write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio.h"
#include "crc32c.h"

/* ---- symbol table ---------------------------------------------------------------- */

struct sym {
    char *s;
    uint32_t len;
    uint32_t hash;
};

struct tsdb_symtab {
    struct sym *v;
    size_t n, cap;
    uint32_t *slots; /* index+1 into v; 0 = empty */
    size_t nslots;   /* power of two */
    bool finished;
};

static uint32_t str_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

tsdb_symtab *tsdb_symtab_new(void)
{
    return calloc(1, sizeof(tsdb_symtab));
}

void tsdb_symtab_free(tsdb_symtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].s);
    free(t->v);
    free(t->slots);
    free(t);
}

static int rehash(tsdb_symtab *t, size_t nslots)
{
    uint32_t *ns = calloc(nslots, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = t->v[i].hash & (nslots - 1);
        while (ns[j])
            j = (j + 1) & (nslots - 1);
        ns[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = ns;
    t->nslots = nslots;
    return 0;
}

static int64_t find(const tsdb_symtab *t, const char *s, size_t len, uint32_t h, size_t *slot)
{
    if (!t->nslots)
        return -1;
    size_t j = h & (t->nslots - 1);
    while (t->slots[j]) {
        const struct sym *e = &t->v[t->slots[j] - 1];
        if (e->hash == h && e->len == len && !memcmp(e->s, s, len))
            return t->slots[j] - 1;
        j = (j + 1) & (t->nslots - 1);
    }
    if (slot)
        *slot = j;
    return -1;
}

int tsdb_symtab_add(tsdb_symtab *t, const char *s, size_t len)
{
    if (t->finished || len > UINT32_MAX || t->n >= UINT32_MAX - 1)
        return -EINVAL;
    uint32_t h = str_hash(s, len);
    if (find(t, s, len, h, NULL) >= 0)
        return 0;
    if ((t->n + 1) * 2 > t->nslots) {
        int rc = rehash(t, t->nslots ? t->nslots * 2 : 1024);
        if (rc)
            return rc;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        struct sym *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -ENOMEM;
    memcpy(c, s, len);
    c[len] = 0;
    size_t slot = 0;
    find(t, s, len, h, &slot);
    t->v[t->n] = (struct sym){c, (uint32_t)len, h};
    t->slots[slot] = (uint32_t)(++t->n);
    return 0;
}

static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, m);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

int tsdb_symtab_finish(tsdb_symtab *t)
{
    if (t->n)
        qsort(t->v, t->n, sizeof(*t->v), cmp_sym);
    int rc = rehash(t, t->nslots ? t->nslots : 16);
    if (rc)
        return rc;
    t->finished = true;
    return 0;
}

size_t tsdb_symtab_count(const tsdb_symtab *t)
{
    return t->n;
}

int64_t tsdb_symtab_lookup(const tsdb_symtab *t, const char *s, size_t len)
{
    return find(t, s, len, str_hash(s, len), NULL);
}

const char *tsdb_symtab_get(const tsdb_symtab *t, size_t i, uint32_t *len)
{
    *len = t->v[i].len;
    return t->v[i].s;
}

/* ---- index writer ------------------------------------------------------------------- */

struct ptrip {
    uint32_t name, value, ref;
};

struct tsdb_indexw {
    tsdb_fw fw;
    const tsdb_symtab *syms;
    uint64_t toc[6];    /* symbols, series, label_indices, label_indices_table, postings, postings_table */
    uint32_t *all;
    size_t nall, capall;
    struct ptrip *post;
    size_t npost, cappost;
    uint32_t *prev;     /* symbol refs (name, value)* of the previous series */
    size_t nprev, capprev;
    tsdb_buf entry;
};

enum { TOC_SYMBOLS, TOC_SERIES, TOC_LABEL_INDICES, TOC_LABEL_TABLE, TOC_POSTINGS, TOC_POSTINGS_TABLE };

int tsdb_indexw_open(const char *path, const tsdb_symtab *syms, tsdb_indexw **out)
{
    tsdb_indexw *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->syms = syms;
    int rc = tsdb_fw_open(&w->fw, path);
    if (rc) {
        tsdb_fw_close(&w->fw, false);
        free(w);
        return rc;
    }
    uint8_t hdr[5] = {0xBA, 0xAA, 0xD7, 0x00, 2};
    tsdb_fw_write(&w->fw, hdr, 5);

    w->toc[TOC_SYMBOLS] = w->fw.off;
    uint64_t len = 4;
    for (size_t i = 0; i < syms->n; i++)
        len += tsdb_uvarint_size(syms->v[i].len) + syms->v[i].len;
    if (len > UINT32_MAX) {
        tsdb_indexw_abort(w);
        return -EFBIG;
    }
    tsdb_fw_be32(&w->fw, (uint32_t)len);
    tsdb_fw_crc_start(&w->fw);
    tsdb_fw_be32(&w->fw, (uint32_t)syms->n);
    for (size_t i = 0; i < syms->n; i++) {
        tsdb_fw_uvarint(&w->fw, syms->v[i].len);
        tsdb_fw_write(&w->fw, syms->v[i].s, syms->v[i].len);
    }
    tsdb_fw_crc_put(&w->fw);
    w->toc[TOC_SERIES] = w->fw.off;
    if (w->fw.err) {
        rc = w->fw.err;
        tsdb_indexw_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 1024;
    while (nc < need)
        nc *= 2;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = nc;
    return 0;
}

int tsdb_indexw_add_series(tsdb_indexw *w, const labels_label *ls, size_t n,
                           const tsdb_chunk_meta *chunks, size_t nchunks, char *err, size_t errlen)
{
    if (w->fw.err)
        return w->fw.err;
    uint32_t *refs = NULL;
    size_t cap2 = 0;
    if (grow((void **)&refs, &cap2, 2 * n + 1, sizeof(*refs)))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        int64_t a = tsdb_symtab_lookup(w->syms, ls[i].name, ls[i].name_len);
        int64_t b = tsdb_symtab_lookup(w->syms, ls[i].value, ls[i].value_len);
        if (a < 0 || b < 0) {
            free(refs);
            snprintf(err, errlen, "index: label %.*s not in the symbol table", (int)ls[i].name_len, ls[i].name);
            return -EINVAL;
        }
        if (i && (uint32_t)a <= refs[2 * i - 2]) {
            free(refs);
            snprintf(err, errlen, "index: labels of a series not sorted by name or not unique");
            return -EINVAL;
        }
        refs[2 * i] = (uint32_t)a;
        refs[2 * i + 1] = (uint32_t)b;
    }
    /* Symbol order is byte order, so comparing refs compares label sets. */
    if (w->nall) {
        int c = 0;
        size_t m = 2 * n < w->nprev ? 2 * n : w->nprev;
        for (size_t i = 0; i < m && !c; i++)
            c = refs[i] < w->prev[i] ? -1 : refs[i] > w->prev[i];
        if (!c)
            c = 2 * n < w->nprev ? -1 : 2 * n > w->nprev;
        if (c <= 0) {
            free(refs);
            snprintf(err, errlen, "index: series out of order or duplicated");
            return -EINVAL;
        }
    }
    for (size_t i = 1; i < nchunks; i++) {
        if (chunks[i].mint <= chunks[i - 1].maxt || chunks[i].ref <= chunks[i - 1].ref) {
            free(refs);
            snprintf(err, errlen, "index: chunks of a series overlap or are out of order");
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < nchunks; i++) {
        if (chunks[i].maxt < chunks[i].mint) {
            free(refs);
            snprintf(err, errlen, "index: chunk maxt < mint");
            return -EINVAL;
        }
    }

    tsdb_fw_pad(&w->fw, 16);
    if (w->fw.off / 16 > UINT32_MAX) {
        free(refs);
        snprintf(err, errlen, "index: too large (series refs are 32-bit)");
        return -EFBIG;
    }
    uint32_t sref = (uint32_t)(w->fw.off / 16);

    tsdb_buf *e = &w->entry;
    e->n = 0;
    tsdb_buf_uvarint(e, n);
    for (size_t i = 0; i < 2 * n; i++)
        tsdb_buf_uvarint(e, refs[i]);
    tsdb_buf_uvarint(e, nchunks);
    for (size_t i = 0; i < nchunks; i++) {
        const tsdb_chunk_meta *c = &chunks[i];
        if (i == 0) {
            tsdb_buf_varint(e, c->mint);
            tsdb_buf_uvarint(e, (uint64_t)c->maxt - (uint64_t)c->mint);
            tsdb_buf_uvarint(e, c->ref);
        } else {
            tsdb_buf_uvarint(e, (uint64_t)c->mint - (uint64_t)chunks[i - 1].maxt);
            tsdb_buf_uvarint(e, (uint64_t)c->maxt - (uint64_t)c->mint);
            tsdb_buf_varint(e, (int64_t)(c->ref - chunks[i - 1].ref));
        }
    }
    if (e->err) {
        free(refs);
        return e->err;
    }
    tsdb_fw_uvarint(&w->fw, e->n);
    tsdb_fw_write(&w->fw, e->p, e->n);
    tsdb_fw_be32(&w->fw, tsdb_crc32c(0, e->p, e->n));

    if (grow((void **)&w->all, &w->capall, w->nall + 1, sizeof(*w->all)) ||
        grow((void **)&w->post, &w->cappost, w->npost + n, sizeof(*w->post))) {
        free(refs);
        return -ENOMEM;
    }
    w->all[w->nall++] = sref;
    for (size_t i = 0; i < n; i++)
        w->post[w->npost++] = (struct ptrip){refs[2 * i], refs[2 * i + 1], sref};
    free(w->prev);
    w->prev = refs;
    w->nprev = 2 * n;
    return w->fw.err;
}

static int cmp_trip(const void *a, const void *b)
{
    const struct ptrip *x = a, *y = b;
    if (x->name != y->name)
        return x->name < y->name ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static void write_list(tsdb_fw *fw, const uint32_t *refs, size_t n, size_t stride)
{
    tsdb_fw_be32(fw, (uint32_t)(4 + 4 * n));
    tsdb_fw_crc_start(fw);
    tsdb_fw_be32(fw, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        tsdb_fw_be32(fw, refs[i * stride]);
    tsdb_fw_crc_put(fw);
}

int tsdb_indexw_close(tsdb_indexw *w, bool sync, uint64_t *size)
{
    tsdb_fw *fw = &w->fw;
    int rc = 0;
    if (w->npost)
        qsort(w->post, w->npost, sizeof(*w->post), cmp_trip);
    /* Count distinct (name, value) keys for the offset table. */
    size_t nkeys = 1;
    for (size_t i = 0; i < w->npost; i++)
        if (i == 0 || w->post[i].name != w->post[i - 1].name || w->post[i].value != w->post[i - 1].value)
            nkeys++;
    uint64_t *offs = malloc(nkeys * sizeof(*offs));
    if (!offs) {
        tsdb_indexw_abort(w);
        return -ENOMEM;
    }
    tsdb_fw_pad(fw, 4);
    w->toc[TOC_POSTINGS] = fw->off;
    w->toc[TOC_LABEL_INDICES] = fw->off;
    offs[0] = fw->off;
    write_list(fw, w->all, w->nall, 1);
    size_t k = 1;
    for (size_t i = 0; i < w->npost;) {
        size_t j = i;
        while (j < w->npost && w->post[j].name == w->post[i].name && w->post[j].value == w->post[i].value)
            j++;
        offs[k++] = fw->off;
        write_list(fw, &w->post[i].ref, j - i, sizeof(struct ptrip) / sizeof(uint32_t));
        i = j;
    }

    /* Postings offset table, right after the last list (Thanos relies on it). */
    w->toc[TOC_POSTINGS_TABLE] = fw->off;
    w->toc[TOC_LABEL_TABLE] = fw->off;
    uint64_t len = 4 + 1 + 1 + 1 + tsdb_uvarint_size(offs[0]);
    k = 1;
    for (size_t i = 0; i < w->npost; i++) {
        if (i && w->post[i].name == w->post[i - 1].name && w->post[i].value == w->post[i - 1].value)
            continue;
        uint32_t nl, vl;
        tsdb_symtab_get(w->syms, w->post[i].name, &nl);
        tsdb_symtab_get(w->syms, w->post[i].value, &vl);
        len += 1 + tsdb_uvarint_size(nl) + nl + tsdb_uvarint_size(vl) + vl + tsdb_uvarint_size(offs[k++]);
    }
    if (len > UINT32_MAX || nkeys > UINT32_MAX) {
        free(offs);
        tsdb_indexw_abort(w);
        return -EFBIG;
    }
    tsdb_fw_be32(fw, (uint32_t)len);
    tsdb_fw_crc_start(fw);
    tsdb_fw_be32(fw, (uint32_t)nkeys);
    uint8_t empty_key[3] = {2, 0, 0};
    tsdb_fw_write(fw, empty_key, 3);
    tsdb_fw_uvarint(fw, offs[0]);
    k = 1;
    for (size_t i = 0; i < w->npost; i++) {
        if (i && w->post[i].name == w->post[i - 1].name && w->post[i].value == w->post[i - 1].value)
            continue;
        uint32_t nl, vl;
        const char *ns = tsdb_symtab_get(w->syms, w->post[i].name, &nl);
        const char *vs = tsdb_symtab_get(w->syms, w->post[i].value, &vl);
        tsdb_fw_uvarint(fw, 2);
        tsdb_fw_uvarint(fw, nl);
        tsdb_fw_write(fw, ns, nl);
        tsdb_fw_uvarint(fw, vl);
        tsdb_fw_write(fw, vs, vl);
        tsdb_fw_uvarint(fw, offs[k++]);
    }
    tsdb_fw_crc_put(fw);
    free(offs);

    tsdb_fw_crc_start(fw);
    for (int i = 0; i < 6; i++)
        tsdb_fw_be64(fw, w->toc[i]);
    tsdb_fw_crc_put(fw);
    *size = fw->off;
    rc = tsdb_fw_close(fw, sync);
    free(w->all);
    free(w->post);
    free(w->prev);
    tsdb_buf_free(&w->entry);
    free(w);
    return rc;
}

void tsdb_indexw_abort(tsdb_indexw *w)
{
    if (!w)
        return;
    tsdb_fw_close(&w->fw, false);
    free(w->all);
    free(w->post);
    free(w->prev);
    tsdb_buf_free(&w->entry);
    free(w);
}
