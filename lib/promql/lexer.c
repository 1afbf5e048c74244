/* PromQL lexer. Follows the states of Prometheus' lex.go (statements,
 * inside braces, duration after '[', strings) so that tokens, positions and
 * error texts are the same as Prometheus 2.42. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser_int.h"

#define LEOF (-1)

static const struct {
    const char *word;
    pqp_tok type;
} keywords[] = {
    {"and", T_LAND},           {"or", T_LOR},
    {"unless", T_LUNLESS},     {"atan2", T_ATAN2},
    {"sum", T_SUM},            {"avg", T_AVG},
    {"count", T_COUNT},        {"min", T_MIN},
    {"max", T_MAX},            {"group", T_GROUP},
    {"stddev", T_STDDEV},      {"stdvar", T_STDVAR},
    {"topk", T_TOPK},          {"bottomk", T_BOTTOMK},
    {"count_values", T_COUNT_VALUES}, {"quantile", T_QUANTILE},
    {"offset", T_OFFSET},      {"by", T_BY},
    {"without", T_WITHOUT},    {"on", T_ON},
    {"ignoring", T_IGNORING},  {"group_left", T_GROUP_LEFT},
    {"group_right", T_GROUP_RIGHT}, {"bool", T_BOOL},
    {"start", T_START},        {"end", T_END},
    {"inf", T_NUMBER},         {"nan", T_NUMBER},
};

void pqp_lex_init(pqp_lexer *lx, const char *in, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->in = in;
    lx->len = len;
}

void pqp_lex_enter_braces(pqp_lexer *lx)
{
    lx->brace_open = true;
}

static bool is_space(int r)
{
    return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_alpha(int r)
{
    return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_digit(int r)
{
    return r >= '0' && r <= '9';
}

static bool is_alnum(int r)
{
    return is_alpha(r) || is_digit(r);
}

static int next(pqp_lexer *lx)
{
    if (lx->pos >= lx->len) {
        lx->width = 0;
        return LEOF;
    }
    size_t w;
    uint32_t r = pqp_utf8_decode((const unsigned char *)lx->in + lx->pos, lx->len - lx->pos, &w);
    lx->width = w;
    lx->pos += w;
    return (int)r;
}

static void backup(pqp_lexer *lx)
{
    lx->pos -= lx->width;
}

static int peek(pqp_lexer *lx)
{
    int r = next(lx);
    backup(lx);
    return r;
}

static bool accept(pqp_lexer *lx, const char *valid)
{
    int r = next(lx);
    if (r > 0 && r < 128 && strchr(valid, r))
        return true;
    backup(lx);
    return false;
}

static void accept_run(pqp_lexer *lx, const char *valid)
{
    while (accept(lx, valid)) {
    }
}

static void emit(pqp_lexer *lx, pqp_token *t, pqp_tok type)
{
    t->type = type;
    t->pos = lx->start;
    t->len = lx->pos - lx->start;
    lx->start = lx->pos;
}

static void lex_error(pqp_lexer *lx, pqp_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void lex_error(pqp_lexer *lx, pqp_token *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err, sizeof lx->err, fmt, ap);
    va_end(ap);
    t->type = T_ERROR;
    t->pos = lx->start;
    t->len = lx->len - lx->start;
    lx->done = true;
}

/* Error whose text ends in a Go-quoted rune, e.g. `unexpected character: '.'`. */
static void lex_error_rune(pqp_lexer *lx, pqp_token *t, const char *prefix, int r)
{
    pqp_buf b = {0};
    pqp_buf_adds(&b, prefix);
    pqp_buf_go_quote_rune(&b, r < 0 ? 0xFFFD : (uint32_t)r);
    lex_error(lx, t, "%s", b.s ? b.s : prefix);
    free(b.s);
}

/* Go's %q of input[start:pos]. */
static void lex_error_text(pqp_lexer *lx, pqp_token *t, const char *prefix)
{
    pqp_buf b = {0};
    pqp_buf_adds(&b, prefix);
    pqp_buf_go_quote(&b, lx->in + lx->start, lx->pos - lx->start, 0);
    lex_error(lx, t, "%s", b.s ? b.s : prefix);
    free(b.s);
}

/* Go's %#U: U+0063 'c' (the character only when printable). */
static void fmt_sharp_u(char *buf, size_t n, int r)
{
    uint32_t u = r < 0 ? 0xFFFD : (uint32_t)r;
    pqp_buf b = {0};
    pqp_buf_utf8(&b, u);
    if (b.s && pqp_rune_printable(u))
        snprintf(buf, n, "U+%04X '%s'", (unsigned)u, b.s);
    else
        snprintf(buf, n, "U+%04X", (unsigned)u);
    free(b.s);
}

