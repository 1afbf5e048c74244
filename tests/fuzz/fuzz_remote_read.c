/* Fuzzes the ReadRequest decoder and checks it against protoc-c's unpack
 * whenever both accept the bytes; also the streamed-response frame splitter. */
#include <stdio.h>
#include <stdlib.h>
#include "prompb_ref.h"

#define CHECK(c)                                                                              \
    do {                                                                                      \
        if (!(c)) {                                                                           \
            fprintf(stderr, "mismatch: %s\n", #c);                                             \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prompb_read_request r;
    prompb_read_request_init(&r);
    if (prompb_read_request_decode(&r, data, size, NULL) == 0) {
        (void)prompb_read_negotiate(&r, 3);
        Prometheus__ReadRequest *u = prometheus__read_request__unpack(NULL, size, data);
        if (u) {
            CHECK(r.query_count == u->n_queries);
            CHECK(r.accepted_count == u->n_accepted_response_types);
            for (size_t i = 0; i < u->n_queries; i++) {
                const Prometheus__Query *x = u->queries[i];
                const prompb_query *y = &r.queries[i];
                CHECK(y->start_ms == x->start_timestamp_ms && y->end_ms == x->end_timestamp_ms);
                CHECK(y->matchers_count == x->n_matchers);
                for (size_t k = 0; k < x->n_matchers; k++) {
                    const prompb_matcher *m = &r.matchers[y->matchers_start + k];
                    CHECK(m->type == (uint32_t)x->matchers[k]->type);
                    CHECK(ref_str_eq(m->name, m->name_len, x->matchers[k]->name));
                    CHECK(ref_str_eq(m->value, m->value_len, x->matchers[k]->value));
                }
                CHECK(y->hints.present == (x->hints != NULL));
                /* protobuf-c resets proto3 scalars when an embedded message
                 * field repeats (no merge), so only non-zero values compare. */
                if (x->hints)
                    CHECK(y->hints.grouping_count == x->hints->n_grouping &&
                          (x->hints->step_ms == 0 || y->hints.step_ms == x->hints->step_ms));
            }
            prometheus__read_request__free_unpacked(u, NULL);
        }
    }
    prompb_read_request_free(&r);

    /* The same bytes as a streamed response body: split frames until the
     * end or an error; every frame stays inside the input. */
    size_t off = 0;
    for (;;) {
        const uint8_t *m;
        size_t ml, fl;
        int rc = prompb_chunked_frame_next(data + off, size - off, 1 << 16, &m, &ml, &fl, NULL);
        if (rc != 0)
            break;
        CHECK(fl > 0 && fl <= size - off && m >= data + off && m + ml == data + off + fl);
        off += fl;
    }
    return 0;
}
