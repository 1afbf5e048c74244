/* Fuzzes the exposition parser (text and OpenMetrics, at once and in
 * pieces) and checks that every parsed sample written back with the writer
 * parses again to the same name, labels and value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <expfmt/expfmt.h>
#include <expfmt/writer.h>

static size_t count_a, count_b;

static int check_sample(void *ctx, const expfmt_sample *s)
{
    size_t *n = ctx;
    (*n)++;
    for (size_t k = 0; k < s->label_count; k++)
        if (s->labels[k].name_len == 0)
            abort();
    return 0;
}

typedef struct {
    const expfmt_sample *orig;
    int seen;
} again;

static int compare(void *ctx, const expfmt_sample *s)
{
    again *a = ctx;
    const expfmt_sample *o = a->orig;
    a->seen++;
    if (s->name_len != o->name_len || memcmp(s->name, o->name, s->name_len) ||
        s->label_count != o->label_count)
        abort();
    for (size_t k = 0; k < s->label_count; k++)
        if (s->labels[k].name_len != o->labels[k].name_len ||
            s->labels[k].value_len != o->labels[k].value_len ||
            memcmp(s->labels[k].name, o->labels[k].name, s->labels[k].name_len) ||
            memcmp(s->labels[k].value, o->labels[k].value, s->labels[k].value_len))
            abort();
    if (!(s->value == o->value) && !(s->value != s->value && o->value != o->value))
        abort();
    return 0;
}

static int rewrite(void *ctx, const expfmt_sample *s)
{
    size_t need = expfmt_format_sample(NULL, 0, s->name, s->name_len, s->labels, s->label_count,
                                       s->value, NULL);
    char *b = malloc(need + 1);
    expfmt_format_sample(b, need + 1, s->name, s->name_len, s->labels, s->label_count, s->value,
                         NULL);
    again a = {s, 0};
    expfmt_callbacks cb = {compare, NULL, NULL};
    expfmt_error err;
    if (expfmt_parse(b, need, EXPFMT_TEXT, &cb, &a, &err) || a.seen != 1) {
        fprintf(stderr, "rewritten line does not parse: %s (%s)\n", b, err.msg);
        abort();
    }
    free(b);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    expfmt_error err;
    expfmt_callbacks cb = {rewrite, NULL, NULL};
    int rc_text = expfmt_parse(in, size, EXPFMT_TEXT, &cb, NULL, &err);
    (void)expfmt_parse(in, size, EXPFMT_OPENMETRICS, &cb, NULL, &err);

    /* Same input in 7-byte pieces: same outcome and sample count. */
    count_a = count_b = 0;
    expfmt_callbacks cnt = {check_sample, NULL, NULL};
    int ra = expfmt_parse(in, size, EXPFMT_TEXT, &cnt, &count_a, &err);
    expfmt_parser *p = expfmt_parser_new(EXPFMT_TEXT, &cnt, &count_b);
    if (!p)
        return 0;
    char *buf = malloc(size + 1);
    size_t have = 0, off = 0;
    int rb = 0;
    while (off < size && rb == 0) {
        size_t take = size - off < 7 ? size - off : 7;
        memcpy(buf + have, in + off, take);
        have += take;
        off += take;
        size_t used;
        rb = expfmt_parser_feed(p, buf, have, &used, &err);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    if (rb == 0)
        rb = expfmt_parser_finish(p, buf, have, &err);
    expfmt_parser_free(p);
    free(buf);
    if ((ra == 0) != (rb == 0) || (ra == 0 && count_a != count_b) || (ra == 0) != (rc_text == 0))
        abort();
    return 0;
}
