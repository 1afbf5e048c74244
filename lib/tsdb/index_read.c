/* Index v2 reader (index_read.h). */
#include "index_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio.h"
#include "crc32c.h"

bool tsdb_indexr_fuzz_nocrc = false;

static bool crc_ok(const uint8_t *p, size_t n, const uint8_t *want)
{
    return tsdb_crc32c(0, p, n) == tsdb_get_be32(want) || tsdb_indexr_fuzz_nocrc;
}

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "index: %s", what);
    return TSDB_ERR_CORRUPT;
}

/* A CRC-framed section at off: len(4) | len bytes | crc(4). */
static int section(const tsdb_indexr *r, uint64_t off, tsdb_dec *d)
{
    if (off > r->len || r->len - off < 8)
        return -1;
    uint32_t l = tsdb_get_be32(r->p + off);
    if (r->len - off - 8 < l)
        return -1;
    const uint8_t *c = r->p + off + 4;
    if (!crc_ok(c, l, c + l))
        return -1;
    tsdb_dec_init(d, c, l);
    return 0;
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al < bl ? -1 : al > bl);
}

static int read_symbols(tsdb_indexr *r, char *err, size_t errlen)
{
    tsdb_dec d;
    if (section(r, r->toc[0], &d))
        return bad(err, errlen, "symbol table out of bounds or checksum mismatch");
    uint32_t n = tsdb_dec_be32(&d);
    if (d.err || n > tsdb_dec_left(&d))
        return bad(err, errlen, "symbol count");
    r->sym_off = malloc(((size_t)n / TSDB_IR_SYM_EVERY + 1) * sizeof(*r->sym_off));
    if (!r->sym_off) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i % TSDB_IR_SYM_EVERY == 0)
            r->sym_off[i / TSDB_IR_SYM_EVERY] = (uint32_t)(d.p - r->p);
        uint64_t l = tsdb_dec_uvarint(&d);
        if (d.err || l > tsdb_dec_left(&d))
            return bad(err, errlen, "symbol out of bounds");
        d.p += l;
    }
    r->nsyms = n;
    return 0;
}

/* Decodes one offset-table entry at d. */
static int read_entry(tsdb_dec *d, const char **ns, uint64_t *nl, struct tsdb_ir_val *v)
{
    if (tsdb_dec_uvarint(d) != 2 || d->err)
        return -1;
    *nl = tsdb_dec_uvarint(d);
    *ns = (const char *)tsdb_dec_bytes(d, *nl);
    uint64_t vl = tsdb_dec_uvarint(d);
    v->s = (const char *)tsdb_dec_bytes(d, vl);
    v->len = (uint32_t)vl;
    v->off = tsdb_dec_uvarint(d);
    return d->err || vl > UINT32_MAX || *nl > UINT32_MAX ? -1 : 0;
}

