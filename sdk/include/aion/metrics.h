/*
 * aion/metrics.h: the host's metrics registry, served on /metrics in the
 * Prometheus text format. Plugins register counters, gauges and histograms
 * (with label names) through aion_api; names should be prefixed
 * `aion_<plugin>_`. Updates are lock-free or cheap and safe from any thread.
 * Handles stay valid until the host exits (plugins never free them).
 */
#ifndef AION_METRICS_H
#define AION_METRICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aion_metric aion_metric;

typedef enum aion_metric_type {
    AION_METRIC_COUNTER = 1,
    AION_METRIC_GAUGE,
    AION_METRIC_HISTOGRAM,
} aion_metric_type;

/* Default histogram buckets for durations in seconds. */
#define AION_DURATION_BUCKETS { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 }

/* A callback that sets gauge values at scrape time (e.g. head series). */
typedef void (*aion_metric_collect_fn)(aion_metric *m, void *arg);

#ifdef __cplusplus
}
#endif
#endif
