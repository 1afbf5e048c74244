/* PromQL test-script (Prometheus promql/test.go format) parsed into commands.
 * A script owns everything it points to; script_free() releases it.
 * Single-threaded use. */
#ifndef PROMQL_TEST_SCRIPT_H
#define PROMQL_TEST_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labels/labels.h"
#include "promql/ast.h"

typedef struct lset {
    labels_label *l; /* sorted; strings owned by the set (one block from labels_copy) */
    size_t n;
} lset;

typedef struct load_series {
    lset ls;
    double *vals;
    bool *present; /* false: omitted slot `_` */
    size_t n;
    /* The values use native-histogram notation (`{{schema:0 sum:5 ...}}`,
     * later script versions): vals is empty and the series is not loaded;
     * evals that select it are skipped. */
    bool native;
} load_series;

typedef struct expect {
    lset ls;
    double v;
    int pos; /* 1-based line within the block */
} expect;

typedef enum cmd_kind { CMD_CLEAR, CMD_LOAD, CMD_EVAL } cmd_kind;

typedef struct cmd {
    cmd_kind kind;
    int line;
    /* load */
    int64_t interval;
    load_series *series;
    size_t nseries;
    /* eval */
    bool fail, ordered;
    int64_t at;
    char *expr_text;
    promql_node *expr;
    bool scalar_expected;
    double scalar;
    expect *exp;
    size_t nexp;
    bool native_expected; /* an expected line holds a native histogram ({{...}}) */
} cmd;

typedef struct script {
    cmd *cmds;
    size_t ncmds;
} script;

/* Parses a whole file. Returns 0, or -1 with "line: message" in err. */
int script_parse(const char *text, size_t len, script *out, char *err, size_t errlen);
void script_free(script *s);

#endif
