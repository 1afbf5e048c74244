/* Allocation failure in the PromQL parser: every malloc/calloc/realloc/
 * strdup/strndup made by the parser (and lib/labels) while parsing, printing,
 * cloning and parsing series descriptions is made to fail in turn. Each call
 * must then fail cleanly (-ENOMEM or NULL), never crash, and leave no
 * allocation behind. The test links with -Wl,--wrap for those functions, so
 * only calls from the statically linked libraries are counted (PCRE2 keeps
 * its own caches in shared code, which are not). Works with and without
 * sanitizers. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/ast.h"
#include "promql/parse.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long fail_at = -1; /* index of the allocation to fail; -1: none */
static long calls;        /* allocations since arming */
static long live;         /* outstanding counted allocations */
static bool failed;       /* the armed allocation was reached */
static long runs;         /* armed runs, for the summary */

static bool should_fail(void)
{
    if (fail_at < 0)
        return false;
    if (calls++ == fail_at) {
        failed = true;
        return true;
    }
    return false;
}

static void *counted(void *p)
{
    if (p)
        live++;
    return p;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : counted(__real_malloc(n));
}

void *__wrap_calloc(size_t a, size_t b)
{
    return should_fail() ? NULL : counted(__real_calloc(a, b));
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : counted(__real_strdup(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : counted(__real_strndup(s, n));
}

void *__wrap_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    void *q = __real_realloc(p, n);
    if (!p && q)
        live++;
    else if (p && n == 0)
        live--;
    return q;
}

void __wrap_free(void *p)
{
    if (p)
        live--;
    __real_free(p);
}

/* Everything the parser does with one input; returns false on failure. */
static bool exercise(const char *q)
{
    promql_node *n = NULL;
    promql_parse_error e;
    int rc = promql_parse(q, strlen(q), &n, &e);
    if (rc != 0) {
        if (n)
            abort();
        if (rc != -ENOMEM) { /* the input is valid: only allocation may fail */
            fprintf(stderr, "`%s`: %s under allocation failure\n", q, e.text);
            abort();
        }
        return false;
    }
    bool ok = true;
    char *s = promql_node_print(n);
    if (!s)
        ok = false;
    free(s);
    promql_node *c = promql_node_clone(n);
    if (!c)
        ok = false;
    else if (!promql_node_equal(n, c))
        abort();
    promql_node_free(c);
    promql_node_free(n);
    return ok;
}

static bool exercise_desc(const char *q)
{
    promql_series_desc d;
    size_t used;
    promql_parse_error e;
    int rc = promql_parse_series_desc(q, strlen(q), &d, &used, &e);
    if (rc != 0) {
        if (rc != -ENOMEM)
            abort();
        return false;
    }
    promql_series_desc_free(&d);
    promql_node *n = NULL;
    rc = promql_parse_metric_selector(q, used, &n, &e);
    if (rc != 0) {
        if (rc != -ENOMEM)
            abort();
        return false;
    }
    promql_node_free(n);
    return true;
}

static int run(const char *q, bool desc)
{
    /* Unarmed run first: the input must be fine without failures. */
    long before = live;
    if (!(desc ? exercise_desc(q) : exercise(q))) {
        fprintf(stderr, "`%s` fails without injected failures\n", q);
        return 1;
    }
    if (live != before) {
        fprintf(stderr, "`%s` leaks %ld allocations\n", q, live - before);
        return 1;
    }
    for (long i = 0;; i++) {
        calls = 0;
        failed = false;
        fail_at = i;
        runs++;
        before = live;
        bool ok = desc ? exercise_desc(q) : exercise(q);
        fail_at = -1;
        if (live != before) {
            fprintf(stderr, "`%s`: allocation %ld failing leaks %ld allocations\n", q, i,
                    live - before);
            return 1;
        }
        if (!failed) /* every allocation has been failed once */
            return ok ? 0 : 1;
        if (ok) {
            /* Some allocations may fail harmlessly (e.g. regex match data
             * in lib/labels falls back); the result must then still be
             * complete, which exercise() checked. */
        }
    }
}

int main(void)
{
    static const char *queries[] = {
        ("sum by (job, instance) (rate(http_requests_total{job=~\"api|web\", code!=\"200\"}[5m] "
         "offset -1m @ 1234.5)) / on (job) group_left (team) max without (x) (team_info)"),
        "topk(3, count_values(\"v\", foo)) or bottomk by (a) (2, -bar ^ 2) unless baz > bool 1",
        "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m:1m] @ start())))",
        "label_join(up, \"a\", \",\", 'b', `c`) + label_replace(up, \"d\", \"$1\", \"e\", \"(.*)\")",
        "\"str\\u00e9\\x41\" ",
        "(((a)))[1h:] offset 5m",
        "abs(-(x + 2 * 3 % 4 ^ 5 atan2 6))",
        "{__name__=~\"a.+\", b!~\"\", c=\"\"}",
        "foo{a=\"b\"} # comment\n and on () bar",
    };
    static const char *descs[] = {
        "http_requests{job=\"api-server\", instance=\"0\", group=\"production\"} 0+10x10",
        "{__name__=\"x\", a='b',} 1 2 3",
        "node_namespace_pod:kube_pod_info:{namespace=\"o\"}",
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        rc |= run(queries[i], false);
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
        rc |= run(descs[i], true);
    printf("%s (%ld runs with one failing allocation)\n",
           rc ? "FAILED" : "all allocation failures handled", runs);
    if (runs < 200) /* the wrapping must have taken effect */
        rc = 1;
    return rc;
}
