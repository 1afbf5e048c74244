/* See prompb_ref.h. */
#include "prompb_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ref_alloc(ref_arena *a, size_t n)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->ptrs = realloc(a->ptrs, a->cap * sizeof(void *));
        if (!a->ptrs)
            abort();
    }
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    a->ptrs[a->n++] = p;
    return p;
}

void ref_arena_free(ref_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->ptrs[i]);
    free(a->ptrs);
    memset(a, 0, sizeof(*a));
}

uint64_t ref_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

static size_t upto(uint64_t *rng, size_t n)
{
    return n ? (size_t)(ref_rand(rng) % (n + 1)) : 0;
}

static const char *const names[] = {"__name__", "job", "instance", "le", "quantile", "zone",
                                    "a", "b_c", "env", "pod", "namespace", "container"};

/* Random string: realistic ASCII or, in edge mode, anything but NUL (protoc-c
 * strings are NUL-terminated, so a NUL would not survive the reference). */
static char *rand_str(ref_arena *a, uint64_t *rng, int edge)
{
    size_t kind = upto(rng, 9);
    if (!edge || kind < 5) {
        if (kind < 3)
            return (char *)names[upto(rng, 11)];
        size_t n = 1 + upto(rng, 24);
        char *s = ref_alloc(a, n + 1);
        for (size_t i = 0; i < n; i++)
            s[i] = "abcdefghijklmnopqrstuvwxyz_0123456789:/.-"[upto(rng, 40)];
        return s;
    }
    if (kind == 5)
        return "";
    size_t n = kind == 9 ? 200 + upto(rng, 400) : 1 + upto(rng, 12);
    char *s = ref_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(1 + upto(rng, 254));
    return s;
}

static double rand_value(uint64_t *rng, int edge)
{
    static const uint64_t specials[] = {
        UINT64_C(0x7ff0000000000002), /* stale marker */
        UINT64_C(0x7ff8000000000001), /* Prometheus' NaN */
        UINT64_C(0x7ff8000000000000), UINT64_C(0xfff8000000000000),
        UINT64_C(0x7ff0000000000000), UINT64_C(0xfff0000000000000), /* +-Inf */
        UINT64_C(0x8000000000000000), /* -0.0 */
        0, UINT64_C(0x0000000000000001), /* denormal */
        UINT64_C(0x7fefffffffffffff),
    };
    double d;
    uint64_t bits;
    size_t k = upto(rng, 9);
    if (edge && k < 4)
        bits = specials[upto(rng, sizeof(specials) / sizeof(specials[0]) - 1)];
    else if (edge && k < 6)
        bits = ref_rand(rng);
    else {
        d = (double)(ref_rand(rng) % 100000) / 8.0;
        return d;
    }
    memcpy(&d, &bits, 8);
    return d;
}

static int64_t rand_ts(uint64_t *rng, int edge)
{
    size_t k = upto(rng, 9);
    if (edge && k == 0)
        return 0;
    if (edge && k == 1)
        return -(int64_t)(ref_rand(rng) >> 1);
    if (edge && k == 2)
        return INT64_MAX;
    if (edge && k == 3)
        return INT64_MIN;
    return 1700000000000 + (int64_t)(ref_rand(rng) % 100000000);
}

static Prometheus__Label **rand_labels_v1(ref_arena *a, uint64_t *rng, const ref_shape *sh,
                                          size_t *n)
{
    *n = upto(rng, sh->max_labels);
    Prometheus__Label **ls = ref_alloc(a, *n * sizeof(*ls));
    for (size_t i = 0; i < *n; i++) {
        Prometheus__Label *l = ref_alloc(a, sizeof(*l));
        prometheus__label__init(l);
        l->name = rand_str(a, rng, sh->edge);
        l->value = rand_str(a, rng, sh->edge);
        ls[i] = l;
    }
    return ls;
}

