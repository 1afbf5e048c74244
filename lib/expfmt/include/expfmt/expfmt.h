/* Streaming parser of the Prometheus text exposition format 0.0.4 (what
 * /metrics and Prometheus' /federate serve) and of OpenMetrics 1.0 text.
 *
 * The parser is pure: it reads caller buffers and calls back once per sample
 * and per # TYPE / # HELP line. Input can be given at once (expfmt_parse) or
 * in pieces as it arrives (expfmt_parser_feed + expfmt_parser_finish).
 *
 * Ownership and lifetime:
 *   - Every pointer handed to a callback (names, label views, help text) is
 *     valid ONLY during that callback: it points either into the caller's
 *     input buffer or into the parser's scratch memory (unescaped values).
 *     Copy what you keep. Strings are NOT NUL-terminated.
 *   - An expfmt_parser owns its scratch memory; expfmt_parser_free releases
 *     it. The callbacks' ctx is borrowed.
 * Thread-safety: one parser per thread at a time; no global state. Number
 * parsing uses strtod, so the "C" LC_NUMERIC locale is assumed (the default
 * unless the process calls setlocale).
 */
#ifndef EXPFMT_EXPFMT_H
#define EXPFMT_EXPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same field layout as labels_label (lib/labels) and prompb_label. */
typedef struct {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} expfmt_label;

typedef enum {
    EXPFMT_UNTYPED = 0,   /* no # TYPE (text), "untyped" (text) or "unknown" (OpenMetrics) */
    EXPFMT_COUNTER,
    EXPFMT_GAUGE,
    EXPFMT_HISTOGRAM,
    EXPFMT_SUMMARY,
    EXPFMT_GAUGEHISTOGRAM, /* OpenMetrics only */
    EXPFMT_INFO,           /* OpenMetrics only */
    EXPFMT_STATESET,       /* OpenMetrics only */
} expfmt_type;

typedef enum {
    EXPFMT_TEXT = 0,       /* text/plain; version=0.0.4 */
    EXPFMT_OPENMETRICS = 1 /* application/openmetrics-text; version=1.0.0 */
} expfmt_format;

/* Bit pattern the parser gives to "NaN" values: Prometheus' math.NaN(). */
#define EXPFMT_NAN_BITS UINT64_C(0x7ff8000000000001)

typedef struct {
    const char *name;          /* metric name of the line, e.g. "x_bucket" */
    uint32_t name_len;
    uint32_t family_len;
    const char *family;        /* family of the last matching # TYPE ("x"), else = name */
    expfmt_type type;          /* that family's type, EXPFMT_UNTYPED if none */
    const expfmt_label *labels;/* in input order, unescaped */
    size_t label_count;
    double value;
    bool has_timestamp;
    int64_t timestamp_ms;      /* text: as written; OpenMetrics: seconds * 1000 rounded */
    size_t line;               /* 1-based */
} expfmt_sample;

/* Callbacks; any may be NULL. A non-zero return stops parsing and is
 * returned by the feed/parse call (so use values that are not -EINVAL if
 * you need to tell them apart, e.g. a positive number). */
typedef struct {
    int (*sample)(void *ctx, const expfmt_sample *s);
    int (*type)(void *ctx, const char *name, size_t name_len, expfmt_type type, size_t line);
    /* help is unescaped */
    int (*help)(void *ctx, const char *name, size_t name_len, const char *help, size_t help_len,
                size_t line);
} expfmt_callbacks;

typedef struct {
    size_t line;               /* 1-based; 0 when not tied to a line */
    size_t column;             /* 1-based byte column */
    char msg[256];             /* "line 12, column 9: expected '=' after label name \"job\"" */
} expfmt_error;

typedef struct expfmt_parser expfmt_parser;

/* NULL on allocation failure. */
expfmt_parser *expfmt_parser_new(expfmt_format fmt, const expfmt_callbacks *cb, void *ctx);
void expfmt_parser_free(expfmt_parser *p);

/* Parses every complete line ('\n'-terminated) of buf; *consumed receives the
 * bytes used (up to and including the last '\n'). Pass the unconsumed tail
 * again, with more data appended, in the next call. 0, -EINVAL (syntax error,
 * err filled), -ENOMEM, or a callback's non-zero value. After an error the
 * parser must not be fed again. */
int expfmt_parser_feed(expfmt_parser *p, const char *buf, size_t len, size_t *consumed,
                       expfmt_error *err);

/* Parses the final bytes (an unterminated last line, may be empty) and
 * checks the end of input (OpenMetrics: "# EOF" must have been seen). */
int expfmt_parser_finish(expfmt_parser *p, const char *buf, size_t len, expfmt_error *err);

/* One-shot: new + feed + finish + free. */
int expfmt_parse(const char *buf, size_t len, expfmt_format fmt, const expfmt_callbacks *cb,
                 void *ctx, expfmt_error *err);

/* "counter", "gauge", ... ("untyped" for EXPFMT_UNTYPED). Static strings. */
const char *expfmt_type_str(expfmt_type t);

#ifdef __cplusplus
}
#endif
#endif
