/* Matchers: expected results follow Prometheus 2.42 / Go regexp semantics
 * (derived from Go's regexp/syntax rules, not from this implementation). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"
#include "tests.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define EQ LABELS_MATCH_EQ
#define NEQ LABELS_MATCH_NEQ
#define RE LABELS_MATCH_RE
#define NRE LABELS_MATCH_NRE

static labels_matcher *mk(labels_match_type t, const char *v)
{
    char err[256];
    labels_matcher *m = NULL;
    int rc = labels_matcher_new(t, "x", 1, v, strlen(v), &m, err, sizeof(err));
    if (rc != 0)
        fail_msg("matcher %s: %s", v, err);
    return m;
}

struct mcase {
    labels_match_type t;
    const char *re;
    const char *val;
    int val_len; /* -1: strlen */
    bool want;
};

static const struct mcase cases[] = {
    /* equality */
    { EQ, "a", "a", -1, true },
    { EQ, "a", "ab", -1, false },
    { EQ, "", "", -1, true },
    { NEQ, "a", "a", -1, false },
    { NEQ, "a", "", -1, true },
    { EQ, "a.b", "axb", -1, false },
    /* anchoring */
    { RE, "a", "a", -1, true },
    { RE, "a", "ba", -1, false },
    { RE, "a", "ab", -1, false },
    { RE, "a|b", "ab", -1, false },
    { RE, "b|ab", "ab", -1, true },
    { RE, "a|ab", "ab", -1, true },   /* full match, not leftmost-first prefix */
    { RE, "a.", "ab", -1, true },
    { RE, "foo", "xfoox", -1, false },
    { NRE, "a", "ba", -1, true },
    { NRE, "a", "a", -1, false },
    /* empty values */
    { RE, "", "", -1, true },
    { RE, "", "a", -1, false },
    { RE, "x|", "", -1, true },
    { RE, "|x", "x", -1, true },
    { RE, "()", "", -1, true },
    { RE, ".*", "", -1, true },
    { RE, ".+", "", -1, false },
    { NRE, ".+", "", -1, true },
    { NRE, ".*", "", -1, false },
    { RE, "a?", "", -1, true },
    /* $ and newlines: $ is end of text, . does not match \n */
    { RE, "a$", "a", -1, true },
    { RE, "a$", "a\n", -1, false },
    { RE, "a\n", "a\n", -1, true },
    { RE, "a\\n?", "a\n", -1, true },
    { RE, "(?m)a$", "a\n", -1, false },
    { RE, "(?m)a$\n", "a\n", -1, true },
    { RE, "(?m)a$\n^b", "a\nb", -1, true },
    { RE, "a\\z", "a", -1, true },
    { RE, "\\Aa", "a", -1, true },
    { RE, "^a", "a", -1, true },
    { RE, "^*a", "a", -1, true },
    { RE, "a^", "a", -1, false },
    { RE, ".*", "a\nb", -1, false },
    { RE, ".+", "a\nb", -1, false },
    { RE, ".*", "abc", -1, true },
    { RE, "foo.*", "foo\nbar", -1, false },
    { RE, "foo.*", "foo", -1, true },
    { RE, "foo.*", "foobar", -1, true },
    { RE, "foo.*", "fo", -1, false },
    { RE, "foo.*", "xfoo", -1, false },
    { NRE, "foo.*", "foo\n", -1, true },
    { RE, ".*foo", "xfoo", -1, true },
    { RE, ".*foo", "foo", -1, true },
    { RE, ".*foo", "foox", -1, false },
    { RE, ".*foo", "x\nfoo", -1, false },
    { RE, ".*a\nb", "xa\nb", -1, true },
    { RE, ".*a\nb", "\na\nb", -1, false },
    { RE, ".*foo.*", "xfoox", -1, true },
    { RE, ".*foo.*", "foo", -1, true },
    { RE, ".*foo.*", "fo", -1, false },
    { RE, ".*foo.*", "foo\n", -1, false },
    { RE, ".*a\nb.*", "xa\nby", -1, true },
    { RE, ".*a\nb.*", "xa\nb\n", -1, false },
    { RE, ".*.*", "ab", -1, true },
    { RE, ".*.*", "a\nb", -1, false },
    { RE, ".*a|b.*", "xa", -1, true },
    { RE, ".*a|b.*", "bx", -1, true },
    { RE, ".*a|b.*", "xb", -1, false },
    { RE, "(.*foo.*)", "afoob", -1, true },
    { RE, "a\\.b.*", "a.bc", -1, true },
    { RE, "a\\.b.*", "axbc", -1, false },
    { RE, "a\\.*", "a..", -1, true },
    { RE, "a\\.*", "ab", -1, false },
    { RE, "a.c", "a\nc", -1, false },
    { RE, "(?s)a.c", "a\nc", -1, true },
    { RE, "(?s).*", "a\nb", -1, true },
    { RE, "(?s:.)x", "\nx", -1, true },
    { RE, "[^x]", "\n", -1, true },
    { RE, "[[:space:]]", "\v", -1, true },
    { RE, "\\s", "\v", -1, false },
    { RE, "\\s", "\t", -1, true },
    { RE, "\\S", "\v", -1, true },
    { RE, "[\\S]", "\v", -1, true },
    { RE, "[\\s]", "\v", -1, false },
    /* escapes as Go reads them */
    { RE, "\\v", "\v", -1, true },
    { RE, "\\12", "\n", -1, true },
    { RE, "\\0", "", 1, true },       /* NUL */
    { RE, "\\x41\\x{42}", "AB", -1, true },
    { RE, "\\.", ".", -1, true },
    { RE, "\\.", "a", -1, false },
    { RE, "\\_", "_", -1, true },
    { RE, "a{,2}", "a{,2}", -1, true },
    { RE, "a{", "a{", -1, true },
    { RE, "a{2}", "aa", -1, true },
    { RE, "a{2,}", "aaaa", -1, true },
    { RE, "a{2,3}", "aaaa", -1, false },
    { RE, "a{0}b", "b", -1, true },
    { RE, "\\Qa.b\\E+", "a.bbb", -1, true },
    { RE, "\\Qa.b\\E", "axb", -1, false },
    { RE, "[a-]", "-", -1, true },
    { RE, "[]a]", "]", -1, true },
    { RE, "[^]a]", "b", -1, true },
    { RE, "[\\d-z]", "-", -1, true },
    { RE, "[a-c-e]", "-", -1, true },
    { RE, "[a-c-e]", "d", -1, false },
    /* classes are ASCII for \d \w \b, Unicode for \p */
    { RE, "\\d+", "0123", -1, true },
    { RE, "\\d", "\xd9\xa1", -1, false },   /* ARABIC-INDIC DIGIT ONE */
    { RE, "\\w+", "a_1", -1, true },
    { RE, "\\w", "\xc3\xa9", -1, false },
    { RE, "\\W", "\xc3\xa9", -1, true },
    { RE, "\\pL+", "h\xc3\xa9llo", -1, true },
    { RE, "\\p{Greek}", "\xce\xb1", -1, true },
    { RE, "\\P{Greek}", "\xce\xb1", -1, false },
    { RE, "\\p{^Greek}", "a", -1, true },
    { RE, "[\\p{Lu}]", "A", -1, true },
    { RE, "[[:alpha:]]+", "abZ", -1, true },
    { RE, "[[:^alpha:]]", "1", -1, true },
    { RE, "[[:word:]]", "_", -1, true },
    { RE, "a\\b", "a", -1, true },
    { RE, "a\\bb", "ab", -1, false },
    { RE, "a\\Bb", "ab", -1, true },
    /* flags */
    { RE, "(?i)abc", "ABC", -1, true },
    { RE, "(?i)abc", "aBd", -1, false },
    { RE, "(?i)k", "\xe2\x84\xaa", -1, true },  /* KELVIN SIGN folds to k */
    { RE, "(?i)s", "\xc5\xbf", -1, true },      /* LONG S folds to s */
    { RE, "(?i)[[:^lower:]]", "A", -1, false }, /* fold before negation */
    { RE, "(?i)\\W", "\xe2\x84\xaa", -1, false },
    { RE, "(?i)[k]", "K", -1, true },
    { RE, "(?i)\\w", "\xe2\x84\xaa", -1, true },
    { RE, "(?i)[[:upper:]]", "a", -1, true },
    { RE, "(?i)[^[:upper:]]", "a", -1, false },
    { RE, "(?i)[^[:upper:]]", "1", -1, true },
    { RE, "(?i)[a-c]", "B", -1, true },
    { RE, "(?i)[^a-c]", "B", -1, false },
    { RE, "(?i)[^a-c]", "d", -1, true },
    { RE, "(?i)[^a\\W]", "b", -1, true },
    { RE, "(?i)[^a\\W]", "A", -1, false },
    { RE, "(?i)[^a\\W]", "_", -1, true },
    { RE, "(?i)[^a\\W]", "\xc5\xbf", -1, true },   /* long s is a folded word char */
    { RE, "(?i)[^a\\W]", "\xc3\xa9", -1, false },
    { RE, "(?i)[a\\W]", "A", -1, true },
    { RE, "(?i)[a\\W]", "b", -1, false },
    { RE, "(?i)[a\\W]", "\xc3\xa9", -1, true },
    { RE, "(?i)[\\x{40}-\\x{10ffff}]", "A", -1, true },
    { RE, "(?i)[\\x{40}-\\x{10ffff}]", "?", -1, false },
    { RE, "(?i)[\\x{0}-\\x{10ffff}]", "\n", -1, true },
    { RE, "(?i)[\\x{100}-\\x{200}]", "\xc4\x81", -1, true },
    { RE, "(?i)[^\\x{100}]", "\xc4\x81", -1, false },
    { RE, "(?i)(?s).", "\n", -1, true },
    { RE, "[\\x{d800}-\\x{dfff}]", "\xed\xa0\x80", -1, false },
    { RE, "[^\\x{d800}-\\x{dfff}]", "a", -1, true },
    { RE, "\\x{d800}*a", "a", -1, true },
    { RE, "(?i)(?-i)a", "A", -1, false },
    { RE, "(?i:a)a", "Aa", -1, true },
    { RE, "(?i:a)a", "AA", -1, false },
    { RE, "a(?i)b|c", "C", -1, true },        /* flags last to the group's end */
    { RE, "(a(?i)b)c", "aBC", -1, false },
    { RE, "(?U)a+", "aaa", -1, true },
    { RE, "(?U)(a+?)(a*)", "aaa", -1, true },
    { RE, "(?P<name>a)b", "ab", -1, true },
    { RE, "a(?i)*", "AAA", -1, false },       /* repeats the literal a */
    { RE, "a(?i)*", "aaa", -1, true },
    { RE, "a*(?m){2}", "aaa", -1, true },     /* (a*){2}: flags end the repetition run */
    { RE, "a+(?i)?", "", -1, true },          /* (a+)?, not a lazy a+? */
    { RE, "a+(?i)?", "aa", -1, true },
    { RE, "\\b+(?s)*", "", -1, true },
    /* alternation sets */
    { RE, "foo|bar|baz", "bar", -1, true },
    { RE, "foo|bar|baz", "ba", -1, false },
    { RE, "foo|bar|baz", "foobar", -1, false },
    { RE, "(foo|bar)", "foo", -1, true },
    { RE, "(?:foo|bar)", "bar", -1, true },
    { RE, "(foo)|(bar)", "bar", -1, true },
    { RE, "a\\|b|c", "a|b", -1, true },
    { NRE, "foo|bar", "foo", -1, false },
    { NRE, "foo|bar", "qux", -1, true },
    { RE, "\xe2\x82\xac|x", "\xe2\x82\xac", -1, true },
    /* invalid UTF-8 subjects: each bad byte reads as U+FFFD */
    { RE, ".", "\xff", -1, true },
    { RE, "a.b", "a\xff" "b", -1, true },
    { RE, "..", "\xe2\x82", -1, true },
    { RE, ".", "\xe2\x82", -1, false },
    { RE, ".*", "\xff\xfe", -1, true },
    { RE, "[^a]", "\xff", -1, true },
    { RE, "\\xff", "\xff", -1, false },    /* pattern means U+00FF */
    { RE, "\xc3\xbf", "\xc3\xbf", -1, true },
    { RE, "\\x{fffd}x", "\xffx", -1, true },
    { RE, "\\x{fffd}x", "\xc0x", -1, true },
    { RE, "\\x{fffd}\\x{fffd}", "\xed\xa0", -1, true }, /* surrogate prefix: 2 bytes */
    { RE, "a", "a\xff", -1, false },
    { RE, "\\C", "", -1, false },          /* placeholder replaced below */
};

