/* The shared interface suite on the FILESYSTEM backend, plus what only the
 * filesystem has: names that would escape the root, temp files never listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suite.h"

static char root[] = "/tmp/objstore-fs-XXXXXX";

static int count(void *ud, const char *name)
{
    (void)name;
    (*(int *)ud)++;
    return 0;
}

static void fs_escape_names(void **state)
{
    objstore_bucket *b = suite_open(&suite_base);
    objstore_err e;
    assert_int_equal(objstore_upload_buffer(b, "../evil", "x", 1, &e), -EINVAL);
    assert_int_equal(objstore_upload_buffer(b, "a/../../evil", "x", 1, &e), -EINVAL);
    assert_int_equal(objstore_upload_buffer(b, "a//b", "x", 1, &e), -EINVAL);
    assert_int_equal(objstore_upload_buffer(b, "a/./b", "x", 1, &e), -EINVAL);
    void *d;
    size_t n;
    assert_int_equal(objstore_get(b, "../x", 0, -1, &d, &n, &e), -EINVAL);
    int c = 0;
    assert_int_equal(objstore_iter(b, "../", 0, count, &c, &e), -EINVAL);
    objstore_bucket_close(b);
}

static void fs_temp_invisible(void **state)
{
    /* A writer's temp file (as left by a crash) is never listed nor read. */
    objstore_bucket *b = suite_open(&suite_base);
    char p[4200];
    snprintf(p, sizeof p, "%s/tmpv", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/tmpv/.objstore-tmp-1-1", root);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
    objstore_err e;
    int c = 0;
    assert_int_equal(objstore_iter(b, "", OBJSTORE_ITER_RECURSIVE, count, &c, &e), 0);
    int before = c;
    c = 0;
    assert_int_equal(objstore_iter(b, "tmpv/", OBJSTORE_ITER_RECURSIVE, count, &c, &e), 0);
    assert_int_equal(c, 0);
    /* "tmpv/" holds no object, so it is no directory entry either. */
    int top = 0;
    assert_int_equal(objstore_iter(b, "tmpv", 0, count, &top, &e), 0);
    assert_int_equal(top, 0);
    assert_int_equal(objstore_upload_buffer(b, "tmpv/real", "r", 1, &e), 0);
    c = 0;
    assert_int_equal(objstore_iter(b, "", OBJSTORE_ITER_RECURSIVE, count, &c, &e), 0);
    assert_int_equal(c, before + 1);
    void *d;
    size_t n;
    assert_int_equal(objstore_get(b, "tmpv/.objstore-tmp-1-1", 0, -1, &d, &n, &e), -EINVAL);
    objstore_bucket_close(b);
}

static void fs_default_dir(void **state)
{
    objstore_config c;
    objstore_config_init(&c);
    assert_int_equal(c.type, OBJSTORE_FILESYSTEM);
    assert_string_equal(c.directory, "./data/bucket");
    /* A directory that cannot be created gives a clear error. */
    snprintf(c.directory, sizeof c.directory, "/proc/objstore-cannot");
    objstore_bucket *b;
    char err[256];
    assert_true(objstore_bucket_open(&c, &b, err, sizeof err) < 0);
    assert_non_null(strstr(err, "/proc/objstore-cannot"));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path);
    return 0;
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    objstore_config_init(&suite_base);
    snprintf(suite_base.directory, sizeof suite_base.directory, "%s", root);
    int failed = suite_run("objstore_fs_suite");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fs_escape_names),
        cmocka_unit_test(fs_temp_invisible),
        cmocka_unit_test(fs_default_dir),
    };
    failed += cmocka_run_group_tests_name("objstore_fs_only", tests, NULL, NULL);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? 1 : 0;
}
