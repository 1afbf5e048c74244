/* XOR chunk encoder/decoder; see chunk_xor.h and Prometheus chunkenc/xor.go. */
#include "chunk_xor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tsdb/tsdb.h>

/* ---- encoder ---------------------------------------------------------------- */

void tsdb_xor_enc_init(tsdb_xor_enc *e)
{
    memset(e, 0, sizeof(*e));
    e->leading = 0xff;
}

void tsdb_xor_enc_free(tsdb_xor_enc *e)
{
    free(e->buf);
    tsdb_xor_enc_init(e);
}

/* Makes room for `bits` more bits plus 8 bytes of slack (enc_bits stores
 * whole 64-bit words); new bytes are zero. */
static int enc_reserve(tsdb_xor_enc *e, uint32_t bits)
{
    uint64_t need = ((uint64_t)e->nbits + bits + 7) / 8 + 8;
    if (need <= e->cap)
        return 0;
    uint64_t ncap = e->cap ? (uint64_t)e->cap + e->cap / 2 : 32;
    if (ncap < need)
        ncap = need;
    if (ncap > UINT32_MAX)
        return -ENOMEM;
    uint8_t *nb = realloc(e->buf, (size_t)ncap);
    if (!nb)
        return -ENOMEM;
    memset(nb + e->cap, 0, (size_t)(ncap - e->cap));
    e->buf = nb;
    e->cap = (uint32_t)ncap;
    return 0;
}

/* Writes the low n (1..64) bits of u, most significant first, by OR-ing a
 * big-endian word (room reserved; bits past nbits are zero). */
static inline void enc_bits(tsdb_xor_enc *e, uint64_t u, unsigned n)
{
    if (n > 56) {
        enc_bits(e, u >> 32, n - 32);
        u &= 0xffffffffu;
        n = 32;
    }
    uint64_t v = u & ((1ull << n) - 1);
    uint32_t byte = e->nbits >> 3;
    v <<= 64 - n - (e->nbits & 7);
    uint64_t w;
    memcpy(&w, e->buf + byte, 8);
    w = __builtin_bswap64(__builtin_bswap64(w) | v);
    memcpy(e->buf + byte, &w, 8);
    e->nbits += n;
}

static void enc_uvarint(tsdb_xor_enc *e, uint64_t x)
{
    while (x >= 0x80) {
        enc_bits(e, (x & 0x7f) | 0x80, 8);
        x >>= 7;
    }
    enc_bits(e, x, 8);
}

static void enc_value(tsdb_xor_enc *e, uint64_t vbits)
{
    uint64_t delta = vbits ^ e->v;
    if (delta == 0) {
        enc_bits(e, 0, 1);
        return;
    }
    enc_bits(e, 1, 1);
    unsigned lz = (unsigned)__builtin_clzll(delta);
    unsigned tz = (unsigned)__builtin_ctzll(delta);
    if (lz >= 32)
        lz = 31; /* 5-bit field */
    if (e->leading != 0xff && lz >= e->leading && tz >= e->trailing) {
        enc_bits(e, 0, 1);
        enc_bits(e, delta >> e->trailing, 64u - e->leading - e->trailing);
        return;
    }
    e->leading = (uint8_t)lz;
    e->trailing = (uint8_t)tz;
    unsigned sig = 64 - lz - tz;
    enc_bits(e, 1, 1);
    enc_bits(e, lz, 5);
    enc_bits(e, sig, 6); /* 64 wraps to 0, as in Prometheus */
    enc_bits(e, delta >> tz, sig);
}

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

