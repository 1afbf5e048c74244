/*
 * receive/store.c: the "store" service over every tenant's head and local
 * blocks. Series carry the receiver's external labels and the tenant label
 * (as Thanos receive's StoreAPI does; on a name clash the external label
 * wins). Matchers on those labels select tenants and are not passed to the
 * TSDB. Series of several tenants are merged into one label-sorted stream
 * (tenants differ in the tenant label, so no series appears twice).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "receive.h"

#define api recv_api

typedef struct cursor {
    recv_tenant *t;
    tsdb_querier *q;
    tsdb_series_set *ss;
    labels_label *merged;
    size_t nmerged, cap;
    bool valid;
} cursor;

typedef struct rset {
    aion_series_set base;
    cursor *c;
    size_t nc;
    ssize_t cur;            /* cursor of the current series, -1 before the first */
    int64_t mint, maxt;
    bool labels_only;
    aion_sample *samples;
    size_t cap;
    char err[256];
} rset;

/* ---- matchers ------------------------------------------------------------------ */

typedef struct mset {
    labels_matcher **m;
    size_t n;
    labels_matcher *all;    /* __name__=~".*": stands for "every series" */
} mset;

static void mset_free(mset *s)
{
    for (size_t i = 0; i < s->n; i++)
        labels_matcher_free(s->m[i]);
    free(s->m);
    labels_matcher_free(s->all);
}

static int mset_build(const aion_matcher *ms, size_t nm, mset *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->m = calloc(nm ? nm : 1, sizeof *s->m);
    if (!s->m)
        return -ENOMEM;
    for (size_t i = 0; i < nm; i++) {
        int rc = labels_matcher_new((labels_match_type)ms[i].type, ms[i].name, strlen(ms[i].name),
                                    ms[i].value, strlen(ms[i].value), &s->m[i], err, errlen);
        if (rc < 0) {
            s->n = i;
            mset_free(s);
            return rc;
        }
        s->n = i + 1;
    }
    return labels_matcher_new(LABELS_MATCH_RE, "__name__", 8, ".*", 2, &s->all, err, errlen);
}

/* Whether the tenant can match; fills sub with the matchers left for its TSDB. */
static bool tenant_filter(const recv_tenant *t, const mset *s, const labels_matcher **sub, size_t *nsub)
{
    *nsub = 0;
    for (size_t i = 0; i < s->n; i++) {
        const char *name = labels_matcher_name(s->m[i]);
        const labels_label *l = labels_get(t->ext, t->next, name, strlen(name));
        if (l) {
            if (!labels_matcher_matches(s->m[i], l->value, l->value_len))
                return false;
        } else {
            sub[(*nsub)++] = s->m[i];
        }
    }
    if (*nsub == 0)
        sub[(*nsub)++] = s->all;
    return true;
}

/* The tenants a call covers: one by name, or all. */
static recv_tenant **tenants_for(recv *r, const char *tenant, size_t *n)
{
    if (!tenant)
        return recv_tenants_snapshot(r, n);
    recv_tenant *t;
    char err[256];
    *n = 0;
    recv_tenant **v = malloc(sizeof *v);
    if (v && recv_tenant_get(r, tenant, false, &t, err, sizeof err) == 0) {
        v[0] = t;
        *n = 1;
    }
    return v;
}

/* ---- series set ----------------------------------------------------------------- */

/* Series labels with the tenant's external labels merged in (ext wins). */
static int merge_labels(cursor *c)
{
    size_t n;
    const labels_label *ls = tsdb_series_set_labels(c->ss, &n);
    size_t need = n + c->t->next;
    if (need > c->cap) {
        labels_label *v = realloc(c->merged, need * sizeof *v);
        if (!v)
            return -ENOMEM;
        c->merged = v;
        c->cap = need;
    }
    const labels_label *e = c->t->ext;
    size_t i = 0, j = 0, k = 0, ne = c->t->next;
    while (i < n || j < ne) {
        int cmp = i == n ? 1 : j == ne ? -1
                : labels_str_cmp(ls[i].name, ls[i].name_len, e[j].name, e[j].name_len);
        if (cmp < 0)
            c->merged[k++] = ls[i++];
        else if (cmp > 0)
            c->merged[k++] = e[j++];
        else {
            c->merged[k++] = e[j++];
            i++;
        }
    }
    c->nmerged = k;
    return 0;
}

