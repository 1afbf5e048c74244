/*
 * Label matchers with the semantics of Prometheus 2.42's labels.Matcher.
 *
 * Regexes: the pattern is checked and translated with Go's rules
 * (re2pcre.c), both wrapped as Prometheus compiles it ("^(?:" re ")$", so
 * error texts match Prometheus) and bare (Prometheus parses it bare too).
 * Most real patterns take a fast path that needs no regex engine: literal,
 * set of literals a|b|c, .*, .+, foo.*, .*foo, .*foo.*; the rest runs on
 * PCRE2 (JIT) anchored at both ends.
 *
 * Go matches invalid UTF-8 bytes as U+FFFD; so do we, by rewriting such
 * subjects before PCRE2 sees them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "internal.h"
#include "labels/labels.h"

enum kind {
    K_EQ,       /* value equals (=, =~ literal); for sets of one */
    K_SET,      /* value in vals (=~ a|b|c) */
    K_ANY,      /* .*: any value without \n */
    K_NONEMPTY, /* .+: non-empty, without \n */
    K_PREFIX,   /* foo.*: prefix, rest without \n */
    K_SUFFIX,   /* .*foo: suffix, rest without \n */
    K_CONTAINS, /* .*foo.*: contains foo (without \n), no \n at all */
    K_PCRE,
};

struct labels_matcher {
    labels_match_type type;
    enum kind kind;
    bool negate;
    bool matches_empty;
    char *name;
    char *value;
    uint32_t name_len, value_len;
    /* K_EQ, K_SET (sorted by length then bytes, unique), K_PREFIX (one) */
    uint32_t nvals;
    char **vals;
    uint32_t *lens;
    pcre2_code *code;
};

/* ---- per-thread match data ---------------------------------------------- */

static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static bool md_key_ok;
static __thread pcre2_match_data *tl_md;

static void md_destroy(void *md)
{
    pcre2_match_data_free(md);
}

static void md_key_init(void)
{
    md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

/* When the library is unloaded (plugin dlclose) the key's destructor would
 * point into unmapped code, so delete the key; free this thread's data so
 * the leak checker stays quiet at exit. */
__attribute__((destructor)) static void md_fini(void)
{
    if (md_key_ok) {
        pthread_key_delete(md_key);
        md_key_ok = false;
    }
    if (tl_md) {
        pcre2_match_data_free(tl_md);
        tl_md = NULL;
    }
}

static pcre2_match_data *thread_md(void)
{
    if (tl_md)
        return tl_md;
    pthread_once(&md_once, md_key_init);
    tl_md = pcre2_match_data_create(1, NULL);
    if (tl_md && md_key_ok)
        pthread_setspecific(md_key, tl_md);
    return tl_md;
}

/* ---- matching ------------------------------------------------------------ */

static bool has_nl(const char *v, size_t len)
{
    return len && memchr(v, '\n', len) != NULL;
}

static int val_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return alen ? memcmp(a, b, alen) : 0;
}

static bool in_set(const labels_matcher *m, const char *v, size_t len)
{
    size_t lo = 0, hi = m->nvals;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = val_cmp(m->vals[mid], m->lens[mid], v, len);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Copies v with each invalid UTF-8 byte replaced by U+FFFD, as Go's decoder
 * reads it. */
static size_t sanitize(const char *v, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)v;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = labels__utf8_seq(p + i, len - i);
        if (k) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    return o;
}