static void t_match_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        const struct mcase *c = &cases[i];
        if (!strcmp(c->re, "\\C"))
            continue;
        labels_matcher *m = mk(c->t, c->re);
        size_t len = c->val_len < 0 ? strlen(c->val) : (size_t)c->val_len;
        bool got = labels_matcher_matches(m, c->val, len);
        if (got != c->want)
            fail_msg("case %zu: %s %d %s on value of %zu bytes: got %d", i, c->re, c->t, c->val,
                     len, got);
        /* the negated type disagrees, always */
        labels_match_type inv = c->t == EQ ? NEQ : c->t == NEQ ? EQ : c->t == RE ? NRE : RE;
        labels_matcher *n = mk(inv, c->re);
        assert_int_equal(labels_matcher_matches(n, c->val, len), !got);
        assert_int_equal(labels_matcher_matches_empty(m), labels_matcher_matches(m, "", 0));
        labels_matcher_free(m);
        labels_matcher_free(n);
    }
}

static void t_matches_empty(void **state)
{
    (void)state;
    struct { labels_match_type t; const char *v; bool empty; } c[] = {
        { EQ, "", true },     { EQ, "x", false },  { NEQ, "", false }, { NEQ, "x", true },
        { RE, "", true },     { RE, ".*", true },  { RE, ".+", false }, { RE, "x|", true },
        { RE, "x", false },   { NRE, ".+", true }, { NRE, "", false }, { NRE, ".*", false },
        { NRE, "x", true },   { RE, "(?i)x?", true },
    };
    labels_label ls[] = { labels_make("a", "1"), labels_make("y", "2") };
    for (size_t i = 0; i < N(c); i++) {
        labels_matcher *m = mk(c[i].t, c[i].v);
        assert_int_equal(labels_matcher_matches_empty(m), c[i].empty);
        /* a series without label x behaves as x="" */
        const labels_matcher *ms[] = { m };
        assert_int_equal(labels_matches(ms, 1, ls, 2), c[i].empty);
        labels_matcher_free(m);
    }
}

