#include "tests.h"
#include "labels/labels.h"
static void t_placeholder2(void **s) { (void)s; }
const struct CMUnitTest labels_matcher_tests[] = { cmocka_unit_test(t_placeholder2) };
const size_t labels_matcher_ntests = 1;
