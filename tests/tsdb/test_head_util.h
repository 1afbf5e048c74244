/* Helpers shared by the head/WAL/db/crash/querier tests. */
#ifndef AION_TEST_HEAD_UTIL_H
#define AION_TEST_HEAD_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tsdb/tsdb.h>

static inline char *th_tmpdir(const char *tag)
{
    char tmpl[256];
    const char *base = getenv("TMPDIR");
    snprintf(tmpl, sizeof(tmpl), "%s/aion-%s-XXXXXX", base ? base : "/tmp", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void th_rmrf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "rm -rf %s failed\n", dir);
}

/* A two-label series {__name__="m", id="<i>"}; strings live in the caller's buffer. */
typedef struct th_series {
    char id[32];
    labels_label ls[2];
} th_series;

static inline void th_make(th_series *s, const char *name, long i)
{
    snprintf(s->id, sizeof(s->id), "%ld", i);
    s->ls[0] = labels_make("__name__", name);
    s->ls[1] = labels_make("id", s->id);
}

static inline labels_matcher *th_m(labels_match_type t, const char *n, const char *v)
{
    labels_matcher *m = NULL;
    char err[128];
    if (labels_matcher_new(t, n, strlen(n), v, strlen(v), &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "matcher: %s\n", err);
        abort();
    }
    return m;
}

/* Counts series and samples of a select; sums values into *sum if non-NULL. */
static inline int th_count(tsdb_querier *q, labels_matcher *m, size_t *nseries, size_t *nsamples,
                           double *sum)
{
    const labels_matcher *ms[1] = {m};
    tsdb_series_set *ss;
    char err[256];
    int rc = tsdb_select(q, ms, 1, &ss, err, sizeof(err));
    if (rc)
        return rc;
    *nseries = *nsamples = 0;
    if (sum)
        *sum = 0;
    while ((rc = tsdb_series_set_next(ss)) == 1) {
        (*nseries)++;
        size_t nc;
        const tsdb_chunk *c = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, c, nc, INT64_MIN, INT64_MAX);
        int64_t t;
        double v;
        int r;
        while ((r = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
            (*nsamples)++;
            if (sum)
                *sum += v;
        }
        tsdb_sample_iter_free(&it);
        if (r < 0) {
            rc = r;
            break;
        }
    }
    tsdb_series_set_free(ss);
    return rc < 0 ? rc : 0;
}

#endif
