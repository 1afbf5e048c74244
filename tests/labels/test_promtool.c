/*
 * Differential test against the real Prometheus (promtool 2.42, Go regexp):
 * many patterns, hand-picked and generated, are evaluated by
 * `promtool test rules` as m{v=~`re`} over series with assorted v values.
 * Every match result and every regex error message must equal ours, and
 * labels_format must print values exactly as Prometheus does (%q).
 * Skips (77) when promtool is not installed.
 *
 * Known difference, excluded here: Go folds \p{Lu}, \p{Ll}, \p{Lt}, \pL,
 * \pM, \p{Greek}... under (?i); PCRE2 does not fold Unicode properties.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labels/labels.h"

/* Series values (valid UTF-8; written with PromQL escapes). "" is a series
 * without v. */
static const char *const values[] = {
    "", "a", "b", "ab", "ba", "aab", "abc", "A", "AB", "a\nb", "\n", "a\n", "\na", "é", "É",
    "1", "12", " ", "_", "a b", "aaaa", "{2}", "a.b", "axb", "k", "K", "\xe2\x84\xaa", "s",
    "\xc5\xbf", "\t", "\v", "\r", "-", "]", "\\", "foo", "foobar", "barfoo", "xfoox", "a{",
    "a|b", "\xce\xb1", "\xd9\xa1", "ab12", "__", /* not U+FFFD: the PromQL lexer rejects it */
    "ab\n", "(", ")", "|", "aA", "Ab", "kK", "\xc5\xbfs", "\xce\x91", "\xe2\x98\xba", "AAA",
    "\xed\x9f\xbb", "\xee\x80\x80", "0", "a|b", "a.", "...", "\xce\xb1\xce\xb2",
};
#define NV (sizeof(values) / sizeof(values[0]))

static const char *const fixed[] = {
    "a", "a|b", "ab|a", "a.*", ".*", ".+", ".*b", ".*a.*", "(a|b)", "(?:a|b)*", "a$", "^a",
    "(?m)a$", "(?s).*", "(?s)a.b", "a\\nb", "\\s", "\\S", "[[:space:]]", "\\v", "\\12", "\\d+",
    "\\w+", "\\W", "\\pL", "\\p{Greek}", "\\PL", "[^a]", "[^\\n]", "(?i)a", "(?i)k", "(?i)s",
    "(?i)[[:upper:]]", "(?i)[^[:lower:]]", "(?i)\\W", "(?i)[^a\\W]", "(?U)a+", "a{2}", "a{,2}",
    "a{", "\\{2\\}", "{2}", "a{2}{3}", "a**", "(?=a)", "(?<n>a)", "(?P<n>a)", "\\1", "\\8",
    "\\Z", "\\z", "\\A", "[\\b]", "\\C", "(a", "a)", "a)(b", "[a", "*", "a\\", "\\Qa.b\\E",
    "\\Qa.b", "(?i", "[z-a]", "[[:foo:]]", "\\p{Foo}", "\\x41", "\\x{263a}", "\\xZZ", "a{1001}",
    "(a{500}){3}", "x*?", "(?i)\\x{212a}", "[\\d-z]", "[a-c-e]", "[]a]", "[^]a]", "\\b", "a\\b",
    "\\Bb", "(?i)(?-i)a", "a(?i)b|c", "^*a", "$*", "(?m)^$", "(?m)$\\n^", "\\x{fffd}", "\\pN+",
    "[\\p{Lu}\\d]+", "(?i)\\p{Nd}", "(?i)[\\x{100}-\\x{200}]", "foo|bar", ".*foo", "foo.*",
    ".*foo.*", "(foo|bar)", "fo+", "(?i)FOO.*", "a||b", "()", "(|a)", "a\\.b", "\\Q\\E",
    "\\E", "(?i-)a", "(?P=n)", "(?#x)", "\\k<n>", "[[:^alpha:]]+", "(?i)[[:^alpha:]]+",
};

