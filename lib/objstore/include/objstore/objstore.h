/* objstore: one bucket interface over a local directory (FILESYSTEM) or an
 * S3-compatible object store (S3), configured with Thanos' objstore keys.
 *
 * Threads: an objstore_bucket may be used from any number of threads at the
 * same time (the S3 backend keeps a locked pool of libcurl handles; the
 * filesystem backend only uses per-call state). objstore_bucket_close must
 * not race with other calls on the same bucket.
 *
 * Blocking: every call that takes a bucket blocks the calling thread on disk
 * or network I/O (S3 calls include retries with backoff; retry_max_time_ms
 * bounds the retrying of each HTTP request, so a call made of several
 * requests - a multipart upload, a listing of several pages - can take
 * longer). Call them from worker threads, never from an event loop.
 * objstore_config_* functions, objstore_errclass_name and
 * objstore_bucket_stats never block.
 *
 * Signals: libcurl runs with CURLOPT_NOSIGNAL (threads), so a TLS write to a
 * connection the server closed can raise SIGPIPE: the process must ignore
 * SIGPIPE (aiond does).
 *
 * Errors: functions return 0 or a negative errno-style code, and fill the
 * objstore_err given (which may be NULL):
 *   -ENOENT  OBJSTORE_ERR_NOT_FOUND   object (or bucket) does not exist
 *   -EACCES  OBJSTORE_ERR_ACCESS      denied (bad credentials, signature, policy)
 *   -EAGAIN  OBJSTORE_ERR_RETRYABLE   transient failure left after the retries
 *   -EIO     OBJSTORE_ERR_FATAL       anything else from the backend
 *   -EINVAL, -ERANGE, -ENOMEM          bad arguments / range / no memory (FATAL)
 * Callbacks may return a negative value to abort; it is returned as is.
 *
 * Names are object keys relative to the configured prefix, '/' separated,
 * without a leading '/'. "Directories" are key prefixes ending in '/'.
 */
#ifndef OBJSTORE_OBJSTORE_H
#define OBJSTORE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum objstore_type {
    OBJSTORE_FILESYSTEM = 0,
    OBJSTORE_S3 = 1,
} objstore_type;

typedef enum objstore_lookup {
    OBJSTORE_LOOKUP_AUTO = 0,   /* virtual-host for AWS/Google/Aliyun, else path */
    OBJSTORE_LOOKUP_PATH,       /* http://endpoint/bucket/key */
    OBJSTORE_LOOKUP_VHOST,      /* http://bucket.endpoint/key */
} objstore_lookup;

#define OBJSTORE_STR_MAX 512
#define OBJSTORE_PATH_MAX 4096
#define OBJSTORE_TOKEN_MAX 4096
#define OBJSTORE_MAX_PART_CONCURRENCY 32

/* Plain configuration; every string is stored inline (no ownership issues;
 * the struct is about 23 KB, mind small thread stacks). Fill with
 * objstore_config_init, then objstore_config_set per key. Not thread-safe
 * while being filled; read-only afterwards. */
typedef struct objstore_config {
    objstore_type type;
    char prefix[OBJSTORE_STR_MAX];        /* prepended as prefix + "/" + name */

    /* FILESYSTEM */
    char directory[OBJSTORE_PATH_MAX];    /* default "./data/bucket" */

    /* S3 */
    char bucket[OBJSTORE_STR_MAX];
    char endpoint[OBJSTORE_STR_MAX];      /* host[:port], no scheme */
    char region[OBJSTORE_STR_MAX];        /* "" -> us-east-1 */
    char access_key[OBJSTORE_STR_MAX];    /* "" -> $AWS_ACCESS_KEY_ID */
    char secret_key[OBJSTORE_STR_MAX];    /* "" -> $AWS_SECRET_ACCESS_KEY */
    char session_token[OBJSTORE_TOKEN_MAX]; /* "" -> $AWS_SESSION_TOKEN */
    bool insecure;                        /* plain http */
    bool insecure_skip_verify;            /* https without certificate checks */
    char ca_file[OBJSTORE_PATH_MAX];
    char cert_file[OBJSTORE_PATH_MAX];    /* client certificate (PEM), "" = none */
    char key_file[OBJSTORE_PATH_MAX];     /* its private key (PEM) */
    objstore_lookup lookup;
    uint64_t part_size;                   /* multipart above this size; default 64 MiB */
    uint32_t part_concurrency;            /* parts uploaded at once; default 4 */
    bool disable_multipart;
    bool send_content_md5;                /* default true (as Thanos) */
    bool unsigned_payload;                /* sign UNSIGNED-PAYLOAD (https only advised) */
    int max_retries;                      /* retries per request; default 10 */
    uint32_t retry_max_time_ms;           /* bound on one call's retrying; default 120000 */
    uint32_t connect_timeout_ms;          /* default 10000 */
    uint32_t idle_timeout_ms;             /* no byte moved for this long -> error; default 120000 */
    uint32_t list_max_keys;               /* ListObjectsV2 page size; default 1000 */
} objstore_config;