static void t_matches_set(void **state)
{
    (void)state;
    labels_label ls[] = { labels_make("__name__", "up"), labels_make("job", "node"),
                          labels_make("zone", "eu") };
    labels_matcher *a = NULL, *b = NULL, *c = NULL;
    char err[128];
    assert_int_equal(labels_matcher_new(EQ, "__name__", 8, "up", 2, &a, err, sizeof(err)), 0);
    assert_int_equal(labels_matcher_new(RE, "job", 3, "no.*", 4, &b, err, sizeof(err)), 0);
    assert_int_equal(labels_matcher_new(NRE, "zone", 4, "us|ap", 5, &c, err, sizeof(err)), 0);
    const labels_matcher *ms[] = { a, b, c };
    assert_true(labels_matches(ms, 3, ls, 3));
    assert_true(labels_matches(ms, 0, ls, 3));
    assert_false(labels_matches(ms, 3, ls + 1, 2)); /* no __name__ */
    labels_label ls2[] = { labels_make("__name__", "up"), labels_make("job", "xnode"),
                           labels_make("zone", "eu") };
    assert_false(labels_matches(ms, 3, ls2, 3));
    assert_string_equal(labels_matcher_name(b), "job");
    assert_string_equal(labels_matcher_value(b), "no.*");
    assert_int_equal(labels_matcher_type(c), NRE);
    labels_matcher_free(a);
    labels_matcher_free(b);
    labels_matcher_free(c);
    labels_matcher_free(NULL);
}

