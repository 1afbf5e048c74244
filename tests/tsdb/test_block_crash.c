/* Atomicity of tsdb_block_write: a child writing blocks is killed with
 * SIGKILL at random moments; afterwards the parent directory holds only
 * complete blocks (they open and hold every series and sample) and possibly
 * one `<ULID>.tmp` directory, never a partial block under its final name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "block_read.h"
#include "test_block_data.h"

static void check_dir(const char *dir, td_data *d, int *complete, int *partial)
{
    DIR *dh = opendir(dir);
    assert_non_null(dh);
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        size_t l = strlen(e->d_name);
        char path[1200], err[256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) {
            (*partial)++;
            td_rm_rf(path); /* as tsdb_open does with leftovers */
            continue;
        }
        tsdb_block *b;
        if (tsdb_block_open(path, &b, err, sizeof(err)))
            fail_msg("block %s under its final name does not open: %s", e->d_name, err);
        const tsdb_block_meta *m = tsdb_block_get_meta(b);
        assert_int_equal(m->num_series, d->n);
        tsdb_series_set *ss;
        assert_int_equal(tsdb_block_select(b, INT64_MIN, INT64_MAX, NULL, 0, &ss, err, sizeof(err)), 0);
        size_t n = 0;
        uint64_t samples = 0;
        int rc;
        while ((rc = tsdb_series_set_next(ss)) == 1) {
            size_t nc;
            const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
            tsdb_sample_iter it;
            tsdb_sample_iter_init(&it, cs, nc, INT64_MIN, INT64_MAX);
            int64_t t;
            double v;
            while ((rc = tsdb_sample_iter_next(&it, &t, &v)) == 1)
                samples++;
            assert_int_equal(rc, 0);
            tsdb_sample_iter_free(&it);
            n++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, d->n);
        assert_int_equal(samples, m->num_samples);
        tsdb_series_set_free(ss);
        tsdb_block_close(b);
        (*complete)++;
        td_rm_rf(path); /* verified; keep the next check short */
    }
    closedir(dh);
}

static void test_block_write_killed(void **state)
{
    (void)state;
    char *root = td_mkdtemp();
    td_data d;
    td_generate(&d, 2000, 240, 1700006400000);
    int complete = 0, partial = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    srand((unsigned)ts.tv_nsec);
    for (int round = 0; round < 12; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char ulid[27];
            for (;;)
                if (td_write(&d, root, ulid, NULL))
                    _exit(1);
        }
        usleep((useconds_t)(20000 + rand() % 200000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        int c = 0, p = 0;
        check_dir(root, &d, &c, &p);
        assert_true(p <= 1);
        complete += c;
        partial += p;
    }
    printf("%d complete blocks, %d times a .tmp was left by a kill\n", complete, partial);
    td_free(&d);
    td_rm_rf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_write_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