Prometheus__WriteRequest *ref_random_v1(ref_arena *a, uint64_t *rng, const ref_shape *sh)
{
    Prometheus__WriteRequest *w = ref_alloc(a, sizeof(*w));
    prometheus__write_request__init(w);
    w->n_timeseries = upto(rng, sh->max_series);
    w->timeseries = ref_alloc(a, w->n_timeseries * sizeof(void *));
    for (size_t i = 0; i < w->n_timeseries; i++) {
        Prometheus__TimeSeries *ts = ref_alloc(a, sizeof(*ts));
        prometheus__time_series__init(ts);
        ts->labels = rand_labels_v1(a, rng, sh, &ts->n_labels);
        ts->n_samples = upto(rng, sh->max_samples);
        ts->samples = ref_alloc(a, ts->n_samples * sizeof(void *));
        for (size_t k = 0; k < ts->n_samples; k++) {
            Prometheus__Sample *s = ref_alloc(a, sizeof(*s));
            prometheus__sample__init(s);
            s->value = rand_value(rng, sh->edge);
            s->timestamp = rand_ts(rng, sh->edge);
            ts->samples[k] = s;
        }
        if (sh->edge && upto(rng, 3) == 0) {
            ts->n_exemplars = 1 + upto(rng, 2);
            ts->exemplars = ref_alloc(a, ts->n_exemplars * sizeof(void *));
            for (size_t k = 0; k < ts->n_exemplars; k++) {
                Prometheus__Exemplar *e = ref_alloc(a, sizeof(*e));
                prometheus__exemplar__init(e);
                e->labels = rand_labels_v1(a, rng, sh, &e->n_labels);
                e->value = rand_value(rng, 1);
                e->timestamp = rand_ts(rng, 1);
                ts->exemplars[k] = e;
            }
        }
        if (sh->edge && upto(rng, 3) == 0) {
            ts->n_histograms = 1 + upto(rng, 1);
            ts->histograms = ref_alloc(a, ts->n_histograms * sizeof(void *));
            for (size_t k = 0; k < ts->n_histograms; k++) {
                Prometheus__Histogram *h = ref_alloc(a, sizeof(*h));
                prometheus__histogram__init(h);
                h->count_case = PROMETHEUS__HISTOGRAM__COUNT_COUNT_INT;
                h->count_int = ref_rand(rng) % 1000;
                h->sum = 12.5;
                h->schema = -3;
                h->n_positive_deltas = 3;
                h->positive_deltas = ref_alloc(a, 3 * sizeof(int64_t));
                h->positive_deltas[0] = 5;
                h->positive_deltas[1] = -2;
                h->n_positive_spans = 1;
                h->positive_spans = ref_alloc(a, sizeof(void *));
                Prometheus__BucketSpan *sp = ref_alloc(a, sizeof(*sp));
                prometheus__bucket_span__init(sp);
                sp->offset = -1;
                sp->length = 3;
                h->positive_spans[0] = sp;
                h->timestamp = rand_ts(rng, 0);
                ts->histograms[k] = h;
            }
        }
        w->timeseries[i] = ts;
    }
    if (sh->edge && upto(rng, 2) == 0) {
        w->n_metadata = 1 + upto(rng, 2);
        w->metadata = ref_alloc(a, w->n_metadata * sizeof(void *));
        for (size_t k = 0; k < w->n_metadata; k++) {
            Prometheus__MetricMetadata *m = ref_alloc(a, sizeof(*m));
            prometheus__metric_metadata__init(m);
            m->type = PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER;
            m->metric_family_name = rand_str(a, rng, 0);
            m->help = rand_str(a, rng, 1);
            w->metadata[k] = m;
        }
    }
    return w;
}

