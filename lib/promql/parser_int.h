/* Private header of the PromQL parser (lexer, parser, checker, printer).
 * Not installed; nothing here is part of the public API. Not thread-safe
 * per object (a lexer/parser belongs to one call). */
#ifndef PROMQL_PARSER_INT_H
#define PROMQL_PARSER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/ast.h"
#include "promql/parse.h"

/* Token types; groups mirror Prometheus' item types so error texts match. */
typedef enum pqp_tok {
    T_EOF = 0,
    T_ERROR,
    T_COMMENT,
    T_IDENT,
    T_METRIC_IDENT,
    T_NUMBER,
    T_STRING,
    T_DURATION,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_COMMA,
    T_EQL, /* = */
    T_COLON,
    /* operators */
    T_OPS_START,
    T_ADD,
    T_SUB,
    T_MUL,
    T_DIV,
    T_MOD,
    T_POW,
    T_EQLC, /* == */
    T_NEQ,
    T_LSS,
    T_LTE,
    T_GTR,
    T_GTE,
    T_EQL_REGEX,
    T_NEQ_REGEX,
    T_AT,
    T_LAND,
    T_LOR,
    T_LUNLESS,
    T_ATAN2,
    T_OPS_END,
    /* aggregators */
    T_AGG_START,
    T_SUM,
    T_AVG,
    T_COUNT,
    T_MIN,
    T_MAX,
    T_GROUP,
    T_STDDEV,
    T_STDVAR,
    T_TOPK,
    T_BOTTOMK,
    T_COUNT_VALUES,
    T_QUANTILE,
    T_AGG_END,
    /* keywords */
    T_KW_START,
    T_BOOL,
    T_BY,
    T_GROUP_LEFT,
    T_GROUP_RIGHT,
    T_IGNORING,
    T_OFFSET,
    T_ON,
    T_WITHOUT,
    T_KW_END,
    /* preprocessors */
    T_START,
    T_END,
} pqp_tok;

typedef struct pqp_token {
    pqp_tok type;
    size_t pos; /* byte offset of the token text */
    size_t len; /* length of the token text */
} pqp_token;

typedef struct pqp_lexer {
    const char *in;
    size_t len;
    size_t pos;   /* next byte to read */
    size_t start; /* start of the token being lexed */
    size_t width; /* width of the last rune read (for backup) */
    int paren_depth;
    bool brace_open;
    bool bracket_open;
    bool got_colon;
    bool want_duration; /* right after '[' */
    bool done;          /* an error or EOF was produced */
    char err[256];      /* message of the last T_ERROR */
} pqp_lexer;

void pqp_lex_init(pqp_lexer *lx, const char *in, size_t len);
/* Next token, comments skipped. After T_ERROR or T_EOF, returns T_EOF. */
void pqp_lex_next(pqp_lexer *lx, pqp_token *t);
/* Lexes inside braces only (series descriptions reuse it). */
void pqp_lex_enter_braces(pqp_lexer *lx);

/* Growable string; on allocation failure `oom` is set and appends become
 * no-ops, so callers check once at the end. */
typedef struct pqp_buf {
    char *s;
    size_t len, cap;
    bool oom;
    size_t limit; /* > 0: stop appending once len exceeds it (length probes) */
} pqp_buf;

