/* Durations as Prometheus' model.ParseDuration / model.Duration.String(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser_int.h"

static const struct {
    const char *unit;
    int64_t ms;
} units[] = {
    {"y", 1000LL * 60 * 60 * 24 * 365},
    {"w", 1000LL * 60 * 60 * 24 * 7},
    {"d", 1000LL * 60 * 60 * 24},
    {"h", 1000LL * 60 * 60},
    {"m", 1000LL * 60},
    {"s", 1000LL},
    {"ms", 1LL},
};

#define N_UNITS (sizeof units / sizeof units[0])
/* Go keeps durations in nanoseconds: the total must fit an int64 of ns. */
#define MAX_MS (INT64_MAX / 1000000)

static void dur_err(const char *s, size_t len, char *err, size_t errlen)
{
    pqp_buf b = {0};
    pqp_buf_adds(&b, "not a valid duration string: ");
    pqp_buf_go_quote(&b, s, len, 0);
    snprintf(err, errlen, "%s", b.s && !b.oom ? b.s : "not a valid duration string");
    free(b.s);
}

int promql_parse_duration(const char *s, size_t len, int64_t *ms, char *err, size_t errlen)
{
    if (len == 1 && s[0] == '0') {
        *ms = 0;
        return 0;
    }
    if (len == 0) {
        snprintf(err, errlen, "empty duration string");
        return -EINVAL;
    }
    size_t i = 0, next_unit = 0;
    int64_t total = 0;
    bool overflow = false;
    while (i < len) {
        size_t d0 = i;
        uint64_t n = 0;
        bool big = false;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (n > (UINT64_MAX - 9) / 10)
                big = true;
            else
                n = n * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        if (i == d0 || i == len) {
            dur_err(s, len, err, errlen);
            return -EINVAL;
        }
        size_t ul = (s[i] == 'm' && i + 1 < len && s[i + 1] == 's') ? 2 : 1;
        size_t u;
        for (u = next_unit; u < N_UNITS; u++)
            if (strlen(units[u].unit) == ul && !strncmp(units[u].unit, s + i, ul))
                break;
        if (u == N_UNITS) {
            dur_err(s, len, err, errlen);
            return -EINVAL;
        }
        i += ul;
        next_unit = u + 1;
        if (big || n > (uint64_t)(MAX_MS / units[u].ms)) {
            overflow = true;
            continue;
        }
        int64_t add = (int64_t)n * units[u].ms;
        if (total > MAX_MS - add)
            overflow = true;
        else
            total += add;
    }
    if (overflow) {
        snprintf(err, errlen, "duration out of range");
        return -EINVAL;
    }
    *ms = total;
    return 0;
}

char *promql_duration_format(int64_t ms, char *buf, size_t bufsz)
{
    if (bufsz == 0)
        return buf;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, bufsz, "0s");
        return buf;
    }
    size_t off = 0;
    for (size_t u = 0; u < N_UNITS; u++) {
        int64_t mult = units[u].ms;
        /* years and weeks only when exact: 90d reads better than 12w6d */
        if (u < 2 && ms % mult != 0)
            continue;
        int64_t v = ms / mult;
        if (v > 0) {
            int w = snprintf(buf + off, bufsz - off, "%lld%s", (long long)v, units[u].unit);
            if (w < 0 || (size_t)w >= bufsz - off)
                return buf;
            off += (size_t)w;
            ms -= v * mult;
        }
    }
    return buf;
}