static bool scan_number(pqp_lexer *lx)
{
    const char *digits = "0123456789";
    if (accept(lx, "0") && accept(lx, "xX"))
        digits = "0123456789abcdefABCDEF";
    accept_run(lx, digits);
    if (accept(lx, "."))
        accept_run(lx, digits);
    if (accept(lx, "eE")) {
        accept(lx, "+-");
        accept_run(lx, "0123456789");
    }
    return !is_alnum(peek(lx));
}

static bool accept_remaining_duration(pqp_lexer *lx)
{
    if (!accept(lx, "smhdwy"))
        return false;
    accept(lx, "s"); /* ms */
    while (accept(lx, "0123456789")) {
        accept_run(lx, "0123456789");
        if (!accept(lx, "smhdw"))
            return false;
        accept(lx, "s");
    }
    return !is_alnum(next(lx));
}

static void lex_number_or_duration(pqp_lexer *lx, pqp_token *t)
{
    if (scan_number(lx)) {
        emit(lx, t, T_NUMBER);
        return;
    }
    if (accept_remaining_duration(lx)) {
        backup(lx);
        emit(lx, t, T_DURATION);
        return;
    }
    lex_error_text(lx, t, "bad number or duration syntax: ");
}

static void lex_duration(pqp_lexer *lx, pqp_token *t)
{
    if (scan_number(lx)) {
        lex_error(lx, t, "missing unit character in duration");
        return;
    }
    if (!accept_remaining_duration(lx)) {
        lex_error_text(lx, t, "bad duration syntax: ");
        return;
    }
    backup(lx);
    emit(lx, t, T_DURATION);
}

static int digit_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 16;
}

/* After a backslash inside a quoted string. Returns false on error. */
static bool lex_escape(pqp_lexer *lx, pqp_token *t, int quote)
{
    int n;
    uint32_t base, max;
    int ch = next(lx);
    char u[64];
    switch (ch) {
    case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
        return true;
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        n = 3, base = 8, max = 255;
        break;
    case 'x':
        ch = next(lx);
        n = 2, base = 16, max = 255;
        break;
    case 'u':
        ch = next(lx);
        n = 4, base = 16, max = 0x10FFFF;
        break;
    case 'U':
        ch = next(lx);
        n = 8, base = 16, max = 0x10FFFF;
        break;
    case LEOF:
        lex_error(lx, t, "escape sequence not terminated");
        return false;
    default:
        if (ch == quote)
            return true;
        fmt_sharp_u(u, sizeof u, ch);
        lex_error(lx, t, "unknown escape sequence %s", u);
        return false;
    }
    uint32_t x = 0;
    while (n > 0) {
        uint32_t d = ch < 0 ? 16 : (uint32_t)digit_val(ch);
        if (d >= base) {
            if (ch == LEOF) {
                lex_error(lx, t, "escape sequence not terminated");
                return false;
            }
            fmt_sharp_u(u, sizeof u, ch);
            lex_error(lx, t, "illegal character %s in escape sequence", u);
            return false;
        }
        x = x * base + d;
        n--;
        if (n > 0)
            ch = next(lx);
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
        lex_error(lx, t, "escape sequence is an invalid Unicode code point");
        return false;
    }
    return true;
}

static void lex_string(pqp_lexer *lx, pqp_token *t, int quote)
{
    for (;;) {
        int r = next(lx);
        if (r == '\\') {
            if (!lex_escape(lx, t, quote))
                return;
        } else if (r == 0xFFFD) {
            /* Go's utf8.RuneError check also trips on a literal U+FFFD. */
            lex_error(lx, t, "invalid UTF-8 rune");
            return;
        } else if (r == LEOF || r == '\n') {
            lex_error(lx, t, "unterminated quoted string");
            return;
        } else if (r == quote) {
            break;
        }
    }
    emit(lx, t, T_STRING);
}

static void lex_raw_string(pqp_lexer *lx, pqp_token *t)
{
    for (;;) {
        int r = next(lx);
        if (r == 0xFFFD) {
            lex_error(lx, t, "invalid UTF-8 rune");
            return;
        } else if (r == LEOF) {
            lex_error(lx, t, "unterminated raw string");
            return;
        } else if (r == '`') {
            break;
        }
    }
    emit(lx, t, T_STRING);
}

static void lex_comment(pqp_lexer *lx, pqp_token *t)
{
    lx->pos++; /* '#' */
    while (lx->pos < lx->len && lx->in[lx->pos] != '\n' && lx->in[lx->pos] != '\r')
        lx->pos++;
    emit(lx, t, T_COMMENT);
}

