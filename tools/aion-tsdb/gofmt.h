/* Go-compatible text formatting used by aion-tsdb so its output matches
 * `promtool tsdb dump` byte for byte: fmt's %g of a float64 and
 * labels.Labels.String(). Pure functions, no state; thread-safe. */
#ifndef AION_TSDB_GOFMT_H
#define AION_TSDB_GOFMT_H

#include <stddef.h>
#include <stdio.h>

#include <labels/labels.h>

/* Writes v as Go's fmt "%g" does: shortest round-trip digits, exponent form
 * (e+06, at least two exponent digits) when the decimal exponent is < -4 or
 * >= 6; NaN, +Inf, -Inf. buf is NUL-terminated, truncated to len. Returns buf. */
char *gofmt_g(double v, char *buf, size_t len);

/* Prints ls as `{a="b", c="d"}` with values quoted as Go's strconv.Quote. */
void gofmt_labels(FILE *f, const labels_label *ls, size_t n);

#endif