/* Defaults: FILESYSTEM at ./data/bucket, S3 settings as documented above. */
void objstore_config_init(objstore_config *c);

/* Sets one option from strings, keys named as in Thanos' objstore config:
 * "type" (FILESYSTEM|S3), "prefix", "directory", "bucket", "endpoint",
 * "region", "access_key", "secret_key", "session_token", "insecure",
 * "ca_file" (alias "http_config.tls_config.ca_file"), "insecure_skip_verify"
 * (alias "http_config.insecure_skip_verify", "http_config.tls_config.insecure_skip_verify"),
 * "cert_file" / "key_file" (aliases "http_config.tls_config.cert_file" / "...key_file"),
 * "bucket_lookup_type" (auto|path|virtual-host|virtual-hosted), "part_size",
 * "disable_multipart", "send_content_md5", "max_retries", "signature_version2"
 * (only false accepted), "list_objects_version" (only "" / v2), and Aion's own
 * "unsigned_payload", "part_concurrency", "retry_max_time", "connect_timeout", "idle_timeout"
 * (durations like "1m30s", "500ms"), "list_max_keys". A "config." prefix on
 * a key is ignored, so nested libconfig groups can be flattened as is.
 * Thanos tuning keys without an equivalent here (http_config connection pool
 * sizes and timeouts, disable_dualstack, trace.enable, ...) are accepted and
 * ignored; features that would change what is stored or who can read it
 * (sse_config.*, put_user_metadata.*, sts_endpoint, aws_sdk_auth = true) are
 * refused, as are unknown keys.
 * Returns 0, or -EINVAL with a message in err for an unknown key or bad value. */
int objstore_config_set(objstore_config *c, const char *key, const char *value,
                        char *err, size_t errlen);

typedef enum objstore_errclass {
    OBJSTORE_OK = 0,
    OBJSTORE_ERR_NOT_FOUND,
    OBJSTORE_ERR_ACCESS,
    OBJSTORE_ERR_RETRYABLE,
    OBJSTORE_ERR_FATAL,
} objstore_errclass;

typedef struct objstore_err {
    objstore_errclass cls;
    int status;        /* HTTP status of the last response, 0 if none */
    char code[64];     /* S3 <Code> (e.g. "NoSuchKey"), curl error or errno name */
    char msg[640];     /* "<op> <name>: <backend message>" */
} objstore_err;

/* "ok", "not found", "access denied", "retryable", "fatal". Static string. */
const char *objstore_errclass_name(objstore_errclass cls);

typedef struct objstore_bucket objstore_bucket;

/* Opens a bucket (copies c; c may be freed afterwards). FILESYSTEM creates the
 * directory. S3 fills credentials from the environment when empty and checks
 * the settings, but does not contact the server.
 * On success *out is owned by the caller: release with objstore_bucket_close. */
int objstore_bucket_open(const objstore_config *c, objstore_bucket **out,
                         char *err, size_t errlen);
void objstore_bucket_close(objstore_bucket *b);

/* Checks that the bucket is usable now: FILESYSTEM, that the directory is
 * writable; S3, one ListObjectsV2 of at most one key (credentials, signature,
 * bucket existence, TLS). Meant for start-up, to fail early with a clear
 * error. Blocks. */
int objstore_bucket_check(objstore_bucket *b, objstore_err *err);
objstore_type objstore_bucket_type(const objstore_bucket *b);

/* Counters since objstore_bucket_open, for tests and metrics; all zero for
 * FILESYSTEM. Thread-safe and non-blocking; each counter is read atomically
 * but the set is not one snapshot. */
