/* Private to lib/labels. */
#ifndef AION_LABELS_INTERNAL_H
#define AION_LABELS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (len >= 1), 0 if invalid. */
size_t labels__utf8_seq(const unsigned char *s, size_t len);

/* Appends v escaped as Go's strconv.Quote would (without the quotes) to
 * buf[*pos..len), counting the full length in *pos like snprintf. */
void labels__quote(char *buf, size_t len, size_t *pos, const char *v, size_t vlen);
void labels__put(char *buf, size_t len, size_t *pos, const char *s, size_t n);

/* Translates a Go (RE2 syntax, Perl flags) regexp into a PCRE2 pattern with
 * the same matching semantics when compiled with the options the matcher
 * uses. Returns 0 and a malloc'd NUL-terminated pattern in *out (length in
 * *outlen), -EINVAL with a Go-style message in err, or -ENOMEM. When out is
 * NULL only the syntax is checked. */
int labels__re_translate(const char *re, size_t len, char **out, size_t *outlen,
                         char *err, size_t errlen);

/* re2tables.c: code point ranges of Go's ASCII classes. */
typedef struct {
    uint32_t r[64]; /* lo, hi pairs, sorted, disjoint */
    int n;          /* pairs */
} labels__rset;

/* \d \D \s \S \w \W (c is the letter) as Go builds them: folded first
 * under (?i), then negated. False when c is no such letter. */
bool labels__perl_group(char c, bool fold, labels__rset *out);
/* [:alpha:], [:^alpha:] ... by name ("alpha", "^alpha"); false if unknown. */
bool labels__posix_group(const char *name, size_t len, bool fold, labels__rset *out);
/* Is name a Unicode category or script that Go 1.19 and PCRE2 both know? */
bool labels__unicode_name_ok(const char *name, size_t len);

#endif
