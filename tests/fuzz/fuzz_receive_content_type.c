/* Fuzzes receive's Content-Type negotiation (plugins/receive/content_type.c):
 * any header value gives 0, 1 or 2, and 2 only when the 2.0 message name is
 * in it; it never reads past the value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content_type.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int v = recv_content_version(s);
    if (v < 0 || v > 2)
        abort();
    if (v == 2 && !strstr(s, "io.prometheus.write.v2.Request"))
        abort();
    if (s[0] == '\0' && v != 1)
        abort();
    free(s);
    return 0;
}
