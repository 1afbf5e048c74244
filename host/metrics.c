/* Metrics registry: families of counters, gauges and histograms, rendered in
 * the Prometheus text format. One mutex per family: updates are short and the
 * rates here (per request, per batch) are far below where that matters. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mseries {
    struct mseries *next;
    char **values;          /* label values, nlabels entries */
    double value;           /* counter/gauge; histogram: sum */
    uint64_t count;         /* histogram */
    uint64_t *buckets;      /* histogram, per bucket (not cumulative) */
};

struct aion_metric {
    struct aion_metric *next;
    aion_metric_type type;
    char *name, *help;
    char **label_names;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    pthread_mutex_t mu;
    struct mseries *series;
    aion_metric_collect_fn collect;
    void *collect_arg;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct aion_metric *families;

static void family_free(struct aion_metric *m)
{
    struct mseries *s = m->series;
    while (s) {
        struct mseries *n = s->next;
        for (size_t i = 0; i < m->nlabels; i++)
            free(s->values[i]);
        free(s->values);
        free(s->buckets);
        free(s);
        s = n;
    }
    for (size_t i = 0; i < m->nlabels; i++)
        free(m->label_names[i]);
    free(m->label_names);
    free(m->bounds);
    free(m->name);
    free(m->help);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

aion_metric *host_metric_new(aion_metric_type type, const char *name, const char *help,
                             const char *const *label_names, const double *buckets,
                             size_t nbuckets)
{
    if (!name || type < AION_METRIC_COUNTER || type > AION_METRIC_HISTOGRAM)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    for (struct aion_metric *m = families; m; m = m->next)
        if (strcmp(m->name, name) == 0) {
            pthread_mutex_unlock(&reg_mu);
            return m->type == type ? m : NULL;
        }
    struct aion_metric *m = calloc(1, sizeof *m);
    if (!m)
        goto fail;
    pthread_mutex_init(&m->mu, NULL);
    m->type = type;
    m->name = strdup(name);
    m->help = strdup(help ? help : "");
    while (label_names && label_names[m->nlabels])
        m->nlabels++;
    m->label_names = calloc(m->nlabels + 1, sizeof(char *));
    if (!m->name || !m->help || !m->label_names)
        goto fail;
    for (size_t i = 0; i < m->nlabels; i++)
        if (!(m->label_names[i] = strdup(label_names[i])))
            goto fail;
    if (type == AION_METRIC_HISTOGRAM) {
        static const double def[] = AION_DURATION_BUCKETS;
        if (!buckets || nbuckets == 0) {
            buckets = def;
            nbuckets = sizeof def / sizeof def[0];
        }
        m->bounds = malloc(nbuckets * sizeof(double));
        if (!m->bounds)
            goto fail;
        memcpy(m->bounds, buckets, nbuckets * sizeof(double));
        m->nbounds = nbuckets;
    }
    m->next = families;
    families = m;
    pthread_mutex_unlock(&reg_mu);
    return m;
fail:
    pthread_mutex_unlock(&reg_mu);
    if (m)
        family_free(m);
    return NULL;
}

/* Finds or creates the series for these label values; m->mu held. */
static struct mseries *series_get(struct aion_metric *m, const char *const *values)
{
    for (struct mseries *s = m->series; s; s = s->next) {
        size_t i = 0;
        for (; i < m->nlabels; i++)
            if (strcmp(s->values[i], values && values[i] ? values[i] : "") != 0)
                break;
        if (i == m->nlabels)
            return s;
    }
    struct mseries *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->values = calloc(m->nlabels + 1, sizeof(char *));
    if (m->nbounds)
        s->buckets = calloc(m->nbounds, sizeof(uint64_t));
    if (!s->values || (m->nbounds && !s->buckets))
        goto fail;
    for (size_t i = 0; i < m->nlabels; i++)
        if (!(s->values[i] = strdup(values && values[i] ? values[i] : "")))
            goto fail;
    s->next = m->series;
    m->series = s;
    return s;
fail:
    if (s->values)
        for (size_t i = 0; i < m->nlabels; i++)
            free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
    return NULL;
}

void host_metric_add(aion_metric *m, const char *const *label_values, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    struct mseries *s = series_get(m, label_values);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->mu);
}

void host_metric_set(aion_metric *m, const char *const *label_values, double v)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    struct mseries *s = series_get(m, label_values);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->mu);
}

void host_metric_observe(aion_metric *m, const char *const *label_values, double v)
{
    if (!m || m->type != AION_METRIC_HISTOGRAM)
        return;
    pthread_mutex_lock(&m->mu);
    struct mseries *s = series_get(m, label_values);
    if (s) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < m->nbounds; i++)
            if (v <= m->bounds[i]) {
                s->buckets[i]++;
                break;
            }
    }
    pthread_mutex_unlock(&m->mu);
}

void host_metric_on_collect(aion_metric *m, aion_metric_collect_fn fn, void *arg)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->collect = fn;
    m->collect_arg = arg;
    pthread_mutex_unlock(&m->mu);
}

