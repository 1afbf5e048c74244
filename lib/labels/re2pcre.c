/*
 * Go regexp (RE2 syntax with syntax.Perl flags) -> PCRE2 pattern.
 *
 * Prometheus matches label values with Go's regexp. Rather than trusting that
 * PCRE2 reads a pattern the way Go does (it does not: \v, \s, \12, \Z, [\b],
 * a{,3}, possessive a*+, lookaround ...), this file parses the pattern with
 * Go's rules, reports Go's error messages, and emits an explicit PCRE2
 * pattern: every literal as \x{..}, every Go class as explicit ranges, ^ $ .
 * as explicit constructs, so only the caseless option is left to PCRE2.
 * The emitted pattern is meant for PCRE2_UTF | PCRE2_ANCHORED |
 * PCRE2_ENDANCHORED; no other option changes its meaning.
 *
 * One parser, kept in one file (~1000 lines) so its state stays private;
 * the character tables live in re2tables.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"

#define GO_MAX_REPEAT 1000
#define MAX_RUNE 0x10ffff
#define GO_MAX_SIZE ((int64_t)(128 << 20) / 40)
/* Go allows parse trees 1000 high; PCRE2's compiler recurses per group and
 * by default stops at 250 to bound stack use (~1 KB a level, much more under
 * ASan). Keep below that, wrappers included; real patterns nest < 10 deep. */
#define MAX_DEPTH 240

enum { F_FOLD = 1, F_MULTI = 2, F_DOTNL = 4, F_UNGREEDY = 8 };

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
    bool off; /* syntax check only */
} sbuf;

typedef struct {
    uint8_t flags;     /* Go flags to restore at ')' */
    uint8_t emit_fold; /* PCRE2 caseless state at '(' */
    bool capture;
    int64_t seq_size; /* Go's compiled-size estimate of the group so far */
    int nalts;
    int64_t prod;      /* max product of nested {n} counts */
    size_t out_start;  /* output offset of the group's "(?:" */
} group;

typedef struct {
    const char *s; /* whole expression */
    size_t n;
    size_t i; /* position */
    sbuf out;
    uint8_t flags;
    uint8_t emit_fold;
    char *err;
    size_t errlen;
    /* last operand of the current sequence */
    bool have_atom;
    bool atom_assert;
    bool atom_repeated; /* s*(?m){2}: Go repeats a repetition after flags */
    size_t atom_start;
    int64_t atom_size, atom_prod;
    long last_repeat; /* source offset of the previous repetition operator, or -1 */
    group *g;
    size_t ng, gcap;
    group top;
} parser;

/* ---- output ------------------------------------------------------------ */

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->off || b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_insert(sbuf *b, size_t at, const char *s)
{
    size_t n = strlen(s), old = b->len;
    sb_put(b, s, n); /* grow */
    if (b->off || b->oom)
        return;
    memmove(b->p + at + n, b->p + at, old - at);
    memcpy(b->p + at, s, n);
}

static void sb_cp(sbuf *b, uint32_t c)
{
    char tmp[16];
    int k = snprintf(tmp, sizeof(tmp), "\\x{%x}", (unsigned)c);
    sb_put(b, tmp, (size_t)k);
}

/* ---- errors ------------------------------------------------------------ */

static int fail(parser *p, const char *code, const char *expr, size_t exprlen)
{
    if (p->errlen)
        snprintf(p->err, p->errlen, "error parsing regexp: %s: `%.*s`", code, (int)exprlen, expr);
    return -EINVAL;
}

#define E_CLASS_RANGE "invalid character class range"
#define E_ESCAPE "invalid escape sequence"
#define E_NAMED "invalid named capture"
#define E_PERL "invalid or unsupported Perl syntax"
#define E_REPEAT_OP "invalid nested repetition operator"
#define E_REPEAT_SIZE "invalid repeat count"
#define E_UTF8 "invalid UTF-8"
#define E_BRACKET "missing closing ]"
#define E_PAREN "missing closing )"
#define E_MISSING_ARG "missing argument to repetition operator"
#define E_BACKSLASH "trailing backslash at end of expression"
#define E_UNEXPECTED_PAREN "unexpected )"
#define E_DEPTH "expression nests too deeply"
#define E_LARGE "expression too large"

