/* promql-test: runs Prometheus PromQL test scripts against lib/promql.
 *
 *   promql-test [--instant-only] FILE_OR_DIR...
 *
 * Each eval runs as an instant query, a 3-step range query (T-1m..T+1m) and
 * the @-modifier variants, exactly as ../shared/conformance/promql/README.md
 * describes. Prints failures as `file:line: ...`, a line per file and a total;
 * exits 1 on any failure (a path that cannot be read and a folder with no
 * *.test file count as failures), 2 on bad usage. Evals that need native
 * histograms are skipped and listed by name (docs/promql.md). --instant-only
 * runs just the instant query of each eval (for promtool-made scripts). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "promql/parse.h"
#include "promql/promql.h"
#include "runner.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(b, cap);
        if (!nb) {
            free(b);
            b = NULL;
        }
        b = nb;
    }
    fclose(f);
    *len = n;
    return b;
}

static void run_file(const char *path, runner_counts *total, char ***skipped, size_t *nskipped)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        printf("%s:0: cannot read: %s\n", path, strerror(errno));
        printf("%s: 0 passed, 1 failed, 0 skipped\n", path);
        total->failed++;
        return;
    }
    runner_run_text(path, text, len, total, skipped, nskipped);
    free(text);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path, runner_counts *total, char ***skipped, size_t *nskipped)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("%s:0: %s\n", path, strerror(errno));
        total->failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path, total, skipped, nskipped);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        printf("%s:0: %s\n", path, strerror(errno));
        total->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    bool oom = false;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".test") != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        size_t pl = strlen(path) + l + 2;
        char *full = nn ? malloc(pl) : NULL;
        if (nn)
            names = nn;
        if (!full) {
            oom = true;
            break;
        }
        snprintf(full, pl, "%s/%s", path, de->d_name);
        names[n++] = full;
    }
    closedir(d);
    if (oom) {
        printf("%s:0: out of memory listing the folder\n", path);
        total->failed++;
    }
    if (n == 0 && !oom) {
        /* a folder without scripts is a mistake (wrong path, files not
         * copied), not a pass */
        printf("%s:0: no .test files in this folder\n", path);
        total->failed++;
    }
    if (n == 0) {
        free(names);
        return;
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i], total, skipped, nskipped);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--instant-only") == 0) {
        runner_set_instant_only(true);
        first = 2;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [--instant-only] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    runner_counts total = {0};
    char **skipped = NULL;
    size_t nskipped = 0;
    for (int i = first; i < argc; i++)
        run_path(argv[i], &total, &skipped, &nskipped);
    for (size_t i = 0; i < nskipped; i++) {
        printf("skipped (needs native histograms): %s\n", skipped[i]);
        free(skipped[i]);
    }
    free(skipped);
    printf("%d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped);
    return total.failed ? 1 : 0;
}
