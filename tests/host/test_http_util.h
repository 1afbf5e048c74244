/* tests/host/test_http_util.h: raw-socket HTTP client and server set-up
 * helpers shared by the HTTP tests. Single-threaded use per call. */
#ifndef AION_TEST_HTTP_UTIL_H
#define AION_TEST_HTTP_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "workers.h"

/* Worker pool used by th_start (defaults 4 threads, queue 256). */
extern unsigned th_worker_threads;
extern size_t th_worker_queue;

/* Starts workers (th_worker_threads, th_worker_queue) and the HTTP server with 2 I/O
 * threads and one listener "main" on 127.0.0.1:0 using cfg (NULL =
 * defaults). register_fn (may be NULL) adds routes before start.
 * Returns the bound port. Fails the test on error. */
int th_start(const host_http_listener_cfg *cfg, void (*register_fn)(void));
/* Stops and frees everything (deadline 2 s each). */
void th_stop(void);

/* Connects to 127.0.0.1:port (blocking socket). -1 on error. */
int th_connect(int port);
/* Writes all of s. 0 or -1. */
int th_send(int fd, const void *buf, size_t len);
/* Reads one HTTP response (headers + Content-Length body) into resp
 * (NUL-terminated, at most cap-1 bytes) within timeout_ms. Returns the
 * status code, 0 if the peer closed before a response, -1 on timeout/error. */
int th_read_response(int fd, char *resp, size_t cap, int timeout_ms);
/* Sends raw bytes on a new connection and reads the response. */
int th_roundtrip(int port, const char *raw, char *resp, size_t cap);
/* GET path with Connection: close; returns the status, body copied into resp. */
int th_get(int port, const char *path, char *resp, size_t cap);
/* Body part of a response (after the blank line), or "" */
const char *th_body(const char *resp);
/* Waits until the peer closes (read returns 0/error) within timeout_ms.
 * Returns elapsed ms, or -1 on timeout. Data received is discarded. */
int th_wait_closed(int fd, int timeout_ms);
int64_t th_now_ms(void);
/* A plain listening socket on 127.0.0.1:0 (no SO_REUSEPORT); returns the fd
 * and sets th_listen_port. */
int th_listen_any(void);
/* The same with SO_REUSEPORT set. */
int th_listen_any_reuseport(void);
extern int th_listen_port;

#endif