static void lex_keyword_or_identifier(pqp_lexer *lx, pqp_token *t)
{
    for (;;) {
        int r = next(lx);
        if (!(is_alnum(r) || r == ':')) {
            backup(lx);
            break;
        }
    }
    const char *w = lx->in + lx->start;
    size_t n = lx->pos - lx->start;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strlen(keywords[i].word) == n && !strncasecmp(keywords[i].word, w, n)) {
            emit(lx, t, keywords[i].type);
            return;
        }
    }
    emit(lx, t, memchr(w, ':', n) ? T_METRIC_IDENT : T_IDENT);
}

static void skip_spaces(pqp_lexer *lx)
{
    while (is_space(peek(lx)))
        next(lx);
    lx->start = lx->pos;
}

/* One token while inside braces; returns false when only spaces were eaten. */
static bool lex_inside_braces(pqp_lexer *lx, pqp_token *t)
{
    if (lx->pos < lx->len && lx->in[lx->pos] == '#') {
        lex_comment(lx, t);
        return true;
    }
    int r = next(lx);
    if (r == LEOF) {
        lex_error(lx, t, "unexpected end of input inside braces");
    } else if (is_space(r)) {
        skip_spaces(lx);
        return false;
    } else if (is_alpha(r)) {
        while (is_alnum(next(lx))) {
        }
        backup(lx);
        emit(lx, t, T_IDENT);
    } else if (r == ',') {
        emit(lx, t, T_COMMA);
    } else if (r == '"' || r == '\'') {
        lex_string(lx, t, r);
    } else if (r == '`') {
        lex_raw_string(lx, t);
    } else if (r == '=') {
        if (next(lx) == '~') {
            emit(lx, t, T_EQL_REGEX);
        } else {
            backup(lx);
            emit(lx, t, T_EQL);
        }
    } else if (r == '!') {
        int nr = next(lx);
        if (nr == '~')
            emit(lx, t, T_NEQ_REGEX);
        else if (nr == '=')
            emit(lx, t, T_NEQ);
        else
            lex_error_rune(lx, t, "unexpected character after '!' inside braces: ", nr);
    } else if (r == '{') {
        lex_error_rune(lx, t, "unexpected left brace ", r);
    } else if (r == '}') {
        emit(lx, t, T_RBRACE);
        lx->brace_open = false;
    } else {
        lex_error_rune(lx, t, "unexpected character inside braces: ", r);
    }
    return true;
}

static void lex_token(pqp_lexer *lx, pqp_token *t)
{
    for (;;) {
        if (lx->done) {
            t->type = T_EOF;
            t->pos = lx->len;
            t->len = 0;
            return;
        }
        lx->start = lx->pos;
        if (lx->want_duration) {
            lx->want_duration = false;
            lex_duration(lx, t);
            return;
        }
        if (lx->brace_open) {
            if (lex_inside_braces(lx, t))
                return;
            continue;
        }
        if (lx->pos < lx->len && lx->in[lx->pos] == '#') {
            lex_comment(lx, t);
            return;
        }
        int r = next(lx);
        switch (r) {
        case LEOF:
            if (lx->paren_depth != 0)
                lex_error(lx, t, "unclosed left parenthesis");
            else if (lx->bracket_open)
                lex_error(lx, t, "unclosed left bracket");
            else {
                emit(lx, t, T_EOF);
                lx->done = true;
            }
            return;
        case ',': emit(lx, t, T_COMMA); return;
        case '*': emit(lx, t, T_MUL); return;
        case '/': emit(lx, t, T_DIV); return;
        case '%': emit(lx, t, T_MOD); return;
        case '+': emit(lx, t, T_ADD); return;
        case '-': emit(lx, t, T_SUB); return;
        case '^': emit(lx, t, T_POW); return;
        case '@': emit(lx, t, T_AT); return;
        case '=': {
            int n = peek(lx);
            if (n == '=') {
                next(lx);
                emit(lx, t, T_EQLC);
            } else if (n == '~') {
                lex_error_rune(lx, t, "unexpected character after '=': ", n);
            } else {
                emit(lx, t, T_EQL);
            }
            return;
        }
        case '!': {
            int n = next(lx);
            if (n == '=')
                emit(lx, t, T_NEQ);
            else
                lex_error_rune(lx, t, "unexpected character after '!': ", n);
            return;
        }
        case '<':
            if (peek(lx) == '=') {
                next(lx);
                emit(lx, t, T_LTE);
            } else {
                emit(lx, t, T_LSS);
            }
            return;
        case '>':
            if (peek(lx) == '=') {
                next(lx);
                emit(lx, t, T_GTE);
            } else {
                emit(lx, t, T_GTR);
            }
            return;
        case '"':
        case '\'':
            lex_string(lx, t, r);
            return;
        case '`':
            lex_raw_string(lx, t);
            return;
        case '(':
            emit(lx, t, T_LPAREN);
            lx->paren_depth++;
            return;
        case ')':
            emit(lx, t, T_RPAREN);
            lx->paren_depth--;
            if (lx->paren_depth < 0) /* Prometheus reports it after the ')' */
                lex_error_rune(lx, t, "unexpected right parenthesis ", r);
            return;
        case '{':
            emit(lx, t, T_LBRACE);
            lx->brace_open = true;
            return;
        case '[':
            if (lx->bracket_open) {
                lex_error_rune(lx, t, "unexpected left bracket ", r);
                return;
            }
            lx->got_colon = false;
            emit(lx, t, T_LBRACKET);
            skip_spaces(lx);
            lx->bracket_open = true;
            lx->want_duration = true;
            return;
        case ']':
            if (!lx->bracket_open) {
                lex_error_rune(lx, t, "unexpected right bracket ", r);
                return;
            }
            emit(lx, t, T_RBRACKET);
            lx->bracket_open = false;
            return;
        default:
            break;
        }
        if (is_space(r)) {
            skip_spaces(lx);
            continue;
        }
        if (is_digit(r) || (r == '.' && is_digit(peek(lx)))) {
            backup(lx);
            lex_number_or_duration(lx, t);
            return;
        }
        if (is_alpha(r) || r == ':') {
            if (!lx->bracket_open) {
                backup(lx);
                lex_keyword_or_identifier(lx, t);
                return;
            }
            /* Inside brackets any letter lexes as the subquery colon, as in
             * Prometheus; a second one is an error. */
            if (lx->got_colon) {
                lex_error_rune(lx, t, "unexpected colon ", r);
                return;
            }
            emit(lx, t, T_COLON);
            lx->got_colon = true;
            return;
        }
        lex_error_rune(lx, t, "unexpected character: ", r);
        return;
    }
}

