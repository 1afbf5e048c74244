/* Bucket configuration from Thanos-named string keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "objstore/objstore.h"

static objstore_config c;
static char err[256];

static int set(const char *k, const char *v)
{
    err[0] = 0;
    return objstore_config_set(&c, k, v, err, sizeof err);
}

static void defaults(void **state)
{
    objstore_config_init(&c);
    assert_int_equal(c.type, OBJSTORE_FILESYSTEM);
    assert_string_equal(c.directory, "./data/bucket");
    assert_int_equal(c.part_size, 64u << 20);
    assert_true(c.send_content_md5);
    assert_false(c.insecure);
    assert_int_equal(c.lookup, OBJSTORE_LOOKUP_AUTO);
    assert_int_equal(c.list_max_keys, 1000);
    assert_int_equal(c.part_concurrency, 4);
}

static void thanos_s3_keys(void **state)
{
    objstore_config_init(&c);
    assert_int_equal(set("type", "S3"), 0);
    assert_int_equal(c.type, OBJSTORE_S3);
    assert_int_equal(set("config.bucket", "thanos"), 0);
    assert_string_equal(c.bucket, "thanos");
    assert_int_equal(set("endpoint", "127.0.0.1:9000"), 0);
    assert_int_equal(set("region", "eu-west-1"), 0);
    assert_int_equal(set("access_key", "AK"), 0);
    assert_int_equal(set("secret_key", "SK"), 0);
    assert_int_equal(set("session_token", "TOK"), 0);
    assert_int_equal(set("insecure", "true"), 0);
    assert_true(c.insecure);
    assert_int_equal(set("http_config.tls_config.ca_file", "/etc/ca.pem"), 0);
    assert_string_equal(c.ca_file, "/etc/ca.pem");
    assert_int_equal(set("ca_file", "/etc/other.pem"), 0);
    assert_string_equal(c.ca_file, "/etc/other.pem");
    assert_int_equal(set("http_config.insecure_skip_verify", "true"), 0);
    assert_true(c.insecure_skip_verify);
    assert_int_equal(set("part_size", "134217728"), 0);
    assert_int_equal(c.part_size, 128u << 20);
    assert_int_equal(set("part_size", "0"), 0); /* Thanos: 0 = 128 MiB */
    assert_int_equal(c.part_size, 128u << 20);
    assert_int_equal(set("bucket_lookup_type", "virtual-host"), 0);
    assert_int_equal(c.lookup, OBJSTORE_LOOKUP_VHOST);
    assert_int_equal(set("bucket_lookup_type", "virtual-hosted"), 0);
    assert_int_equal(set("bucket_lookup_type", "path"), 0);
    assert_int_equal(c.lookup, OBJSTORE_LOOKUP_PATH);
    assert_int_equal(set("part_concurrency", "8"), 0);
    assert_int_equal(c.part_concurrency, 8);
    assert_int_equal(set("send_content_md5", "false"), 0);
    assert_false(c.send_content_md5);
    assert_int_equal(set("signature_version2", "false"), 0);
    assert_int_equal(set("list_objects_version", "v2"), 0);
    assert_int_equal(set("retry_max_time", "1m30s"), 0);
    assert_int_equal(c.retry_max_time_ms, 90000);
    assert_int_equal(set("connect_timeout", "500ms"), 0);
    assert_int_equal(c.connect_timeout_ms, 500);
    assert_int_equal(set("http_config.response_header_timeout", "2m"), 0);
    assert_int_equal(c.idle_timeout_ms, 120000);
    assert_int_equal(set("max_retries", "3"), 0);
    assert_int_equal(c.max_retries, 3);
    assert_int_equal(set("http_config.tls_config.cert_file", "/c.pem"), 0);
    assert_string_equal(c.cert_file, "/c.pem");
    assert_int_equal(set("key_file", "/k.pem"), 0);
    assert_string_equal(c.key_file, "/k.pem");
    /* Thanos transport tuning loads unchanged (no effect here). */
    assert_int_equal(set("http_config.idle_conn_timeout", "1m30s"), 0);
    assert_int_equal(set("http_config.max_idle_conns", "100"), 0);
    assert_int_equal(set("disable_dualstack", "false"), 0);
    assert_int_equal(set("aws_sdk_auth", "false"), 0);
    assert_int_equal(set("sse_config.type", ""), 0);
    assert_int_equal(set("prefix", "tenant"), 0);
    assert_string_equal(c.prefix, "tenant");
    assert_int_equal(set("type", "FILESYSTEM"), 0);
    assert_int_equal(set("directory", "/var/lib/aion/bucket"), 0);
    assert_string_equal(c.directory, "/var/lib/aion/bucket");
}

static void errors(void **state)
{
    objstore_config_init(&c);
    struct {
        const char *k, *v, *needle;
    } cases[] = {
        {"type", "GCS", "FILESYSTEM and S3"},
        {"no_such_key", "1", "unknown key \"no_such_key\""},
        {"insecure", "maybe", "true or false"},
        {"part_size", "1000", "5 MiB"},
        {"part_size", "-5", "non-negative"},
        {"part_size", "12abc", "non-negative"},
        {"signature_version2", "true", "not supported"},
        {"bucket_lookup_type", "dns", "auto, path or virtual-host"},
        {"endpoint", "http://minio:9000", "without a scheme"},
        {"list_objects_version", "v1", "ListObjectsV2"},
        {"retry_max_time", "10 parsecs", "duration"},
        {"list_max_keys", "5000", "between 1 and 1000"},
        {"part_concurrency", "0", "between 1 and 32"},
        {"directory", "", "empty"},
        {"sse_config.type", "SSE-KMS", "not supported"},
        {"put_user_metadata.team", "x", "not supported"},
        {"aws_sdk_auth", "true", "not supported"},
        {"http_config.tls_config.servername", "x", "unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(set(cases[i].k, cases[i].v), -EINVAL);
        if (!strstr(err, cases[i].needle))
            print_error("%s=%s: %s\n", cases[i].k, cases[i].v, err);
        assert_non_null(strstr(err, cases[i].needle));
    }
    /* Bad values leave the setting unchanged. */
    assert_int_equal(c.part_size, 64u << 20);
    char big[OBJSTORE_STR_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(set("bucket", big), -EINVAL);
    assert_non_null(strstr(err, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(thanos_s3_keys),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
