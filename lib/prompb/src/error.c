/* Error construction and label-set rendering for messages. */
#include <stdio.h>
#include <string.h>
#include "wire.h"

static const char *const code_names[] = {
    [PROMPB_OK] = "ok",
    [PROMPB_ERR_SNAPPY] = "invalid snappy",
    [PROMPB_ERR_TOO_LARGE] = "too large",
    [PROMPB_ERR_PROTOBUF] = "invalid protobuf",
    [PROMPB_ERR_NOMEM] = "out of memory",
    [PROMPB_ERR_NO_LABELS] = "no labels",
    [PROMPB_ERR_UNSORTED] = "labels not sorted",
    [PROMPB_ERR_DUP_NAME] = "duplicate label name",
    [PROMPB_ERR_EMPTY_NAME] = "empty label name",
    [PROMPB_ERR_EMPTY_VALUE] = "empty label value",
    [PROMPB_ERR_UTF8] = "invalid UTF-8",
    [PROMPB_ERR_NAME_CHARS] = "invalid label name",
    [PROMPB_ERR_METRIC_NAME] = "invalid metric name",
    [PROMPB_ERR_BAD_REF] = "invalid symbol reference",
    [PROMPB_ERR_SAMPLES_AND_HISTOGRAMS] = "samples and histograms in one series",
    [PROMPB_ERR_ARG] = "invalid argument",
    [PROMPB_ERR_LIMIT] = "limit exceeded",
};

const char *prompb_code_str(prompb_code c)
{
    if ((unsigned)c < sizeof(code_names) / sizeof(code_names[0]) && code_names[c])
        return code_names[c];
    return "unknown error";
}

void prompb_err_set(prompb_error *e, prompb_code code, size_t series, size_t offset,
                    const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    e->series = series;
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

const char *prompb_wire_err_str(int rc)
{
    switch (rc) {
    case WIRE_E_TRUNC: return "truncated message";
    case WIRE_E_OVERFLOW: return "varint overflow";
    case WIRE_E_WIRETYPE: return "invalid wire type";
    case WIRE_E_FIELD0: return "invalid field number 0";
    case WIRE_E_WRONG: return "wrong wire type for field";
    default: return "malformed message";
    }
}

/* Appends s escaped into dst[*pos..cap-1]; bytes outside printable ASCII are
 * written as \xNN so the message stays valid UTF-8 whatever the input. */
static void put_escaped(char *dst, size_t cap, size_t *pos, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[5];
        size_t tl;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tl = 2;
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            tl = 4;
        } else {
            tmp[0] = (char)c;
            tl = 1;
        }
        if (*pos + tl >= cap)
            return;
        memcpy(dst + *pos, tmp, tl);
        *pos += tl;
    }
}

static void put_raw(char *dst, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + 1 >= cap)
        return;
    if (n > cap - 1 - *pos)
        n = cap - 1 - *pos;
    memcpy(dst + *pos, s, n);
    *pos += n;
}

size_t prompb_format_labels(char *dst, size_t cap, const prompb_label *l, size_t n)
{
    /* Messages stay short: the label set is cut to ~120 characters. */
    char tmp[160];
    size_t pos = 0;
    if (cap == 0)
        return 0;
    put_raw(tmp, sizeof(tmp), &pos, "{");
    for (size_t i = 0; i < n && pos < 130; i++) {
        if (i)
            put_raw(tmp, sizeof(tmp), &pos, ", ");
        put_escaped(tmp, sizeof(tmp), &pos, l[i].name, l[i].name_len);
        put_raw(tmp, sizeof(tmp), &pos, "=\"");
        put_escaped(tmp, sizeof(tmp), &pos, l[i].value, l[i].value_len);
        put_raw(tmp, sizeof(tmp), &pos, "\"");
    }
    if (pos > 120) {
        pos = 116;
        put_raw(tmp, sizeof(tmp), &pos, "...}");
    } else {
        put_raw(tmp, sizeof(tmp), &pos, "}");
    }
    if (pos >= cap)
        pos = cap - 1;
    memcpy(dst, tmp, pos);
    dst[pos] = '\0';
    return pos;
}
