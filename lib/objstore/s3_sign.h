/* AWS Signature Version 4 (header-based) over OpenSSL. Private to
 * lib/objstore (exported with the objstore_ prefix for the unit tests).
 * Pure functions: no global state, thread-safe. */
#ifndef OBJSTORE_S3_SIGN_H
#define OBJSTORE_S3_SIGN_H

#include <stddef.h>

typedef struct objstore_s3_kv {
    const char *name;
    const char *value; /* NULL or "" for valueless parameters ("uploads=") */
} objstore_s3_kv;

typedef struct objstore_s3_sign_req {
    const char *method;          /* "GET", "PUT", ... */
    const char *path;            /* raw (unencoded) absolute path, e.g. "/bucket/a b" */
    const objstore_s3_kv *query; /* raw names and values, any order */
    size_t nquery;
    const objstore_s3_kv *headers; /* every header to sign, any case, any order */
    size_t nheaders;
    const char *payload_hash;    /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD" */
    const char *access_key;
    const char *secret_key;
    const char *region;
    const char *service;         /* "s3" */
    const char *amz_date;        /* "YYYYMMDDTHHMMSSZ" */
} objstore_s3_sign_req;

/* Appends the UriEncode of src[0..len) to a growing string (see s3_sign.c). */
typedef struct objstore_s3_str {
    char *p;
    size_t len, cap;
} objstore_s3_str;
int objstore_s3_str_add(objstore_s3_str *s, const char *src, size_t len);
int objstore_s3_uri_encode(objstore_s3_str *s, const char *src, size_t len, int keep_slash);

/* Signs r. On success returns 0 and sets the malloc'ed strings (caller frees):
 * *authorization (the Authorization header value), *query_string (the
 * canonical query, also usable in the URL) and, when the pointers are non-NULL,
 * *canonical_request and *string_to_sign (for debugging and tests).
 * Returns -EINVAL for a malformed request, -ENOMEM. */
int objstore_s3_sign(const objstore_s3_sign_req *r, char **authorization, char **query_string,
                     char **canonical_request, char **string_to_sign);

/* Lowercase hex SHA-256 of data (out: 65 bytes). */
void objstore_s3_sha256_hex(const void *data, size_t len, char out[65]);

#endif