/* ---- rendering ---- */

struct out {
    char *buf;
    size_t len, cap;
    int err;
};

static void out_write(struct out *o, const char *s, size_t n)
{
    if (o->err)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->err = -ENOMEM;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s) { out_write(o, s, strlen(s)); }

static void out_escaped(struct out *o, const char *s, bool help)
{
    for (; *s; s++) {
        if (*s == '\\')
            out_str(o, "\\\\");
        else if (*s == '\n')
            out_str(o, "\\n");
        else if (*s == '"' && !help)
            out_str(o, "\\\"");
        else
            out_write(o, s, 1);
    }
}

static void out_double(struct out *o, double v)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, "NaN");
    else if (isinf(v))
        snprintf(b, sizeof b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        snprintf(b, sizeof b, "%lld", (long long)v);
    else
        snprintf(b, sizeof b, "%.17g", v);
    out_str(o, b);
}

/* name{l1="v1",...[,extra]} value */
static void out_sample(struct out *o, const struct aion_metric *m, const char *suffix,
                       const struct mseries *s, const char *extra_name, const char *extra_val,
                       double v)
{
    out_str(o, m->name);
    out_str(o, suffix);
    if (m->nlabels || extra_name) {
        out_str(o, "{");
        for (size_t i = 0; i < m->nlabels; i++) {
            if (i)
                out_str(o, ",");
            out_str(o, m->label_names[i]);
            out_str(o, "=\"");
            out_escaped(o, s->values[i], false);
            out_str(o, "\"");
        }
        if (extra_name) {
            if (m->nlabels)
                out_str(o, ",");
            out_str(o, extra_name);
            out_str(o, "=\"");
            out_str(o, extra_val);
            out_str(o, "\"");
        }
        out_str(o, "}");
    }
    out_str(o, " ");
    out_double(o, v);
    out_str(o, "\n");
}

static int cmp_family(const void *a, const void *b)
{
    return strcmp((*(struct aion_metric *const *)a)->name, (*(struct aion_metric *const *)b)->name);
}

int host_metrics_render(char **outp, size_t *lenp)
{
    struct out o = { 0 };
    pthread_mutex_lock(&reg_mu);
    size_t n = 0;
    for (struct aion_metric *m = families; m; m = m->next)
        n++;
    struct aion_metric **sorted = calloc(n ? n : 1, sizeof *sorted);
    if (!sorted) {
        pthread_mutex_unlock(&reg_mu);
        return -ENOMEM;
    }
    n = 0;
    for (struct aion_metric *m = families; m; m = m->next)
        sorted[n++] = m;
    pthread_mutex_unlock(&reg_mu);
    qsort(sorted, n, sizeof *sorted, cmp_family);

    static const char *type_names[] = { "", "counter", "gauge", "histogram" };
    for (size_t i = 0; i < n; i++) {
        struct aion_metric *m = sorted[i];
        aion_metric_collect_fn fn;
        void *arg;
        pthread_mutex_lock(&m->mu);
        fn = m->collect;
        arg = m->collect_arg;
        pthread_mutex_unlock(&m->mu);
        if (fn)  /* outside the lock: the callback calls metric_set */
            fn(m, arg);
        pthread_mutex_lock(&m->mu);
        if (m->help[0]) {
            out_str(&o, "# HELP ");
            out_str(&o, m->name);
            out_str(&o, " ");
            out_escaped(&o, m->help, true);
            out_str(&o, "\n");
        }
        out_str(&o, "# TYPE ");
        out_str(&o, m->name);
        out_str(&o, " ");
        out_str(&o, type_names[m->type]);
        out_str(&o, "\n");
        for (struct mseries *s = m->series; s; s = s->next) {
            if (m->type != AION_METRIC_HISTOGRAM) {
                out_sample(&o, m, "", s, NULL, NULL, s->value);
                continue;
            }
            uint64_t cum = 0;
            for (size_t b = 0; b < m->nbounds; b++) {
                char le[64];
                cum += s->buckets[b];
                snprintf(le, sizeof le, "%g", m->bounds[b]);
                out_sample(&o, m, "_bucket", s, "le", le, (double)cum);
            }
            out_sample(&o, m, "_bucket", s, "le", "+Inf", (double)s->count);
            out_sample(&o, m, "_sum", s, NULL, NULL, s->value);
            out_sample(&o, m, "_count", s, NULL, NULL, (double)s->count);
        }
        pthread_mutex_unlock(&m->mu);
    }
    free(sorted);
    if (o.err) {
        free(o.buf);
        return o.err;
    }
    if (!o.buf)
        out_write(&o, "", 0);
    if (o.err)
        return o.err;
    *outp = o.buf;
    *lenp = o.len;
    return 0;
}

void host_metrics_free_all(void)
{
    pthread_mutex_lock(&reg_mu);
    struct aion_metric *m = families;
    families = NULL;
    pthread_mutex_unlock(&reg_mu);
    while (m) {
        struct aion_metric *n = m->next;
        family_free(m);
        m = n;
    }
}