static void t_set_values(void **state)
{
    (void)state;
    struct { labels_match_type t; const char *re; int n; const char *vals[4]; } c[] = {
        { EQ, "a", 1, { "a" } },
        { EQ, "", 1, { "" } },
        { RE, "a", 1, { "a" } },
        { RE, "b|a|c", 3, { "a", "b", "c" } },
        { RE, "(b|a)", 2, { "a", "b" } },
        { RE, "(?:b|a)", 2, { "a", "b" } },
        { RE, "a|a", 1, { "a" } },
        { RE, "a|", 2, { "", "a" } },
        { RE, "a\\.b|c", 2, { "c", "a.b" } },
        { RE, "", 1, { "" } },
        { NEQ, "a", -1, { 0 } },
        { NRE, "a|b", -1, { 0 } },
        { RE, "a.*", -1, { 0 } },
        { RE, "a|b.*", -1, { 0 } },
        { RE, "(?i)a|b", -1, { 0 } },
        { RE, "a+|b", -1, { 0 } },
        { RE, ".*", -1, { 0 } },
        { RE, "(a)|(b)", -1, { 0 } },
    };
    for (size_t i = 0; i < N(c); i++) {
        labels_matcher *m = mk(c[i].t, c[i].re);
        const char *const *vals = NULL;
        const uint32_t *lens = NULL;
        int n = labels_matcher_set_values(m, &vals, &lens);
        if (n != c[i].n)
            fail_msg("%s: %d values, want %d", c[i].re, n, c[i].n);
        /* every listed value matches, in any order */
        for (int k = 0; k < n; k++) {
            bool found = false;
            for (int j = 0; j < n; j++)
                if (strlen(c[i].vals[j]) == lens[k] && !memcmp(c[i].vals[j], vals[k], lens[k]))
                    found = true;
            assert_true(found);
            assert_int_equal(vals[k][lens[k]], '\0');
            assert_true(labels_matcher_matches(m, vals[k], lens[k]));
        }
        labels_matcher_free(m);
    }
}

