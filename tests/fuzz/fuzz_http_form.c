/* fuzz_http_form: URL query / x-www-form-urlencoded splitting and
 * percent-decoding (host/http_req.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

typedef struct acc {
    size_t pairs;
    size_t bytes;
} acc;

static int on_pair(const char *name, const char *value, void *arg)
{
    acc *a = arg;
    a->pairs++;
    a->bytes += strlen(name) + strlen(value);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    acc a = { 0, 0 };
    if (host_http_parse_form((const char *)data, size, on_pair, &a) == 0) {
        /* decoding never grows: names and values fit in the input */
        if (a.bytes > size)
            abort();
    }
    char *dst = malloc(size + 1);
    if (!dst)
        return 0;
    for (int plus = 0; plus < 2; plus++) {
        size_t n = host_http_unescape((const char *)data, size, dst, plus);
        if (n > size || dst[n] != 0)
            abort();
    }
    free(dst);
    return 0;
}
