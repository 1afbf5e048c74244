/* tsdb_block_open/close/get_meta and block-level select / label queries
 * (block_read.h): index and chunk segments are mmapped read-only. */
#include "block_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio.h"
#include "chunk_xor.h"
#include "chunks_file.h"
#include "index_read.h"
#include "meta.h"
#include "tombstones.h"

struct tsdb_block {
    char *dir;
    tsdb_block_meta meta;
    tsdb_mmap idx;
    tsdb_indexr ir;
    tsdb_chunkr cr;
    tsdb_tombstone *tomb; /* sorted by series ref */
    size_t ntomb;
};

static int cmp_tomb(const void *a, const void *b)
{
    const tsdb_tombstone *x = a, *y = b;
    if (x->series_ref != y->series_ref)
        return x->series_ref < y->series_ref ? -1 : 1;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

int tsdb_block_open(const char *dir, tsdb_block **out, char *err, size_t errlen)
{
    tsdb_block *b = calloc(1, sizeof(*b));
    char path[4096];
    char *json = NULL;
    size_t jlen;
    int rc;
    if (!b || !(b->dir = strdup(dir))) {
        free(b);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if ((rc = tsdb_pathf(path, sizeof(path), "%s/meta.json", dir))) {
        snprintf(err, errlen, "path too long");
        goto fail;
    }
    if ((rc = tsdb_read_file(path, &json, &jlen))) {
        snprintf(err, errlen, "read %s: %s", path, strerror(-rc));
        goto fail;
    }
    rc = tsdb_meta_parse(json, jlen, &b->meta, err, errlen);
    free(json);
    if (rc)
        goto fail;
    tsdb_pathf(path, sizeof(path), "%s/index", dir);
    if ((rc = tsdb_mmap_open(&b->idx, path))) {
        snprintf(err, errlen, "mmap %s: %s", path, strerror(-rc));
        goto fail;
    }
    if ((rc = tsdb_indexr_init(&b->ir, b->idx.p, b->idx.len, err, errlen)))
        goto fail;
    tsdb_pathf(path, sizeof(path), "%s/chunks", dir);
    if ((rc = tsdb_chunkr_open(&b->cr, path, err, errlen)))
        goto fail;
    tsdb_pathf(path, sizeof(path), "%s/tombstones", dir);
    tsdb_mmap tm;
    rc = tsdb_mmap_open(&tm, path);
    if (rc == 0) {
        rc = tm.len ? tsdb_tombstones_parse(tm.p, tm.len, &b->tomb, &b->ntomb) : 0;
        tsdb_mmap_close(&tm);
        if (rc) {
            snprintf(err, errlen, "%s: corrupt", path);
            goto fail;
        }
        if (b->ntomb)
            qsort(b->tomb, b->ntomb, sizeof(*b->tomb), cmp_tomb);
    } else if (rc != -ENOENT) {
        snprintf(err, errlen, "read %s: %s", path, strerror(-rc));
        goto fail;
    }
    *out = b;
    return 0;
fail:
    tsdb_block_close(b);
    return rc;
}

void tsdb_block_close(tsdb_block *b)
{
    if (!b)
        return;
    tsdb_indexr_free(&b->ir);
    tsdb_mmap_close(&b->idx);
    tsdb_chunkr_close(&b->cr);
    tsdb_meta_free(&b->meta);
    free(b->tomb);
    free(b->dir);
    free(b);
}

const tsdb_block_meta *tsdb_block_get_meta(const tsdb_block *b)
{
    return &b->meta;
}

const char *tsdb_block_dir(const tsdb_block *b)
{
    return b->dir;
}

/* ---- postings for matchers ------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_unique(tsdb_refs *a)
{
    if (a->n < 2)
        return;
    qsort(a->v, a->n, sizeof(*a->v), cmp_u32);
    size_t w = 1;
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i] != a->v[w - 1])
            a->v[w++] = a->v[i];
    a->n = w;
}

/* a = a AND b (both sorted). */
static void intersect(tsdb_refs *a, const tsdb_refs *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i];
            i++;
            j++;
        }
    }
    a->n = w;
}

