/* The conformance runner must be able to fail: scripts with a wrong value,
 * an extra series, a missing series, the wrong order under eval_ordered, a
 * scalar where a vector is expected, an eval_fail whose query succeeds and
 * a syntax error in a query, with the exact counts and `name:line:` lines
 * it prints; which evals count as needing native histograms. Then the promql-test program itself (argv[1]) on temporary
 * folders: per-file lines, the total line and the exit code. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner.h"

static const char *g_binary;

/* Runs the script through runner_run_text with stdout captured into out. */
static runner_counts run_captured(const char *name, const char *text, char *out, size_t outlen, size_t *nskipped)
{
    runner_counts c = {0};
    char **skipped = NULL;
    size_t ns = 0;
    fflush(stdout);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(1);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 1) >= 0);
    runner_run_text(name, text, strlen(text), &c, &skipped, &ns);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, outlen - 1, tmp);
    out[n] = 0;
    fclose(tmp);
    for (size_t i = 0; i < ns; i++)
        free(skipped[i]);
    free(skipped);
    if (nskipped)
        *nskipped = ns;
    return c;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("output lacks \"%s\"; output was:\n%s", needle, hay);
}

static const char wrong[] =
    "load 1m\n"                                     /* 1 */
    "  m{a=\"1\"} 1 2 3\n"                          /* 2 */
    "  m{a=\"2\"} 10 20 30\n"                       /* 3 */
    "\n"                                            /* 4 */
    "eval instant at 2m m\n"                        /* 5: passes */
    "  m{a=\"1\"} 3\n"                              /* 6 */
    "  m{a=\"2\"} 30\n"                             /* 7 */
    "\n"                                            /* 8 */
    "eval instant at 2m m{a=\"1\"}\n"               /* 9: wrong value */
    "  m{a=\"1\"} 4\n"                              /* 10 */
    "\n"                                            /* 11 */
    "eval instant at 2m m\n"                        /* 12: extra series */
    "  m{a=\"1\"} 3\n"                              /* 13 */
    "\n"                                            /* 14 */
    "eval instant at 2m m{a=\"1\"}\n"               /* 15: missing series */
    "  m{a=\"1\"} 3\n"                              /* 16 */
    "  m{a=\"2\"} 30\n"                             /* 17 */
    "\n"                                            /* 18 */
    "eval_ordered instant at 2m sort_desc(m)\n"     /* 19: wrong order */
    "  m{a=\"1\"} 3\n"                              /* 20 */
    "  m{a=\"2\"} 30\n"                             /* 21 */
    "\n"                                            /* 22 */
    "eval_fail instant at 2m m\n"                   /* 23: succeeds */
    "\n"                                            /* 24 */
    "eval instant at 2m sum(m)\n"                   /* 25: vector, not scalar */
    "  33\n"                                        /* 26 */
    "\n"                                            /* 27 */
    "eval instant at 2m scalar(m{a=\"1\"})\n"       /* 28: wrong scalar */
    "  4\n"                                         /* 29 */
    "\n"                                            /* 30 */
    "eval_ordered instant at 2m sort(m)\n"          /* 31: passes */
    "  m{a=\"1\"} 3\n"                              /* 32 */
    "  m{a=\"2\"} 30\n"                             /* 33 */
    "\n"                                            /* 34 */
    "eval instant at 2m m{a=\"2\"}\n"               /* 35: empty result expected */
    "\n"                                            /* 36 */
    "eval instant at 2m m{a=\"3\"}\n"               /* 37: passes (empty) */
    "\n"                                            /* 38 */
    "eval_fail instant at 2m m{a=\"1\"} + on() m\n" /* 39: passes (duplicate match group) */
    ;

