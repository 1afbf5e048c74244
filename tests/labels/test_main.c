#include "tests.h"

int main(void)
{
    int fails = 0;
    fails += _cmocka_run_group_tests("labels", labels_set_tests, labels_set_ntests, NULL, NULL);
    fails += _cmocka_run_group_tests("matchers", labels_matcher_tests, labels_matcher_ntests, NULL,
                                     NULL);
    return fails ? 1 : 0;
}
