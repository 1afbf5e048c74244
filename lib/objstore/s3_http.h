/* S3 request execution over libcurl: URL building (path or virtual-host
 * style), SigV4 signing per attempt, a locked pool of easy handles (so
 * connections are reused across calls and threads), and retries with
 * exponential backoff and jitter. Private to lib/objstore. Thread-safe. */
#ifndef OBJSTORE_S3_HTTP_H
#define OBJSTORE_S3_HTTP_H

#include "internal.h"
#include "s3_sign.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct s3_client {
    char *scheme;     /* "http" or "https" */
    char *endpoint;   /* host[:port] */
    char *bucket;
    char *region;
    char *access_key, *secret_key, *session_token; /* token may be "" */
    int vhost;        /* virtual-host style addressing */
    int unsigned_payload;
    int insecure_skip_verify;
    char *ca_file;    /* NULL when unset */
    char *cert_file, *key_file; /* client certificate, NULL when unset */
    int lock_init;
    int max_retries;
    uint32_t retry_max_time_ms, connect_timeout_ms, idle_timeout_ms;
    pthread_mutex_t lock;
    void **pool;      /* idle CURL easy handles */
    size_t npool, cappool;
    /* Counters for objstore_bucket_stats (relaxed atomics). */
    _Atomic uint64_t n_requests, n_retries, n_connections;
} s3_client;

typedef struct s3_request {
    const char *method;
    const char *key;              /* NULL: bucket-level request */
    const objstore_s3_kv *query;
    size_t nquery;
    const char *content_type;     /* NULL: none */
    const char *content_md5;      /* base64, NULL: none */
    /* Body, read from src[off, off+len); src NULL: no body. */
    const objstore_src *src;
    uint64_t off, len;
    const char *payload_hash;     /* hex SHA-256 of the body; NULL: computed */
    /* Range [range_off, range_off+range_len) (range_len < 0: to the end);
     * has_range 0: whole object. */
    int has_range;
    uint64_t range_off;
    int64_t range_len;
    /* 2xx body goes to sink when set (resumed across retries), else into
     * response body. Non-2xx bodies always go to the response body. */
    objstore_write_fn sink;
    void *sink_ud;
    int head;                     /* HEAD: no body expected */
    int error_in_2xx;             /* a 2xx body may be an <Error> document
                                     (CompleteMultipartUpload): treat it so */
} s3_request;

typedef struct s3_response {
    long status;
    objstore_s3_str body;         /* malloc'ed, NUL-terminated when non-NULL */
    char etag[160];
    uint64_t content_length;
    int64_t last_modified;        /* unix seconds, 0 when absent */
    char request_id[96];
} s3_response;

int objstore_s3c_init(s3_client *c, const objstore_config *cfg, char *err, size_t errlen);
void objstore_s3c_free(s3_client *c);

/* Executes rq with retries. Returns 0 on a 2xx response (rs filled; free with
 * objstore_s3c_response_free), else a negative code with err filled as
 * "<op> <name>: ...". rs is always safe to free. */
int objstore_s3c_do(s3_client *c, const s3_request *rq, s3_response *rs, const char *op,
          const char *name, objstore_err *err);
void objstore_s3c_response_free(s3_response *rs);

/* SHA-256 (hex) and, when md5_b64 is non-NULL, base64 MD5 of src[off, off+len). */
int objstore_s3c_hash_src(const objstore_src *src, uint64_t off, uint64_t len, char sha_hex[65],
                char md5_b64[32]);

#endif
