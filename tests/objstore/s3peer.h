/* Starts and stops a local @20minutes/s3rver (tests/objstore/s3rver.js) for
 * the S3 tests and the benchmark. Not thread-safe; one peer per struct. */
#ifndef OBJSTORE_TEST_S3PEER_H
#define OBJSTORE_TEST_S3PEER_H

#include <limits.h>
#include <sys/types.h>

#define S3PEER_ACCESS_KEY "S3RVER" /* fixed in s3rver */
#define S3PEER_SECRET_KEY "S3RVER"
#define S3PEER_BUCKET "thanos"

typedef struct s3peer {
    pid_t pid;
    int port;
    char dir[PATH_MAX];     /* scratch: data/ and log */
    char log[PATH_MAX + 16];
    char why[PATH_MAX + 128]; /* reason when unavailable */
    char tls_cert[PATH_MAX + 16], tls_key[PATH_MAX + 16]; /* set both before start for https */
} s3peer;

/* Prepares a scratch dir and picks a free port. Returns 0, or 77 when node
 * or the npm package is missing (why says what), -1 on other errors. */
int s3peer_init(s3peer *p);
/* Starts the server (stall: NULL or a URL substring to hold). Waits until it
 * listens (30 s at most). 0 or -1. */
int s3peer_start(s3peer *p, const char *stall);
/* Kills the server (SIGKILL) and reaps it. */
void s3peer_stop(s3peer *p);
/* Waits up to timeout_ms for a log line containing needle. 1 found, 0 not. */
int s3peer_wait_log(s3peer *p, const char *needle, int timeout_ms);
/* Number of log lines (since the last start) containing needle. */
int s3peer_count_log(s3peer *p, const char *needle);
/* Makes a CA and a server certificate for 127.0.0.1 in the scratch dir with
 * the openssl CLI and sets tls_cert/tls_key; ca_out receives the CA path.
 * 0, or 77 when openssl is missing. */
int s3peer_make_tls(s3peer *p, char *ca_out, size_t ca_len);
/* Stops and removes the scratch dir. */
void s3peer_cleanup(s3peer *p);

#endif