void pqp_lex_next(pqp_lexer *lx, pqp_token *t)
{
    do {
        lex_token(lx, t);
    } while (t->type == T_COMMENT);
}

static const char *tok_str(pqp_tok t)
{
    switch (t) {
    case T_LPAREN: return "(";
    case T_RPAREN: return ")";
    case T_LBRACE: return "{";
    case T_RBRACE: return "}";
    case T_LBRACKET: return "[";
    case T_RBRACKET: return "]";
    case T_COMMA: return ",";
    case T_EQL: return "=";
    case T_COLON: return ":";
    default: return NULL;
    }
}

void pqp_token_desc(const char *in, const pqp_token *t, pqp_buf *b)
{
    const char *v = in + t->pos;
    size_t n = t->len;
    switch (t->type) {
    case T_EOF:
        pqp_buf_adds(b, "end of input");
        return;
    case T_ERROR:
        pqp_buf_adds(b, "error");
        return;
    case T_IDENT:
        pqp_buf_adds(b, "identifier ");
        pqp_buf_go_quote(b, v, n, 0);
        return;
    case T_METRIC_IDENT:
        pqp_buf_adds(b, "metric identifier ");
        pqp_buf_go_quote(b, v, n, 0);
        return;
    case T_NUMBER:
    case T_STRING:
    case T_DURATION:
    case T_COMMENT:
        pqp_buf_adds(b, t->type == T_NUMBER ? "number " : t->type == T_STRING ? "string "
                       : t->type == T_DURATION ? "duration " : "comment ");
        pqp_buf_go_quote(b, v, n, n > 10 ? 10 : 0);
        if (n > 10)
            pqp_buf_adds(b, "...");
        return;
    default:
        break;
    }
    if (t->type == T_AT) {
        /* Prometheus 2.42 lacks '@' in its item names and prints the raw
         * yacc token number; kept so error texts match. */
        pqp_buf_adds(b, "\"<Item 57385>\" <op:");
        pqp_buf_add(b, v, n);
        pqp_buf_adds(b, ">");
    } else if (t->type > T_OPS_START && t->type < T_OPS_END) {
        pqp_buf_adds(b, "<op:");
        pqp_buf_add(b, v, n);
        pqp_buf_adds(b, ">");
    } else if (t->type > T_AGG_START && t->type < T_AGG_END) {
        pqp_buf_adds(b, "<aggr:");
        pqp_buf_add(b, v, n);
        pqp_buf_adds(b, ">");
    } else if (t->type > T_KW_START && t->type < T_KW_END) {
        pqp_buf_adds(b, "<");
        pqp_buf_add(b, v, n);
        pqp_buf_adds(b, ">");
    } else {
        const char *s = tok_str(t->type);
        if (s)
            pqp_buf_go_quote(b, v, n, 0);
        else
            pqp_buf_go_quote(b, v, n, n > 10 ? 10 : 0);
    }
}
