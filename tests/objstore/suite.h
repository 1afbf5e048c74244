/* The interface test suite shared by every backend: each backend's test
 * program fills suite_base (a complete config) and runs suite_run. */
#ifndef OBJSTORE_TEST_SUITE_H
#define OBJSTORE_TEST_SUITE_H

#include "objstore/objstore.h"

/* Config every suite bucket is opened from (list_max_keys is lowered by the
 * suite to force pagination where the backend pages). */
extern objstore_config suite_base;
/* 0 for servers whose listings are known to be wrong in two corner cases
 * (s3rver 5: "directories" holding only deeper ones are not listed, and keys
 * sorting between "dir" and "dir/" are lost across pages); the suite then
 * skips those checks. */
extern int suite_strict_listing;

/* Runs the shared cmocka group named group; returns failures count. */
int suite_run(const char *group);

/* Helpers also used by backend-specific tests. */
objstore_bucket *suite_open(const objstore_config *c);
void suite_fill(unsigned char *p, size_t n, unsigned seed);

#endif
