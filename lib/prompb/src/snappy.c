/* Snappy block (de)compression through libsnappy's C API, with the size
 * limit checked on the declared length before any allocation. */
#include <errno.h>
#include <snappy-c.h>
#include <prompb/snappy.h>
#include "wire.h"

int prompb_snappy_uncompress(const void *src, size_t src_len, size_t max_len,
                             prompb_buf *out, prompb_error *err)
{
    size_t n = 0;
    if (!src && src_len) {
        prompb_err_set(err, PROMPB_ERR_ARG, PROMPB_NO_SERIES, 0, "invalid argument");
        return -EINVAL;
    }
    out->len = 0;
    if (snappy_uncompressed_length(src, src_len, &n) != SNAPPY_OK) {
        prompb_err_set(err, PROMPB_ERR_SNAPPY, PROMPB_NO_SERIES, 0,
                       "invalid snappy: bad uncompressed-length preamble");
        return -EINVAL;
    }
    if (n > max_len) {
        prompb_err_set(err, PROMPB_ERR_TOO_LARGE, PROMPB_NO_SERIES, 0,
                       "decompressed body of %zu bytes exceeds the limit of %zu bytes",
                       n, max_len);
        return -EMSGSIZE;
    }
    /* Every snappy element yields at most 64 bytes from at least 2 input
     * bytes, so a declared length beyond 32x the input is corrupt: refuse it
     * before allocating (a 10-byte body must not make us allocate 4 GiB). */
    if (n / 32 > src_len) {
        prompb_err_set(err, PROMPB_ERR_SNAPPY, PROMPB_NO_SERIES, 0,
                       "invalid snappy: declared length %zu impossible for %zu input bytes",
                       n, src_len);
        return -EINVAL;
    }
    if (prompb_buf_reserve(out, n ? n : 1)) {
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory decompressing %zu bytes", n);
        return -ENOMEM;
    }
    size_t got = n;
    if (snappy_uncompress(src, src_len, out->data, &got) != SNAPPY_OK || got != n) {
        prompb_err_set(err, PROMPB_ERR_SNAPPY, PROMPB_NO_SERIES, 0,
                       "invalid snappy: corrupt block data");
        return -EINVAL;
    }
    out->len = n;
    return 0;
}

int prompb_snappy_compress(const void *src, size_t src_len, prompb_buf *out,
                           prompb_error *err)
{
    size_t cap = snappy_max_compressed_length(src_len);
    out->len = 0;
    if (prompb_buf_reserve(out, cap)) {
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0,
                       "out of memory compressing %zu bytes", src_len);
        return -ENOMEM;
    }
    size_t n = cap;
    if (snappy_compress(src, src_len, out->data, &n) != SNAPPY_OK) {
        prompb_err_set(err, PROMPB_ERR_NOMEM, PROMPB_NO_SERIES, 0, "snappy_compress failed");
        return -ENOMEM;
    }
    out->len = n;
    return 0;
}