/* Decodes the rune at s[*i]; Go's nextRune: an empty rest yields U+FFFD
 * without error, an invalid byte is an error. */
static int next_rune(parser *p, size_t *i, uint32_t *r)
{
    const unsigned char *s = (const unsigned char *)p->s;
    if (*i >= p->n) {
        *r = 0xfffd;
        return 0;
    }
    size_t k = labels__utf8_seq(s + *i, p->n - *i);
    if (!k)
        return fail(p, E_UTF8, p->s + *i, p->n - *i);
    uint32_t c = s[*i];
    if (k == 2)
        c = ((c & 0x1f) << 6) | (s[*i + 1] & 0x3f);
    else if (k == 3)
        c = ((c & 0x0f) << 12) | ((s[*i + 1] & 0x3f) << 6) | (s[*i + 2] & 0x3f);
    else if (k == 4)
        c = ((c & 0x07) << 18) | ((s[*i + 1] & 0x3f) << 12) | ((s[*i + 2] & 0x3f) << 6) |
            (s[*i + 3] & 0x3f);
    *r = c;
    *i += k;
    return 0;
}

static int check_utf8(parser *p, size_t from, size_t to)
{
    const unsigned char *s = (const unsigned char *)p->s;
    while (from < to) {
        size_t k = labels__utf8_seq(s + from, to - from);
        if (!k)
            return fail(p, E_UTF8, p->s + from, p->n - from);
        from += k;
    }
    return 0;
}

static bool isalnum_ascii(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int unhex(uint32_t c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* Emits ranges for use inside [...], skipping surrogates (never present in
 * a subject: invalid bytes reach PCRE2 as U+FFFD). Returns items emitted. */
static int emit_range(sbuf *b, uint32_t lo, uint32_t hi)
{
    int n = 0;
    if (lo <= 0xd7ff) {
        uint32_t h = hi < 0xd7ff ? hi : 0xd7ff;
        sb_cp(b, lo);
        if (h != lo) {
            sb_str(b, "-");
            sb_cp(b, h);
        }
        n++;
    }
    if (hi >= 0xe000) {
        uint32_t l = lo > 0xe000 ? lo : 0xe000;
        sb_cp(b, l);
        if (hi != l) {
            sb_str(b, "-");
            sb_cp(b, hi);
        }
        n++;
    }
    return n;
}

static int emit_rset(sbuf *b, const labels__rset *s)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += emit_range(b, s->r[2 * i], s->r[2 * i + 1]);
    return n;
}

/* ---- assorted Go syntax pieces ----------------------------------------- */

/* Go's parseInt: decimal, no leading zeros, -1 when >= 1e8. */
static bool parse_int(parser *p, size_t *i, long *v)
{
    size_t j = *i;
    if (j >= p->n || p->s[j] < '0' || p->s[j] > '9')
        return false;
    if (j + 1 < p->n && p->s[j] == '0' && p->s[j + 1] >= '0' && p->s[j + 1] <= '9')
        return false;
    long n = 0;
    for (; j < p->n && p->s[j] >= '0' && p->s[j] <= '9'; j++) {
        if (n >= 100000000)
            n = -1;
        else if (n >= 0)
            n = n * 10 + (p->s[j] - '0');
    }
    *v = n;
    *i = j;
    return true;
}

/* {min}, {min,}, {min,max}; false when not of that form (then { is literal). */
static bool parse_repeat(parser *p, size_t *i, long *min, long *max)
{
    size_t j = *i + 1;
    if (!parse_int(p, &j, min) || j >= p->n)
        return false;
    if (p->s[j] != ',') {
        *max = *min;
    } else {
        j++;
        if (j >= p->n)
            return false;
        if (p->s[j] == '}') {
            *max = -1;
        } else {
            if (!parse_int(p, &j, max))
                return false;
            if (*max < 0)
                *min = -1;
        }
    }
    if (j >= p->n || p->s[j] != '}')
        return false;
    *i = j + 1;
    return true;
}

/* Go's parseEscape: at s[*i] == '\\'. */
static int parse_escape(parser *p, size_t *i, uint32_t *r)
{
    size_t start = *i, j = *i + 1;
    uint32_t c;
    int rc;
    if (j >= p->n)
        return fail(p, E_BACKSLASH, "", 0);
    if ((rc = next_rune(p, &j, &c)))
        return rc;
    switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        if (j >= p->n || p->s[j] < '0' || p->s[j] > '7')
            break; /* backreference: unsupported */
        /* fallthrough */
    case '0': {
        uint32_t v = c - '0';
        for (int k = 1; k < 3; k++) {
            if (j >= p->n || p->s[j] < '0' || p->s[j] > '7')
                break;
            v = v * 8 + (uint32_t)(p->s[j] - '0');
            j++;
        }
        *r = v;
        *i = j;
        return 0;
    }
    case 'x': {
        if (j >= p->n)
            break;
        if ((rc = next_rune(p, &j, &c)))
            return rc;
        if (c == '{') {
            int nhex = 0;
            uint32_t v = 0;
            for (;;) {
                if (j >= p->n)
                    goto bad;
                if ((rc = next_rune(p, &j, &c)))
                    return rc;
                if (c == '}')
                    break;
                int h = unhex(c);
                if (h < 0)
                    goto bad;
                v = v * 16 + (uint32_t)h;
                if (v > MAX_RUNE)
                    goto bad;
                nhex++;
            }
            if (nhex == 0)
                goto bad;
            *r = v;
            *i = j;
            return 0;
        }
        int x = unhex(c);
        if ((rc = next_rune(p, &j, &c)))
            return rc;
        int y = unhex(c);
        if (x < 0 || y < 0)
            break;
        *r = (uint32_t)(x * 16 + y);
        *i = j;
        return 0;
    }
    case 'a': *r = 7; *i = j; return 0;
    case 'f': *r = 12; *i = j; return 0;
    case 'n': *r = 10; *i = j; return 0;
    case 'r': *r = 13; *i = j; return 0;
    case 't': *r = 9; *i = j; return 0;
    case 'v': *r = 11; *i = j; return 0;
    default:
        if (c < 0x80 && !isalnum_ascii(c)) {
            *r = c;
            *i = j;
            return 0;
        }
    }
bad:
    return fail(p, E_ESCAPE, p->s + start, j - start);
}

