/* Fuzzes the remote write 2.0 decoder + validation and compares with
 * protoc-c's unpack whenever both accept the bytes. */
#include <stdio.h>
#include <stdlib.h>
#include "prompb_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prompb_write_request r;
    prompb_write_request_init(&r);
    prompb_error err;
    if (prompb_write_decode_v2(&r, data, size, &err) == 0) {
        prompb_validate(&r, 0, NULL, &err);
        Io__Prometheus__Write__V2__Request *u =
            io__prometheus__write__v2__request__unpack(NULL, size, data);
        if (u) {
            char why[200];
            if (ref_compare_v2(&r, u, why, sizeof(why))) {
                fprintf(stderr, "fast decoder differs from protoc-c: %s\n", why);
                abort();
            }
            io__prometheus__write__v2__request__free_unpacked(u, NULL);
        }
    }
    prompb_write_request_free(&r);
    return 0;
}
