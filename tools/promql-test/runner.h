/* Test-script runner shared by promql-test and the cmocka tests.
 * Single-threaded; prints failures to stdout as `name:line: message`. */
#ifndef PROMQL_TEST_RUNNER_H
#define PROMQL_TEST_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct runner_counts {
    int passed, failed, skipped;
} runner_counts;

/* Parses and runs one script held in text[len]; name is used in messages.
 * Adds to *total and prints `name: N passed, N failed, N skipped`. An eval
 * is skipped when it truly needs native histograms: it expects a histogram
 * value (`{{...}}`), or one of its selectors matches a series a `load` gave
 * in histogram notation (since the last `clear`). Names of skipped evals
 * (`name:line: expr`) are appended to *skipped (malloc()ed strings the
 * caller frees, array too). */
void runner_run_text(const char *name, const char *text, size_t len, runner_counts *total, char ***skipped,
                     size_t *nskipped);

/* Instant queries only: no range-mode and no @-variant checks. For scripts
 * whose answers come from promtool, which only runs instant queries: where
 * Prometheus itself is not step invariant (its @ bookkeeping, see
 * lib/promql/eval_at.c) those checks would fail on Prometheus too. */
void runner_set_instant_only(bool on);

#endif
