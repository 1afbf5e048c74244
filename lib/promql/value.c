/* Query-scoped memory, interned label sets, small maps and value helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "eval_internal.h"

/* ---- arena ---------------------------------------------------------------- */
struct pq_arena_blk {
    pq_arena_blk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *pq_arena_alloc(pq_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    pq_arena_blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 60000 ? n : 60000;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *pq_arena_strdup(pq_arena *a, const char *s, size_t n)
{
    char *p = pq_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void pq_arena_free(pq_arena *a)
{
    pq_arena_blk *b = a->head;
    while (b) {
        pq_arena_blk *nx = b->next;
        free(b);
        b = nx;
    }
    a->head = NULL;
}

/* ---- errors --------------------------------------------------------------- */
int pq_errorf(pq_query *q, int code, const char *fmt, ...)
{
    if (q->err && q->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(q->err, q->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int pq_oom(pq_query *q)
{
    return pq_errorf(q, -ENOMEM, "out of memory");
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pq_check_abort(pq_query *q)
{
    if ((++q->tick & 255) != 0)
        return 0;
    if (q->opts.cancel && *q->opts.cancel)
        return pq_errorf(q, -ECANCELED, "query was canceled in query execution");
    if (q->deadline_ns && now_ns() > q->deadline_ns)
        return pq_errorf(q, -ETIMEDOUT, "query timed out in query execution");
    return 0;
}

int pq_add_samples(pq_query *q, int64_t n)
{
    q->samples += n;
    if (q->samples > q->opts.max_samples)
        return pq_errorf(q, -E2BIG,
                         "query processing would load too many samples into memory in query execution");
    return 0;
}

/* ---- map ------------------------------------------------------------------ */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

void pq_map_free(pq_map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof *m);
}

void pq_map_clear(pq_map *m)
{
    if (m->used && m->n)
        memset(m->used, 0, m->cap);
    m->n = 0;
}

uint64_t *pq_map_get(const pq_map *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key)
            return &m->vals[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

static int map_grow(pq_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    uint64_t *k = malloc(ncap * sizeof *k), *v = malloc(ncap * sizeof *v);
    uint8_t *u = calloc(ncap, 1);
    if (!k || !v || !u) {
        free(k);
        free(v);
        free(u);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->used[i])
            continue;
        size_t j = mix64(m->keys[i]) & (ncap - 1);
        while (u[j])
            j = (j + 1) & (ncap - 1);
        u[j] = 1;
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    free(m->used);
    m->keys = k;
    m->vals = v;
    m->used = u;
    m->cap = ncap;
    return 0;
}

uint64_t *pq_map_put(pq_map *m, uint64_t key, bool *isnew)
{
    if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
        return NULL;
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    while (m->used[i]) {
        if (m->keys[i] == key) {
            *isnew = false;
            return &m->vals[i];
        }
        i = (i + 1) & mask;
    }
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = 0;
    m->n++;
    *isnew = true;
    return &m->vals[i];
}

/* ---- interning ------------------------------------------------------------ */
const pq_lset *pq_intern(pq_query *q, const labels_label *ls, size_t n)
{
    uint64_t h = labels_hash(ls, n);
    if (q->icap) {
        for (pq_lset *e = q->itab[h & (q->icap - 1)]; e; e = e->next)
            if (e->hash == h && labels_equal(e->ls, e->n, ls, n))
                return e;
    }
    if ((q->icount + 1) > q->icap) {
        size_t ncap = q->icap ? q->icap * 2 : 1024;
        pq_lset **nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return NULL;
        for (size_t i = 0; i < q->icap; i++) {
            pq_lset *e = q->itab[i];
            while (e) {
                pq_lset *nx = e->next;
                e->next = nt[e->hash & (ncap - 1)];
                nt[e->hash & (ncap - 1)] = e;
                e = nx;
            }
        }
        free(q->itab);
        q->itab = nt;
        q->icap = ncap;
    }
    pq_lset *e = pq_arena_alloc(&q->arena, sizeof *e + n * sizeof(labels_label));
    if (!e)
        return NULL;
    labels_label *arr = (labels_label *)(e + 1);
    if (n)
        memcpy(arr, ls, n * sizeof *arr);
    e->ls = arr;
    e->n = (uint32_t)n;
    e->hash = h;
    e->noname = NULL;
    e->next = q->itab[h & (q->icap - 1)];
    q->itab[h & (q->icap - 1)] = e;
    q->icount++;
    return e;
}

const pq_lset *pq_noname(pq_query *q, const pq_lset *m)
{
    if (m->noname)
        return m->noname;
    const pq_lset *r = m;
    for (uint32_t i = 0; i < m->n; i++) {
        if (m->ls[i].name_len == 8 && memcmp(m->ls[i].name, "__name__", 8) == 0) {
            labels_label tmp[m->n];
            size_t k = 0;
            for (uint32_t j = 0; j < m->n; j++)
                if (j != i)
                    tmp[k++] = m->ls[j];
            r = pq_intern(q, tmp, k);
            if (!r)
                return NULL;
            break;
        }
    }
    ((pq_lset *)m)->noname = r;
    return r;
}

const char *pq_lget(const pq_lset *m, const char *name, size_t *len)
{
    const labels_label *l = labels_get(m->ls, m->n, name, strlen(name));
    if (!l)
        return NULL;
    if (len)
        *len = l->value_len;
    return l->value;
}

/* Go strconv.Quote-ish: escapes \ " and control characters. */
static void quote_into(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    for (size_t i = 0; i <= n + 1; i++) {
        char tmp[8];
        size_t tl = 0;
        if (i == 0 || i == n + 1) {
            tmp[0] = '"';
            tl = 1;
        } else {
            unsigned char c = (unsigned char)s[i - 1];
            if (c == '"' || c == '\\') {
                tmp[0] = '\\';
                tmp[1] = (char)c;
                tl = 2;
            } else if (c == '\n') {
                memcpy(tmp, "\\n", 2);
                tl = 2;
            } else if (c == '\t') {
                memcpy(tmp, "\\t", 2);
                tl = 2;
            } else if (c == '\r') {
                memcpy(tmp, "\\r", 2);
                tl = 2;
            } else if (c < 0x20 || c == 0x7f) {
                tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
            } else {
                tmp[0] = (char)c;
                tl = 1;
            }
        }
        if (*len + tl + 1 > *cap) {
            size_t nc = (*cap + tl + 1) * 2;
            char *nb = realloc(*buf, nc);
            if (!nb)
                return;
            *buf = nb;
            *cap = nc;
        }
        memcpy(*buf + *len, tmp, tl);
        *len += tl;
        (*buf)[*len] = 0;
    }
}

char *pq_lset_str(const pq_lset *m)
{
    size_t cap = 64, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    b[len++] = '{';
    b[len] = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        size_t need = m->ls[i].name_len + 4;
        if (len + need + 1 > cap) {
            cap = (len + need + 1) * 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
        if (i) {
            b[len++] = ',';
            b[len++] = ' ';
        }
        memcpy(b + len, m->ls[i].name, m->ls[i].name_len);
        len += m->ls[i].name_len;
        b[len++] = '=';
        b[len] = 0;
        quote_into(&b, &len, &cap, m->ls[i].value, m->ls[i].value_len);
    }
    if (len + 2 > cap) {
        char *nb = realloc(b, len + 2);
        if (!nb) {
            free(b);
            return NULL;
        }
        b = nb;
    }
    b[len++] = '}';
    b[len] = 0;
    return b;
}

/* ---- label builder -------------------------------------------------------- */
static int lb_reserve(pq_lb *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t nc = n < 16 ? 16 : n * 2;
    labels_label *nl = realloc(b->l, nc * sizeof *nl);
    if (!nl)
        return -ENOMEM;
    b->l = nl;
    b->cap = nc;
    return 0;
}

int pq_lb_reset(pq_lb *b, const pq_lset *m)
{
    if (lb_reserve(b, m->n + 4) < 0)
        return -ENOMEM;
    if (m->n)
        memcpy(b->l, m->ls, m->n * sizeof *b->l);
    b->n = m->n;
    return 0;
}

void pq_lb_del(pq_lb *b, const char *name, size_t nl)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->l[i].name_len == nl && memcmp(b->l[i].name, name, nl) == 0) {
            memmove(&b->l[i], &b->l[i + 1], (b->n - i - 1) * sizeof *b->l);
            b->n--;
            return;
        }
    }
}

int pq_lb_set(pq_lb *b, const char *name, size_t nl, const char *val, size_t vl)
{
    if (vl == 0) {
        pq_lb_del(b, name, nl);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->l[i].name_len == nl && memcmp(b->l[i].name, name, nl) == 0) {
            b->l[i].value = val;
            b->l[i].value_len = (uint32_t)vl;
            return 0;
        }
    }
    if (lb_reserve(b, b->n + 1) < 0)
        return -ENOMEM;
    b->l[b->n].name = name;
    b->l[b->n].name_len = (uint32_t)nl;
    b->l[b->n].value = val;
    b->l[b->n].value_len = (uint32_t)vl;
    b->n++;
    return 0;
}

void pq_lb_keep(pq_lb *b, char *const *names, size_t nn)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        bool keep = false;
        for (size_t j = 0; j < nn && !keep; j++)
            keep = strlen(names[j]) == b->l[i].name_len &&
                   memcmp(names[j], b->l[i].name, b->l[i].name_len) == 0;
        if (keep)
            b->l[k++] = b->l[i];
    }
    b->n = k;
}

const pq_lset *pq_lb_intern(pq_query *q, pq_lb *b)
{
    labels_sort(b->l, b->n);
    return pq_intern(q, b->l, b->n);
}

void pq_lb_free(pq_lb *b)
{
    free(b->l);
    memset(b, 0, sizeof *b);
}

/* ---- values --------------------------------------------------------------- */
void pq_val_free(pq_val *v)
{
    free(v->sv);
    for (size_t i = 0; i < v->ns; i++) {
        free(v->s[i].t);
        free(v->s[i].v);
    }
    free(v->s);
    memset(v, 0, sizeof *v);
}

void pq_val_release(pq_query *q, pq_val *v)
{
    if (v->kind == PQ_VECTOR || v->kind == PQ_MATRIX)
        for (size_t i = 0; i < v->ns; i++)
            q->samples -= v->s[i].n;
    pq_val_free(v);
}

int pq_vec_push(pq_vec *v, const pq_lset *m, double val, int64_t t)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        pq_sample *ns = realloc(v->s, nc * sizeof *ns);
        if (!ns)
            return -ENOMEM;
        v->s = ns;
        v->cap = nc;
    }
    v->s[v->n].m = m;
    v->s[v->n].v = val;
    v->s[v->n].t = t;
    v->s[v->n].src = PQ_NOSRC;
    v->n++;
    return 0;
}