/* \pN, \p{Name}, \PN, \P{^Name} at s[*i]; emits \p{..} (inside a class when
 * in_class). */
static int parse_unicode_class(parser *p, size_t *i, bool in_class, int *items)
{
    size_t start = *i, j = *i + 2;
    bool neg = p->s[start + 1] == 'P';
    uint32_t c;
    int rc;
    size_t name_at, name_len, seq_end;
    size_t k = j;
    if ((rc = next_rune(p, &k, &c)))
        return rc;
    if (c != '{') {
        name_at = j;
        name_len = k - j;
        seq_end = k;
    } else {
        const char *end = memchr(p->s + start, '}', p->n - start);
        if (!end) {
            if ((rc = check_utf8(p, start, p->n)))
                return rc;
            return fail(p, E_CLASS_RANGE, p->s + start, p->n - start);
        }
        seq_end = (size_t)(end - p->s) + 1;
        name_at = start + 3;
        name_len = seq_end - 1 - name_at;
        if ((rc = check_utf8(p, name_at, name_at + name_len)))
            return rc;
    }
    if (name_len && p->s[name_at] == '^') {
        neg = !neg;
        name_at++;
        name_len--;
    }
    if (!labels__unicode_name_ok(p->s + name_at, name_len))
        return fail(p, E_CLASS_RANGE, p->s + start, seq_end - start);
    char tmp[64];
    int tl = snprintf(tmp, sizeof(tmp), "\\%c{%.*s}", neg ? 'P' : 'p', (int)name_len, p->s + name_at);
    if (in_class) {
        sb_put(&p->out, tmp, (size_t)tl);
        (*items)++;
    } else {
        sb_put(&p->out, tmp, (size_t)tl);
    }
    *i = seq_end;
    return 0;
}

