/* tests/promql/script_check.c: see script_check.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner.h"
#include "script_check.h"

void psc_run_script(const char *name, const char *text, int want_passed, bool instant_only)
{
    runner_counts c = {0};
    char **skipped = NULL;
    size_t nskipped = 0;
    if (instant_only)
        runner_set_instant_only(true);
    runner_run_text(name, text, strlen(text), &c, &skipped, &nskipped);
    if (instant_only)
        runner_set_instant_only(false);
    for (size_t i = 0; i < nskipped; i++)
        free(skipped[i]);
    free(skipped);
    assert_int_equal(c.failed, 0);
    assert_int_equal(c.skipped, 0);
    assert_int_equal(c.passed, want_passed);
}
