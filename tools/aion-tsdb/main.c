/* aion-tsdb: inspect a TSDB directory written by lib/tsdb (or Prometheus).
 *
 *   aion-tsdb dump DIR [--match SELECTOR] [--min-time MS] [--max-time MS] [--blocks-only]
 *       one line per sample, as `promtool tsdb dump` prints them:
 *       {__name__="up", job="x"} 1 1700000000000
 *       DIR is a database directory (opened with tsdb_open: the WAL is
 *       replayed, so like promtool this may write into DIR; use a copy of a
 *       live one) or a single block directory (has meta.json; read-only).
 *       --blocks-only reads DIR's block directories read-only and ignores
 *       the WAL/head.
 *   aion-tsdb list DIR
 *       one line per block: ULID, min time, max time (exclusive), duration,
 *       samples, chunks, series, thanos labels.
 * Exit status: 0 ok, 1 error, 2 usage. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <labels/labels.h>
#include <promql/ast.h>
#include <promql/parse.h>
#include <tsdb/tsdb.h>

#include "gofmt.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: aion-tsdb dump DIR [--match SELECTOR] [--min-time MS] [--max-time MS] [--blocks-only]\n"
            "       aion-tsdb list DIR\n");
    return 2;
}

static int is_block_dir(const char *dir)
{
    char p[PATH_MAX + 16];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s/meta.json", dir) >= sizeof p)
        return 0;
    return stat(p, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Block directories (with meta.json) directly under dir, sorted by name
 * (ULIDs sort by creation time). */
static int list_block_dirs(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!is_block_dir(p))
            continue;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv)
                goto nomem;
            v = nv;
        }
        if (!(v[cnt] = strdup(p)))
            goto nomem;
        cnt++;
    }
    closedir(d);
    qsort(v, cnt, sizeof *v, cmp_str);
    *out = v;
    *n = cnt;
    return 0;
nomem:
    closedir(d);
    for (size_t i = 0; i < cnt; i++)
        free(v[i]);
    free(v);
    return -ENOMEM;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_matchers(const char *sel, labels_matcher ***out, size_t *n)
{
    promql_node *node = NULL;
    promql_parse_error perr;
    if (!sel)
        sel = "{__name__=~\"(?s:.*)\"}"; /* promtool's default: every series */
    if (promql_parse_metric_selector(sel, strlen(sel), &node, &perr) != 0) {
        fprintf(stderr, "aion-tsdb: --match: %s\n", perr.text);
        return -1;
    }
    size_t nm = node->vector.n_matchers;
    labels_matcher **ms = calloc(nm ? nm : 1, sizeof *ms);
    if (!ms) {
        promql_node_free(node);
        return -1;
    }
    for (size_t i = 0; i < nm; i++) {
        const promql_matcher *pm = &node->vector.matchers[i];
        labels_match_type t = pm->op == PROMQL_MATCH_EQ   ? LABELS_MATCH_EQ
                              : pm->op == PROMQL_MATCH_NE ? LABELS_MATCH_NEQ
                              : pm->op == PROMQL_MATCH_RE ? LABELS_MATCH_RE
                                                          : LABELS_MATCH_NRE;
        char err[256];
        if (labels_matcher_new(t, pm->name, strlen(pm->name), pm->value, pm->value_len, &ms[i], err,
                               sizeof err) != 0) {
            fprintf(stderr, "aion-tsdb: --match: %s\n", err);
            for (size_t j = 0; j < i; j++)
                labels_matcher_free(ms[j]);
            free(ms);
            promql_node_free(node);
            return -1;
        }
    }
    promql_node_free(node);
    *out = ms;
    *n = nm;
    return 0;
}

static int dump_querier(tsdb_querier *q, labels_matcher **ms, size_t nm, int64_t mint, int64_t maxt)
{
    tsdb_series_set *ss = NULL;
    char err[512];
    if (tsdb_select(q, (const labels_matcher *const *)ms, nm, &ss, err, sizeof err) != 0) {
        fprintf(stderr, "aion-tsdb: select: %s\n", err);
        return -1;
    }
    int rc, ret = 0;
    char num[64];
    while ((rc = tsdb_series_set_next(ss)) == 1) {
        size_t nl, nc;
        const labels_label *ls = tsdb_series_set_labels(ss, &nl);
        const tsdb_chunk *cs = tsdb_series_set_chunks(ss, &nc);
        tsdb_sample_iter it;
        tsdb_sample_iter_init(&it, cs, nc, mint, maxt);
        int64_t t;
        double v;
        int r;
        while ((r = tsdb_sample_iter_next(&it, &t, &v)) == 1) {
            gofmt_labels(stdout, ls, nl);
            printf(" %s %" PRId64 "\n", gofmt_g(v, num, sizeof num), t);
        }
        tsdb_sample_iter_free(&it);
        if (r < 0) {
            fprintf(stderr, "aion-tsdb: corrupt chunk: %s\n", tsdb_strerror(r));
            ret = -1;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "aion-tsdb: series iteration: %s\n", tsdb_strerror(rc));
        ret = -1;
    }
    tsdb_series_set_free(ss);
    return ret;
}

