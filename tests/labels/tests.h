#ifndef AION_TEST_LABELS_H
#define AION_TEST_LABELS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

extern const struct CMUnitTest labels_set_tests[];
extern const size_t labels_set_ntests;
extern const struct CMUnitTest labels_matcher_tests[];
extern const size_t labels_matcher_ntests;
#endif