/* \d \D \s \S \w \W at s[i]: fills the ranges Go uses. */
static bool perl_group_at(parser *p, size_t i, labels__rset *set)
{
    if (i + 1 >= p->n || p->s[i] != '\\')
        return false;
    return labels__perl_group(p->s[i + 1], p->flags & F_FOLD, set);
}

/* Code points Go's case folding touches (unicode minFold, maxFold). */
#define MIN_FOLD 0x41
#define MAX_FOLD 0x1e943

/* A class under (?i) is emitted in two parts: items PCRE2 must fold
 * (literals in [MIN_FOLD, MAX_FOLD], \p) and items already closed under
 * folding (Perl/POSIX groups, which Go folds before negating, and code
 * points outside the fold range). The second part is compiled with (?-i):
 * PCRE2 folds big ranges one code point at a time, milliseconds each. */
typedef struct {
    sbuf fold, plain;
    int nfold, nplain;
} classparts;

static void class_range(parser *p, classparts *c, uint32_t lo, uint32_t hi)
{
    if (!(p->flags & F_FOLD) || (lo <= MIN_FOLD && hi >= MAX_FOLD)) {
        /* no folding, or a range holding every fold pair already */
        c->nplain += emit_range(&c->plain, lo, hi);
        return;
    }
    if (lo < MIN_FOLD)
        c->nplain += emit_range(&c->plain, lo, hi < MIN_FOLD ? hi : MIN_FOLD - 1);
    if (hi > MAX_FOLD)
        c->nplain += emit_range(&c->plain, lo > MAX_FOLD ? lo : MAX_FOLD + 1, hi);
    uint32_t flo = lo < MIN_FOLD ? MIN_FOLD : lo, fhi = hi > MAX_FOLD ? MAX_FOLD : hi;
    if (flo <= fhi)
        c->nfold += emit_range(&c->fold, flo, fhi);
}

static void class_emit(parser *p, classparts *c, bool neg)
{
    sbuf *o = &p->out;
    bool fold = p->flags & F_FOLD;
    if (!fold || c->nplain == 0 || c->nfold == 0) {
        sbuf *one = c->nfold ? &c->fold : &c->plain;
        if (c->nfold + c->nplain == 0) {
            /* only surrogates: matches nothing, or any character */
            sb_str(o, neg ? "(?s:.)" : "(?!)");
            return;
        }
        bool nofold = fold && c->nfold == 0;
        if (nofold)
            sb_str(o, "(?-i:");
        sb_str(o, neg ? "[^" : "[");
        if (one->p)
            sb_put(o, one->p, one->len);
        sb_str(o, "]");
        if (nofold)
            sb_str(o, ")");
        return;
    }
    /* [^A B] = (?!A|B) any; [A B] = (?:A|B) */
    sb_str(o, neg ? "(?!(?-i:[" : "(?:(?-i:[");
    sb_put(o, c->plain.p, c->plain.len);
    sb_str(o, "])|[");
    sb_put(o, c->fold.p, c->fold.len);
    sb_str(o, neg ? "])(?s:.)" : "])");
}

