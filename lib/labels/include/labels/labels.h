/*
 * labels: label sets and label matchers with Prometheus semantics.
 *
 * Shared by lib/tsdb, lib/promql, the receive and querier plugins. Pure
 * functions; no global state except a thread-local regex match buffer.
 *
 * Strings are (pointer, length) views and need NOT be NUL-terminated, so a
 * label set can point straight into a decoded remote-write buffer. Sets this
 * library allocates (labels_copy) do NUL-terminate every string.
 */
#ifndef AION_LABELS_H
#define AION_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One label. Layout matches prompb_label and aion_label field for field. */
typedef struct labels_label {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} labels_label;

/* Builds a label from NUL-terminated strings (borrowed, not copied). */
static inline labels_label labels_make(const char *name, const char *value)
{
    labels_label l;
    size_t nl = 0, vl = 0;
    while (name[nl]) nl++;
    while (value[vl]) vl++;
    l.name = name;
    l.value = value;
    l.name_len = (uint32_t)nl;
    l.value_len = (uint32_t)vl;
    return l;
}

/* Byte-wise comparison of two views, like Go's strings.Compare. */
int labels_str_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* A label set is an array sorted by name with unique names (n may be 0).
 * labels_cmp orders sets as Prometheus' labels.Compare does: pairwise by
 * name, then value; a prefix sorts first. Returns <0, 0, >0. */
int labels_cmp(const labels_label *a, size_t an, const labels_label *b, size_t bn);
bool labels_equal(const labels_label *a, size_t an, const labels_label *b, size_t bn);

/* Sorts a set by name in place (stable). Does not remove duplicates. */
void labels_sort(labels_label *ls, size_t n);

/* 64-bit hash of a set (xxh3 over name 0xff value 0xff ...); equal sets hash
 * equal. Sets must be sorted. */
uint64_t labels_hash(const labels_label *ls, size_t n);

/* Finds a label by name (set sorted). NULL if absent. */
const labels_label *labels_get(const labels_label *ls, size_t n, const char *name, size_t name_len);

/* Deep copy into ONE heap block (array + NUL-terminated strings), so the
 * caller frees it with a single free(). NULL on allocation failure. n may be
 * 0 (returns a valid non-NULL block). */
labels_label *labels_copy(const labels_label *ls, size_t n);

/* Bytes labels_copy would allocate; used for memory accounting. */
size_t labels_copy_size(const labels_label *ls, size_t n);

/* Formats a set the way Prometheus prints series: `name{a="b", c="d"}`
 * (name taken from __name__, omitted braces when no other label; `{}` for an
 * empty set); values escaped as Go %q does for \ " and newlines. Writes at
 * most len-1 bytes + NUL, returns the full length it needed (like snprintf). */
size_t labels_format(const labels_label *ls, size_t n, char *buf, size_t len);

/* Label name validity (Prometheus model: [a-zA-Z_][a-zA-Z0-9_]*) and metric
 * name validity ([a-zA-Z_:][a-zA-Z0-9_:]*). */
bool labels_valid_name(const char *s, size_t len);
bool labels_valid_metric_name(const char *s, size_t len);
/* Strict UTF-8 validity (no overlongs, no surrogates). */
bool labels_valid_utf8(const char *s, size_t len);

/* ---- matchers ---------------------------------------------------------- */

typedef enum labels_match_type {
    LABELS_MATCH_EQ = 0,  /* =  */
    LABELS_MATCH_NEQ,     /* != */
    LABELS_MATCH_RE,      /* =~ */
    LABELS_MATCH_NRE,     /* !~ */
} labels_match_type;

/* Immutable after creation; safe to use from many threads at once. */
typedef struct labels_matcher labels_matcher;

/* Creates a matcher. Regexes are fully anchored and use RE2 syntax as Go's
 * regexp does (features RE2 lacks, such as backreferences and lookaround, are
 * rejected). Name and value are copied. On error returns -EINVAL and writes
 * a message like `error parsing regexp: missing closing ): "(a"` to err.
 * Returns -ENOMEM on allocation failure. */
/* Notes on the regex implementation (lib/labels/re2pcre.c, matcher.c):
 * - Results and error texts are those of Prometheus 2.42, which compiles
 *   "^(?:" re ")$" with Go 1.19's regexp: e.g. `missing closing ):
 *   `^(?:(a)$`` (Go quotes with backticks). tests/labels/test_promtool.c
 *   checks this against the real promtool.
 * - Go semantics worth knowing: `.` does not match \n, so x=~".*" does NOT
 *   match a value containing a newline; $ is end of text; \d \w \s \b are
 *   ASCII; invalid UTF-8 bytes in a value match `.` (as U+FFFD).
 * - Fast paths without a regex engine: literal, a|b|c, .*, .+, foo.*, .*foo,
 *   .*foo.*; everything else runs on PCRE2 (JIT) with per-thread match data
 *   (no locks).
 * - Known differences: under (?i), Go also case-folds \p{Lu}, \p{Ll},
 *   \p{Lt}, \pL, \pM, \p{Mn}, \p{Greek}, \p{Common}, \p{Inherited}; PCRE2
 *   does not. Groups nest at most 240 deep (Go: 1000). Pathological
 *   backtracking patterns hit PCRE2's match limit and then do not match (Go
 *   runs in linear time). */
int labels_matcher_new(labels_match_type type, const char *name, size_t name_len,
                       const char *value, size_t value_len, labels_matcher **out,
                       char *err, size_t errlen);
void labels_matcher_free(labels_matcher *m);

labels_match_type labels_matcher_type(const labels_matcher *m);
/* NUL-terminated, owned by the matcher. */
const char *labels_matcher_name(const labels_matcher *m);
const char *labels_matcher_value(const labels_matcher *m);

/* Does the matcher accept this label value? A missing label is the empty
 * value "" (so `x=~""` and `x!="y"` match series without x). */
bool labels_matcher_matches(const labels_matcher *m, const char *value, size_t len);

/* True when the matcher accepts the empty value (then it can match series
 * that lack the label, which postings lookups must handle). */
bool labels_matcher_matches_empty(const labels_matcher *m);

/* When the matcher accepts only a finite set of values (=, or =~ "a|b|c" of
 * literals), returns that set's size and fills *vals (borrowed, owned by the
 * matcher); else returns -1. Lets indexes look values up directly. */
int labels_matcher_set_values(const labels_matcher *m, const char *const **vals,
                              const uint32_t **lens);

/* Do all matchers accept this (sorted) label set? */
bool labels_matches(const labels_matcher *const *ms, size_t nm,
                    const labels_label *ls, size_t n);

/* Formats as PromQL: name="value", name=~"re" (escaped). Like labels_format. */
size_t labels_matcher_format(const labels_matcher *m, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
