/* Snappy block format (not the framed format), as remote write/read use it.
 *
 * Ownership: output goes to a caller-owned prompb_buf, grown with realloc as
 * needed (so one buffer can be reused across requests without allocating).
 * Thread-safety: reentrant, no shared state. */
#ifndef PROMPB_SNAPPY_H
#define PROMPB_SNAPPY_H

#include <prompb/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decompresses src into out (out->len = decompressed length). The declared
 * uncompressed length is read and checked against max_len BEFORE anything
 * is allocated: over it -> -EMSGSIZE (PROMPB_ERR_TOO_LARGE). Corrupt input
 * -> -EINVAL (PROMPB_ERR_SNAPPY). Allocation failure -> -ENOMEM. */
int prompb_snappy_uncompress(const void *src, size_t src_len, size_t max_len,
                             prompb_buf *out, prompb_error *err);

/* Compresses src into out (replacing its contents). 0 or -ENOMEM. */
int prompb_snappy_compress(const void *src, size_t src_len, prompb_buf *out,
                           prompb_error *err);

#ifdef __cplusplus
}
#endif
#endif
