/* libFuzzer target: PromQL parser, printer, round trip and AST helpers.
 * Any input must parse or fail cleanly; a parsed tree must print, re-parse
 * to an equal tree, clone, take the @ rewrite and free without leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promql/ast.h"
#include "promql/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    /* Copy to an exact-size buffer so ASan catches reads past len. */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);

    promql_node *n = NULL;
    promql_parse_error e;
    if (promql_parse(in, size, &n, &e) == 0) {
        char *s = promql_node_print(n);
        if (s) {
            /* The printed form must parse back to the same tree and print
             * the same text. */
            promql_node *n2 = NULL;
            if (promql_parse(s, strlen(s), &n2, &e) != 0 || !promql_node_equal(n, n2))
                abort();
            char *s2 = promql_node_print(n2);
            if (s2 && strcmp(s, s2) != 0)
                abort();
            free(s2);
            promql_node_free(n2);
            free(s);
        }
        char *pretty = promql_node_pretty(n);
        if (pretty) {
            promql_node *n3 = NULL; /* the multi-line form parses back too */
            if (promql_parse(pretty, strlen(pretty), &n3, &e) != 0 || !promql_node_equal(n, n3))
                abort();
            promql_node_free(n3);
            free(pretty);
        }
        promql_node *c = promql_node_clone(n);
        if (c && !promql_node_equal(n, c))
            abort();
        promql_set_at_all(c, 1234);
        promql_node_free(c);
        (void)promql_node_type(n);
        promql_node_free(n);
    } else if (n != NULL) {
        abort();
    }

    promql_node *sel = NULL;
    if (promql_parse_metric_selector(in, size, &sel, &e) == 0) {
        if (!sel || sel->kind != PROMQL_NODE_VECTOR)
            abort();
        promql_node_free(sel);
    } else if (sel != NULL) {
        abort();
    }

    promql_series_desc d;
    size_t used;
    if (promql_parse_series_desc(in, size, &d, &used, &e) == 0) {
        if (used > size)
            abort();
        promql_series_desc_free(&d);
    }
    int64_t ms;
    char err[128];
    (void)promql_parse_duration(in, size, &ms, err, sizeof err);
    free(in);
    return 0;
}