static void test_runner_detects_failures(void **state)
{
    (void)state;
    char out[16384];
    runner_counts c = run_captured("wrong", wrong, out, sizeof out, NULL);
    assert_int_equal(c.passed, 4);
    assert_int_equal(c.failed, 8);
    assert_int_equal(c.skipped, 0);
    assert_contains(out, "wrong:9: eval m{a=\"1\"}: expected 4 for");
    assert_contains(out, "wrong:12: eval m: unexpected metric");
    assert_contains(out, "wrong:15: eval m{a=\"1\"}: expected metric");
    assert_contains(out, "not found");
    assert_contains(out, "wrong:19: eval_ordered sort_desc(m): expected metric");
    assert_contains(out, "m{a=\"2\"} at position 2 but was at 1");
    assert_contains(out, "wrong:23: eval_fail m: expected error");
    assert_contains(out, "wrong:25: eval sum(m): unexpected metric {} in result (value 33)");
    assert_contains(out, "wrong:28: eval scalar(m{a=\"1\"}): expected scalar 4 but got 3");
    assert_contains(out, "wrong:35: eval m{a=\"2\"}: unexpected metric");
    assert_contains(out, "wrong: 4 passed, 8 failed, 0 skipped\n");
    /* passing evals print nothing */
    assert_null(strstr(out, "wrong:5:"));
    assert_null(strstr(out, "wrong:31:"));
    assert_null(strstr(out, "wrong:37:"));
    assert_null(strstr(out, "wrong:39:"));
}

/* A syntax error anywhere fails the whole file (upstream parses it first). */
static const char parse_error[] =
    "load 1m\n"
    "  m 1\n"
    "\n"
    "eval instant at 0m m\n"
    "  m 1\n"
    "\n"
    "eval instant at 0m sum(m\n"
    "  {} 1\n";

static const char bad_command[] =
    "load 1m\n"
    "  m 1\n"
    "\n"
    "evaluate nothing\n"
    "\n"
    "bogus command\n";

static const char bad_value[] =
    "load 1m\n"
    "  m 1 2 x3\n";

static void test_runner_whole_file_failures(void **state)
{
    (void)state;
    char out[8192];
    runner_counts c = run_captured("perr", parse_error, out, sizeof out, NULL);
    assert_int_equal(c.passed, 0);
    assert_int_equal(c.failed, 1);
    assert_contains(out, "perr:7: could not parse expression sum(m");
    assert_contains(out, "(the whole file fails)");
    assert_contains(out, "perr: 0 passed, 1 failed, 0 skipped\n");

    c = run_captured("cmd", bad_command, out, sizeof out, NULL);
    assert_int_equal(c.passed, 0);
    assert_int_equal(c.failed, 1);
    assert_contains(out, "cmd:4: invalid evaluation command");

    c = run_captured("val", bad_value, out, sizeof out, NULL);
    assert_int_equal(c.failed, 1);
    assert_contains(out, "val:2: invalid value x3");
}

/* Only evals that truly need native histograms are skipped: those expecting
 * a histogram value and those whose selectors match a series loaded in
 * histogram notation (later script versions). histogram_count, _sum and
 * _fraction on float series run and return nothing, as in 2.42 (checked
 * with promtool 2.42: empty results for float input). */
