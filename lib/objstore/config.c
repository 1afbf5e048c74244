/* Bucket configuration from string key/value pairs named as in Thanos'
 * objstore YAML, so plugins can pass libconfig settings through unchanged. */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void objstore_config_init(objstore_config *c)
{
    memset(c, 0, sizeof *c);
    c->type = OBJSTORE_FILESYSTEM;
    snprintf(c->directory, sizeof c->directory, "./data/bucket");
    c->lookup = OBJSTORE_LOOKUP_AUTO;
    c->part_size = 64ull << 20;
    c->part_concurrency = 4;
    c->send_content_md5 = true;
    c->max_retries = 10;
    c->retry_max_time_ms = 120000;
    c->connect_timeout_ms = 10000;
    c->idle_timeout_ms = 120000;
    c->list_max_keys = 1000;
}

static int bad(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
    /* Long values are cut so the reason always fits. */
    snprintf(err, errlen, "objstore config: %s = \"%.48s%s\": %s", key, value,
             strlen(value) > 48 ? "..." : "", why);
    return -EINVAL;
}

static int set_str(char *dst, size_t cap, const char *key, const char *value, char *err,
                   size_t errlen)
{
    size_t n = strlen(value);
    if (n >= cap)
        return bad(err, errlen, key, value, "too long");
    memcpy(dst, value, n + 1);
    return 0;
}

static int parse_bool(bool *dst, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes"))
        *dst = true;
    else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no"))
        *dst = false;
    else
        return bad(err, errlen, key, value, "expected true or false");
    return 0;
}

static int parse_u64(uint64_t *dst, const char *key, const char *value, char *err,
                     size_t errlen)
{
    if (!isdigit((unsigned char)value[0]))
        return bad(err, errlen, key, value, "expected a non-negative integer");
    errno = 0;
    char *end;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || *end)
        return bad(err, errlen, key, value, "expected a non-negative integer");
    *dst = v;
    return 0;
}

/* Go-style durations ("1m30s", "500ms", "2h") or a plain number of seconds. */
static int parse_duration_ms(uint32_t *dst, const char *key, const char *value, char *err,
                             size_t errlen)
{
    const char *p = value;
    double total = 0;
    if (!*p)
        return bad(err, errlen, key, value, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return bad(err, errlen, key, value, "bad duration (e.g. 30s, 1m30s, 500ms)");
        char *end;
        double v = strtod(p, &end);
        p = end;
        double mul;
        if (!strncmp(p, "ms", 2)) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            mul = 1000;
            p++;
        } else if (*p == 'm') {
            mul = 60000;
            p++;
        } else if (*p == 'h') {
            mul = 3600000;
            p++;
        } else if (*p == 0 && p == end && total == 0) {
            mul = 1000; /* bare number: seconds */
        } else {
            return bad(err, errlen, key, value, "bad duration unit (ms, s, m, h)");
        }
        total += v * mul;
    }
    if (total > 4294967295.0)
        return bad(err, errlen, key, value, "duration too long");
    *dst = (uint32_t)total;
    return 0;
}

