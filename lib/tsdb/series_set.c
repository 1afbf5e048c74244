/* Public series-set wrappers dispatching through the ops in series_set.h,
 * and the empty set. */
#include "series_set.h"

#include <stddef.h>

int tsdb_series_set_next(tsdb_series_set *ss)
{
    return ss->ops->next(ss);
}

const labels_label *tsdb_series_set_labels(tsdb_series_set *ss, size_t *n)
{
    return ss->ops->labels(ss, n);
}

const tsdb_chunk *tsdb_series_set_chunks(tsdb_series_set *ss, size_t *n)
{
    return ss->ops->chunks(ss, n);
}

void tsdb_series_set_free(tsdb_series_set *ss)
{
    if (ss)
        ss->ops->free(ss);
}

static int empty_next(tsdb_series_set *ss)
{
    (void)ss;
    return 0;
}

static const labels_label *empty_labels(tsdb_series_set *ss, size_t *n)
{
    (void)ss;
    *n = 0;
    return NULL;
}

static const tsdb_chunk *empty_chunks(tsdb_series_set *ss, size_t *n)
{
    (void)ss;
    *n = 0;
    return NULL;
}

static void empty_free(tsdb_series_set *ss)
{
    (void)ss; /* static singleton */
}

static const struct tsdb_series_set_ops empty_ops = {
    .next = empty_next, .labels = empty_labels, .chunks = empty_chunks, .free = empty_free,
};
static tsdb_series_set empty_set = {.ops = &empty_ops};

tsdb_series_set *tsdb_series_set_empty(void)
{
    return &empty_set;
}