static bool pcre_match(const labels_matcher *m, const char *v, size_t len)
{
    pcre2_match_data *md = thread_md();
    if (!md)
        return false;
    char stack[512];
    char *heap = NULL;
    const char *subj = v;
    size_t slen = len;
    if (!labels_valid_utf8(v, len)) {
        char *buf = stack;
        if (len > sizeof(stack) / 3) {
            heap = len < SIZE_MAX / 3 ? malloc(len * 3) : NULL;
            buf = heap;
        }
        if (buf) {
            slen = sanitize(v, len, buf);
            subj = buf;
        }
        /* else: PCRE2_MATCH_INVALID_UTF keeps the raw subject safe */
    }
    int rc = pcre2_match(m->code, (PCRE2_SPTR)(subj ? subj : ""), slen, 0, 0, md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(m->code, (PCRE2_SPTR)(subj ? subj : ""), slen, 0, PCRE2_NO_JIT, md, NULL);
    free(heap);
    /* Errors (match or heap limits on pathological patterns) count as no
     * match: Go never fails here, but an answer must be given. */
    return rc >= 0;
}

static bool raw_matches(const labels_matcher *m, const char *v, size_t len)
{
    switch (m->kind) {
    case K_EQ:
        return m->lens[0] == len && (len == 0 || memcmp(m->vals[0], v, len) == 0);
    case K_SET:
        return in_set(m, v, len);
    case K_ANY:
        return !has_nl(v, len);
    case K_NONEMPTY:
        return len > 0 && !has_nl(v, len);
    case K_PREFIX:
        return len >= m->lens[0] && memcmp(v, m->vals[0], m->lens[0]) == 0 &&
               !has_nl(v + m->lens[0], len - m->lens[0]);
    case K_SUFFIX:
        return len >= m->lens[0] &&
               memcmp(v + len - m->lens[0], m->vals[0], m->lens[0]) == 0 &&
               !has_nl(v, len - m->lens[0]);
    case K_CONTAINS:
        return !has_nl(v, len) &&
               (m->lens[0] == 0 || memmem(v, len, m->vals[0], m->lens[0]) != NULL);
    case K_PCRE:
        return pcre_match(m, v, len);
    }
    return false;
}

bool labels_matcher_matches(const labels_matcher *m, const char *value, size_t len)
{
    if (!value)
        len = 0;
    return raw_matches(m, value ? value : "", len) != m->negate;
}

bool labels_matcher_matches_empty(const labels_matcher *m)
{
    return m->matches_empty;
}

/* ---- fast-path analysis -------------------------------------------------- */

static bool is_meta(unsigned char c)
{
    return strchr("\\.+*?()|[]{}^$", c) != NULL && c != '\0';
}

/* Reads a literal from s[*i..n) up to '|' or the end; escaped ASCII
 * punctuation counts as literal. Writes the bytes to out (room for n). */
static bool read_literal(const char *s, size_t n, size_t *i, char *out, size_t *olen)
{
    size_t j = *i, o = 0;
    while (j < n && s[j] != '|') {
        unsigned char c = (unsigned char)s[j];
        if (c == '\\') {
            if (j + 1 >= n)
                return false;
            unsigned char e = (unsigned char)s[j + 1];
            if (e >= 0x80 || (e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') ||
                (e >= 'A' && e <= 'Z'))
                return false;
            out[o++] = (char)e;
            j += 2;
            continue;
        }
        if (is_meta(c))
            return false;
        out[o++] = (char)c;
        j++;
    }
    /* A literal U+FFFD would also match invalid bytes in Go: keep those on
     * the general path. */
    for (size_t k = 0; k + 2 < o; k++)
        if ((unsigned char)out[k] == 0xef && (unsigned char)out[k + 1] == 0xbf &&
            (unsigned char)out[k + 2] == 0xbd)
            return false;
    *i = j;
    *olen = o;
    return true;
}

static int add_val(labels_matcher *m, const char *v, size_t len, size_t *cap)
{
    if (m->nvals == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        char **nv = realloc(m->vals, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        m->vals = nv;
        uint32_t *nl = realloc(m->lens, nc * sizeof(*nl));
        if (!nl)
            return -ENOMEM;
        m->lens = nl;
        *cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -ENOMEM;
    if (len)
        memcpy(c, v, len);
    c[len] = '\0';
    m->vals[m->nvals] = c;
    m->lens[m->nvals] = (uint32_t)len;
    m->nvals++;
    return 0;
}

static int sort_vals_cmp(const void *a, const void *b)
{
    const struct { char *v; uint32_t l; } *x = a, *y = b;
    return val_cmp(x->v, x->l, y->v, y->l);
}

static int sort_unique(labels_matcher *m)
{
    struct vl { char *v; uint32_t l; } *t = malloc(m->nvals * sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (uint32_t k = 0; k < m->nvals; k++) {
        t[k].v = m->vals[k];
        t[k].l = m->lens[k];
    }
    qsort(t, m->nvals, sizeof(*t), sort_vals_cmp);
    uint32_t w = 0;
    for (uint32_t k = 0; k < m->nvals; k++) {
        if (w && val_cmp(t[w - 1].v, t[w - 1].l, t[k].v, t[k].l) == 0) {
            free(t[k].v);
            continue;
        }
        t[w++] = t[k];
    }
    for (uint32_t k = 0; k < w; k++) {
        m->vals[k] = t[k].v;
        m->lens[k] = t[k].l;
    }
    m->nvals = w;
    free(t);
    return 0;
}

/* Returns 1 when a fast path was set up, 0 when PCRE2 is needed. */
static int analyze(labels_matcher *m, const char *re, size_t n)
{
    /* One outer group, as in (a|b) or (?:a|b), changes nothing. */
    if (n >= 2 && re[0] == '(' && re[n - 1] == ')') {
        size_t skip = (n >= 4 && re[1] == '?' && re[2] == ':') ? 3 : 1;
        if (skip == 3 || re[1] != '?') {
            re += skip;
            n -= skip + 1;
        }
    }
    if (n == 2 && re[0] == '.' && re[1] == '*') {
        m->kind = K_ANY;
        return 1;
    }
    if (n == 2 && re[0] == '.' && re[1] == '+') {
        m->kind = K_NONEMPTY;
        return 1;
    }
    char *buf = malloc(n + 1);
    if (!buf)
        return -ENOMEM;
    size_t cap = 0, i = 0, len;
    int rc = 0;
    bool lead = n >= 2 && re[0] == '.' && re[1] == '*';
    bool trail = n >= 2 && re[n - 2] == '.' && re[n - 1] == '*';
    if (lead || trail) {
        /* .*foo.*, .*foo, foo.* with a literal foo */
        size_t from = lead ? 2 : 0, to = n;
        enum kind k = K_PREFIX;
        if (lead && trail && n >= 4) {
            to = n - 2;
            k = K_CONTAINS;
        } else if (lead) {
            k = K_SUFFIX;
        } else {
            to = n - 2;
        }
        i = from;
        if (read_literal(re, to, &i, buf, &len) && i == to &&
            !(k == K_CONTAINS && memchr(buf, '\n', len))) {
            if ((rc = add_val(m, buf, len, &cap)) == 0) {
                m->kind = k;
                rc = 1;
            }
        }
        free(buf); /* rc 0 for .*a|b and the like: PCRE2 */
        return rc;
    }
    for (;;) {
        if (!read_literal(re, n, &i, buf, &len))
            break;
        if ((rc = add_val(m, buf, len, &cap)))
            break;
        if (i == n) {
            rc = sort_unique(m);
            if (rc == 0) {
                m->kind = m->nvals == 1 ? K_EQ : K_SET;
                rc = 1;
            }
            break;
        }
        i++; /* '|' */
    }
    free(buf);
    if (rc <= 0) {
        for (uint32_t k = 0; k < m->nvals; k++)
            free(m->vals[k]);
        m->nvals = 0;
    }
    return rc;
}

/* ---- construction -------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
}

static int compile_regex(labels_matcher *m, const char *re, size_t n, char *err, size_t errlen)
{
    /* Prometheus compiles "^(?:" + re + ")$" first: report its errors. */
    char *wrapped = malloc(n + 7);
    if (!wrapped)
        return -ENOMEM;
    memcpy(wrapped, "^(?:", 4);
    if (n)
        memcpy(wrapped + 4, re, n);
    memcpy(wrapped + 4 + n, ")$", 3);
    int rc = labels__re_translate(wrapped, n + 6, NULL, NULL, err, errlen);
    free(wrapped);
    if (rc)
        return rc;
    char *pat = NULL;
    size_t patlen = 0;
    if ((rc = labels__re_translate(re, n, &pat, &patlen, err, errlen)))
        return rc;
    rc = analyze(m, re, n);
    if (rc != 0) {
        free(pat);
        return rc < 0 ? rc : 0;
    }
    int ec;
    PCRE2_SIZE eo;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        free(pat);
        return -ENOMEM;
    }
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    m->code = pcre2_compile((PCRE2_SPTR)pat, patlen,
                            PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_ANCHORED |
                                PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                            &ec, &eo, cc);
    pcre2_compile_context_free(cc);
    free(pat);
    if (!m->code) {
        if (ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_HEAP_FAILED)
            return -ENOMEM;
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", ec);
        if (errlen)
            snprintf(err, errlen, "error parsing regexp: %s: \"%.*s\"", (char *)msg, (int)n, re);
        return -EINVAL;
    }
    /* Without JIT (not built in, or out of executable memory) the
     * interpreter gives the same answers, only slower. */
    (void)pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE);
    m->kind = K_PCRE;
    return 0;
}

int labels_matcher_new(labels_match_type type, const char *name, size_t name_len,
                       const char *value, size_t value_len, labels_matcher **out,
                       char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (type > LABELS_MATCH_NRE) {
        set_err(err, errlen, "invalid matcher type");
        return -EINVAL;
    }
    if (name_len > UINT32_MAX || value_len > UINT32_MAX) {
        set_err(err, errlen, "label name or value too long");
        return -EINVAL;
    }
    labels_matcher *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->type = type;
    m->negate = type == LABELS_MATCH_NEQ || type == LABELS_MATCH_NRE;
    m->name = malloc(name_len + 1);
    m->value = malloc(value_len + 1);
    int rc = 0;
    if (!m->name || !m->value) {
        rc = -ENOMEM;
        goto fail;
    }
    if (name_len)
        memcpy(m->name, name, name_len);
    m->name[name_len] = '\0';
    if (value_len)
        memcpy(m->value, value, value_len);
    m->value[value_len] = '\0';
    m->value_len = (uint32_t)value_len;
    m->name_len = (uint32_t)name_len;

    if (type == LABELS_MATCH_EQ || type == LABELS_MATCH_NEQ) {
        size_t cap = 0;
        if ((rc = add_val(m, value, value_len, &cap)))
            goto fail;
        m->kind = K_EQ;
    } else if ((rc = compile_regex(m, value, value_len, err, errlen))) {
        goto fail;
    }
    m->matches_empty = labels_matcher_matches(m, "", 0);
    *out = m;
    return 0;
fail:
    labels_matcher_free(m);
    if (rc == -ENOMEM)
        set_err(err, errlen, "out of memory");
    return rc;
}

void labels_matcher_free(labels_matcher *m)
{
    if (!m)
        return;
    for (uint32_t k = 0; k < m->nvals; k++)
        free(m->vals[k]);
    free(m->vals);
    free(m->lens);
    pcre2_code_free(m->code);
    free(m->name);
    free(m->value);
    free(m);
}

labels_match_type labels_matcher_type(const labels_matcher *m)
{
    return m->type;
}

const char *labels_matcher_name(const labels_matcher *m)
{
    return m->name;
}

const char *labels_matcher_value(const labels_matcher *m)
{
    return m->value;
}

int labels_matcher_set_values(const labels_matcher *m, const char *const **vals,
                              const uint32_t **lens)
{
    if (m->negate || (m->kind != K_EQ && m->kind != K_SET))
        return -1;
    *vals = (const char *const *)m->vals;
    *lens = m->lens;
    return (int)m->nvals;
}

bool labels_matches(const labels_matcher *const *ms, size_t nm, const labels_label *ls, size_t n)
{
    for (size_t i = 0; i < nm; i++) {
        const labels_label *l = labels_get(ls, n, ms[i]->name, ms[i]->name_len);
        bool ok = l ? labels_matcher_matches(ms[i], l->value, l->value_len)
                    : ms[i]->matches_empty;
        if (!ok)
            return false;
    }
    return true;
}

size_t labels_matcher_format(const labels_matcher *m, char *buf, size_t len)
{
    static const char *const ops[] = { "=", "!=", "=~", "!~" };
    size_t pos = 0;
    labels__put(buf, len, &pos, m->name, m->name_len);
    labels__put(buf, len, &pos, ops[m->type], strlen(ops[m->type]));
    labels__put(buf, len, &pos, "\"", 1);
    labels__quote(buf, len, &pos, m->value, m->value_len);
    labels__put(buf, len, &pos, "\"", 1);
    if (len)
        buf[pos < len ? pos : len - 1] = '\0';
    return pos;
}
