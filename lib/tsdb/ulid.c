/* ULID encode/decode per github.com/ulid/spec. */
#include "ulid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char ENC[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int tsdb_ulid_new(uint64_t ms, tsdb_ulid *out)
{
    for (int i = 0; i < 6; i++)
        out->b[i] = (uint8_t)(ms >> (8 * (5 - i)));
    size_t got = 0;
    while (got < 10) {
        ssize_t r = getrandom(out->b + 6 + got, 10 - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Bit i (0 = most significant) of the 130-bit big-endian number 00||b. */
static unsigned bit_at(const tsdb_ulid *u, unsigned i)
{
    if (i < 2)
        return 0;
    i -= 2;
    return (u->b[i / 8] >> (7 - i % 8)) & 1;
}

void tsdb_ulid_format(const tsdb_ulid *u, char out[27])
{
    for (unsigned c = 0; c < 26; c++) {
        unsigned v = 0;
        for (unsigned k = 0; k < 5; k++)
            v = v << 1 | bit_at(u, c * 5 + k);
        out[c] = ENC[v];
    }
    out[26] = 0;
}

static int dec_char(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    const char *p = ch ? strchr(ENC, ch) : NULL;
    return p ? (int)(p - ENC) : -1;
}

bool tsdb_ulid_parse(const char *s, tsdb_ulid *out)
{
    if (strnlen(s, 27) != 26)
        return false;
    if (dec_char(s[0]) < 0 || dec_char(s[0]) > 7)
        return false;
    memset(out->b, 0, 16);
    for (unsigned c = 0; c < 26; c++) {
        int v = dec_char(s[c]);
        if (v < 0)
            return false;
        for (unsigned k = 0; k < 5; k++) {
            unsigned i = c * 5 + k;
            if (i < 2)
                continue;
            if ((v >> (4 - k)) & 1)
                out->b[(i - 2) / 8] |= (uint8_t)(1u << (7 - (i - 2) % 8));
        }
    }
    return true;
}

uint64_t tsdb_ulid_time(const tsdb_ulid *u)
{
    uint64_t t = 0;
    for (int i = 0; i < 6; i++)
        t = t << 8 | u->b[i];
    return t;
}
