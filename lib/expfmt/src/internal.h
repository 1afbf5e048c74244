/* Private helpers of lib/expfmt. */
#ifndef EXPFMT_INTERNAL_H
#define EXPFMT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <expfmt/expfmt.h>

/* Go ParseFloat-like: [+-]digits[.digits][e[+-]digits], hex floats,
 * Inf/Infinity/NaN in any case. NaN gets EXPFMT_NAN_BITS. Overflow (1e999)
 * is an error as in Go. 0 or -1. */
int expfmt_parse_float(const char *s, size_t n, double *out);
/* [+-]?[0-9]+ within int64. 0 or -1. */
int expfmt_parse_int64(const char *s, size_t n, int64_t *out);
bool expfmt_utf8_valid(const char *s, size_t n);

#endif