static int advance(rset *s, cursor *c)
{
    int rc = tsdb_series_set_next(c->ss);
    c->valid = rc == 1;
    if (rc < 0) {
        snprintf(s->err, sizeof s->err, "tenant %s: select failed (%s)", c->t->name, tsdb_strerror(rc));
        return rc;
    }
    if (rc == 1 && merge_labels(c) < 0) {
        snprintf(s->err, sizeof s->err, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static int rs_next(aion_series_set *base)
{
    rset *s = (rset *)base;
    if (s->cur >= 0 && advance(s, &s->c[s->cur]) < 0)
        return -1;
    ssize_t best = -1;
    for (size_t i = 0; i < s->nc; i++) {
        if (!s->c[i].valid)
            continue;
        if (best < 0 || labels_cmp(s->c[i].merged, s->c[i].nmerged, s->c[best].merged, s->c[best].nmerged) < 0)
            best = (ssize_t)i;
    }
    s->cur = best;
    return best >= 0 ? 1 : 0;
}

static const aion_label *rs_labels(aion_series_set *base, size_t *n)
{
    rset *s = (rset *)base;
    if (s->cur < 0) {
        *n = 0;
        return NULL;
    }
    *n = s->c[s->cur].nmerged;
    return (const aion_label *)(const void *)s->c[s->cur].merged;
}

static int rs_samples(aion_series_set *base, const aion_sample **out, size_t *n)
{
    rset *s = (rset *)base;
    *out = NULL;
    *n = 0;
    if (s->cur < 0 || s->labels_only)
        return 0;
    size_t nc;
    const tsdb_chunk *ch = tsdb_series_set_chunks(s->c[s->cur].ss, &nc);
    tsdb_sample_iter it;
    tsdb_sample_iter_init(&it, ch, nc, s->mint, s->maxt);
    size_t k = 0;
    int64_t t;
    double v;
    int rc;
    while ((rc = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
        if (k == s->cap) {
            size_t nc2 = s->cap ? s->cap * 2 : 256;
            aion_sample *ns = realloc(s->samples, nc2 * sizeof *ns);
            if (!ns) {
                rc = -ENOMEM;
                break;
            }
            s->samples = ns;
            s->cap = nc2;
        }
        s->samples[k++] = (aion_sample){ t, v };
    }
    tsdb_sample_iter_free(&it);
    if (rc < 0) {
        snprintf(s->err, sizeof s->err, "tenant %s: reading chunks: %s", s->c[s->cur].t->name,
                 rc == -ENOMEM ? "out of memory" : "corrupt chunk");
        return rc;
    }
    *out = s->samples;
    *n = k;
    return 0;
}

static const char *rs_error(aion_series_set *base)
{
    return ((rset *)base)->err;
}

static void rs_free(aion_series_set *base)
{
    rset *s = (rset *)base;
    if (!s)
        return;
    for (size_t i = 0; i < s->nc; i++) {
        tsdb_series_set_free(s->c[i].ss);
        tsdb_querier_free(s->c[i].q);
        free(s->c[i].merged);
    }
    free(s->c);
    free(s->samples);
    free(s);
}

static const aion_series_set_ops rs_ops = { rs_next, rs_labels, rs_samples, rs_error, rs_free };

static int st_select(void *self, const char *tenant, const aion_matcher *ms, size_t nm,
                     int64_t mint, int64_t maxt, const aion_select_hints *hints,
                     aion_series_set **out, char *err, size_t errlen)
{
    recv *r = self;
    *out = NULL;
    mset m;
    int rc = mset_build(ms, nm, &m, err, errlen);
    if (rc < 0)
        return rc;
    size_t nt;
    recv_tenant **ts = tenants_for(r, tenant, &nt);
    rset *s = calloc(1, sizeof *s);
    const labels_matcher **sub = calloc(nm + 1, sizeof *sub);
    if (!ts || !s || !sub || !(s->c = calloc(nt ? nt : 1, sizeof *s->c))) {
        free(ts);
        free(sub);
        if (s)
            free(s->c);
        free(s);
        mset_free(&m);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &rs_ops;
    s->cur = -1;
    s->mint = mint;
    s->maxt = maxt;
    s->labels_only = hints && hints->labels_only;
    for (size_t i = 0; i < nt && rc == 0; i++) {
        size_t nsub;
        if (!tenant_filter(ts[i], &m, sub, &nsub))
            continue;
        cursor *c = &s->c[s->nc];
        c->t = ts[i];
        if ((rc = tsdb_querier_new(ts[i]->db, mint, maxt, &c->q)) < 0) {
            snprintf(err, errlen, "tenant %s: querier: %s", ts[i]->name, tsdb_strerror(rc));
            break;
        }
        s->nc++;
        rc = tsdb_select(c->q, sub, nsub, &c->ss, err, errlen);
        if (rc == 0 && (rc = advance(s, c)) < 0)
            snprintf(err, errlen, "%s", s->err);
    }
    free(sub);
    free(ts);
    mset_free(&m);
    if (rc < 0) {
        rs_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* ---- label names / values ------------------------------------------------------- */

typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static int strv_add(strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(str)))
        return -ENOMEM;
    s->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and removes duplicates. */
static void strv_finish(strv *s)
{
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[k - 1]) == 0)
            free(s->v[i]);
        else
            s->v[k++] = s->v[i];
    }
    s->n = k;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* value_of NULL: label names; else the values of that label. */
static int labels_query(recv *r, const char *tenant, const char *value_of, const aion_matcher *ms,
                        size_t nm, int64_t mint, int64_t maxt, char ***out, size_t *nout,
                        char *err, size_t errlen)
{
    mset m;
    int rc = mset_build(ms, nm, &m, err, errlen);
    if (rc < 0)
        return rc;
    size_t nt;
    recv_tenant **ts = tenants_for(r, tenant, &nt);
    const labels_matcher **sub = calloc(nm + 1, sizeof *sub);
    strv res = { 0 };
    if (!ts || !sub)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        size_t nsub;
        if (!tenant_filter(ts[i], &m, sub, &nsub))
            continue;
        tsdb_querier *q;
        if ((rc = tsdb_querier_new(ts[i]->db, mint, maxt, &q)) < 0)
            break;
        char **v = NULL;
        size_t n = 0;
        const labels_label *ext = value_of ? labels_get(ts[i]->ext, ts[i]->next, value_of, strlen(value_of)) : NULL;
        if (ext) {
            /* the tenant's own value, if it has any series in range */
            rc = tsdb_label_names(q, sub, nsub, &v, &n, err, errlen);
            if (rc == 0 && n)
                rc = strv_add(&res, ext->value);
        } else {
            rc = value_of ? tsdb_label_values(q, value_of, sub, nsub, &v, &n, err, errlen)
                          : tsdb_label_names(q, sub, nsub, &v, &n, err, errlen);
            bool any = n > 0;
            for (size_t k = 0; rc == 0 && k < n; k++)
                rc = strv_add(&res, v[k]);
            for (size_t k = 0; rc == 0 && !value_of && any && k < ts[i]->next; k++)
                rc = strv_add(&res, ts[i]->ext[k].name);
        }
        if (v)
            tsdb_strings_free(v, n);
        tsdb_querier_free(q);
    }
    free(sub);
    free(ts);
    mset_free(&m);
    if (rc < 0) {
        if (rc == -ENOMEM || !err[0])
            snprintf(err, errlen, "%s", rc == -ENOMEM ? "out of memory" : tsdb_strerror(rc));
        strv_free(&res);
        return rc;
    }
    strv_finish(&res);
    *out = res.v;
    *nout = res.n;
    if (!res.v && !(*out = malloc(sizeof(char *))))
        return -ENOMEM;
    return 0;
}

static int st_label_names(void *self, const char *tenant, const aion_matcher *ms, size_t nm,
                          int64_t mint, int64_t maxt, char ***out, size_t *n, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    return labels_query(self, tenant, NULL, ms, nm, mint, maxt, out, n, err, errlen);
}

static int st_label_values(void *self, const char *tenant, const char *name, const aion_matcher *ms,
                           size_t nm, int64_t mint, int64_t maxt, char ***out, size_t *n,
                           char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    return labels_query(self, tenant, name, ms, nm, mint, maxt, out, n, err, errlen);
}

static void st_free_strings(void *self, char **s, size_t n)
{
    (void)self;
    for (size_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

static int st_info(void *self, aion_store_info *out)
{
    recv *r = self;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "receive (%s)", api->instance_name(r->ctx));
    snprintf(out->kind, sizeof out->kind, "receive");
    out->external_labels = (const aion_label *)(const void *)r->ext;
    out->n_external_labels = r->next;
    out->mint = INT64_MAX;
    out->maxt = INT64_MIN;
    size_t n;
    recv_tenant **ts = recv_tenants_snapshot(r, &n);
    for (size_t i = 0; ts && i < n; i++) {
        tsdb_stats st;
        tsdb_get_stats(ts[i]->db, &st);
        if (st.mint > st.maxt)
            continue;
        if (st.mint < out->mint)
            out->mint = st.mint;
        if (st.maxt > out->maxt)
            out->maxt = st.maxt;
    }
    free(ts);
    out->healthy = atomic_load(&r->ready);
    return 0;
}

const aion_store_vtable recv_store_vtable = {
    .info = st_info,
    .select = st_select,
    .label_names = st_label_names,
    .label_values = st_label_values,
    .free_strings = st_free_strings,
};
