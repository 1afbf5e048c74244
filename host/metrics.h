/* host/metrics.h: the metrics registry behind aion_api.metric_* and /metrics. */
#ifndef AION_HOST_METRICS_H
#define AION_HOST_METRICS_H

#include <stddef.h>
#include <aion/metrics.h>

/* Registers or finds a family (same semantics as aion_api.metric_new).
 * Returns NULL on allocation failure or a type clash. Thread-safe. */
aion_metric *host_metric_new(aion_metric_type type, const char *name, const char *help,
                             const char *const *label_names, const double *buckets,
                             size_t nbuckets);
void host_metric_add(aion_metric *m, const char *const *label_values, double v);
void host_metric_set(aion_metric *m, const char *const *label_values, double v);
void host_metric_observe(aion_metric *m, const char *const *label_values, double v);
void host_metric_on_collect(aion_metric *m, aion_metric_collect_fn fn, void *arg);

/* Renders every family in the Prometheus text format 0.0.4 into a malloc'ed
 * buffer (*out, *len). Returns 0 or -ENOMEM. */
int host_metrics_render(char **out, size_t *len);

/* Frees the registry (at exit). */
void host_metrics_free_all(void);

#endif