void pq_vec_free(pq_vec *v)
{
    free(v->s);
    memset(v, 0, sizeof *v);
}

int pq_series_push(pq_series *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        uint32_t nc = s->cap ? s->cap * 2 : 8;
        int64_t *nt = realloc(s->t, nc * sizeof *nt);
        if (!nt)
            return -ENOMEM;
        s->t = nt;
        double *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = nc;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

int pq_val_add_series(pq_val *v, const pq_lset *m, pq_series **out)
{
    if (v->ns == v->scap) {
        size_t nc = v->scap ? v->scap * 2 : 8;
        pq_series *ns = realloc(v->s, nc * sizeof *ns);
        if (!ns)
            return -ENOMEM;
        v->s = ns;
        v->scap = nc;
    }
    pq_series *s = &v->s[v->ns++];
    memset(s, 0, sizeof *s);
    s->m = m;
    *out = s;
    return 0;
}

int pq_out_add(pq_ev *ev, pq_out *o, const pq_lset *m, int64_t ts, double v)
{
    bool isnew;
    uint64_t *slot = pq_map_put(&o->idx, pq_ptrkey(m), &isnew);
    if (!slot)
        return pq_oom(ev->q);
    pq_series *s;
    if (isnew) {
        if (pq_val_add_series(&o->val, m, &s) < 0)
            return pq_oom(ev->q);
        *slot = o->val.ns - 1;
    } else {
        s = &o->val.s[*slot];
        if (s->n && s->t[s->n - 1] == ts)
            return pq_errorf(ev->q, -EINVAL, "vector cannot contain metrics with the same labelset");
    }
    if (pq_series_push(s, ts, v) < 0)
        return pq_oom(ev->q);
    return 0;
}

/* ---- misc ----------------------------------------------------------------- */
double promql_stale_nan(void)
{
    uint64_t u = PROMQL_STALE_NAN_BITS;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

bool promql_is_stale_nan(double v)
{
    return pq_is_stale(v);
}

double pq_go_min(double a, double b)
{
    if (isinf(a) && a < 0)
        return a;
    if (isinf(b) && b < 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && a == b)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

double pq_go_max(double a, double b)
{
    if (isinf(a) && a > 0)
        return a;
    if (isinf(b) && b > 0)
        return b;
    if (isnan(a) || isnan(b))
        return NAN;
    if (a == 0 && a == b)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

/* Shortest digits that round-trip, as Go's -1 precision does. */
static int shortest_e(double v, char *buf, size_t len)
{
    for (int p = 0; p < 17; p++) {
        snprintf(buf, len, "%.*e", p, v);
        if (strtod(buf, NULL) == v)
            return p;
    }
    snprintf(buf, len, "%.16e", v);
    return 16;
}

void pq_format_float(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[64];
    int p = shortest_e(v, e, sizeof e);
    /* digits and exponent from the %e form, rendered without exponent */
    char digits[32];
    size_t nd = 0;
    const char *s = e;
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    }
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    int exp = atoi(s + 1);
    (void)p;
    /* strip trailing zeros */
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    char *o = buf;
    size_t left = len;
#define PUT(c)              \
    do {                    \
        if (left > 1) {     \
            *o++ = (c);     \
            left--;         \
        }                   \
    } while (0)
    if (neg)
        PUT('-');
    int pointpos = exp + 1; /* digits before the point */
    if (pointpos <= 0) {
        PUT('0');
        if (!(nd == 1 && digits[0] == '0')) {
            PUT('.');
            for (int i = 0; i < -pointpos; i++)
                PUT('0');
            for (size_t i = 0; i < nd; i++)
                PUT(digits[i]);
        }
    } else {
        for (int i = 0; i < pointpos; i++)
            PUT((size_t)i < nd ? digits[i] : '0');
        if ((size_t)pointpos < nd) {
            PUT('.');
            for (size_t i = (size_t)pointpos; i < nd; i++)
                PUT(digits[i]);
        }
    }
#undef PUT
    *o = 0;
}

void pq_format_float_g(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[64];
    int p = shortest_e(v, e, sizeof e);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 21)
        snprintf(buf, len, "%.*e", p, v);
    else
        pq_format_float(v, buf, len);
}

char *promql_format_value(double v, char *buf, size_t len)
{
    if (len)
        pq_format_float(v, buf, len);
    return buf;
}

/* ---- results -------------------------------------------------------------- */
void promql_result_free(promql_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_series; i++) {
        free(r->series[i].labels);
        free(r->series[i].points);
    }
    free(r->series);
    free(r->string);
    memset(r, 0, sizeof *r);
}

void promql_opts_init(promql_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lookback_delta_ms = 5 * 60 * 1000;
    o->max_samples = 50000000;
    o->default_subquery_step_ms = 60 * 1000;
}