typedef struct objstore_stats {
    uint64_t requests;           /* HTTP requests sent, retries included */
    uint64_t retries;            /* of those, repeats after a retryable failure */
    uint64_t connections;        /* TCP connections opened (libcurl's NUM_CONNECTS summed) */
    uint64_t list_requests;      /* ListObjectsV2 pages requested by iter */
    uint64_t list_continuations; /* of those, with a continuation-token */
    uint64_t multipart_uploads;  /* multipart uploads completed */
    uint64_t parts_uploaded;     /* parts stored (UploadPart answered 2xx) */
    uint64_t aborts;             /* failed multipart uploads aborted on the server */
    uint64_t aborts_failed;      /* failed multipart uploads whose abort failed too:
                                    their parts may remain on the server */
} objstore_stats;
void objstore_bucket_stats(const objstore_bucket *b, objstore_stats *st);

/* Uploads a whole object atomically: readers and iter see the old object (or
 * none) until it is complete. S3 uses multipart above part_size and aborts
 * the multipart upload on failure; when the abort fails too (retried within
 * its own retry_max_time), the parts stay on the server, invisible to get and
 * iter, the error message says so with the upload ID, and
 * objstore_stats.aborts_failed counts it. data is only read during the call. */
int objstore_upload_buffer(objstore_bucket *b, const char *name,
                           const void *data, size_t len, objstore_err *err);
/* Same from a local file, which must not change during the call. */
int objstore_upload_file(objstore_bucket *b, const char *name, const char *path,
                         objstore_err *err);

/* Receives object data in order; return 0 to continue, negative to abort. */
typedef int (*objstore_write_fn)(void *ud, const void *data, size_t len);

/* Reads bytes [off, off+len) (len < 0: to the end) and passes them to fn.
 * A range reaching past the end is cut at the end; off beyond the end (of a
 * non-empty object) gives -ERANGE. On S3 a transfer cut by a transient error
 * is resumed where it stopped, so fn never sees a byte twice. */
int objstore_get_cb(objstore_bucket *b, const char *name, uint64_t off, int64_t len,
                    objstore_write_fn fn, void *ud, objstore_err *err);
/* Same into a malloc'ed buffer (*data, caller frees with free(); never NULL
 * on success, even for 0 bytes). */
int objstore_get(objstore_bucket *b, const char *name, uint64_t off, int64_t len,
                 void **data, size_t *size, objstore_err *err);

/* Downloads a whole object into the local file path, atomically (written to
 * "path.tmp-<pid>-<n>" then renamed): path is either complete or untouched.
 * Parent directories must exist. */
int objstore_download_file(objstore_bucket *b, const char *name, const char *path,
                           objstore_err *err);

typedef struct objstore_attrs {
    uint64_t size;
    int64_t last_modified;  /* unix seconds */
} objstore_attrs;

int objstore_attributes(objstore_bucket *b, const char *name, objstore_attrs *attrs,
                        objstore_err *err);
/* *exists = false and 0 returned when the object does not exist. */
int objstore_exists(objstore_bucket *b, const char *name, bool *exists, objstore_err *err);

/* Deletes an object. Deleting a missing object succeeds (as on S3). */
int objstore_delete(objstore_bucket *b, const char *name, objstore_err *err);

#define OBJSTORE_ITER_RECURSIVE 1u

/* Called per entry with a name valid only during the call: an object name, or
 * (without OBJSTORE_ITER_RECURSIVE) a "directory" ending in '/'. Return 0 to
 * continue, > 0 to stop (objstore_iter returns 0), < 0 to abort (returned). */
typedef int (*objstore_iter_fn)(void *ud, const char *name);

/* Lists names starting with prefix in byte order, over every page of results.
 * To list a directory pass "dir/" (or "" for the top). Without
 * OBJSTORE_ITER_RECURSIVE, names containing '/' after the prefix are rolled up
 * into one "directory" entry (delimiter "/"). Objects still being uploaded
 * are never listed. */
int objstore_iter(objstore_bucket *b, const char *prefix, unsigned flags,
                  objstore_iter_fn fn, void *ud, objstore_err *err);

/* Like objstore_iter, with each object's attributes as the listing gives
 * them (no extra request): a is valid only during the call, and NULL for
 * "directory" entries. */
typedef int (*objstore_iter_attrs_fn)(void *ud, const char *name, const objstore_attrs *a);
int objstore_iter_attrs(objstore_bucket *b, const char *prefix, unsigned flags,
                        objstore_iter_attrs_fn fn, void *ud, objstore_err *err);

#ifdef __cplusplus
}
#endif
#endif