/* a = a AND NOT b (both sorted). */
static void subtract(tsdb_refs *a, const tsdb_refs *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->n) {
        while (j < b->n && b->v[j] < a->v[i])
            j++;
        if (j < b->n && b->v[j] == a->v[i])
            i++;
        else
            a->v[w++] = a->v[i++];
    }
    a->n = w;
}

/* Length of the literal prefix every match of an (anchored, RE2-syntax)
 * regex must start with; 0 when unsure. Conservative: any alternation,
 * group, class, escape or flag ends it, and a quantifier takes back the
 * character it applies to. */
static size_t regex_literal_prefix(const char *re)
{
    if (strchr(re, '|'))
        return 0;
    size_t n = 0;
    while (re[n] && !strchr("\\.+*?()[]{}^$", re[n]))
        n++;
    if (re[n] == '*' || re[n] == '+' || re[n] == '?' || re[n] == '{') {
        if (n == 0)
            return 0;
        n--;
        /* do not cut a UTF-8 sequence: the quantifier applies to the whole rune */
        while (n > 0 && ((unsigned char)re[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

/* Adds the postings of every value of pn the matcher accepts (want=true) or
 * rejects (want=false). */
static int add_values(const tsdb_indexr *r, const struct tsdb_ir_name *pn, const labels_matcher *m,
                      bool want, tsdb_refs *acc)
{
    int rc = 0;
    struct tsdb_ir_val pv;
    if (!want && labels_matcher_type(m) == LABELS_MATCH_NEQ) {
        const char *v = labels_matcher_value(m);
        rc = tsdb_indexr_value(r, pn, v, strlen(v), &pv);
        return rc == 1 ? tsdb_indexr_postings_at(r, pv.off, acc) : rc;
    }
    const char *const *vals;
    const uint32_t *lens;
    int k = want ? labels_matcher_set_values(m, &vals, &lens) : -1;
    if (k >= 0) {
        for (int i = 0; i < k && rc >= 0; i++) {
            rc = tsdb_indexr_value(r, pn, vals[i], lens[i], &pv);
            if (rc == 1)
                rc = tsdb_indexr_postings_at(r, pv.off, acc);
        }
        return rc < 0 ? rc : 0;
    }
    /* A positive regex with a literal prefix only needs the values that
     * start with it (each is still checked by the matcher). */
    size_t plen = 0;
    const char *re = labels_matcher_value(m);
    if (want && labels_matcher_type(m) == LABELS_MATCH_RE)
        plen = regex_literal_prefix(re);
    tsdb_ir_cursor c;
    if (plen) {
        if ((rc = tsdb_indexr_values_from(r, pn, re, plen, &c)))
            return rc;
    } else {
        tsdb_indexr_values_begin(r, pn, &c);
    }
    while ((rc = tsdb_indexr_values_next(&c, &pv)) == 1) {
        if (plen && (pv.len < plen || memcmp(pv.s, re, plen)))
            break; /* past the values with the prefix */
        if (labels_matcher_matches(m, pv.s, pv.len) == want && (rc = tsdb_indexr_postings_at(r, pv.off, acc)))
            break;
    }
    return rc < 0 ? rc : 0;
}

/* Prometheus' PostingsForMatchers: intersect the postings of matchers that
 * need the label, subtract those of values rejected by matchers that also
 * accept a missing label. */
static int postings_for_matchers(const tsdb_indexr *r, const labels_matcher *const *ms, size_t nm,
                                 tsdb_refs *out)
{
    tsdb_refs res = {0}, neg = {0}, cur = {0};
    bool have = false;
    int rc = 0;
    for (size_t i = 0; i < nm && !rc; i++) {
        const labels_matcher *m = ms[i];
        const char *name = labels_matcher_name(m);
        const struct tsdb_ir_name *pn = tsdb_indexr_name(r, name, strlen(name));
        if (labels_matcher_matches_empty(m)) {
            if (pn)
                rc = add_values(r, pn, m, false, &neg);
            continue;
        }
        cur.n = 0;
        if (pn)
            rc = add_values(r, pn, m, true, &cur);
        if (rc)
            break;
        sort_unique(&cur);
        if (!have) {
            res = cur;
            cur = (tsdb_refs){0};
            have = true;
        } else {
            intersect(&res, &cur);
        }
        if (res.n == 0)
            break;
    }
    tsdb_refs_free(&cur);
    if (!rc && !have)
        rc = tsdb_indexr_postings_at(r, r->all_off, &res);
    if (!rc && neg.n && res.n) {
        sort_unique(&neg);
        subtract(&res, &neg);
    }
    tsdb_refs_free(&neg);
    if (rc) {
        tsdb_refs_free(&res);
        return rc;
    }
    *out = res;
    return 0;
}

/* ---- series set --------------------------------------------------------------------- */

typedef struct block_ss {
    tsdb_series_set base;
    tsdb_block *b;
    int64_t mint, maxt;
    tsdb_refs refs;
    size_t pos;
    tsdb_ir_series cur;
    tsdb_chunk *chunks;
    size_t nchunks, capchunks;
    uint8_t **owned; /* chunks re-encoded after tombstones; freed on next */
    size_t nowned, capowned;
    int err;
} block_ss;

static void drop_owned(block_ss *s)
{
    for (size_t i = 0; i < s->nowned; i++)
        free(s->owned[i]);
    s->nowned = 0;
}

/* Re-encodes c without samples inside the deleted intervals. Sets c->len = 0
 * if nothing is left. */
static int apply_tombstones(block_ss *s, tsdb_chunk *c, const tsdb_tombstone *t, size_t nt)
{
    bool hit = false;
    for (size_t i = 0; i < nt; i++)
        if (t[i].mint <= c->maxt && t[i].maxt >= c->mint)
            hit = true;
    if (!hit)
        return 0;
    if (c->encoding != TSDB_ENC_XOR)
        return TSDB_ERR_CORRUPT;
    tsdb_xor_dec d;
    tsdb_xor_enc e;
    tsdb_xor_enc_init(&e);
    int rc = tsdb_xor_dec_init(&d, c->data, c->len);
    int64_t ts, mint = INT64_MAX, maxt = INT64_MIN;
    double v;
    while (!rc && (rc = tsdb_xor_dec_next(&d, &ts, &v)) == 1) {
        rc = 0;
        bool del = false;
        for (size_t i = 0; i < nt && !del; i++)
            del = ts >= t[i].mint && ts <= t[i].maxt;
        if (del)
            continue;
        if ((rc = tsdb_xor_enc_append(&e, ts, v)))
            break;
        if (ts < mint)
            mint = ts;
        maxt = ts;
    }
    if (rc < 0) {
        tsdb_xor_enc_free(&e);
        return rc;
    }
    if (s->nowned == s->capowned) {
        size_t nc = s->capowned ? s->capowned * 2 : 8;
        uint8_t **no = realloc(s->owned, nc * sizeof(*no));
        if (!no) {
            tsdb_xor_enc_free(&e);
            return -ENOMEM;
        }
        s->owned = no;
        s->capowned = nc;
    }
    uint32_t len;
    uint8_t *data = tsdb_xor_enc_take(&e, &len);
    c->data = data;
    c->len = data ? len : 0;
    c->mint = mint;
    c->maxt = maxt;
    if (data)
        s->owned[s->nowned++] = data;
    return 0;
}

static int bss_next(tsdb_series_set *ss)
{
    block_ss *s = (block_ss *)ss;
    tsdb_block *b = s->b;
    if (s->err)
        return s->err;
    drop_owned(s);
    while (s->pos < s->refs.n) {
        uint32_t ref = s->refs.v[s->pos++];
        int rc = tsdb_indexr_series(&b->ir, ref, &s->cur);
        if (rc)
            return s->err = rc;
        if (s->cur.nchunks > s->capchunks) {
            tsdb_chunk *nc = realloc(s->chunks, s->cur.nchunks * sizeof(*nc));
            if (!nc)
                return s->err = -ENOMEM;
            s->chunks = nc;
            s->capchunks = s->cur.nchunks;
        }
        /* Tombstones of this series. */
        const tsdb_tombstone *t = NULL;
        size_t nt = 0;
        if (b->ntomb) {
            size_t lo = 0, hi = b->ntomb;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (b->tomb[mid].series_ref < ref)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            t = &b->tomb[lo];
            while (lo + nt < b->ntomb && b->tomb[lo + nt].series_ref == ref)
                nt++;
        }
        s->nchunks = 0;
        for (size_t i = 0; i < s->cur.nchunks; i++) {
            const tsdb_chunk_meta *cm = &s->cur.chunks[i];
            if (cm->maxt < s->mint || cm->mint > s->maxt)
                continue;
            tsdb_chunk *c = &s->chunks[s->nchunks];
            c->mint = cm->mint;
            c->maxt = cm->maxt;
            if ((rc = tsdb_chunkr_get(&b->cr, cm->ref, true, c)))
                return s->err = rc;
            if (nt && (rc = apply_tombstones(s, c, t, nt)))
                return s->err = rc;
            if (c->len)
                s->nchunks++;
        }
        if (s->nchunks)
            return 1;
    }
    return 0;
}

static const labels_label *bss_labels(tsdb_series_set *ss, size_t *n)
{
    block_ss *s = (block_ss *)ss;
    *n = s->cur.nls;
    return s->cur.ls;
}

static const tsdb_chunk *bss_chunks(tsdb_series_set *ss, size_t *n)
{
    block_ss *s = (block_ss *)ss;
    *n = s->nchunks;
    return s->chunks;
}

static void bss_free(tsdb_series_set *ss)
{
    block_ss *s = (block_ss *)ss;
    drop_owned(s);
    free(s->owned);
    tsdb_refs_free(&s->refs);
    tsdb_ir_series_free(&s->cur);
    free(s->chunks);
    free(s);
}

static const struct tsdb_series_set_ops bss_ops = {
    .next = bss_next, .labels = bss_labels, .chunks = bss_chunks, .free = bss_free,
};

static int pm_error(int rc, char *err, size_t errlen)
{
    snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : "index: corrupt postings");
    return rc;
}

int tsdb_block_select(tsdb_block *b, int64_t mint, int64_t maxt, const labels_matcher *const *ms,
                      size_t nm, tsdb_series_set **out, char *err, size_t errlen)
{
    block_ss *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &bss_ops;
    s->b = b;
    s->mint = mint;
    s->maxt = maxt;
    int rc = 0;
    /* The block covers [mint, maxt): skip the index when the range misses it. */
    if (maxt >= b->meta.mint && mint < b->meta.maxt)
        rc = postings_for_matchers(&b->ir, ms, nm, &s->refs);
    if (rc) {
        free(s);
        return pm_error(rc, err, errlen);
    }
    *out = &s->base;
    return 0;
}

/* ---- label names / values ------------------------------------------------------ */

struct sv {
    const char *s;
    uint32_t len;
};

static int cmp_sv(const void *a, const void *b)
{
    const struct sv *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

/* Sorts, de-duplicates and copies views into the output format. */
static int emit(struct sv *v, size_t n, char ***out, size_t *nout, char *err, size_t errlen)
{
    if (n)
        qsort(v, n, sizeof(*v), cmp_sv);
    char **res = malloc((n ? n : 1) * sizeof(*res));
    size_t w = 0;
    if (!res)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (w && !cmp_sv(&v[i], &v[i - 1]))
            continue;
        if (!(res[w] = strndup(v[i].s, v[i].len)))
            goto oom;
        w++;
    }
    *out = res;
    *nout = w;
    return 0;
oom:
    if (res)
        for (size_t i = 0; i < w; i++)
            free(res[i]);
    free(res);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

/* Calls fn for every series matching the matchers. */
static int for_matching(tsdb_block *b, const labels_matcher *const *ms, size_t nm,
                        int (*fn)(void *ctx, const tsdb_ir_series *s), void *ctx, char *err, size_t errlen)
{
    tsdb_refs refs = {0};
    int rc = postings_for_matchers(&b->ir, ms, nm, &refs);
    if (rc)
        return pm_error(rc, err, errlen);
    tsdb_ir_series cur = {0};
    for (size_t i = 0; i < refs.n && !rc; i++) {
        rc = tsdb_indexr_series(&b->ir, refs.v[i], &cur);
        if (!rc)
            rc = fn(ctx, &cur);
    }
    if (rc)
        snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : "index: corrupt series");
    tsdb_ir_series_free(&cur);
    tsdb_refs_free(&refs);
    return rc;
}

struct collect {
    struct sv *v;
    size_t n, cap;
    const char *name; /* label_values: the label; NULL: names */
};

static int push_sv(struct collect *c, const char *s, uint32_t len)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        struct sv *nv = realloc(c->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = (struct sv){s, len};
    return 0;
}

static int collect_fn(void *ctx, const tsdb_ir_series *s)
{
    struct collect *c = ctx;
    for (size_t i = 0; i < s->nls; i++) {
        const labels_label *l = &s->ls[i];
        if (!c->name) {
            if (push_sv(c, l->name, l->name_len))
                return -ENOMEM;
        } else if (l->name_len == strlen(c->name) && !memcmp(l->name, c->name, l->name_len)) {
            return push_sv(c, l->value, l->value_len);
        }
    }
    return 0;
}

int tsdb_block_label_names(tsdb_block *b, const labels_matcher *const *ms, size_t nm,
                           char ***out, size_t *n, char *err, size_t errlen)
{
    struct collect c = {0};
    int rc = 0;
    if (nm == 0) {
        for (size_t i = 0; i < b->ir.nnames && !rc; i++)
            rc = push_sv(&c, b->ir.names[i].s, b->ir.names[i].len);
        if (rc)
            snprintf(err, errlen, "out of memory");
    } else {
        rc = for_matching(b, ms, nm, collect_fn, &c, err, errlen);
    }
    if (!rc)
        rc = emit(c.v, c.n, out, n, err, errlen);
    free(c.v);
    return rc;
}

int tsdb_block_label_values(tsdb_block *b, const char *name, const labels_matcher *const *ms,
                            size_t nm, char ***out, size_t *n, char *err, size_t errlen)
{
    struct collect c = {.name = name};
    int rc = 0;
    if (nm == 0) {
        const struct tsdb_ir_name *pn = tsdb_indexr_name(&b->ir, name, strlen(name));
        if (pn) {
            tsdb_ir_cursor cur;
            struct tsdb_ir_val v;
            tsdb_indexr_values_begin(&b->ir, pn, &cur);
            while ((rc = tsdb_indexr_values_next(&cur, &v)) == 1)
                if ((rc = push_sv(&c, v.s, v.len)))
                    break;
        }
        if (rc)
            snprintf(err, errlen, rc == -ENOMEM ? "out of memory" : "index: corrupt postings offset table");
    } else {
        rc = for_matching(b, ms, nm, collect_fn, &c, err, errlen);
    }
    if (!rc)
        rc = emit(c.v, c.n, out, n, err, errlen);
    free(c.v);
    return rc;
}