static const char native[] =
    "load 5m\n"                                                           /* 1 */
    "  hist {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x10\n"              /* 2 */
    "  hist2{a=\"x\"} 1 {{schema:0 sum:4 count:4 buckets:[1 2 1]}} 3\n"  /* 3 */
    "  float_metric{a=\"1\"} 0+1x10\n"                                   /* 4 */
    "\n"                                                                  /* 5 */
    "eval instant at 10m histogram_count(float_metric)\n"                 /* 6: runs */
    "\n"                                                                  /* 7 */
    "eval instant at 10m histogram_sum(rate(float_metric[10m]))\n"        /* 8: runs */
    "\n"                                                                  /* 9 */
    "eval instant at 10m histogram_fraction(0, 1, float_metric)\n"        /* 10: runs */
    "\n"                                                                  /* 11 */
    "eval instant at 10m float_metric\n"                                  /* 12: runs */
    "  float_metric{a=\"1\"} 2\n"                                        /* 13 */
    "\n"                                                                  /* 14 */
    "eval instant at 10m histogram_count(hist)\n"                         /* 15: skipped */
    "  {} 4\n"                                                            /* 16 */
    "\n"                                                                  /* 17 */
    "eval instant at 10m sum({__name__=~\".+\"})\n"                       /* 18: skipped */
    "  {} 2\n"                                                            /* 19 */
    "\n"                                                                  /* 20 */
    "eval instant at 10m hist2 + 1\n"                                     /* 21: skipped */
    "  {a=\"x\"} 4\n"                                                    /* 22 */
    "\n"                                                                  /* 23 */
    "eval instant at 10m float_metric * 0\n"                              /* 24: skipped */
    "  {a=\"1\"} {{schema:0 sum:4 count:4 buckets:[1 2 1]}}\n"           /* 25 */
    "\n"                                                                  /* 26 */
    "eval instant at 10m histogram_count(float_metric)\n"                 /* 27: runs, fails */
    "  {a=\"1\"} 2\n"                                                    /* 28 */
    "\n"                                                                  /* 29 */
    "eval instant at 10m {a=\"1\"}\n"                                     /* 30: runs */
    "  float_metric{a=\"1\"} 2\n"                                        /* 31 */
    "\n"                                                                  /* 32 */
    "clear\n"                                                             /* 33 */
    "\n"                                                                  /* 34 */
    "eval instant at 10m histogram_count(hist)\n";                        /* 35: runs (cleared) */

static void test_runner_native_skips(void **state)
{
    (void)state;
    char out[16384];
    runner_counts c = {0};
    char **skipped = NULL;
    size_t ns = 0;
    /* the names, then the counts and lines with stdout captured */
    fflush(stdout);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    int saved = dup(1);
    assert_true(saved >= 0 && dup2(fileno(devnull), 1) >= 0);
    runner_run_text("nh", native, strlen(native), &c, &skipped, &ns);
    fflush(stdout);
    assert_true(dup2(saved, 1) >= 0);
    close(saved);
    fclose(devnull);
    assert_int_equal(ns, 4);
    assert_string_equal(skipped[0], "nh:15: histogram_count(hist)");
    assert_string_equal(skipped[1], "nh:18: sum({__name__=~\".+\"})");
    assert_string_equal(skipped[2], "nh:21: hist2 + 1");
    assert_string_equal(skipped[3], "nh:24: float_metric * 0");
    for (size_t i = 0; i < ns; i++)
        free(skipped[i]);
    free(skipped);

    c = run_captured("nh", native, out, sizeof out, &ns);
    assert_int_equal(c.passed, 6);
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.skipped, 4);
    assert_contains(out, "nh:27: eval histogram_count(float_metric): expected metric {a=\"1\"} with 2 not found");
    assert_contains(out, "nh: 6 passed, 1 failed, 4 skipped\n");
}

/* ---- the promql-test program ------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

/* Runs the program with up to two arguments; returns its exit code and
 * fills out with stdout + stderr. */