/* Pieces for generated patterns; deliberately includes broken syntax. */
static const char *const pieces[] = {
    "a", "b", "k", "s", "\\n", ".", "[a-c]", "[^b]", "\\d", "\\s", "\\w", "\\W", "\\pL", "(?i)",
    "(", ")", "|", "*", "+", "?", "{2}", "{1,3}", "{,2}", "^", "$", "\\b", "[", "]", "(?:",
    "(?s)", "(?m)", "(?-i)", "\\Q", "\\E", "é", "\\x41", "\\z", "[[:alpha:]]", "{", "}", "-",
    "\\", "*?", "A", "1", "\\x{2c}", "[\\s\\d]", "(?U)", "\\v", "\\p{Greek}", "\\P{Lu}",
    "[[:^alpha:]]", "[[:upper:]]", "(?P<n>", "\\x{263a}", "\\0", "\\101", "{2,}", "{0}",
    "{1001}", "{3,2}", "[\\b]", "\\8", "(?=", "(?<", ".*", "[^\\n]", "\\S", "\\D", "[a-]",
    "[]a]", "\\.", "\\|", "\\(", "\\)", "\xc5\xbf", "\xe2\x84\xaa", "\\A", "\\B",
    "\\x{d800}", "[\\x{d7ff}-\\x{e000}]", "(?is)", "(?i:", "(?-s:", "\\pN", "\\p{^Greek}",
    "[\\p{Greek}\\d]", "[^k]", "\xce\xb1", "[^\\W\\d]", "[[:word:]]", "\\Qa|b\\E", "(?s:.)",
};

static unsigned long rng = 12345;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    return (unsigned)(rng >> 33) % n;
}

/* PromQL double-quoted string escape for series values. */
static void put_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else if (*v == '\t')
            fputs("\\t", f);
        else if (*v == '\v')
            fputs("\\v", f);
        else if (*v == '\r')
            fputs("\\r", f);
        else if (*v == '\'')
            fputs("''", f); /* inside a YAML single-quoted scalar */
        else
            fputc(*v, f);
    }
}

static void put_yaml_sq(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
}