int tsdb_xor_enc_append(tsdb_xor_enc *e, int64_t t, double v)
{
    if (e->count >= TSDB_XOR_MAX_SAMPLES)
        return -ERANGE;
    /* Worst case for any sample: 10 varint bytes + 64 bits, or 4+64+2+5+6+64 bits. */
    int rc = enc_reserve(e, (e->nbits == 0 ? 16 : 0) + 160);
    if (rc)
        return rc;
    if (e->nbits == 0)
        e->nbits = 16;
    uint64_t vb = dbits(v);
    uint64_t tdelta = 0;
    if (e->count == 0) {
        uint64_t zz = ((uint64_t)t << 1) ^ (uint64_t)(t >> 63);
        enc_uvarint(e, zz);
        enc_bits(e, vb, 64);
    } else if (e->count == 1) {
        tdelta = (uint64_t)t - (uint64_t)e->t;
        enc_uvarint(e, tdelta);
        enc_value(e, vb);
    } else {
        tdelta = (uint64_t)t - (uint64_t)e->t;
        int64_t dod = (int64_t)(tdelta - e->tdelta);
        if (dod == 0) {
            enc_bits(e, 0, 1);
        } else if (dod >= -((1 << 13) - 1) && dod <= (1 << 13)) {
            enc_bits(e, 0x2, 2);
            enc_bits(e, (uint64_t)dod, 14);
        } else if (dod >= -((1 << 16) - 1) && dod <= (1 << 16)) {
            enc_bits(e, 0x6, 3);
            enc_bits(e, (uint64_t)dod, 17);
        } else if (dod >= -((1 << 19) - 1) && dod <= (1 << 19)) {
            enc_bits(e, 0xe, 4);
            enc_bits(e, (uint64_t)dod, 20);
        } else {
            enc_bits(e, 0xf, 4);
            enc_bits(e, (uint64_t)dod, 64);
        }
        enc_value(e, vb);
    }
    e->t = t;
    e->v = vb;
    e->tdelta = tdelta;
    e->count++;
    e->buf[0] = (uint8_t)(e->count >> 8);
    e->buf[1] = (uint8_t)e->count;
    return 0;
}

uint8_t *tsdb_xor_enc_take(tsdb_xor_enc *e, uint32_t *len)
{
    uint32_t n = (e->nbits + 7) / 8;
    uint8_t *b = e->buf;
    if (b && n < e->cap) {
        uint8_t *s = realloc(b, n);
        if (s)
            b = s;
    }
    *len = b ? n : 0;
    e->buf = NULL;
    tsdb_xor_enc_free(e);
    return b;
}

int tsdb_xor_enc_resume(tsdb_xor_enc *e, const uint8_t *data, size_t len)
{
    tsdb_xor_dec d;
    int rc = tsdb_xor_dec_init(&d, data, len);
    if (rc)
        return rc;
    int64_t t;
    double v;
    while ((rc = tsdb_xor_dec_next(&d, &t, &v)) == 1)
        ;
    if (rc < 0)
        return rc;
    tsdb_xor_enc_init(e);
    if (d.total == 0)
        return 0;
    uint32_t used = (d.pos + 7) / 8;
    e->buf = malloc(used + 32);
    if (!e->buf)
        return -ENOMEM;
    e->cap = used + 32;
    memcpy(e->buf, data, used);
    memset(e->buf + used, 0, 32);
    /* Clear bits past the end of the stream (old writers may leave junk). */
    if (d.pos & 7)
        e->buf[used - 1] &= (uint8_t)(0xff << (8 - (d.pos & 7)));
    e->nbits = d.pos;
    e->t = d.t;
    e->v = d.v;
    e->tdelta = d.tdelta;
    e->count = d.total;
    /* No window yet (all values equal so far): start like a fresh encoder,
     * so the bytes equal those of one continuous encoding. (Prometheus'
     * Appender() starts from window 0/0 here; both decode the same.) */
    e->leading = d.window ? d.leading : 0xff;
    e->trailing = d.window ? d.trailing : 0;
    return 0;
}

/* ---- decoder ---------------------------------------------------------------- */

int tsdb_xor_dec_init(tsdb_xor_dec *d, const uint8_t *data, size_t len)
{
    memset(d, 0, sizeof(*d));
    if (len < 2 || len > UINT32_MAX / 8)
        return TSDB_ERR_CORRUPT;
    d->p = data;
    d->len = (uint32_t)len;
    d->pos = 16;
    d->total = tsdb_xor_count(data, len);
    return 0;
}

/* The next 64 bits of the stream, left-aligned; at least 57 of them are
 * real (bits past the end of the buffer read as zero). */
static inline uint64_t peek(const tsdb_xor_dec *d)
{
    uint32_t byte = d->pos >> 3;
    uint64_t w;
    if ((uint64_t)byte + 8 <= d->len) {
        memcpy(&w, d->p + byte, 8);
        w = __builtin_bswap64(w);
    } else {
        w = 0;
        for (uint32_t i = 0; i < 8; i++)
            w = w << 8 | (byte + i < d->len ? d->p[byte + i] : 0);
    }
    return w << (d->pos & 7);
}

