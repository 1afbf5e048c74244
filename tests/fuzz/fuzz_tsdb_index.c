/* Fuzz target: the index reader over an arbitrary index file image (blocks
 * come from buckets, i.e. outside input). Walks everything a query can
 * reach: symbols, the all-series postings, every series, every postings
 * list. Must never crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Inputs whose size is odd skip CRC checks, so mutations reach the
     * parsers behind them; even sizes exercise the checks themselves. */
    tsdb_indexr_fuzz_nocrc = size & 1;
    /* Copy so ASan sees the exact bounds. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    tsdb_indexr r;
    char err[256];
    if (tsdb_indexr_init(&r, p, size, err, sizeof(err)) == 0) {
        for (uint32_t i = 0; i < r.nsyms; i++) {
            const char *s;
            uint32_t l;
            (void)tsdb_indexr_symbol(&r, i, &s, &l);
        }
        tsdb_refs refs = {0};
        tsdb_ir_series s = {0};
        if (tsdb_indexr_postings_at(&r, r.all_off, &refs) == 0)
            for (size_t i = 0; i < refs.n && i < 4096; i++)
                if (tsdb_indexr_series(&r, refs.v[i], &s) == 0)
                    for (size_t k = 0; k < s.nls; k++)
                        (void)tsdb_indexr_name(&r, s.ls[k].name, s.ls[k].name_len);
        for (size_t i = 0; i < r.nnames; i++) {
            const struct tsdb_ir_name *n = &r.names[i];
            tsdb_ir_cursor c;
            struct tsdb_ir_val v, w;
            tsdb_indexr_values_begin(&r, n, &c);
            while (tsdb_indexr_values_next(&c, &v) == 1) {
                /* every listed value is found by lookup, at the same offset */
                if (tsdb_indexr_value(&r, n, v.s, v.len, &w) != 1 || w.off != v.off)
                    abort();
                refs.n = 0;
                (void)tsdb_indexr_postings_at(&r, v.off, &refs);
            }
            (void)tsdb_indexr_value(&r, n, "zzz", 3, &w);
            (void)tsdb_indexr_value(&r, n, "", 0, &w);
        }
        tsdb_refs_free(&refs);
        tsdb_ir_series_free(&s);
        tsdb_indexr_free(&r);
    }
    free(p);
    return 0;
}