/* [...] at s[*i]. */
static int parse_class_parts(parser *p, size_t *i, classparts *c, bool *neg)
{
    size_t start = *i, j = *i + 1;
    int rc;
    c->fold.off = c->plain.off = p->out.off;
    if (j < p->n && p->s[j] == '^') {
        *neg = true;
        j++;
    }
    bool first = true;
    while (j >= p->n || p->s[j] != ']' || first) {
        first = false;
        /* POSIX [:alpha:] */
        if (j + 2 < p->n && p->s[j] == '[' && p->s[j + 1] == ':') {
            const char *e = NULL;
            for (size_t k = j + 2; k + 1 < p->n; k++)
                if (p->s[k] == ':' && p->s[k + 1] == ']') {
                    e = p->s + k;
                    break;
                }
            if (e) {
                size_t nend = (size_t)(e - p->s) + 2;
                const char *nm = p->s + j + 2;
                size_t nl = (size_t)(e - nm);
                labels__rset s;
                if (!labels__posix_group(nm, nl, p->flags & F_FOLD, &s))
                    return fail(p, E_CLASS_RANGE, p->s + j, nend - j);
                c->nplain += emit_rset(&c->plain, &s);
                j = nend;
                continue;
            }
        }
        if (j + 1 < p->n && p->s[j] == '\\' && (p->s[j + 1] == 'p' || p->s[j + 1] == 'P')) {
            /* parse_unicode_class writes to p->out: point it at the part
             * PCRE2 folds (which does not fold \p: see the header note) */
            bool fold = p->flags & F_FOLD;
            sbuf tmp = p->out;
            p->out = fold ? c->fold : c->plain;
            rc = parse_unicode_class(p, &j, true, fold ? &c->nfold : &c->nplain);
            if (fold)
                c->fold = p->out;
            else
                c->plain = p->out;
            p->out = tmp;
            if (rc)
                return rc;
            continue;
        }
        labels__rset s;
        if (perl_group_at(p, j, &s)) {
            c->nplain += emit_rset(&c->plain, &s);
            j += 2;
            continue;
        }
        /* single character or range */
        size_t rng = j;
        uint32_t lo, hi;
        if (j >= p->n)
            return fail(p, E_BRACKET, p->s + start, p->n - start);
        if (p->s[j] == '\\') {
            if ((rc = parse_escape(p, &j, &lo)))
                return rc;
        } else if ((rc = next_rune(p, &j, &lo))) {
            return rc;
        }
        hi = lo;
        if (j + 1 < p->n && p->s[j] == '-' && p->s[j + 1] != ']') {
            j++;
            if (p->s[j] == '\\') {
                if ((rc = parse_escape(p, &j, &hi)))
                    return rc;
            } else if ((rc = next_rune(p, &j, &hi))) {
                return rc;
            }
            if (hi < lo)
                return fail(p, E_CLASS_RANGE, p->s + rng, j - rng);
        }
        class_range(p, c, lo, hi);
    }
    *i = j + 1; /* ] */
    if (c->fold.oom || c->plain.oom)
        p->out.oom = true;
    return 0;
}

static int parse_class(parser *p, size_t *i)
{
    classparts c;
    bool neg = false;
    memset(&c, 0, sizeof(c));
    int rc = parse_class_parts(p, i, &c, &neg);
    if (rc == 0)
        class_emit(p, &c, neg);
    free(c.fold.p);
    free(c.plain.p);
    return rc;
}

/* ---- the parser --------------------------------------------------------- */

/* Emits the PCRE2 caseless switch if Go's fold flag changed since. */
static void sync_fold(parser *p)
{
    uint8_t want = p->flags & F_FOLD;
    if (want != p->emit_fold) {
        sb_str(&p->out, want ? "(?i)" : "(?-i)");
        p->emit_fold = want;
    }
}

static void begin_atom(parser *p)
{
    sync_fold(p);
    p->atom_start = p->out.len;
}

static void end_atom(parser *p, bool is_assert, int64_t size, int64_t prod)
{
    group *g = p->ng ? &p->g[p->ng - 1] : &p->top;
    p->have_atom = true;
    p->atom_assert = is_assert;
    p->atom_repeated = false;
    p->atom_size = size;
    p->atom_prod = prod;
    g->seq_size += size;
}

static void literal(parser *p, uint32_t c)
{
    begin_atom(p);
    if (c >= 0xd800 && c <= 0xdfff) {
        sb_str(&p->out, "(?!)"); /* never in a subject */
    } else if (isalnum_ascii(c)) {
        char ch = (char)c;
        sb_put(&p->out, &ch, 1);
    } else {
        sb_cp(&p->out, c);
    }
    end_atom(p, false, 1, 1);
}

static int check_size(parser *p)
{
    int64_t total = p->top.seq_size;
    for (size_t k = 0; k < p->ng; k++)
        total += p->g[k].seq_size;
    if (total > GO_MAX_SIZE)
        return fail(p, E_LARGE, p->s, p->n);
    return 0;
}

