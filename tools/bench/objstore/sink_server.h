/* Benchmark-only HTTP sink (see sink_server.c). Starts once per process;
 * threads are never joined (the benchmark exits). */
#ifndef OBJSTORE_BENCH_SINK_SERVER_H
#define OBJSTORE_BENCH_SINK_SERVER_H

#include <stdint.h>

/* Serves objects of `size` zero bytes on 127.0.0.1; returns the port or -1. */
int sink_server_start(uint64_t size);

#endif
