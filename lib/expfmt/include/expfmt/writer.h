/* Writer of the Prometheus text exposition format 0.0.4, formatting numbers
 * exactly as Go's expfmt does (shortest round-trip, 'g' style with exponent
 * iff exp < -4 || exp >= 6: 100000, 1e+06, 1.234567e+06, 1e-05), NaN, +Inf,
 * -Inf.
 *
 * All functions write into a caller buffer dst of cap bytes, snprintf-style:
 * they return the length of the full output (excluding the NUL); when that
 * is >= cap the output was truncated (still NUL-terminated if cap > 0), so
 * call again with a buffer of the returned length + 1.
 * Ownership: inputs are borrowed and only read. Thread-safety: reentrant.
 */
#ifndef EXPFMT_WRITER_H
#define EXPFMT_WRITER_H

#include <expfmt/expfmt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest output of expfmt_format_value, NUL included. */
#define EXPFMT_VALUE_MAX 32

/* Go strconv.FormatFloat(v, 'g', -1, 64) with Prometheus' NaN/+Inf/-Inf. */
size_t expfmt_format_value(char *dst, size_t cap, double v);

/* One sample line, '\n' included:
 *   name{l1="v1",l2="v2"} value[ timestamp]
 * Label values are escaped (\\, \", \n). A metric or label name outside the
 * legacy character set is written quoted, the metric name first inside the
 * braces ({"my.metric","a.b"="x"}), as the text format allows. timestamp_ms
 * may be NULL. Labels are written in the given order. */
size_t expfmt_format_sample(char *dst, size_t cap, const char *name, size_t name_len,
                            const expfmt_label *labels, size_t label_count, double value,
                            const int64_t *timestamp_ms);

/* "# HELP name text\n" with \\ and \n escaped. */
size_t expfmt_format_help(char *dst, size_t cap, const char *name, size_t name_len,
                          const char *help, size_t help_len);

/* "# TYPE name type\n". */
size_t expfmt_format_type(char *dst, size_t cap, const char *name, size_t name_len,
                          expfmt_type type);

#ifdef __cplusplus
}
#endif
#endif