static int push_sample(tsdb_indexr *r, size_t *cap, uint64_t off)
{
    if (r->nsamples == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        uint64_t *ns = realloc(r->samples, nc * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        r->samples = ns;
        *cap = nc;
    }
    r->samples[r->nsamples++] = off;
    return 0;
}

/* Validates the whole table (structure, order, offsets) once, keeping names
 * and every TSDB_IR_SAMPLE_EVERY-th entry of each name plus its last. */
static int read_postings_table(tsdb_indexr *r, char *err, size_t errlen)
{
    tsdb_dec d;
    if (section(r, r->toc[5], &d))
        return bad(err, errlen, "postings offset table out of bounds or checksum mismatch");
    uint32_t n = tsdb_dec_be32(&d);
    if (d.err || n == 0 || n > tsdb_dec_left(&d) / 4)
        return bad(err, errlen, "postings offset table count");
    size_t capn = 0, caps = 0;
    uint64_t last_entry = 0;
    struct tsdb_ir_val prev = {0};
    for (uint32_t i = 0; i < n; i++) {
        uint64_t entry = (uint64_t)(d.p - r->p);
        const char *ns;
        uint64_t nl;
        struct tsdb_ir_val v;
        if (read_entry(&d, &ns, &nl, &v) || v.off >= r->len)
            return bad(err, errlen, "postings offset table entry");
        if (i == 0) {
            if (nl || v.len)
                return bad(err, errlen, "postings offset table lacks the all-series key");
            r->all_off = v.off;
            continue;
        }
        if (nl == 0)
            return bad(err, errlen, "empty label name in postings offset table");
        struct tsdb_ir_name *cur = r->nnames ? &r->names[r->nnames - 1] : NULL;
        int c = cur ? cmp_bytes(cur->s, cur->len, ns, nl) : -1;
        if (c > 0 || (c == 0 && cmp_bytes(prev.s, prev.len, v.s, v.len) >= 0))
            return bad(err, errlen, "postings offset table not sorted");
        if (c < 0) {
            if (cur && cur->nvals % TSDB_IR_SAMPLE_EVERY != 1 && push_sample(r, &caps, last_entry))
                goto oom;
            if (cur)
                cur->nsamples = (uint32_t)(r->nsamples - cur->first_sample);
            if (r->nnames == capn) {
                size_t nc = capn ? capn * 2 : 16;
                struct tsdb_ir_name *nn = realloc(r->names, nc * sizeof(*nn));
                if (!nn)
                    goto oom;
                r->names = nn;
                capn = nc;
            }
            cur = &r->names[r->nnames++];
            *cur = (struct tsdb_ir_name){ns, (uint32_t)nl, 0, (uint32_t)r->nsamples, 0};
        }
        if (cur->nvals % TSDB_IR_SAMPLE_EVERY == 0 && push_sample(r, &caps, entry))
            goto oom;
        cur->nvals++;
        last_entry = entry;
        prev = v;
    }
    if (r->nnames) {
        struct tsdb_ir_name *cur = &r->names[r->nnames - 1];
        if (cur->nvals % TSDB_IR_SAMPLE_EVERY != 1 && push_sample(r, &caps, last_entry))
            goto oom;
        cur->nsamples = (uint32_t)(r->nsamples - cur->first_sample);
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

int tsdb_indexr_init(tsdb_indexr *r, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->len = len;
    if (len < 5 + TSDB_INDEX_TOC_LEN || tsdb_get_be32(p) != TSDB_INDEX_MAGIC)
        return bad(err, errlen, "bad magic or too short");
    r->version = p[4];
    if (r->version != 2 && r->version != 3) {
        snprintf(err, errlen, "index: unsupported version %d", r->version);
        return TSDB_ERR_CORRUPT;
    }
    const uint8_t *toc = p + len - TSDB_INDEX_TOC_LEN;
    if (!crc_ok(toc, 48, toc + 48))
        return bad(err, errlen, "TOC checksum mismatch");
    for (int i = 0; i < 6; i++)
        r->toc[i] = tsdb_get_be64(toc + 8 * i);
    int rc = read_symbols(r, err, errlen);
    if (!rc)
        rc = read_postings_table(r, err, errlen);
    if (rc)
        tsdb_indexr_free(r);
    return rc;
}

void tsdb_indexr_free(tsdb_indexr *r)
{
    free(r->sym_off);
    free(r->names);
    free(r->samples);
    r->sym_off = NULL;
    r->names = NULL;
    r->samples = NULL;
    r->nsyms = 0;
    r->nnames = r->nsamples = 0;
}

int tsdb_indexr_symbol(const tsdb_indexr *r, uint64_t idx, const char **s, uint32_t *len)
{
    if (idx >= r->nsyms)
        return TSDB_ERR_CORRUPT;
    tsdb_dec d;
    uint32_t off = r->sym_off[idx / TSDB_IR_SYM_EVERY];
    tsdb_dec_init(&d, r->p + off, r->len - off);
    for (uint64_t i = 0; i < idx % TSDB_IR_SYM_EVERY; i++) {
        uint64_t l = tsdb_dec_uvarint(&d);
        (void)tsdb_dec_bytes(&d, l);
    }
    uint64_t l = tsdb_dec_uvarint(&d);
    const uint8_t *b = tsdb_dec_bytes(&d, l); /* checked at init too */
    if (!b)
        return TSDB_ERR_CORRUPT;
    *s = (const char *)b;
    *len = (uint32_t)l;
    return 0;
}

void tsdb_refs_free(tsdb_refs *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

int tsdb_indexr_postings_at(const tsdb_indexr *r, uint64_t off, tsdb_refs *out)
{
    tsdb_dec d;
    if (section(r, off, &d))
        return TSDB_ERR_CORRUPT;
    uint32_t n = tsdb_dec_be32(&d);
    if (d.err || tsdb_dec_left(&d) != (size_t)n * 4)
        return TSDB_ERR_CORRUPT;
    if (out->cap - out->n < n) {
        size_t nc = out->cap ? out->cap : 64;
        while (nc - out->n < n)
            nc *= 2;
        uint32_t *nv = realloc(out->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        out->v = nv;
        out->cap = nc;
    }
    for (uint32_t i = 0; i < n; i++)
        out->v[out->n++] = tsdb_get_be32(d.p + 4 * (size_t)i);
    return 0;
}

const struct tsdb_ir_name *tsdb_indexr_name(const tsdb_indexr *r, const char *s, size_t len)
{
    size_t lo = 0, hi = r->nnames;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_bytes(r->names[mid].s, r->names[mid].len, s, len);
        if (c == 0)
            return &r->names[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int entry_at(const tsdb_indexr *r, uint64_t off, struct tsdb_ir_val *v)
{
    tsdb_dec d;
    const char *ns;
    uint64_t nl;
    if (off >= r->len)
        return -1;
    tsdb_dec_init(&d, r->p + off, r->len - off);
    return read_entry(&d, &ns, &nl, v);
}

void tsdb_indexr_values_begin(const tsdb_indexr *r, const struct tsdb_ir_name *n, tsdb_ir_cursor *c)
{
    uint64_t off = r->samples[n->first_sample];
    c->p = r->p + off;
    c->end = r->p + r->len;
    c->left = n->nvals;
}

int tsdb_indexr_values_next(tsdb_ir_cursor *c, struct tsdb_ir_val *out)
{
    if (c->left == 0)
        return 0;
    tsdb_dec d;
    tsdb_dec_init(&d, c->p, (size_t)(c->end - c->p));
    const char *ns;
    uint64_t nl;
    if (read_entry(&d, &ns, &nl, out)) {
        c->left = 0;
        return TSDB_ERR_CORRUPT;
    }
    c->p = d.p;
    c->left--;
    return 1;
}

int tsdb_indexr_values_from(const tsdb_indexr *r, const struct tsdb_ir_name *n, const char *s, size_t len,
                            tsdb_ir_cursor *c)
{
    /* Last sample whose value is < s; the wanted value is at most
     * TSDB_IR_SAMPLE_EVERY entries after it. */
    size_t lo = 0, hi = n->nsamples;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        struct tsdb_ir_val v;
        if (entry_at(r, r->samples[n->first_sample + mid], &v))
            return TSDB_ERR_CORRUPT;
        if (cmp_bytes(v.s, v.len, s, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        tsdb_indexr_values_begin(r, n, c);
        return 0;
    }
    size_t k = lo - 1;
    c->p = r->p + r->samples[n->first_sample + k];
    c->end = r->p + r->len;
    c->left = k * TSDB_IR_SAMPLE_EVERY >= n->nvals ? 1 : n->nvals - (uint32_t)(k * TSDB_IR_SAMPLE_EVERY);
    /* Skip values < s (at most a sample interval). */
    for (;;) {
        tsdb_ir_cursor save = *c;
        struct tsdb_ir_val v;
        int rc = tsdb_indexr_values_next(c, &v);
        if (rc < 0)
            return rc;
        if (rc == 0 || cmp_bytes(v.s, v.len, s, len) >= 0) {
            *c = save;
            return 0;
        }
    }
}

int tsdb_indexr_value(const tsdb_indexr *r, const struct tsdb_ir_name *n, const char *s, size_t len,
                      struct tsdb_ir_val *out)
{
    tsdb_ir_cursor c;
    int rc = tsdb_indexr_values_from(r, n, s, len, &c);
    if (rc < 0)
        return rc;
    rc = tsdb_indexr_values_next(&c, out);
    if (rc <= 0)
        return rc;
    return cmp_bytes(out->s, out->len, s, len) == 0;
}

void tsdb_ir_series_free(tsdb_ir_series *s)
{
    free(s->ls);
    free(s->chunks);
    memset(s, 0, sizeof(*s));
}

int tsdb_indexr_series(const tsdb_indexr *r, uint32_t ref, tsdb_ir_series *out)
{
    uint64_t off = (uint64_t)ref * 16;
    if (off >= r->len)
        return TSDB_ERR_CORRUPT;
    tsdb_dec d;
    tsdb_dec_init(&d, r->p + off, r->len - off);
    uint64_t l = tsdb_dec_uvarint(&d);
    if (d.err || tsdb_dec_left(&d) < 4 || l > tsdb_dec_left(&d) - 4)
        return TSDB_ERR_CORRUPT;
    if (!crc_ok(d.p, l, d.p + l))
        return TSDB_ERR_CORRUPT;
    d.end = d.p + l;
    uint64_t nl = tsdb_dec_uvarint(&d);
    if (d.err || nl > l)
        return TSDB_ERR_CORRUPT;
    if (nl > out->capls) {
        labels_label *n = realloc(out->ls, nl * sizeof(*n));
        if (!n)
            return -ENOMEM;
        out->ls = n;
        out->capls = nl;
    }
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t a = tsdb_dec_uvarint(&d), b = tsdb_dec_uvarint(&d);
        labels_label *x = &out->ls[i];
        if (d.err || tsdb_indexr_symbol(r, a, &x->name, &x->name_len) ||
            tsdb_indexr_symbol(r, b, &x->value, &x->value_len))
            return TSDB_ERR_CORRUPT;
    }
    out->nls = nl;
    uint64_t nc = tsdb_dec_uvarint(&d);
    if (d.err || nc > l)
        return TSDB_ERR_CORRUPT;
    if (nc > out->capchunks) {
        tsdb_chunk_meta *n = realloc(out->chunks, nc * sizeof(*n));
        if (!n)
            return -ENOMEM;
        out->chunks = n;
        out->capchunks = nc;
    }
    uint64_t mint = 0, maxt = 0, cref = 0;
    for (uint64_t i = 0; i < nc; i++) {
        if (i == 0) {
            mint = (uint64_t)tsdb_dec_varint(&d);
            maxt = mint + tsdb_dec_uvarint(&d);
            cref = tsdb_dec_uvarint(&d);
        } else {
            mint = maxt + tsdb_dec_uvarint(&d);
            maxt = mint + tsdb_dec_uvarint(&d);
            cref += (uint64_t)tsdb_dec_varint(&d);
        }
        out->chunks[i] = (tsdb_chunk_meta){(int64_t)mint, (int64_t)maxt, cref};
    }
    if (d.err)
        return TSDB_ERR_CORRUPT;
    out->nchunks = nc;
    return 0;
}