struct ecase {
    const char *re;
    const char *msg;
};

/* Messages as Go's regexp.Compile("^(?:" + re + ")$") then
 * syntax.Parse(re, syntax.Perl) produce them in Prometheus 2.42. */
static const struct ecase errors[] = {
    { "(a", "error parsing regexp: missing closing ): `^(?:(a)$`" },
    { "a)", "error parsing regexp: unexpected ): `^(?:a))$`" },
    { "a)(?:b", "error parsing regexp: unexpected ): `a)(?:b`" },
    { "[a", "error parsing regexp: missing closing ]: `[a)$`" },
    { "a\\", "error parsing regexp: missing closing ): `^(?:a\\)$`" },
    { "(?i", "error parsing regexp: missing closing ): `^(?:(?i)$`" },
    { "\\Qa.b", "error parsing regexp: missing closing ): `^(?:\\Qa.b)$`" },
    { "*", "error parsing regexp: missing argument to repetition operator: `*`" },
    { "a|*", "error parsing regexp: missing argument to repetition operator: `*`" },
    { "(?i)+", "error parsing regexp: missing argument to repetition operator: `+`" },
    { "{2}", "error parsing regexp: missing argument to repetition operator: `{2}`" },
    { "a**", "error parsing regexp: invalid nested repetition operator: `**`" },
    { "a*+", "error parsing regexp: invalid nested repetition operator: `*+`" },
    { "a++", "error parsing regexp: invalid nested repetition operator: `++`" },
    { "a?+", "error parsing regexp: invalid nested repetition operator: `?+`" },
    { "a*?+", "error parsing regexp: invalid nested repetition operator: `*?+`" },
    { "a{2}{3}", "error parsing regexp: invalid nested repetition operator: `{2}{3}`" },
    { "a{2}*", "error parsing regexp: invalid nested repetition operator: `{2}*`" },
    { "x{1001}", "error parsing regexp: invalid repeat count: `{1001}`" },
    { "x{2,1}", "error parsing regexp: invalid repeat count: `{2,1}`" },
    { "x{1,1001}", "error parsing regexp: invalid repeat count: `{1,1001}`" },
    { "(x{500}){3}", "error parsing regexp: invalid repeat count: `{3}`" },
    { "((x{10}){10}){11}", "error parsing regexp: invalid repeat count: `{11}`" },
    { "(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`" },
    { "(?!a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?!`" },
    { "(?<=a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
    { "(?<!a)b", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
    { "(?<n>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
    { "(?>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?>`" },
    { "(?#c)", "error parsing regexp: invalid or unsupported Perl syntax: `(?#`" },
    { "(?|a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?|`" },
    { "(a)(?1)", "error parsing regexp: invalid or unsupported Perl syntax: `(?1`" },
    { "(?R)", "error parsing regexp: invalid or unsupported Perl syntax: `(?R`" },
    { "(?(1)a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?(`" },
    { "(?P=n)", "error parsing regexp: invalid or unsupported Perl syntax: `(?P`" },
    { "(?P>n)", "error parsing regexp: invalid or unsupported Perl syntax: `(?P`" },
    { "(?x)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?x`" },
    { "(?i-)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`" },
    { "(?--i)a", "error parsing regexp: invalid or unsupported Perl syntax: `(?--`" },
    { "(?P<>a)", "error parsing regexp: invalid named capture: `(?P<>`" },
    { "(?P<a-b>x)", "error parsing regexp: invalid named capture: `(?P<a-b>`" },
    { "(?P<name", "error parsing regexp: invalid named capture: `(?P<name)$`" },
    { "\\1", "error parsing regexp: invalid escape sequence: `\\1`" },
    { "(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`" },
    { "\\8", "error parsing regexp: invalid escape sequence: `\\8`" },
    { "\\k<n>", "error parsing regexp: invalid escape sequence: `\\k`" },
    { "\\g1", "error parsing regexp: invalid escape sequence: `\\g`" },
    { "\\C", "error parsing regexp: invalid escape sequence: `\\C`" },
    { "\\Z", "error parsing regexp: invalid escape sequence: `\\Z`" },
    { "\\e", "error parsing regexp: invalid escape sequence: `\\e`" },
    { "\\h", "error parsing regexp: invalid escape sequence: `\\h`" },
    { "\\R", "error parsing regexp: invalid escape sequence: `\\R`" },
    { "\\X", "error parsing regexp: invalid escape sequence: `\\X`" },
    { "\\K", "error parsing regexp: invalid escape sequence: `\\K`" },
    { "\\E", "error parsing regexp: invalid escape sequence: `\\E`" },
    { "\\cA", "error parsing regexp: invalid escape sequence: `\\c`" },
    { "[\\b]", "error parsing regexp: invalid escape sequence: `\\b`" },
    { "\\xZZ", "error parsing regexp: invalid escape sequence: `\\xZZ`" },
    { "\\x{110000}", "error parsing regexp: invalid escape sequence: `\\x{110000`" },
    { "\\x{}", "error parsing regexp: invalid escape sequence: `\\x{}`" },
    { "[z-a]", "error parsing regexp: invalid character class range: `z-a`" },
    { "[[:foo:]]", "error parsing regexp: invalid character class range: `[:foo:]`" },
    { "\\p{Foo}", "error parsing regexp: invalid character class range: `\\p{Foo}`" },
    { "\\pX", "error parsing regexp: invalid character class range: `\\pX`" },
    { "a\xff", "error parsing regexp: invalid UTF-8: `\xff)$`" },
};

static void t_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < N(errors); i++) {
        for (int t = RE; t <= NRE; t++) {
            char err[256];
            labels_matcher *m = (labels_matcher *)0x1;
            int rc = labels_matcher_new((labels_match_type)t, "x", 1, errors[i].re,
                                        strlen(errors[i].re), &m, err, sizeof(err));
            if (rc != -EINVAL)
                fail_msg("%s: rc %d, want -EINVAL", errors[i].re, rc);
            assert_null(m);
            if (strcmp(err, errors[i].msg) != 0)
                fail_msg("%s:\n got  %s\n want %s", errors[i].re, err, errors[i].msg);
        }
    }
    /* small error buffers truncate safely */
    char small[8];
    labels_matcher *m;
    assert_int_equal(labels_matcher_new(RE, "x", 1, "(", 1, &m, small, sizeof(small)), -EINVAL);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(labels_matcher_new(RE, "x", 1, "(", 1, &m, NULL, 0), -EINVAL);
    /* = and != never parse their value */
    m = mk(EQ, "(");
    assert_true(labels_matcher_matches(m, "(", 1));
    labels_matcher_free(m);
}

static void t_format(void **state)
{
    (void)state;
    struct { labels_match_type t; const char *v; const char *want; } c[] = {
        { EQ, "a", "x=\"a\"" },
        { NEQ, "", "x!=\"\"" },
        { RE, "a\\.b|c", "x=~\"a\\\\.b|c\"" },
        { NRE, "say \"hi\"\n", "x!~\"say \\\"hi\\\"\\n\"" },
    };
    for (size_t i = 0; i < N(c); i++) {
        labels_matcher *m = mk(c[i].t, c[i].v);
        char buf[64];
        size_t n = labels_matcher_format(m, buf, sizeof(buf));
        assert_string_equal(buf, c[i].want);
        assert_int_equal(n, strlen(c[i].want));
        char small[4];
        assert_int_equal(labels_matcher_format(m, small, sizeof(small)), n);
        assert_int_equal(strlen(small), 3);
        labels_matcher_free(m);
    }
}

/* ---- concurrency ---------------------------------------------------------- */

struct thr {
    labels_matcher *const *ms;
    int fails;
};

static const char *const conc_vals[] = { "abc123", "ABC", "x\ny", "abcd", ("\xff" "bc1"), "" };
/* expected results per matcher (rows) and value (columns) */
static const bool conc_want[][6] = {
    { true, false, false, false, false, false },  /* [a-c]+\d+ */
    { true, true, false, true, false, false },    /* (?i)abc.* */
    { true, true, false, true, true, false },     /* .+ */
    { false, false, false, true, false, false },  /* abcd|xyz */
    { false, false, true, false, true, false },   /* .*[\n\x{fffd}].* */
};
static const char *const conc_res[] = { "[a-c]+\\d+", "(?i)abc.*", ".+", "abcd|xyz",
                                        "(?s).*[\\n\\x{fffd}].*" };

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    for (int it = 0; it < 3000; it++)
        for (size_t m = 0; m < N(conc_res); m++)
            for (size_t v = 0; v < N(conc_vals); v++)
                if (labels_matcher_matches(t->ms[m], conc_vals[v], strlen(conc_vals[v])) !=
                    conc_want[m][v])
                    t->fails++;
    return NULL;
}