static inline int have(const tsdb_xor_dec *d, uint64_t nbits)
{
    return (uint64_t)d->pos + nbits <= (uint64_t)d->len * 8;
}

/* Reads n (1..64) bits MSB-first; -1 past the end. */
static inline int rd_bits(tsdb_xor_dec *d, unsigned n, uint64_t *out)
{
    if (!have(d, n))
        return -1;
    if (n <= 56) {
        *out = peek(d) >> (64 - n);
        d->pos += n;
        return 0;
    }
    uint64_t hi = peek(d) >> 32;
    d->pos += 32;
    uint64_t lo = peek(d) >> (64 - (n - 32));
    d->pos += n - 32;
    *out = hi << (n - 32) | lo;
    return 0;
}

static int rd_uvarint(tsdb_xor_dec *d, uint64_t *out)
{
    uint64_t x = 0;
    for (unsigned i = 0, s = 0; i < 10; i++, s += 7) {
        uint64_t b;
        if (rd_bits(d, 8, &b))
            return -1;
        if (b < 0x80) {
            if (i == 9 && b > 1)
                return -1; /* overflows 64 bits, as Go's ReadUvarint says */
            *out = x | b << s;
            return 0;
        }
        x |= (b & 0x7f) << s;
    }
    return -1;
}

static int rd_value(tsdb_xor_dec *d)
{
    if (!have(d, 1))
        return -1;
    uint64_t w = peek(d);
    if (!(w >> 63)) {
        d->pos += 1;
        return 0;
    }
    if (!have(d, 2))
        return -1;
    if ((w >> 62) & 1) {
        if (!have(d, 13))
            return -1;
        unsigned lz = (unsigned)(w >> 57) & 31, sig = (unsigned)(w >> 51) & 63;
        if (sig == 0)
            sig = 64;
        if (lz + sig > 64)
            return -1;
        d->leading = (uint8_t)lz;
        d->trailing = (uint8_t)(64 - lz - sig);
        d->window = 1;
        d->pos += 13;
    } else {
        d->pos += 2;
    }
    unsigned m = 64u - d->leading - d->trailing;
    if (m == 0 || m > 64)
        return -1;
    uint64_t x;
    if (rd_bits(d, m, &x))
        return -1;
    d->v ^= x << d->trailing;
    return 0;
}

static int dec_fail(tsdb_xor_dec *d)
{
    d->read = d->total;
    return TSDB_ERR_CORRUPT;
}

int tsdb_xor_dec_next(tsdb_xor_dec *d, int64_t *t, double *v)
{
    if (d->read >= d->total)
        return 0;
    if (d->read == 0) {
        uint64_t zz, vb;
        if (rd_uvarint(d, &zz) || rd_bits(d, 64, &vb))
            return dec_fail(d);
        d->t = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
        d->v = vb;
    } else if (d->read == 1) {
        uint64_t td;
        if (rd_uvarint(d, &td) || rd_value(d))
            return dec_fail(d);
        d->tdelta = td;
        d->t = (int64_t)((uint64_t)d->t + td);
    } else {
        /* Prefix 0 / 10 / 110 / 1110 / 1111: count leading ones, at most 4. */
        if (!have(d, 1))
            return dec_fail(d);
        uint64_t w = peek(d);
        unsigned ones = (unsigned)__builtin_clzll(~w | (1ull << 59));
        int64_t dod = 0;
        if (ones == 4) {
            uint64_t b = 0;
            if (!have(d, 68))
                return dec_fail(d);
            d->pos += 4;
            rd_bits(d, 64, &b);
            dod = (int64_t)b;
        } else if (ones > 0) {
            static const unsigned szs[4] = {0, 14, 17, 20};
            unsigned sz = szs[ones], plen = ones + 1;
            if (!have(d, plen + sz))
                return dec_fail(d);
            uint64_t b = (w << plen) >> (64 - sz);
            d->pos += plen + sz;
            if (b > (1ull << (sz - 1)))
                b -= 1ull << sz; /* two's complement in sz bits */
            dod = (int64_t)b;
        } else {
            d->pos += 1;
        }
        d->tdelta += (uint64_t)dod; /* wraps like Go on corrupt input */
        d->t = (int64_t)((uint64_t)d->t + d->tdelta);
        if (rd_value(d))
            return dec_fail(d);
    }
    d->read++;
    *t = d->t;
    memcpy(v, &d->v, 8);
    return 1;
}