static int dump_blocks(char **dirs, size_t n, labels_matcher **ms, size_t nm, int64_t mint, int64_t maxt)
{
    tsdb_block **bs = calloc(n ? n : 1, sizeof *bs);
    if (!bs)
        return -1;
    int ret = -1;
    size_t opened = 0;
    char err[512];
    for (; opened < n; opened++) {
        if (tsdb_block_open(dirs[opened], &bs[opened], err, sizeof err) != 0) {
            fprintf(stderr, "aion-tsdb: %s: %s\n", dirs[opened], err);
            goto out;
        }
    }
    tsdb_querier *q = NULL;
    if (tsdb_querier_new_blocks(bs, n, mint, maxt, &q) != 0) {
        fprintf(stderr, "aion-tsdb: cannot create a querier\n");
        goto out;
    }
    ret = dump_querier(q, ms, nm, mint, maxt);
    tsdb_querier_free(q);
out:
    for (size_t i = 0; i < opened; i++)
        tsdb_block_close(bs[i]);
    free(bs);
    return ret;
}

static int cmd_dump(int argc, char **argv)
{
    const char *dir = NULL, *sel = NULL;
    int64_t mint = INT64_MIN, maxt = INT64_MAX;
    int blocks_only = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strncmp(a, "--", 2) == 0 && strcmp(a, "--blocks-only") != 0) {
            const char *eq = strchr(a, '=');
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage();
        }
        if (strcmp(a, "--blocks-only") == 0)
            blocks_only = 1;
        else if (strncmp(a, "--match", 7) == 0)
            sel = val;
        else if (strncmp(a, "--min-time", 10) == 0)
            mint = strtoll(val, NULL, 10);
        else if (strncmp(a, "--max-time", 10) == 0)
            maxt = strtoll(val, NULL, 10);
        else if (a[0] == '-')
            return usage();
        else if (!dir)
            dir = a;
        else
            return usage();
    }
    if (!dir)
        return usage();
    labels_matcher **ms = NULL;
    size_t nm = 0;
    if (parse_matchers(sel, &ms, &nm) != 0)
        return 1;
    int ret = -1;
    char err[512];
    if (is_block_dir(dir)) {
        char *one[1] = { (char *)dir };
        ret = dump_blocks(one, 1, ms, nm, mint, maxt);
    } else if (blocks_only) {
        char **dirs = NULL;
        size_t n = 0;
        int rc = list_block_dirs(dir, &dirs, &n);
        if (rc != 0)
            fprintf(stderr, "aion-tsdb: %s: %s\n", dir, strerror(-rc));
        else
            ret = dump_blocks(dirs, n, ms, nm, mint, maxt);
        free_strs(dirs, n);
    } else {
        struct stat st;
        tsdb_db *db = NULL;
        tsdb_options o;
        tsdb_options_init(&o);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "aion-tsdb: %s: not a directory\n", dir);
        } else if (tsdb_open(dir, &o, &db, err, sizeof err) != 0) {
            fprintf(stderr, "aion-tsdb: open %s: %s\n", dir, err);
        } else {
            tsdb_querier *q = NULL;
            if (tsdb_querier_new(db, mint, maxt, &q) != 0) {
                fprintf(stderr, "aion-tsdb: cannot create a querier\n");
            } else {
                ret = dump_querier(q, ms, nm, mint, maxt);
                tsdb_querier_free(q);
            }
            tsdb_close(db);
        }
    }
    for (size_t i = 0; i < nm; i++)
        labels_matcher_free(ms[i]);
    free(ms);
    if (fflush(stdout) != 0)
        ret = -1;
    return ret == 0 ? 0 : 1;
}

static int cmd_list(int argc, char **argv)
{
    if (argc != 1)
        return usage();
    char **dirs = NULL;
    size_t n = 0;
    int rc = list_block_dirs(argv[0], &dirs, &n);
    if (rc != 0) {
        fprintf(stderr, "aion-tsdb: %s: %s\n", argv[0], strerror(-rc));
        return 1;
    }
    int ret = 0;
    printf("BLOCK ULID                  MIN TIME       MAX TIME       DURATION     NUM SAMPLES  NUM CHUNKS   NUM SERIES   LABELS\n");
    for (size_t i = 0; i < n; i++) {
        tsdb_block *b = NULL;
        char err[512];
        if (tsdb_block_open(dirs[i], &b, err, sizeof err) != 0) {
            fprintf(stderr, "aion-tsdb: %s: %s\n", dirs[i], err);
            ret = 1;
            continue;
        }
        const tsdb_block_meta *m = tsdb_block_get_meta(b);
        char dur[32];
        snprintf(dur, sizeof dur, "%.3fs", (double)(m->maxt - m->mint) / 1000.0);
        printf("%-27s %-14" PRId64 " %-14" PRId64 " %-12s %-12" PRIu64 " %-12" PRIu64 " %-12" PRIu64 " ",
               m->ulid, m->mint, m->maxt, dur, m->num_samples, m->num_chunks, m->num_series);
        gofmt_labels(stdout, m->thanos_labels, m->n_thanos_labels);
        printf("\n");
        tsdb_block_close(b);
    }
    free_strs(dirs, n);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc - 2, argv + 2);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 2, argv + 2);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage();
        return 0;
    }
    return usage();
}