static void t_concurrency(void **state)
{
    (void)state;
    labels_matcher *ms[N(conc_res)];
    for (size_t m = 0; m < N(conc_res); m++)
        ms[m] = mk(RE, conc_res[m]);
    enum { T = 8 };
    pthread_t th[T];
    struct thr ts[T];
    for (int i = 0; i < T; i++) {
        ts[i].ms = ms;
        ts[i].fails = 0;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &ts[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ts[i].fails, 0);
    }
    for (size_t m = 0; m < N(conc_res); m++)
        labels_matcher_free(ms[m]);
}

/* Pathological inputs still get answers and never crash. */
static void t_limits(void **state)
{
    (void)state;
    char big[4000];
    labels_matcher *m;
    char err[256];
    /* nesting: deep enough for any real query, bounded for PCRE2's stack */
    for (int depth = 200; depth <= 1100; depth += 900) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            big[n++] = '(';
        big[n++] = 'a';
        for (int i = 0; i < depth; i++)
            big[n++] = ')';
        int rc = labels_matcher_new(RE, "x", 1, big, n, &m, err, sizeof(err));
        if (depth == 200) {
            assert_int_equal(rc, 0);
            assert_true(labels_matcher_matches(m, "a", 1));
            labels_matcher_free(m);
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_non_null(strstr(err, "expression nests too deeply"));
        }
    }
    /* catastrophic backtracking pattern: must return */
    m = mk(RE, "(a*)*b");
    char subj[64];
    memset(subj, 'a', sizeof(subj));
    assert_false(labels_matcher_matches(m, subj, sizeof(subj)));
    labels_matcher_free(m);
    /* long values and long sets */
    static char lv[100000];
    memset(lv, 'z', sizeof(lv));
    m = mk(RE, "z+");
    assert_true(labels_matcher_matches(m, lv, sizeof(lv)));
    lv[500] = '\xff';
    assert_false(labels_matcher_matches(m, lv, sizeof(lv)));
    labels_matcher_free(m);
    m = mk(RE, "z*.z*");
    assert_true(labels_matcher_matches(m, lv, sizeof(lv))); /* \xff is one U+FFFD */
    labels_matcher_free(m);
}

const struct CMUnitTest labels_matcher_tests[] = {
    cmocka_unit_test(t_match_table), cmocka_unit_test(t_matches_empty),
    cmocka_unit_test(t_matches_set), cmocka_unit_test(t_set_values),
    cmocka_unit_test(t_errors),      cmocka_unit_test(t_format),
    cmocka_unit_test(t_concurrency), cmocka_unit_test(t_limits),
};
const size_t labels_matcher_ntests = N(labels_matcher_tests);