Io__Prometheus__Write__V2__Request *ref_random_v2(ref_arena *a, uint64_t *rng,
                                                  const ref_shape *sh)
{
    Io__Prometheus__Write__V2__Request *w = ref_alloc(a, sizeof(*w));
    io__prometheus__write__v2__request__init(w);
    w->n_symbols = 1 + upto(rng, 30);
    w->symbols = ref_alloc(a, w->n_symbols * sizeof(char *));
    w->symbols[0] = "";
    for (size_t i = 1; i < w->n_symbols; i++)
        w->symbols[i] = rand_str(a, rng, sh->edge);
    w->n_timeseries = upto(rng, sh->max_series);
    w->timeseries = ref_alloc(a, w->n_timeseries * sizeof(void *));
    for (size_t i = 0; i < w->n_timeseries; i++) {
        Io__Prometheus__Write__V2__TimeSeries *ts = ref_alloc(a, sizeof(*ts));
        io__prometheus__write__v2__time_series__init(ts);
        ts->n_labels_refs = 2 * upto(rng, sh->max_labels);
        if (sh->edge && upto(rng, 15) == 0)
            ts->n_labels_refs++;                     /* odd: must be flagged */
        ts->labels_refs = ref_alloc(a, ts->n_labels_refs * sizeof(uint32_t));
        for (size_t k = 0; k < ts->n_labels_refs; k++) {
            ts->labels_refs[k] = (uint32_t)upto(rng, w->n_symbols - 1);
            if (sh->edge && upto(rng, 40) == 0)
                ts->labels_refs[k] = (uint32_t)(w->n_symbols + upto(rng, 1000));
        }
        ts->n_samples = upto(rng, sh->max_samples);
        ts->samples = ref_alloc(a, ts->n_samples * sizeof(void *));
        for (size_t k = 0; k < ts->n_samples; k++) {
            Io__Prometheus__Write__V2__Sample *s = ref_alloc(a, sizeof(*s));
            io__prometheus__write__v2__sample__init(s);
            s->value = rand_value(rng, sh->edge);
            s->timestamp = rand_ts(rng, sh->edge);
            ts->samples[k] = s;
        }
        if (upto(rng, 1)) {
            Io__Prometheus__Write__V2__Metadata *m = ref_alloc(a, sizeof(*m));
            io__prometheus__write__v2__metadata__init(m);
            m->type = (Io__Prometheus__Write__V2__Metadata__MetricType)upto(rng, 7);
            m->help_ref = (uint32_t)upto(rng, w->n_symbols - 1);
            m->unit_ref = (uint32_t)upto(rng, w->n_symbols - 1);
            ts->metadata = m;
        }
        if (sh->edge && upto(rng, 4) == 0) {
            ts->n_exemplars = 1;
            ts->exemplars = ref_alloc(a, sizeof(void *));
            Io__Prometheus__Write__V2__Exemplar *e = ref_alloc(a, sizeof(*e));
            io__prometheus__write__v2__exemplar__init(e);
            e->value = 1.5;
            e->timestamp = 17;
            ts->exemplars[0] = e;
        }
        if (sh->edge && upto(rng, 4) == 0) {
            ts->n_histograms = 1;
            ts->histograms = ref_alloc(a, sizeof(void *));
            Io__Prometheus__Write__V2__Histogram *h = ref_alloc(a, sizeof(*h));
            io__prometheus__write__v2__histogram__init(h);
            h->count_case = IO__PROMETHEUS__WRITE__V2__HISTOGRAM__COUNT_COUNT_FLOAT;
            h->count_float = 3.0;
            h->schema = 2;
            ts->histograms[0] = h;
        }
        ts->created_timestamp = upto(rng, 1) ? rand_ts(rng, sh->edge) : 0;
        w->timeseries[i] = ts;
    }
    return w;
}

uint8_t *ref_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len ? *len : 1);
    if (!b)
        abort();
    protobuf_c_message_pack(m, b);
    return b;
}

int ref_str_eq(const char *view, size_t len, const char *pc)
{
    size_t n = strlen(pc);
    if (n > len || memcmp(view, pc, n) != 0)
        return 0;
    return n == len || view[n] == '\0';
}

static int bits_eq(double a, double b)
{
    return memcmp(&a, &b, 8) == 0;
}

#define WHY(...)                                                                              \
    do {                                                                                      \
        snprintf(why, whylen, __VA_ARGS__);                                                   \
        return -1;                                                                            \
    } while (0)

int ref_compare_v1(const prompb_write_request *r, const Prometheus__WriteRequest *w,
                   char *why, size_t whylen)
{
    size_t nl = 0, ns = 0;
    if (r->series_count != w->n_timeseries)
        WHY("series count %zu != %zu", r->series_count, w->n_timeseries);
    if (r->metadata_count != w->n_metadata)
        WHY("metadata count %zu != %zu", r->metadata_count, w->n_metadata);
    for (size_t i = 0; i < w->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = w->timeseries[i];
        const prompb_series *s = &r->series[i];
        if (s->labels_count != ts->n_labels || s->samples_count != ts->n_samples)
            WHY("series %zu: %u labels %u samples != %zu %zu", i, s->labels_count,
                s->samples_count, ts->n_labels, ts->n_samples);
        if (s->labels_start != nl || s->samples_start != ns)
            WHY("series %zu: bad offsets", i);
        if (s->exemplar_count != ts->n_exemplars || s->histogram_count != ts->n_histograms)
            WHY("series %zu: exemplar/histogram counts", i);
        for (size_t k = 0; k < ts->n_labels; k++) {
            const prompb_label *l = &r->labels[s->labels_start + k];
            if (!ref_str_eq(l->name, l->name_len, ts->labels[k]->name) ||
                !ref_str_eq(l->value, l->value_len, ts->labels[k]->value))
                WHY("series %zu label %zu differs", i, k);
        }
        for (size_t k = 0; k < ts->n_samples; k++) {
            const prompb_sample *sm = &r->samples[s->samples_start + k];
            if (sm->timestamp_ms != ts->samples[k]->timestamp ||
                !bits_eq(sm->value, ts->samples[k]->value))
                WHY("series %zu sample %zu differs", i, k);
        }
        nl += ts->n_labels;
        ns += ts->n_samples;
    }
    if (r->label_count != nl || r->sample_count != ns)
        WHY("totals %zu/%zu != %zu/%zu", r->label_count, r->sample_count, nl, ns);
    return 0;
}