int main(void)
{
    if (system("promtool --version >/dev/null 2>&1") != 0) {
        printf("SKIPPED: promtool (Prometheus 2.42) not installed\n");
        return 77;
    }
    /* AION_LABELS_SEED / AION_LABELS_NGEN explore further when set. */
    const char *seed = getenv("AION_LABELS_SEED"), *ngen = getenv("AION_LABELS_NGEN");
    if (seed)
        rng = strtoul(seed, NULL, 10);
    size_t NGEN = ngen ? strtoul(ngen, NULL, 10) : 1500;
    size_t np = sizeof(fixed) / sizeof(fixed[0]) + NGEN;
    char **pats = calloc(np, sizeof(*pats));
    size_t k = 0;
    for (; k < sizeof(fixed) / sizeof(fixed[0]); k++)
        pats[k] = strdup(fixed[k]);
    for (; k < np; k++) {
        char buf[256] = "";
        unsigned n = 1 + rnd(7);
        for (unsigned j = 0; j < n; j++)
            strcat(buf, pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
        if ((strstr(buf, "(?i") || strstr(buf, "(?is")) &&
            (strstr(buf, "\\p") || strstr(buf, "\\P"))) {
            k--; /* the known difference (see top) */
            continue;
        }
        pats[k] = strdup(buf);
    }

    char dir[] = "/tmp/aion-labels-promtool-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char yml[256], out[256], cmd[600];
    snprintf(yml, sizeof(yml), "%s/t.yml", dir);
    snprintf(out, sizeof(out), "%s/out.txt", dir);
    FILE *f = fopen(yml, "w");
    fprintf(f, "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
               "    input_series:\n");
    for (size_t i = 0; i < NV; i++) {
        fprintf(f, "      - series: 'm{i=\"%zu\"", i);
        if (values[i][0]) {
            fputs(", v=\"", f);
            put_value(f, values[i]);
            fputc('"', f);
        }
        fputs("}'\n        values: '1'\n", f);
    }
    fprintf(f, "    promql_expr_test:\n");
    for (size_t p = 0; p < np; p++) {
        fprintf(f, "      - expr: 'm{i!=\"x%zu\", v=~`", p);
        put_yaml_sq(f, pats[p]);
        fprintf(f, "`}'\n        eval_time: 0m\n        exp_samples: []\n");
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "promtool test rules %s > %s 2>&1", yml, out);
    if (system(cmd) == -1) {
        perror("system");
        return 1;
    }

    /* Parse: per pattern either an error message or the matched series. */
    char **perr = calloc(np, sizeof(*perr));
    unsigned char *got = calloc(np * NV, 1);
    f = fopen(out, "r");
    char *line = NULL;
    size_t cap = 0;
    long cur = -1;
    unsigned char printed[NV] = { 0 };
    int format_fails = 0;
    size_t nlines = 0;
    while (getline(&line, &cap, f) > 0) {
        nlines++;
        line[strcspn(line, "\n")] = '\0';
        char *e = strstr(line, "expr: \"m{i!=\\\"x");
        if (e) {
            cur = strtol(e + strlen("expr: \"m{i!=\\\"x"), NULL, 10);
            char *pe = strstr(line, "parse error: ");
            if (pe && cur >= 0 && (size_t)cur < np)
                perr[cur] = strdup(pe + strlen("parse error: "));
            continue;
        }
        char *g = strstr(line, "got: ");
        if (g && cur >= 0 && (size_t)cur < np) {
            for (char *q = g; (q = strstr(q, "i=\"")); q += 3) {
                size_t v = (size_t)strtoul(q + 3, NULL, 10);
                if (v >= NV)
                    continue;
                got[(size_t)cur * NV + v] = 1;
                if (printed[v])
                    continue;
                /* Prometheus prints {__name__="m", i="N", v="<%q>"}: our
                 * labels_format of {i, v} must be the same text. */
                printed[v] = 1;
                char idx[16], want[512];
                snprintf(idx, sizeof(idx), "%zu", v);
                labels_label ls[2] = { labels_make("i", idx), labels_make("v", values[v]) };
                labels_format(ls, values[v][0] ? 2 : 1, want, sizeof(want));
                char full[600];
                snprintf(full, sizeof(full), "{__name__=\"m\", %s", want + 1);
                if (!strstr(line, full)) {
                    printf("FAIL format of value #%zu: ours %s not in: %s\n", v, full, g);
                    format_fails++;
                }
            }
        }
    }
    free(line);
    fclose(f);
    if (nlines < 3) {
        fprintf(stderr, "promtool gave no usable output (see %s)\n", out);
        return 1;
    }

    int fails = format_fails, nerr = 0, nok = 0;
    for (size_t p = 0; p < np; p++) {
        char err[512];
        labels_matcher *m = NULL;
        int rc = labels_matcher_new(LABELS_MATCH_RE, "v", 1, pats[p], strlen(pats[p]), &m, err,
                                    sizeof(err));
        if (perr[p]) {
            nerr++;
            if (rc == 0)
                printf("FAIL %s: prometheus rejects (%s), we accept\n", pats[p], perr[p]);
            else if (strcmp(err, perr[p]) != 0)
                printf("FAIL %s: error differs\n  prometheus: %s\n  ours:       %s\n", pats[p],
                       perr[p], err);
            else
                goto next;
            fails++;
            goto next;
        }
        if (rc != 0) {
            printf("FAIL %s: prometheus accepts, we reject: %s\n", pats[p], err);
            fails++;
            goto next;
        }
        nok++;
        for (size_t v = 0; v < NV; v++) {
            bool ours = labels_matcher_matches(m, values[v], strlen(values[v]));
            if (ours != got[p * NV + v]) {
                printf("FAIL %s on value #%zu: prometheus %d, ours %d\n", pats[p], v,
                       got[p * NV + v], ours);
                fails++;
            }
        }
    next:
        labels_matcher_free(m);
        free(perr[p]);
        free(pats[p]);
    }
    printf("%zu patterns (%d valid, %d invalid) x %zu values: %d mismatches\n", np, nok, nerr,
           (size_t)NV, fails);
    free(perr);
    free(got);
    free(pats);
    if (fails == 0) {
        unlink(yml);
        unlink(out);
        rmdir(dir);
    } else {
        printf("promtool input and output kept in %s\n", dir);
    }
    return fails ? 1 : 0;
}
