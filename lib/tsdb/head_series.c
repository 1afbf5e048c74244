/* Per-series sample handling: in-order appends into XOR chunks (cut at 120
 * samples and at block boundaries, so no chunk spans two blocks), the
 * out-of-order buffer, and the marks a select takes. Callers hold the
 * series' stripe lock (head.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "head.h"

static uint64_t fbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Index of the first OOO sample with timestamp >= t. */
static uint32_t ooo_find(const ooo_buf *o, int64_t t)
{
    uint32_t lo = 0, hi = o->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (o->s[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int tsdb_head_series_check(head *h, const head_series *s, int64_t t, double v)
{
    if (t < atomic_load_explicit(&h->min_valid, memory_order_relaxed))
        return TSDB_ERR_TOO_OLD;
    if (s->maxt == INT64_MIN || t > s->maxt)
        return 0;
    if (t == s->maxt) {
        if (s->enc.count && s->enc.t == t)
            return s->enc.v == fbits(v) ? 0 : TSDB_ERR_DUPLICATE;
        return TSDB_ERR_DUPLICATE;
    }
    /* unsigned difference: no overflow for any pair of timestamps */
    if (h->ooo_window > 0 && (uint64_t)s->maxt - (uint64_t)t <= (uint64_t)h->ooo_window) {
        if (s->ooo) {
            uint32_t i = ooo_find(s->ooo, t);
            if (i < s->ooo->n && s->ooo->s[i].t == t && s->ooo->s[i].v != fbits(v))
                return TSDB_ERR_DUPLICATE;
        }
        return 0;
    }
    return TSDB_ERR_OUT_OF_ORDER;
}

static int cut_chunk(head *h, head_series *s)
{
    if (s->nchunks == s->capchunks) {
        uint32_t nc = s->capchunks ? s->capchunks * 2 : 2;
        head_chunk *c = realloc(s->chunks, nc * sizeof(*c));
        if (!c)
            return -ENOMEM;
        atomic_fetch_add_explicit(&h->bytes, (int64_t)((nc - s->capchunks) * sizeof(*c)), memory_order_relaxed);
        s->chunks = c;
        s->capchunks = nc;
    }
    int64_t maxt = s->enc.t, cap = s->enc.cap;
    uint32_t len;
    uint8_t *data = tsdb_xor_enc_take(&s->enc, &len);
    if (!data)
        return -ENOMEM;
    s->chunks[s->nchunks++] = (head_chunk){s->open_mint, maxt, data, len};
    atomic_fetch_add_explicit(&h->bytes, (int64_t)len - cap, memory_order_relaxed);
    return 0;
}

static int ooo_insert(head *h, head_series *s, int64_t t, uint64_t vb)
{
    ooo_buf *o = s->ooo;
    uint32_t i = o ? ooo_find(o, t) : 0;
    if (o && i < o->n && o->s[i].t == t)
        return o->s[i].v == vb ? 0 : TSDB_ERR_DUPLICATE;
    if (!o || o->n == o->cap) {
        uint32_t oc = o ? o->cap : 0, nc = o ? o->cap * 2 : 4;
        ooo_buf *no = realloc(o, sizeof(*no) + nc * sizeof(ooo_sample));
        if (!no)
            return -ENOMEM;
        if (!o)
            no->n = 0;
        atomic_fetch_add_explicit(&h->bytes, (int64_t)((nc - oc) * sizeof(ooo_sample)),
                                  memory_order_relaxed);
        no->cap = nc;
        s->ooo = o = no;
    }
    memmove(&o->s[i + 1], &o->s[i], (o->n - i) * sizeof(ooo_sample));
    o->s[i] = (ooo_sample){t, vb};
    o->n++;
    return 0;
}

int tsdb_head_series_append(head *h, head_series *s, int64_t t, double v)
{
    int rc = tsdb_head_series_check(h, s, t, v);
    if (rc < 0)
        return rc;
    if (s->maxt != INT64_MIN && t == s->maxt)
        return 0; /* identical duplicate: accepted, nothing to store */
    if (s->maxt != INT64_MIN && t < s->maxt)
        return ooo_insert(h, s, t, fbits(v));
    if (s->enc.count &&
        (s->enc.count >= HEAD_SAMPLES_PER_CHUNK ||
         floor_div(t, h->chunk_range) != floor_div(s->open_mint, h->chunk_range))) {
        if ((rc = cut_chunk(h, s)) < 0)
            return rc;
    }
    bool fresh = s->enc.count == 0;
    uint32_t cap = s->enc.cap;
    if ((rc = tsdb_xor_enc_append(&s->enc, t, v)) < 0)
        return rc;
    if (fresh) {
        s->open_mint = t;
        atomic_fetch_add_explicit(&h->nchunks, 1, memory_order_relaxed);
    }
    if (s->enc.cap != cap)
        atomic_fetch_add_explicit(&h->bytes, (int64_t)s->enc.cap - cap, memory_order_relaxed);
    s->maxt = t;
    return 0;
}

/* ---- select marks ------------------------------------------------------------ */

int tsdb_head_mark_take(const head_series *s, int64_t mint, int64_t maxt, head_mark *m)
{
    memset(m, 0, sizeof(*m));
    m->s = (head_series *)s;
    m->nchunks = s->nchunks;
    if (s->enc.count) {
        uint32_t len;
        tsdb_xor_enc_bytes(&s->enc, &len);
        m->open_len = len;
        m->open_count = s->enc.count;
        m->open_mint = s->open_mint;
        m->open_maxt = s->enc.t;
    }
    if (s->ooo && s->ooo->n) {
        const ooo_buf *o = s->ooo;
        uint32_t i = ooo_find(o, mint);
        if (i < o->n && o->s[i].t <= maxt) {
            tsdb_xor_enc e;
            tsdb_xor_enc_init(&e);
            m->ooo_mint = o->s[i].t;
            for (; i < o->n && o->s[i].t <= maxt; i++) {
                double v;
                memcpy(&v, &o->s[i].v, 8);
                if (tsdb_xor_enc_append(&e, o->s[i].t, v) < 0) {
                    tsdb_xor_enc_free(&e);
                    return -ENOMEM;
                }
                m->ooo_maxt = o->s[i].t;
                if (e.count == TSDB_XOR_MAX_SAMPLES)
                    break;
            }
            m->ooo_chunk = tsdb_xor_enc_take(&e, &m->ooo_len);
            if (!m->ooo_chunk)
                return -ENOMEM;
        }
    }
    return 0;
}

static int push_chunk(tsdb_chunk **chunks, size_t *cap, size_t n, tsdb_chunk c)
{
    if (n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        tsdb_chunk *v = realloc(*chunks, nc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        *chunks = v;
        *cap = nc;
    }
    (*chunks)[n] = c;
    return 0;
}

int tsdb_head_mark_chunks(const head_mark *m, int64_t mint, int64_t maxt, tsdb_chunk **chunks,
                     size_t *cap, uint8_t **scratch, size_t *scratch_cap)
{
    const head_series *s = m->s;
    size_t n = 0;
    for (uint32_t i = 0; i < m->nchunks && i < s->nchunks; i++) {
        const head_chunk *c = &s->chunks[i];
        if (c->maxt < mint || c->mint > maxt)
            continue;
        if (push_chunk(chunks, cap, n++, (tsdb_chunk){c->mint, c->maxt, c->data, c->len, TSDB_ENC_XOR}) < 0)
            return -ENOMEM;
    }
    if (m->open_count && m->open_maxt >= mint && m->open_mint <= maxt) {
        /* the open chunk then, or the chunk it has been cut into since */
        const uint8_t *src;
        if (s->nchunks > m->nchunks)
            src = s->chunks[m->nchunks].data;
        else
            src = s->enc.buf;
        if (*scratch_cap < m->open_len) {
            uint8_t *b = realloc(*scratch, m->open_len);
            if (!b)
                return -ENOMEM;
            *scratch = b;
            *scratch_cap = m->open_len;
        }
        memcpy(*scratch, src, m->open_len);
        (*scratch)[0] = (uint8_t)(m->open_count >> 8);
        (*scratch)[1] = (uint8_t)m->open_count;
        if (push_chunk(chunks, cap, n++,
                       (tsdb_chunk){m->open_mint, m->open_maxt, *scratch, m->open_len, TSDB_ENC_XOR}) < 0)
            return -ENOMEM;
    }
    if (m->ooo_chunk) {
        /* keep the array sorted by mint; the OOO chunk goes after equal mints */
        size_t i = n;
        if (push_chunk(chunks, cap, n++, (tsdb_chunk){0}) < 0)
            return -ENOMEM;
        while (i > 0 && (*chunks)[i - 1].mint > m->ooo_mint) {
            (*chunks)[i] = (*chunks)[i - 1];
            i--;
        }
        (*chunks)[i] = (tsdb_chunk){m->ooo_mint, m->ooo_maxt, m->ooo_chunk, m->ooo_len, TSDB_ENC_XOR};
    }
    return (int)n;
}