int objstore_config_set(objstore_config *c, const char *key, const char *value, char *err,
                        size_t errlen)
{
    if (!key || !value)
        return bad(err, errlen, key ? key : "(null)", "(null)", "key and value required");
    if (!strncmp(key, "config.", 7))
        key += 7;
    const char *k = key;
    if (!strcmp(k, "type")) {
        if (!strcasecmp(value, "FILESYSTEM"))
            c->type = OBJSTORE_FILESYSTEM;
        else if (!strcasecmp(value, "S3"))
            c->type = OBJSTORE_S3;
        else
            return bad(err, errlen, key, value, "supported types are FILESYSTEM and S3");
        return 0;
    }
    if (!strcmp(k, "prefix"))
        return set_str(c->prefix, sizeof c->prefix, key, value, err, errlen);
    if (!strcmp(k, "directory")) {
        if (!*value)
            return bad(err, errlen, key, value, "must not be empty");
        return set_str(c->directory, sizeof c->directory, key, value, err, errlen);
    }
    if (!strcmp(k, "bucket"))
        return set_str(c->bucket, sizeof c->bucket, key, value, err, errlen);
    if (!strcmp(k, "endpoint")) {
        if (strstr(value, "://"))
            return bad(err, errlen, key, value,
                       "give host[:port] without a scheme (use insecure = true for http)");
        return set_str(c->endpoint, sizeof c->endpoint, key, value, err, errlen);
    }
    if (!strcmp(k, "region"))
        return set_str(c->region, sizeof c->region, key, value, err, errlen);
    if (!strcmp(k, "access_key"))
        return set_str(c->access_key, sizeof c->access_key, key, value, err, errlen);
    if (!strcmp(k, "secret_key"))
        return set_str(c->secret_key, sizeof c->secret_key, key, value, err, errlen);
    if (!strcmp(k, "session_token"))
        return set_str(c->session_token, sizeof c->session_token, key, value, err, errlen);
    if (!strcmp(k, "insecure"))
        return parse_bool(&c->insecure, key, value, err, errlen);
    if (!strcmp(k, "ca_file") || !strcmp(k, "http_config.tls_config.ca_file"))
        return set_str(c->ca_file, sizeof c->ca_file, key, value, err, errlen);
    if (!strcmp(k, "cert_file") || !strcmp(k, "http_config.tls_config.cert_file"))
        return set_str(c->cert_file, sizeof c->cert_file, key, value, err, errlen);
    if (!strcmp(k, "key_file") || !strcmp(k, "http_config.tls_config.key_file"))
        return set_str(c->key_file, sizeof c->key_file, key, value, err, errlen);
    if (!strcmp(k, "http_config.tls_handshake_timeout"))
        return parse_duration_ms(&c->connect_timeout_ms, key, value, err, errlen);
    if (!strcmp(k, "aws_sdk_auth")) {
        bool v;
        int rc = parse_bool(&v, key, value, err, errlen);
        if (rc == 0 && v)
            rc = bad(err, errlen, key, value,
                     "not supported; give access_key/secret_key or the AWS_* variables");
        return rc;
    }
    if (!strncmp(k, "sse_config.", 11) || !strncmp(k, "put_user_metadata.", 18) ||
        !strcmp(k, "sts_endpoint") || !strcmp(k, "http_config.tls_config.server_name")) {
        if (!*value)
            return 0; /* Thanos' empty defaults */
        return bad(err, errlen, key, value, "not supported by Aion's S3 client");
    }
    static const char *const ignored[] = {
        /* Go HTTP transport tuning with no libcurl counterpart that matters:
         * accepted so Thanos configurations load unchanged. */
        "http_config.idle_conn_timeout",      "http_config.expect_continue_timeout",
        "http_config.max_idle_conns",         "http_config.max_idle_conns_per_host",
        "http_config.max_conns_per_host",     "http_config.disable_compression",
        "disable_dualstack",                  "trace.enable",
    };
    for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
        if (!strcmp(k, ignored[i]))
            return 0;
    if (!strcmp(k, "insecure_skip_verify") || !strcmp(k, "http_config.insecure_skip_verify") ||
        !strcmp(k, "http_config.tls_config.insecure_skip_verify"))
        return parse_bool(&c->insecure_skip_verify, key, value, err, errlen);
    if (!strcmp(k, "bucket_lookup_type")) {
        if (!strcmp(value, "auto") || !*value)
            c->lookup = OBJSTORE_LOOKUP_AUTO;
        else if (!strcmp(value, "path"))
            c->lookup = OBJSTORE_LOOKUP_PATH;
        else if (!strcmp(value, "virtual-host") || !strcmp(value, "virtual-hosted"))
            c->lookup = OBJSTORE_LOOKUP_VHOST;
        else
            return bad(err, errlen, key, value, "expected auto, path or virtual-host");
        return 0;
    }
    if (!strcmp(k, "part_size")) {
        uint64_t v;
        int rc = parse_u64(&v, key, value, err, errlen);
        if (rc < 0)
            return rc;
        if (v == 0)
            v = 128ull << 20; /* Thanos: 0 means 128 MiB */
        if (v < (5ull << 20) || v > (5ull << 30))
            return bad(err, errlen, key, value,
                       "S3 parts must be between 5 MiB (5242880) and 5 GiB");
        c->part_size = v;
        return 0;
    }
    if (!strcmp(k, "part_concurrency")) {
        uint64_t v;
        int rc = parse_u64(&v, key, value, err, errlen);
        if (rc < 0)
            return rc;
        if (v < 1 || v > OBJSTORE_MAX_PART_CONCURRENCY)
            return bad(err, errlen, key, value, "between 1 and 32");
        c->part_concurrency = (uint32_t)v;
        return 0;
    }
    if (!strcmp(k, "disable_multipart"))
        return parse_bool(&c->disable_multipart, key, value, err, errlen);
    if (!strcmp(k, "send_content_md5"))
        return parse_bool(&c->send_content_md5, key, value, err, errlen);
    if (!strcmp(k, "unsigned_payload"))
        return parse_bool(&c->unsigned_payload, key, value, err, errlen);
    if (!strcmp(k, "signature_version2")) {
        bool v;
        int rc = parse_bool(&v, key, value, err, errlen);
        if (rc < 0)
            return rc;
        if (v)
            return bad(err, errlen, key, value,
                       "signature version 2 is not supported; Aion signs with SigV4 only");
        return 0;
    }
    if (!strcmp(k, "list_objects_version")) {
        if (*value && strcmp(value, "v2"))
            return bad(err, errlen, key, value, "only ListObjectsV2 (\"\" or \"v2\") is supported");
        return 0;
    }
    if (!strcmp(k, "max_retries")) {
        uint64_t v;
        int rc = parse_u64(&v, key, value, err, errlen);
        if (rc < 0)
            return rc;
        if (v > 100)
            return bad(err, errlen, key, value, "at most 100");
        c->max_retries = v == 0 ? 10 : (int)v; /* Thanos: 0 = client default */
        return 0;
    }
    if (!strcmp(k, "retry_max_time"))
        return parse_duration_ms(&c->retry_max_time_ms, key, value, err, errlen);
    if (!strcmp(k, "connect_timeout"))
        return parse_duration_ms(&c->connect_timeout_ms, key, value, err, errlen);
    if (!strcmp(k, "idle_timeout") || !strcmp(k, "http_config.response_header_timeout"))
        return parse_duration_ms(&c->idle_timeout_ms, key, value, err, errlen);
    if (!strcmp(k, "list_max_keys")) {
        uint64_t v;
        int rc = parse_u64(&v, key, value, err, errlen);
        if (rc < 0)
            return rc;
        if (v < 1 || v > 1000)
            return bad(err, errlen, key, value, "between 1 and 1000");
        c->list_max_keys = (uint32_t)v;
        return 0;
    }
    snprintf(err, errlen, "objstore config: unknown key \"%s\"", key);
    return -EINVAL;
}