/* A repetition operator spanning s[op_start..*after) (without the lazy ?). */
static int repeat(parser *p, size_t op_start, size_t *after, long min, long max, bool braces)
{
    bool lazy = false;
    if (*after < p->n && p->s[*after] == '?') {
        lazy = true;
        (*after)++;
    }
    if (p->last_repeat >= 0)
        return fail(p, E_REPEAT_OP, p->s + p->last_repeat, *after - (size_t)p->last_repeat);
    if (!p->have_atom)
        return fail(p, E_MISSING_ARG, p->s + op_start, *after - op_start);
    int64_t sub = p->atom_size, size, prod = p->atom_prod;
    if (braces) {
        long m = max < 0 ? min : max;
        if ((min >= 2 || max >= 2) && m > 0 && (int64_t)m * prod > GO_MAX_REPEAT)
            return fail(p, E_REPEAT_SIZE, p->s + op_start, *after - op_start);
        prod = m == 0 ? 1 : (int64_t)m * prod;
        if (max < 0)
            size = min == 0 ? 2 + sub : 1 + (int64_t)min * sub;
        else
            size = (int64_t)max * sub + (max - min);
    } else {
        size = (p->s[op_start] == '*' ? 2 : 1) + sub;
    }
    if (size < 1)
        size = 1;
    if (p->atom_assert || p->atom_repeated) {
        /* PCRE2 repeats neither assertions nor repetitions directly (a*+
         * would even mean something else). */
        sb_insert(&p->out, p->atom_start, "(?:");
        sb_str(&p->out, ")");
    }
    char q[48];
    if (!braces)
        snprintf(q, sizeof(q), "%c", p->s[op_start]);
    else if (max == min)
        snprintf(q, sizeof(q), "{%ld}", min);
    else if (max < 0)
        snprintf(q, sizeof(q), "{%ld,}", min);
    else
        snprintf(q, sizeof(q), "{%ld,%ld}", min, max);
    sb_str(&p->out, q);
    if (lazy != !!(p->flags & F_UNGREEDY))
        sb_str(&p->out, "?");
    group *g = p->ng ? &p->g[p->ng - 1] : &p->top;
    g->seq_size += size - p->atom_size;
    p->atom_size = size;
    p->atom_prod = prod;
    p->atom_assert = false;
    p->atom_repeated = true;
    p->last_repeat = (long)op_start;
    return check_size(p);
}

static int open_group(parser *p, bool capture)
{
    if (p->ng >= MAX_DEPTH)
        return fail(p, E_DEPTH, p->s, p->n);
    if (p->ng == p->gcap) {
        size_t cap = p->gcap ? p->gcap * 2 : 16;
        group *ng = realloc(p->g, cap * sizeof(*ng));
        if (!ng)
            return -ENOMEM;
        p->g = ng;
        p->gcap = cap;
    }
    sync_fold(p);
    group *g = &p->g[p->ng++];
    memset(g, 0, sizeof(*g));
    g->flags = p->flags;
    g->emit_fold = p->emit_fold;
    g->capture = capture;
    g->nalts = 1;
    g->prod = 1;
    g->out_start = p->out.len;
    sb_str(&p->out, "(?:");
    p->have_atom = false;
    return 0;
}

static void note_alt_prod(group *g, parser *p)
{
    if (p->have_atom && p->atom_prod > g->prod)
        g->prod = p->atom_prod;
}

/* Products of every item in the current sequence matter for an enclosing
 * repeat, not just the last one: track the max as items complete. */
static void seq_item_done(parser *p)
{
    group *g = p->ng ? &p->g[p->ng - 1] : &p->top;
    note_alt_prod(g, p);
}

static int close_group(parser *p)
{
    if (p->ng == 0)
        return fail(p, E_UNEXPECTED_PAREN, p->s, p->n);
    seq_item_done(p);
    group *g = &p->g[p->ng - 1];
    size_t out_start = g->out_start;
    int64_t inner = g->seq_size; /* all alternatives accumulate in seq_size */
    if (g->nalts > 1)
        inner += g->nalts - 1;
    if (g->capture)
        inner += 2;
    if (inner < 1)
        inner = 1;
    int64_t prod = g->prod;
    p->flags = g->flags;
    p->emit_fold = g->emit_fold; /* PCRE2 restores options at ')' too */
    p->ng--;
    sb_str(&p->out, ")");
    p->atom_start = out_start;
    end_atom(p, false, inner, prod);
    return check_size(p);
}

