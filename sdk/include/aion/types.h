/*
 * aion/types.h: value types shared by every SDK interface.
 *
 * Label strings are (pointer, length) views; they need not be NUL-terminated.
 * The layout of aion_label equals lib/labels' labels_label and lib/prompb's
 * prompb_label, so arrays can be passed between them without copying.
 */
#ifndef AION_TYPES_H
#define AION_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aion_label {
    const char *name;
    const char *value;
    uint32_t name_len;
    uint32_t value_len;
} aion_label;

typedef struct aion_sample {
    int64_t t;   /* milliseconds since the Unix epoch */
    double v;    /* stale markers are the NaN 0x7ff0000000000002, kept bit-exact */
} aion_sample;

/* One series of a write batch: labels sorted by name, unique names. */
typedef struct aion_series {
    const aion_label *labels;
    uint32_t nlabels;
    const aion_sample *samples;
    uint32_t nsamples;
} aion_series;

typedef enum aion_match_type {
    AION_MATCH_EQ = 0,  /* =  */
    AION_MATCH_NEQ,     /* != */
    AION_MATCH_RE,      /* =~ fully anchored, RE2 syntax */
    AION_MATCH_NRE,     /* !~ */
} aion_match_type;

typedef struct aion_matcher {
    aion_match_type type;
    const char *name;   /* NUL-terminated */
    const char *value;  /* NUL-terminated */
} aion_matcher;

#ifdef __cplusplus
}
#endif
#endif
