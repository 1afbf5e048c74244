/* tsdb_sample_iter_*: samples of a chunk array, restricted to [mint, maxt],
 * with overlapping chunks merged (on equal timestamps the later chunk wins). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tsdb/tsdb.h>

#include "chunk_xor.h"

struct iter_state {
    tsdb_xor_dec dec;
    int64_t cur_t;
    double cur_v;
    uint8_t active;  /* dec is positioned inside chunks[idx-1] */
    uint8_t has_cur;
    uint8_t done;
};
_Static_assert(sizeof(struct iter_state) <= sizeof(((tsdb_sample_iter *)0)->state),
               "tsdb_sample_iter.state too small");

struct msample {
    int64_t t;
    uint64_t v;
    uint32_t chunk, seq;
};

struct merge {
    struct msample *s;
    size_t n, cap, pos;
    int active;
};

static struct iter_state *st(tsdb_sample_iter *it)
{
    return (struct iter_state *)(void *)it->state;
}

void tsdb_sample_iter_init(tsdb_sample_iter *it, const tsdb_chunk *chunks, size_t n,
                           int64_t mint, int64_t maxt)
{
    memset(it, 0, sizeof(*it));
    it->chunks = chunks;
    it->nchunks = n;
    it->mint = mint;
    it->maxt = maxt;
}

void tsdb_sample_iter_free(tsdb_sample_iter *it)
{
    struct merge *m = it->merge;
    if (m) {
        free(m->s);
        free(m);
        it->merge = NULL;
    }
}

static int cmp_msample(const void *a, const void *b)
{
    const struct msample *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->chunk != y->chunk)
        return x->chunk < y->chunk ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Decodes chunks [from, to) into one sorted, de-duplicated run. */
static int build_merge(tsdb_sample_iter *it, size_t from, size_t to)
{
    struct merge *m = it->merge;
    if (!m) {
        m = calloc(1, sizeof(*m));
        if (!m)
            return -ENOMEM;
        it->merge = m;
    }
    m->n = m->pos = 0;
    for (size_t k = from; k < to; k++) {
        const tsdb_chunk *c = &it->chunks[k];
        if (c->encoding != TSDB_ENC_XOR)
            return TSDB_ERR_CORRUPT;
        tsdb_xor_dec d;
        int rc = tsdb_xor_dec_init(&d, c->data, c->len);
        if (rc)
            return rc;
        int64_t t;
        double v;
        uint32_t seq = 0;
        while ((rc = tsdb_xor_dec_next(&d, &t, &v)) == 1) {
            if (t < it->mint || t > it->maxt)
                continue;
            if (m->n == m->cap) {
                size_t nc = m->cap ? m->cap * 2 : 256;
                struct msample *ns = realloc(m->s, nc * sizeof(*ns));
                if (!ns)
                    return -ENOMEM;
                m->s = ns;
                m->cap = nc;
            }
            struct msample *s = &m->s[m->n++];
            s->t = t;
            memcpy(&s->v, &v, 8);
            s->chunk = (uint32_t)(k - from);
            s->seq = seq++;
        }
        if (rc < 0)
            return rc;
    }
    if (m->n > 1)
        qsort(m->s, m->n, sizeof(*m->s), cmp_msample);
    /* Keep the last of each run of equal timestamps. */
    size_t w = 0;
    for (size_t r = 0; r < m->n; r++) {
        if (r + 1 < m->n && m->s[r + 1].t == m->s[r].t)
            continue;
        m->s[w++] = m->s[r];
    }
    m->n = w;
    m->active = 1;
    return 0;
}

static int fail(tsdb_sample_iter *it, int rc)
{
    it->err = rc;
    st(it)->done = 1;
    return rc;
}

int tsdb_sample_iter_next(tsdb_sample_iter *it, int64_t *t, double *v)
{
    struct iter_state *s = st(it);
    if (it->err)
        return it->err;
    if (s->done)
        return 0;
    for (;;) {
        struct merge *m = it->merge;
        if (m && m->active) {
            if (m->pos < m->n) {
                const struct msample *ms = &m->s[m->pos++];
                s->cur_t = ms->t;
                memcpy(&s->cur_v, &ms->v, 8);
                goto got;
            }
            m->active = 0;
        }
        if (s->active) {
            int64_t tt;
            double vv;
            int rc = tsdb_xor_dec_next(&s->dec, &tt, &vv);
            if (rc < 0)
                return fail(it, rc);
            if (rc == 1) {
                if (tt < it->mint)
                    continue;
                if (tt > it->maxt) {
                    s->active = 0; /* rest of this chunk is later still */
                    continue;
                }
                s->cur_t = tt;
                s->cur_v = vv;
                goto got;
            }
            s->active = 0;
        }
        /* Open the next chunk (or group of overlapping chunks). */
        if (it->idx >= it->nchunks)
            break;
        const tsdb_chunk *c = &it->chunks[it->idx];
        if (c->maxt < it->mint) {
            it->idx++;
            continue;
        }
        if (c->mint > it->maxt)
            break; /* sorted by mint: nothing later is in range */
        size_t j = it->idx + 1;
        int64_t gmax = c->maxt;
        while (j < it->nchunks && it->chunks[j].mint <= gmax) {
            if (it->chunks[j].maxt > gmax)
                gmax = it->chunks[j].maxt;
            j++;
        }
        if (j == it->idx + 1) {
            if (c->encoding != TSDB_ENC_XOR)
                return fail(it, TSDB_ERR_CORRUPT);
            int rc = tsdb_xor_dec_init(&s->dec, c->data, c->len);
            if (rc)
                return fail(it, rc);
            s->active = 1;
        } else {
            int rc = build_merge(it, it->idx, j);
            if (rc)
                return fail(it, rc);
        }
        it->idx = j;
    }
    s->done = 1;
    s->has_cur = 0;
    return 0;
got:
    s->has_cur = 1;
    *t = s->cur_t;
    *v = s->cur_v;
    return 1;
}

int tsdb_sample_iter_seek(tsdb_sample_iter *it, int64_t t, int64_t *ts, double *v)
{
    struct iter_state *s = st(it);
    if (it->err)
        return it->err;
    if (s->has_cur && s->cur_t >= t) {
        *ts = s->cur_t;
        *v = s->cur_v;
        return 1;
    }
    /* Skip whole chunks that end before t without decoding them. */
    struct merge *m = it->merge;
    if (!(m && m->active)) {
        if (s->active && it->chunks[it->idx - 1].maxt < t)
            s->active = 0;
        if (!s->active)
            while (it->idx < it->nchunks && it->chunks[it->idx].maxt < t)
                it->idx++;
    }
    int rc;
    while ((rc = tsdb_sample_iter_next(it, ts, v)) == 1)
        if (*ts >= t)
            return 1;
    return rc;
}
