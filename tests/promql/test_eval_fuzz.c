/* libFuzzer target fuzz_promql_eval: parses the input (after one mode byte)
 * as PromQL and evaluates it as an instant and a range query over a small
 * in-memory data set (counters, a classic histogram, a stale marker). Finds
 * crashes, leaks and undefined behaviour in the evaluator on any query a
 * user can send. The mode byte picks the evaluation time and step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/parse.h"
#include "promql/promql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static promql_memstore *store; /* built once, reachable until exit */

static void init(void)
{
    store = promql_memstore_new();
    static const char *names[] = {"a", "b", "c_bucket"};
    static const char *les[] = {"0.1", "1", "+Inf"};
    for (int n = 0; n < 3; n++) {
        for (int i = 0; i < 3; i++) {
            char v[8];
            snprintf(v, sizeof v, "%d", i);
            labels_label ls[] = {labels_make("__name__", names[n]), labels_make("x", v), labels_make("le", les[i])};
            for (int t = 0; t < 20; t++) {
                double val = (t == 7 && i == 1) ? promql_stale_nan() : (double)(t * (i + 1)) - 5;
                promql_memstore_add(store, ls, n == 2 ? 3 : 2, (int64_t)t * 15000, val);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        init();
    if (!store || size < 2 || size > 4096)
        return 0;
    int mode = data[0];
    promql_node *e;
    promql_parse_error pe;
    if (promql_parse((const char *)data + 1, size - 1, &e, &pe) < 0)
        return 0;
    promql_queryable q = promql_memstore_queryable(store);
    promql_opts o;
    promql_opts_init(&o);
    o.max_samples = 100000;
    o.timeout_ms = 2000;
    promql_result r;
    char err[256];
    int64_t t = ((int64_t)(mode & 15) - 4) * 37000;
    if (promql_exec_instant(&o, &q, e, t, &r, err, sizeof err) == 0)
        promql_result_free(&r);
    if (promql_exec_range(&o, &q, e, t - 60000, t + 120000, 1000 + (mode >> 4) * 7000, &r, err, sizeof err) == 0)
        promql_result_free(&r);
    promql_node_free(e);
    return 0;
}