void pqp_buf_add(pqp_buf *b, const char *s, size_t n);
void pqp_buf_adds(pqp_buf *b, const char *s);
void pqp_buf_addc(pqp_buf *b, char c);
void pqp_buf_printf(pqp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Go's %q of a byte string (strconv.Quote); max_runes > 0 truncates like
 * %.Nq. */
void pqp_buf_go_quote(pqp_buf *b, const char *s, size_t n, int max_runes);
/* Go's %q of one rune ('c', '\x00', ...). */
void pqp_buf_go_quote_rune(pqp_buf *b, uint32_t r);
/* Go's fmt.Sprint(float64). */
void pqp_buf_go_float(pqp_buf *b, double v);
/* Go's %f (used in @ bound errors). */
void pqp_buf_go_float_f(pqp_buf *b, double v);

/* Decodes one UTF-8 rune like Go's utf8.DecodeRune: returns the rune and
 * its width (>= 1 when n > 0); invalid input gives 0xFFFD width 1. */
uint32_t pqp_utf8_decode(const unsigned char *s, size_t n, size_t *width);
/* Go's strconv.IsPrint (table in parser_unicode.c). */
bool pqp_rune_printable(uint32_t r);
/* Appends r as UTF-8 (invalid runes as U+FFFD). */
void pqp_buf_utf8(pqp_buf *b, uint32_t r);

/* Prometheus' parseNumber (strconv.ParseInt(s, 0, 64) then ParseFloat).
 * Returns 0, or -1 with a message in err. */
int pqp_parse_number(const char *s, size_t n, double *out, char *err, size_t errlen);

/* Describes a token as Prometheus' Item.desc() does: `identifier "foo"`,
 * `<op:+>`, `end of input`, ... */
void pqp_token_desc(const char *in, const pqp_token *t, pqp_buf *b);

/* Parser state shared by the parser_*.c files. */
typedef struct pqp_parser {
    pqp_lexer lx;
    pqp_token tok;  /* current (lookahead) token */
    bool failed;   /* an error was recorded: unwind */
    bool oom;
    promql_parse_error *err;
    int agg_depth; /* inside an aggregation body: "in aggregation" context */
    size_t last_depth; /* height of the subtree the last parse function built */
    size_t rec;        /* recursion depth of parse_unary */
} pqp_parser;

void pqp_next(pqp_parser *p);
/* Records the first error (later ones are ignored). */
void pqp_error(pqp_parser *p, size_t start, size_t end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "unexpected <tok> [in ctx][, expected exp]" at the current token;
 * lexer errors are reported as themselves. */
void pqp_unexpected(pqp_parser *p, const char *ctx, const char *expected);
void pqp_oom(pqp_parser *p);
bool pqp_is_word_token(pqp_tok t); /* identifiers, keywords, aggregators, ... */

/* Node allocation (ast.c). */
promql_node *pqp_node_new(promql_node_kind kind, size_t start, size_t end);
/* Frees a vector matching (ast.c). */
void pqp_matching_free(promql_vector_matching *m);
void pqp_strv_free(char **v, size_t n);

/* parser_selector.c */
/* Parses `{...}` at the current '{' token into matchers appended to *ms. */
int pqp_parse_label_matchers(pqp_parser *p, promql_matcher **ms, size_t *n, size_t *end);
/* Builds a vector selector node; name may be NULL. Takes ownership of ms. */
promql_node *pqp_vector_selector(pqp_parser *p, const char *name, size_t name_len,
                                promql_matcher *ms, size_t n, size_t start, size_t end);
void pqp_matchers_free(promql_matcher *ms, size_t n);
/* True when the matcher matches the empty string (regexes compiled). */
bool pqp_matcher_matches_empty(const promql_matcher *m);
/* Unquotes a string token; records the error in p. NULL on error. */
char *pqp_unquote_token(pqp_parser *p, const pqp_token *t, size_t *out_len);

/* parser.c: records the height of the subtree just built (refuses more
 * than PROMQL_MAX_DEPTH). */
bool pqp_set_depth(pqp_parser *p, size_t d, size_t pos);

/* parser_postfix.c: applies the ranges, subqueries, offsets and @ that
 * follow e. Takes ownership of e; returns the modified or wrapping node, or
 * NULL (e freed) on error. */
promql_node *pqp_parse_postfix(pqp_parser *p, promql_node *e);

/* parser_print.c: pieces shared with the pretty printer. */
void pqp_print(pqp_buf *b, const promql_node *n);                 /* n as one line */
void pqp_print_binop(pqp_buf *b, const promql_node *n);           /* "op bool on (..)" */
void pqp_print_agg_head(pqp_buf *b, const promql_node *n);        /* "sum by (..) " */
void pqp_print_subquery_suffix(pqp_buf *b, const promql_node *n); /* "[5m:1m] @ .." */

/* parser_check.c: Prometheus' checkAST. Returns 0 or -1 (error in p). */
int pqp_check(pqp_parser *p, promql_node *root);

#endif /* PROMQL_PARSER_INT_H */
