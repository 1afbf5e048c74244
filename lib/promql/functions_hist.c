/* quantile (aggregation and quantile_over_time) and histogram_quantile over
 * classic `le` buckets, as Prometheus 2.42 quantile.go / functions.go. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* Go's vectorByValueHeap Less: NaN sorts first. */
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y ? 1 : 0;
}

double pq_quantile(double q, double *vals, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof *vals, cmp_double);
    double dn = (double)n;
    double rank = q * (dn - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin(dn - 1, lower + 1);
    double weight = rank - floor(rank);
    return vals[(size_t)lower] * (1 - weight) + vals[(size_t)upper] * weight;
}

typedef struct bucket {
    double ub, cnt;
} bucket;

static int cmp_bucket(const void *a, const void *b)
{
    double x = ((const bucket *)a)->ub, y = ((const bucket *)b)->ub;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* sort.Sort(buckets) of Go 1.19: for up to 12 elements an insertion sort
 * with Less = (a < b). The exact algorithm matters when an `le` is NaN,
 * which compares false both ways. Longer lists use qsort (same order unless
 * there is a NaN bound). */
static void sort_buckets(bucket *b, size_t n)
{
    if (n > 12) {
        qsort(b, n, sizeof *b, cmp_bucket);
        return;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && b[j].ub < b[j - 1].ub; j--) {
            bucket t = b[j];
            b[j] = b[j - 1];
            b[j - 1] = t;
        }
}

static double bucket_quantile(double q, bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    sort_buckets(b, n);
    if (!(isinf(b[n - 1].ub) && b[n - 1].ub > 0))
        return NAN;
    /* coalesce buckets with the same upper bound */
    size_t i = 0;
    bucket last = b[0];
    for (size_t j = 1; j < n; j++) {
        if (b[j].ub == last.ub) {
            last.cnt += b[j].cnt;
        } else {
            b[i++] = last;
            last = b[j];
        }
    }
    b[i] = last;
    n = i + 1;
    /* ensure monotonic */
    double max = -INFINITY;
    for (size_t j = 0; j < n; j++) {
        if (b[j].cnt > max)
            max = b[j].cnt;
        else if (b[j].cnt < max)
            b[j].cnt = max;
    }
    if (n < 2)
        return NAN;
    double obs = b[n - 1].cnt;
    if (obs == 0)
        return NAN;
    double rank = q * obs;
    /* sort.Search(len-1, count >= rank) */
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b[mid].cnt >= rank)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t k = lo;
    if (k == n - 1)
        return b[n - 2].ub;
    if (k == 0 && b[0].ub <= 0)
        return b[0].ub;
    double start = 0, end = b[k].ub, count = b[k].cnt;
    if (k > 0) {
        start = b[k - 1].ub;
        count -= b[k - 1].cnt;
        rank -= b[k - 1].cnt;
    }
    return start + (end - start) * (rank / count);
}

double pq_bucket_quantile(double q, double *ub, double *cnt, size_t n)
{
    bucket *b = malloc((n ? n : 1) * sizeof *b);
    if (!b)
        return NAN;
    for (size_t i = 0; i < n; i++)
        b[i] = (bucket){ub[i], cnt[i]};
    double r = n ? bucket_quantile(q, b, n) : NAN;
    free(b);
    return r;
}

/* ---- histogram_quantile step function ---------------------------------- */
typedef struct hgroup {
    const pq_lset *out;
    uint64_t stamp;
    bucket *b;
    size_t nb, capb;
} hgroup;

typedef struct histctx {
    pq_map in2g;  /* input lset -> group index + 1 (0: no/invalid le) */
    pq_map key2g; /* lset-without-le -> group index */
    hgroup *g;
    size_t ng, capg;
    size_t *order;
    size_t norder;
    pq_lb lb;
} histctx;

static bool is_digit(char c, bool hex)
{
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
}

/* Go's strconv underscoreOK: an underscore only between digits, or after a
 * base prefix. */
static bool underscore_ok(const char *s, size_t n)
{
    size_t i = 0;
    char saw = '^';
    if (n && (s[0] == '+' || s[0] == '-'))
        i++;
    bool hex = false;
    if (n - i >= 2 && s[i] == '0' && strchr("bBoOxX", s[i + 1])) {
        hex = s[i + 1] == 'x' || s[i + 1] == 'X';
        i += 2;
        saw = '0';
    }
    for (; i < n; i++) {
        if (is_digit(s[i], hex)) {
            saw = '0';
        } else if (s[i] == '_') {
            if (saw != '0')
                return false;
            saw = '_';
        } else {
            if (saw == '_')
                return false;
            saw = '!';
        }
    }
    return saw != '_';
}

static bool prefix_nocase(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n != wl)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != w[i])
            return false;
    return true;
}

/* Go strconv.ParseFloat(s, 64) acceptance, which decides whether an `le`
 * counts: decimal or hexadecimal (with a p exponent) syntax, underscores
 * between digits, inf/infinity (signed) and nan in any case, no spaces; an
 * overflow to +-Inf is an error (ErrRange). The value itself comes from
 * strtod, which rounds correctly as Go does. */