int ref_compare_v2(const prompb_write_request *r, const Io__Prometheus__Write__V2__Request *w,
                   char *why, size_t whylen)
{
    size_t nl = 0, ns = 0;
    if (r->series_count != w->n_timeseries)
        WHY("series count %zu != %zu", r->series_count, w->n_timeseries);
    if (r->symbol_count != w->n_symbols)
        WHY("symbol count %zu != %zu", r->symbol_count, w->n_symbols);
    for (size_t i = 0; i < w->n_symbols; i++)
        if (!ref_str_eq(r->symbols[i].ptr, r->symbols[i].len, w->symbols[i]))
            WHY("symbol %zu differs", i);
    for (size_t i = 0; i < w->n_timeseries; i++) {
        const Io__Prometheus__Write__V2__TimeSeries *ts = w->timeseries[i];
        const prompb_series *s = &r->series[i];
        int bad = 0;
        if (s->labels_count != ts->n_labels_refs / 2 || s->samples_count != ts->n_samples)
            WHY("series %zu: label/sample counts", i);
        if (s->exemplar_count != ts->n_exemplars || s->histogram_count != ts->n_histograms)
            WHY("series %zu: exemplar/histogram counts", i);
        if (s->created_timestamp_ms != ts->created_timestamp)
            WHY("series %zu: created timestamp", i);
        if (!!(s->flags & PROMPB_SERIES_ODD_REFS) != (int)(ts->n_labels_refs & 1))
            WHY("series %zu: odd flag", i);
        for (size_t k = 0; k + 1 < ts->n_labels_refs; k += 2) {
            const prompb_label *l = &r->labels[s->labels_start + k / 2];
            uint32_t nr = ts->labels_refs[k], vr = ts->labels_refs[k + 1];
            if (nr >= w->n_symbols || vr >= w->n_symbols) {
                bad = 1;
                continue;
            }
            if (!ref_str_eq(l->name, l->name_len, w->symbols[nr]) ||
                !ref_str_eq(l->value, l->value_len, w->symbols[vr]))
                WHY("series %zu label %zu differs", i, k / 2);
        }
        /* protobuf-c does not merge proto3 scalars of a repeated embedded
         * message field (a later "metadata" resets type/refs to 0), unlike
         * the protobuf spec and Go, which the fast decoder follows. So zero
         * values on the reference side are not compared. */
        if (ts->metadata) {
            const Io__Prometheus__Write__V2__Metadata *md = ts->metadata;
            if (!s->has_metadata)
                WHY("series %zu: metadata missing", i);
            if (md->type != 0 && s->metadata_type != (uint32_t)md->type)
                WHY("series %zu: metadata type", i);
            if (md->help_ref != 0 && md->help_ref < w->n_symbols &&
                !ref_str_eq(s->help, s->help_len, w->symbols[md->help_ref]))
                WHY("series %zu: help", i);
            if (md->unit_ref != 0 && md->unit_ref < w->n_symbols &&
                !ref_str_eq(s->unit, s->unit_len, w->symbols[md->unit_ref]))
                WHY("series %zu: unit", i);
            if (((md->help_ref && md->help_ref >= w->n_symbols) ||
                 (md->unit_ref && md->unit_ref >= w->n_symbols)) &&
                !(s->flags & PROMPB_SERIES_BAD_META_REF))
                WHY("series %zu: bad metadata ref not flagged", i);
        } else if (s->has_metadata) {
            WHY("series %zu: unexpected metadata", i);
        }
        if (bad && !(s->flags & PROMPB_SERIES_BAD_REF))
            WHY("series %zu: bad ref not flagged", i);
        if (!bad && (s->flags & PROMPB_SERIES_BAD_REF))
            WHY("series %zu: good refs flagged", i);
        for (size_t k = 0; k < ts->n_samples; k++) {
            const prompb_sample *sm = &r->samples[s->samples_start + k];
            if (sm->timestamp_ms != ts->samples[k]->timestamp ||
                !bits_eq(sm->value, ts->samples[k]->value))
                WHY("series %zu sample %zu differs", i, k);
        }
        nl += s->labels_count;
        ns += ts->n_samples;
    }
    if (r->label_count != nl || r->sample_count != ns)
        WHY("totals differ");
    return 0;
}