static int run_binary(const char *a1, const char *a2, char *out, size_t outlen)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        close(fd[1]);
        if (a1 && a2)
            execl(g_binary, g_binary, a1, a2, (char *)NULL);
        else if (a1)
            execl(g_binary, g_binary, a1, (char *)NULL);
        else
            execl(g_binary, g_binary, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd[0], out + n, outlen - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == outlen - 1)
            break;
    }
    out[n] = 0;
    close(fd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static const char pass_script[] =
    "load 1m\n"
    "  m{a=\"1\"} 1 2 3\n"
    "\n"
    "eval instant at 2m m\n"
    "  m{a=\"1\"} 3\n"
    "\n"
    "eval instant at 2m m * 2\n"
    "  {a=\"1\"} 6\n";

static const char fail_script[] =
    "load 1m\n"
    "  m{a=\"1\"} 1 2 3\n"
    "\n"
    "eval instant at 2m m\n"
    "  m{a=\"1\"} 3\n"
    "\n"
    "eval instant at 2m m\n"
    "  m{a=\"1\"} 5\n";

static void test_program(void **state)
{
    (void)state;
    if (!g_binary)
        fail_msg("usage: test_runner PATH_TO_PROMQL_TEST");
    char dir[] = "/tmp/aion_promql_runner_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[4096], empty[4096], out[16384], want[8192];
    snprintf(sub, sizeof sub, "%s/mixed", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mkdir(empty, 0700), 0);
    write_file(sub, "a_pass.test", pass_script);
    write_file(sub, "b_fail.test", fail_script);
    write_file(sub, "ignored.txt", "not a script\n");
    write_file(empty, "README", "no scripts here\n");
    char hdir[4096];
    snprintf(hdir, sizeof hdir, "%s/hist", dir);
    assert_int_equal(mkdir(hdir, 0700), 0);
    write_file(hdir, "h.test",
               "load 5m\n"
               "  h {{schema:0 sum:4 count:4 buckets:[1 2 1]}}x10\n"
               "  f 1\n"
               "\n"
               "eval instant at 10m histogram_count(h)\n"
               "  {} 4\n"
               "\n"
               "eval instant at 10m histogram_sum(f)\n");

    /* one passing and one failing file: failures, per-file lines in name
     * order, the total; exit 1 */
    int rc = run_binary(sub, NULL, out, sizeof out);
    snprintf(want, sizeof want,
             "%s/a_pass.test: 2 passed, 0 failed, 0 skipped\n"
             "%s/b_fail.test:7: eval m: expected 5 for m{a=\"1\"} but got 3\n"
             "%s/b_fail.test: 1 passed, 1 failed, 0 skipped\n"
             "3 passed, 1 failed, 0 skipped\n",
             sub, sub, sub);
    assert_string_equal(out, want);
    assert_int_equal(rc, 1);

    /* the passing file alone: exit 0 */
    char file[4200];
    snprintf(file, sizeof file, "%s/a_pass.test", sub);
    rc = run_binary(file, NULL, out, sizeof out);
    snprintf(want, sizeof want, "%s: 2 passed, 0 failed, 0 skipped\n2 passed, 0 failed, 0 skipped\n", file);
    assert_string_equal(out, want);
    assert_int_equal(rc, 0);

    /* a folder with no .test file is an error, also next to a good file */
    rc = run_binary(empty, NULL, out, sizeof out);
    assert_int_not_equal(rc, 0);
    snprintf(want, sizeof want, "%s:0: no .test files in this folder\n0 passed, 1 failed, 0 skipped\n", empty);
    assert_string_equal(out, want);
    rc = run_binary(file, empty, out, sizeof out);
    assert_int_equal(rc, 1);
    assert_contains(out, "no .test files in this folder");
    assert_contains(out, "2 passed, 1 failed, 0 skipped\n");

    /* skipped evals are listed by name after the files, before the total */
    rc = run_binary(hdir, NULL, out, sizeof out);
    snprintf(want, sizeof want,
             "%s/h.test: 1 passed, 0 failed, 1 skipped\n"
             "skipped (needs native histograms): %s/h.test:5: histogram_count(h)\n"
             "1 passed, 0 failed, 1 skipped\n",
             hdir, hdir);
    assert_string_equal(out, want);
    assert_int_equal(rc, 0);

    /* a path that does not exist, and no arguments at all */
    snprintf(file, sizeof file, "%s/nope", dir);
    rc = run_binary(file, NULL, out, sizeof out);
    assert_int_equal(rc, 1);
    assert_contains(out, "nope:0: No such file or directory");
    rc = run_binary(NULL, NULL, out, sizeof out);
    assert_int_equal(rc, 2);
    assert_contains(out, "usage:");

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    g_binary = argc > 1 ? argv[1] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_detects_failures),
        cmocka_unit_test(test_runner_whole_file_failures),
        cmocka_unit_test(test_runner_native_skips),
        cmocka_unit_test(test_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