static int perl_flags(parser *p, size_t *i)
{
    size_t s = *i, t = s;
    int rc;
    if (p->n - t > 4 && p->s[t + 2] == 'P' && p->s[t + 3] == '<') {
        const char *end = memchr(p->s + t, '>', p->n - t);
        if (!end) {
            if ((rc = check_utf8(p, t, p->n)))
                return rc;
            return fail(p, E_NAMED, p->s + s, p->n - s);
        }
        size_t e = (size_t)(end - p->s);
        if ((rc = check_utf8(p, t + 4, e)))
            return rc;
        bool ok = e > t + 4;
        for (size_t k = t + 4; k < e; k++)
            if (p->s[k] != '_' && !isalnum_ascii((unsigned char)p->s[k]))
                ok = false;
        if (!ok)
            return fail(p, E_NAMED, p->s + t, e + 1 - t);
        *i = e + 1;
        return open_group(p, true);
    }
    t += 2;
    uint8_t flags = p->flags;
    int sign = 1;
    bool saw = false;
    uint32_t c;
    while (t < p->n) {
        if ((rc = next_rune(p, &t, &c)))
            return rc;
        uint8_t bit = 0;
        switch (c) {
        case 'i': bit = F_FOLD; break;
        case 'm': bit = F_MULTI; break;
        case 's': bit = F_DOTNL; break;
        case 'U': bit = F_UNGREEDY; break;
        case '-':
            if (sign < 0)
                goto bad;
            sign = -1;
            saw = false;
            continue;
        case ':':
        case ')':
            if (sign < 0 && !saw)
                goto bad;
            *i = t;
            if (c == ':') {
                /* the group saves the flags from before this change */
                if ((rc = open_group(p, false)))
                    return rc;
            }
            p->flags = flags;
            return 0;
        default:
            goto bad;
        }
        if (sign > 0)
            flags |= bit;
        else
            flags &= (uint8_t)~bit;
        saw = true;
    }
bad:
    return fail(p, E_PERL, p->s + s, t - s);
}