static bool parse_le(const char *s, size_t len, double *out)
{
    if (len == 0 || len > 64)
        return false;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (prefix_nocase(s + i, len - i, "inf") || prefix_nocase(s + i, len - i, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    if (i == 0 && prefix_nocase(s, len, "nan")) {
        *out = NAN;
        return true;
    }
    char buf[72];
    size_t n = 0;
    bool hex = len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
    size_t j = hex ? i + 2 : i, digits = 0;
    bool under = false, dot = false;
    for (; j < len; j++) { /* mantissa */
        if (s[j] == '_') {
            under = true;
        } else if (s[j] == '.' && !dot) {
            dot = true;
        } else if (is_digit(s[j], hex)) {
            digits++;
        } else {
            break;
        }
    }
    if (digits == 0)
        return false;
    char e = hex ? 'p' : 'e';
    if (j < len && (s[j] | 0x20) == e) {
        j++;
        if (j < len && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t ed = 0;
        for (; j < len && (is_digit(s[j], false) || s[j] == '_'); j++) {
            if (s[j] == '_')
                under = true;
            else
                ed++;
        }
        if (ed == 0)
            return false;
    } else if (hex) {
        return false; /* a hexadecimal mantissa needs a p exponent */
    }
    if (j != len || (under && !underscore_ok(s, len)))
        return false;
    for (size_t k = 0; k < len; k++)
        if (s[k] != '_')
            buf[n++] = s[k];
    buf[n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return end == buf + n && !isinf(*out);
}

static int hist_group(pq_query *q, histctx *c, const pq_lset *m, size_t *gi)
{
    uint64_t *slot = pq_map_get(&c->in2g, pq_ptrkey(m));
    if (slot) {
        *gi = (size_t)*slot;
        return 0;
    }
    bool isnew;
    if (pq_lb_reset(&c->lb, m) < 0)
        return pq_oom(q);
    pq_lb_del(&c->lb, "le", 2);
    const pq_lset *key = pq_lb_intern(q, &c->lb);
    if (!key)
        return pq_oom(q);
    uint64_t *ks = pq_map_put(&c->key2g, pq_ptrkey(key), &isnew);
    if (!ks)
        return pq_oom(q);
    if (isnew) {
        if (c->ng == c->capg) {
            size_t nc = c->capg ? c->capg * 2 : 16;
            hgroup *ng = realloc(c->g, nc * sizeof *ng);
            if (!ng)
                return pq_oom(q);
            c->g = ng;
            size_t *no = realloc(c->order, nc * sizeof *no);
            if (!no)
                return pq_oom(q);
            c->order = no;
            c->capg = nc;
        }
        memset(&c->g[c->ng], 0, sizeof(hgroup));
        c->g[c->ng].out = pq_noname(q, key);
        if (!c->g[c->ng].out)
            return pq_oom(q);
        *ks = c->ng++;
    }
    size_t g = (size_t)*ks;
    slot = pq_map_put(&c->in2g, pq_ptrkey(m), &isnew);
    if (!slot)
        return pq_oom(q);
    *slot = g;
    *gi = g;
    return 0;
}

static int step_hist(pq_ev *ev, void *ctx, pq_vec *in, size_t nin, int64_t ts, size_t step, pq_vec *out)
{
    histctx *c = ctx;
    pq_query *q = ev->q;
    double qv = in[0].s[0].v;
    c->norder = 0;
    for (size_t i = 0; i < in[1].n; i++) {
        pq_sample *s = &in[1].s[i];
        size_t lel;
        const char *le = pq_lget(s->m, "le", &lel);
        double ub;
        if (!le || !parse_le(le, lel, &ub))
            continue;
        size_t gi = 0;
        PQ_TRY(hist_group(q, c, s->m, &gi));
        hgroup *g = &c->g[gi];
        if (g->stamp != step + 1) {
            g->stamp = step + 1;
            g->nb = 0;
            c->order[c->norder++] = gi;
        }
        if (g->nb == g->capb) {
            size_t nc = g->capb ? g->capb * 2 : 16;
            bucket *nb = realloc(g->b, nc * sizeof *nb);
            if (!nb)
                return pq_oom(q);
            g->b = nb;
            g->capb = nc;
        }
        g->b[g->nb++] = (bucket){ub, s->v};
    }
    for (size_t i = 0; i < c->norder; i++) {
        hgroup *g = &c->g[c->order[i]];
        if (pq_vec_push(out, g->out, bucket_quantile(qv, g->b, g->nb), ts) < 0)
            return pq_oom(q);
    }
    return 0;
}

int pq_histogram_quantile(pq_ev *ev, pq_val *args, pq_val *out)
{
    histctx c = {0};
    int rc = pq_range_eval(ev, args, 2, step_hist, &c, out);
    for (size_t i = 0; i < c.ng; i++)
        free(c.g[i].b);
    free(c.g);
    free(c.order);
    pq_map_free(&c.in2g);
    pq_map_free(&c.key2g);
    pq_lb_free(&c.lb);
    return rc;
}
