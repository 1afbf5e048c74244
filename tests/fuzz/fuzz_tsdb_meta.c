/* Fuzz target: a block's meta.json (blocks come from buckets, i.e. outside
 * input, and storegw reads every meta.json of a bucket). Must never crash
 * or leak; a parsed meta must be self-consistent enough to use: the ULID
 * NUL-terminated, every thanos label a NUL-terminated pair. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy so ASan sees the exact bounds (jansson takes a length). */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    tsdb_block_meta m;
    memset(&m, 0, sizeof m);
    char err[256];
    if (tsdb_meta_parse(p, size, &m, err, sizeof err) == 0) {
        if (strnlen(m.ulid, sizeof m.ulid) >= sizeof m.ulid)
            abort();
        size_t tot = 0;
        for (size_t i = 0; i < m.n_thanos_labels; i++)
            tot += strlen(m.thanos_labels[i].name) + strlen(m.thanos_labels[i].value);
        (void)tot;
        if (strnlen(m.thanos_source, sizeof m.thanos_source) >= sizeof m.thanos_source)
            abort();
        tsdb_meta_free(&m);
    }
    free(p);
    return 0;
}
