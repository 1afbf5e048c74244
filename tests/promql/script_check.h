/* tests/promql/script_check.h: runs a test script (Prometheus' .test format,
 * tools/promql-test) held in a string and asserts, with cmocka, that every
 * eval passed and that exactly want_passed of them ran. */
#ifndef AION_TEST_PROMQL_SCRIPT_CHECK_H
#define AION_TEST_PROMQL_SCRIPT_CHECK_H

#include <stdbool.h>

/* instant_only: skip the runner's range-mode and @ re-checks of each eval
 * (for corners where Prometheus itself is not step invariant). */
void psc_run_script(const char *name, const char *text, int want_passed, bool instant_only);

#endif