static int parse(parser *p)
{
    int rc;
    while (p->i < p->n) {
        long repeat_at = -1;
        size_t i = p->i;
        char ch = p->s[i];
        switch (ch) {
        case '(':
            seq_item_done(p);
            if (i + 1 < p->n && p->s[i + 1] == '?') {
                if ((rc = perl_flags(p, &p->i)))
                    return rc;
                break;
            }
            p->i++;
            if ((rc = open_group(p, true)))
                return rc;
            break;
        case '|': {
            seq_item_done(p);
            group *g = p->ng ? &p->g[p->ng - 1] : &p->top;
            g->nalts++;
            sb_str(&p->out, "|");
            p->have_atom = false;
            p->i++;
            break;
        }
        case ')':
            if ((rc = close_group(p)))
                return rc;
            p->i++;
            break;
        case '^':
            seq_item_done(p);
            begin_atom(p);
            sb_str(&p->out, (p->flags & F_MULTI) ? "(?<![^\\n])" : "\\A");
            end_atom(p, true, 1, 1);
            p->i++;
            break;
        case '$':
            seq_item_done(p);
            begin_atom(p);
            sb_str(&p->out, (p->flags & F_MULTI) ? "(?![^\\n])" : "\\z");
            end_atom(p, true, 1, 1);
            p->i++;
            break;
        case '.':
            seq_item_done(p);
            begin_atom(p);
            sb_str(&p->out, (p->flags & F_DOTNL) ? "(?s:.)" : "[^\\n]");
            end_atom(p, false, 1, 1);
            p->i++;
            break;
        case '[':
            seq_item_done(p);
            begin_atom(p);
            if ((rc = parse_class(p, &p->i)))
                return rc;
            end_atom(p, false, 1, 1);
            break;
        case '*':
        case '+':
        case '?': {
            size_t after = i + 1;
            if ((rc = repeat(p, i, &after, 0, 0, false)))
                return rc;
            repeat_at = (long)i;
            p->i = after;
            break;
        }
        case '{': {
            size_t after = i;
            long min, max;
            if (!parse_repeat(p, &after, &min, &max)) {
                seq_item_done(p);
                literal(p, '{');
                p->i++;
                break;
            }
            if (min < 0 || min > GO_MAX_REPEAT || max > GO_MAX_REPEAT || (max >= 0 && min > max))
                return fail(p, E_REPEAT_SIZE, p->s + i, after - i);
            if ((rc = repeat(p, i, &after, min, max, true)))
                return rc;
            repeat_at = (long)i;
            p->i = after;
            break;
        }
        case '\\': {
            seq_item_done(p);
            if (i + 1 < p->n) {
                const char *as = NULL;
                switch (p->s[i + 1]) {
                case 'A': as = "\\A"; break;
                case 'z': as = "\\z"; break;
                case 'b': as = "\\b"; break;
                case 'B': as = "\\B"; break;
                case 'C':
                    return fail(p, E_ESCAPE, p->s + i, 2);
                case 'Q': {
                    size_t j = i + 2, end = p->n, next = p->n;
                    for (size_t k = j; k + 1 < p->n; k++)
                        if (p->s[k] == '\\' && p->s[k + 1] == 'E') {
                            end = k;
                            next = k + 2;
                            break;
                        }
                    while (j < end) {
                        uint32_t c;
                        size_t jj = j;
                        /* decode within the literal only */
                        size_t save_n = p->n;
                        p->n = end;
                        rc = next_rune(p, &jj, &c);
                        p->n = save_n;
                        if (rc) {
                            /* Go reports the rest of the literal text */
                            return fail(p, E_UTF8, p->s + j, end - j);
                        }
                        seq_item_done(p);
                        literal(p, c);
                        j = jj;
                    }
                    p->i = next;
                    goto next_token;
                }
                }
                if (as) {
                    begin_atom(p);
                    sb_str(&p->out, as);
                    end_atom(p, true, 1, 1);
                    p->i += 2;
                    break;
                }
                if (p->s[i + 1] == 'p' || p->s[i + 1] == 'P') {
                    begin_atom(p);
                    if ((rc = parse_unicode_class(p, &p->i, false, NULL)))
                        return rc;
                    end_atom(p, false, 1, 1);
                    break;
                }
                labels__rset s;
                if (perl_group_at(p, i, &s)) {
                    begin_atom(p);
                    /* already folded as Go does: spare PCRE2 the work */
                    bool fold = p->flags & F_FOLD;
                    sb_str(&p->out, fold ? "(?-i:[" : "[");
                    emit_rset(&p->out, &s);
                    sb_str(&p->out, fold ? "])" : "]");
                    end_atom(p, false, 1, 1);
                    p->i += 2;
                    break;
                }
            }
            uint32_t c;
            if ((rc = parse_escape(p, &p->i, &c)))
                return rc;
            literal(p, c);
            break;
        }
        default: {
            seq_item_done(p);
            uint32_t c;
            if ((rc = next_rune(p, &p->i, &c)))
                return rc;
            literal(p, c);
            break;
        }
        }
    next_token:
        p->last_repeat = repeat_at;
        if (p->out.oom)
            return -ENOMEM;
    }
    if (p->ng)
        return fail(p, E_PAREN, p->s, p->n);
    return 0;
}

int labels__re_translate(const char *re, size_t len, char **out, size_t *outlen,
                         char *err, size_t errlen)
{
    parser p;
    memset(&p, 0, sizeof(p));
    p.s = re;
    p.n = len;
    p.err = err;
    p.errlen = errlen;
    p.last_repeat = -1;
    p.top.nalts = 1;
    p.top.prod = 1;
    p.out.off = out == NULL;
    if (errlen)
        err[0] = '\0';
    int rc = parse(&p);
    free(p.g);
    if (rc == 0 && p.out.oom)
        rc = -ENOMEM;
    if (rc || !out) {
        free(p.out.p);
        return rc;
    }
    if (!p.out.p) {
        p.out.p = strdup("");
        if (!p.out.p)
            return -ENOMEM;
    }
    *out = p.out.p;
    if (outlen)
        *outlen = p.out.len;
    return 0;
}
