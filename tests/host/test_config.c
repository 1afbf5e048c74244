/* Config loading: every error names file:line and the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

/* Loads one in-memory file; returns rc and fills diag (caller frees). */
static int load1(const char *text, host_conf *c, host_diag *d)
{
    const char *names[] = { "conf.d/10-test.conf" };
    const char *texts[] = { text };
    return host_conf_load_buffers(c, names, texts, 1, d);
}

static bool diag_has(const host_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->lines[i], needle))
            return true;
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "  diag: %s\n", d->lines[i]);
    return false;
}

static const aion_option opts[] = {
    { "listen", AION_OPT_STRING, "127.0.0.1:1", "addr", 0 },
    { "count", AION_OPT_INT, "3", "n", 0 },
    { "on", AION_OPT_BOOL, "false", "b", 0 },
    { "ratio", AION_OPT_DOUBLE, "0.5", "d", 0 },
    { "every", AION_OPT_DURATION, "15s", "dur", 0 },
    { "limit", AION_OPT_SIZE, "1MiB", "size", 0 },
    { "tags", AION_OPT_STRING_LIST, NULL, "list", 0 },
    { "bucket", AION_OPT_GROUP, NULL, "group", 0 },
    { "targets", AION_OPT_GROUP_LIST, NULL, "groups", 0 },
    { "secret", AION_OPT_STRING, NULL, "must be set", AION_OPT_REQUIRED },
    AION_OPTION_END
};

static void test_good_file(void **state)
{
    (void)state;
    host_conf c;
    host_diag d = { 0 };
    setenv("AION_TEST_SECRET", "s3cr3t", 1);
    int rc = load1("host = { log_level = \"debug\"; data_dir = \"/tmp/x\"; stop_timeout = \"5s\";\n"
                   "  listeners = ( { name = \"main\"; address = \"127.0.0.1:0\"; max_body_size = \"1MiB\"; } ); };\n"
                   "plugins = ( { name = \"a\"; path = \"a.so\"; config = { secret = \"${AION_TEST_SECRET}\";\n"
                   "   every = \"1m30s\"; limit = 2048; tags = [\"x\", \"y\"]; bucket = { type = \"S3\"; };\n"
                   "   targets = ( { url = \"http://x\"; } ); }; },\n"
                   "  { name = \"b\"; enabled = false; } );\n",
                   &c, &d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(c.log_level, "debug");
    assert_string_equal(c.data_dir, "/tmp/x");
    assert_int_equal(c.stop_timeout_ms, 5000);
    assert_int_equal(c.nlisteners, 1);
    assert_int_equal(c.listeners[0].max_body_size, 1 << 20);
    assert_int_equal(c.nplugins, 2);
    assert_string_equal(c.plugins[0].path, "a.so");
    assert_string_equal(c.plugins[1].path, "b.so");
    assert_false(c.plugins[1].enabled);
    struct aion_config *cfg = c.plugins[0].config;
    assert_int_equal(host_config_validate(cfg, opts, "a", &d), 0);
    assert_string_equal(host_config_get(cfg, "secret")->text, "s3cr3t");
    host_conf_free(&c);
    host_diag_free(&d);
}

static void test_default_listener(void **state)
{
    (void)state;
    host_conf c;
    host_diag d = { 0 };
    assert_int_equal(load1("", &c, &d), 0);
    assert_int_equal(c.nlisteners, 1);
    assert_string_equal(c.listeners[0].name, "main");
    assert_string_equal(c.listeners[0].address, "127.0.0.1:10902");
    assert_string_equal(c.data_dir, "./data");
    host_conf_free(&c);
    host_diag_free(&d);
}

static void expect_load_error(const char *text, const char *msg)
{
    host_conf c;
    host_diag d = { 0 };
    int rc = load1(text, &c, &d);
    if (rc == 0)
        fprintf(stderr, "expected an error for: %s", text);
    assert_int_not_equal(rc, 0);
    assert_true(diag_has(&d, msg));
    host_conf_free(&c);
    host_diag_free(&d);
}

static void test_load_errors(void **state)
{
    (void)state;
    unsetenv("AION_TEST_UNSET");
    expect_load_error("plugins = ( { name = \"a\" } \n", "conf.d/10-test.conf:2: syntax error");
    expect_load_error("host = { log_level = \"debug\" };\nbogus = 1;\n",
                      "conf.d/10-test.conf:2: unknown top-level setting 'bogus'");
    expect_load_error("plugins = ( { name = \"a\"; },\n { name = \"a\"; } );\n",
                      "conf.d/10-test.conf:2: duplicate plugin instance name 'a' (first defined at conf.d/10-test.conf:1)");
    expect_load_error("plugins = ( { nme = \"a\"; } );\n", "entry: unknown option 'nme' (did you mean 'name'?)");
    expect_load_error("plugins = ( { name = 3; } );\n", "option 'name' must be a string, not an integer");
    expect_load_error("host = { log_level = \"loud\"; };\n", "log_level must be debug, info, warn or error");
    expect_load_error("host = { stop_timeout = \"5 minutes\"; };\n",
                      "conf.d/10-test.conf:1: plugin host: option 'stop_timeout': invalid duration \"5 minutes\"");
    expect_load_error("plugins = ( { name = \"a\"; config = { x = \"${AION_TEST_UNSET}\"; }; } );\n",
                      "conf.d/10-test.conf:1: x: environment variable AION_TEST_UNSET is not set");
    expect_load_error("host = { listeners = ( { name = \"m\"; address = \"1:1\"; },\n { name = \"m\"; address = \"1:2\"; } ); };\n",
                      "conf.d/10-test.conf:2: duplicate listener name 'm'");
    expect_load_error("host = { listeners = ( { name = \"m\"; address = \"1:1\"; tls_cert_file = \"c\"; } ); };\n",
                      "tls_cert_file and tls_key_file go together");
    expect_load_error("plugins = { name = \"a\"; };\n", "'plugins' must be a list");
}

static void test_host_key_twice(void **state)
{
    (void)state;
    host_conf c;
    host_diag d = { 0 };
    const char *names[] = { "conf.d/00-a.conf", "conf.d/10-b.conf" };
    const char *texts[] = { "host = { data_dir = \"/a\"; };\n", "\n\nhost = { data_dir = \"/b\"; };\n" };
    assert_int_not_equal(host_conf_load_buffers(&c, names, texts, 2, &d), 0);
    assert_true(diag_has(&d, "conf.d/10-b.conf:3: host: 'data_dir' is already set at conf.d/00-a.conf:1"));
    host_conf_free(&c);
    host_diag_free(&d);
}

static void expect_validate(const char *cfgtext, const char *msg)
{
    host_diag d = { 0 };
    host_conf c;
    char text[1024];
    snprintf(text, sizeof text, "plugins = ( { name = \"receive\";\n config = {\n %s }; } );\n", cfgtext);
    assert_int_equal(load1(text, &c, &d), 0);
    int n = host_config_validate(c.plugins[0].config, opts, "receive", &d);
    if (msg) {
        assert_true(n > 0);
        assert_true(diag_has(&d, msg));
    } else {
        if (n)
            assert_true(diag_has(&d, "(none expected)"));
    }
    host_conf_free(&c);
    host_diag_free(&d);
}

static void test_validate(void **state)
{
    (void)state;
    expect_validate("secret = \"x\";", NULL);
    expect_validate("secret = \"x\"; listne = \"a\";",
                    "conf.d/10-test.conf:3: plugin receive: unknown option 'listne' (did you mean 'listen'?)");
    expect_validate("secret = \"x\"; zzzzzzzz = 1;", "plugin receive: unknown option 'zzzzzzzz'");
    expect_validate("secret = \"x\"; count = \"3\";", "option 'count' must be an integer, not a string");
    expect_validate("secret = \"x\"; on = 1;", "option 'on' must be a boolean (true/false), not an integer");
    expect_validate("secret = \"x\"; every = \"fast\";", "option 'every': invalid duration \"fast\"");
    expect_validate("secret = \"x\"; limit = \"lots\";", "option 'limit': invalid size \"lots\"");
    expect_validate("secret = \"x\"; tags = [1, 2];", "option 'tags' must be a list of strings");
    expect_validate("secret = \"x\"; bucket = \"s3\";", "option 'bucket' must be a group");
    expect_validate("secret = \"x\"; targets = ( \"a\" );", "option 'targets' must be a list of groups");
    expect_validate("count = 3;", "conf.d/10-test.conf:2: plugin receive: missing required option 'secret'");
    expect_validate("secret = \"x\"; ratio = 2;", NULL);
}

static void test_parsers(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(host_parse_duration_ms("1h30m", &v), 0);
    assert_int_equal(v, 5400000);
    assert_int_equal(host_parse_duration_ms("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(host_parse_duration_ms("1y", &v), 0);
    assert_int_equal(v, 365LL * 86400000);
    assert_int_equal(host_parse_duration_ms("2w1d", &v), 0);
    assert_int_equal(v, 15LL * 86400000);
    assert_int_equal(host_parse_duration_ms("1m1ms", &v), 0);
    assert_int_equal(v, 60001);
    assert_int_equal(host_parse_duration_ms("30", &v), 0);
    assert_int_equal(v, 30000);
    assert_int_equal(host_parse_duration_ms("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_not_equal(host_parse_duration_ms("5m1h", &v), 0);   /* order */
    assert_int_not_equal(host_parse_duration_ms("1m1m", &v), 0);   /* twice */
    assert_int_not_equal(host_parse_duration_ms("", &v), 0);
    assert_int_not_equal(host_parse_duration_ms("1x", &v), 0);
    assert_int_not_equal(host_parse_duration_ms("h", &v), 0);
    assert_int_not_equal(host_parse_duration_ms("99999999999999999999s", &v), 0);
    assert_int_equal(host_parse_size("64MiB", &v), 0);
    assert_int_equal(v, 64LL << 20);
    assert_int_equal(host_parse_size("1GB", &v), 0);
    assert_int_equal(v, 1000000000LL);
    assert_int_equal(host_parse_size("512", &v), 0);
    assert_int_equal(v, 512);
    assert_int_not_equal(host_parse_size("1 XB", &v), 0);
    assert_int_not_equal(host_parse_size("-1", &v), 0);
    char err[128];
    setenv("AION_T1", "v1", 1);
    char *s = host_expand_env("a${AION_T1}b$$c", err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "av1b$c");
    free(s);
    assert_null(host_expand_env("${AION_T1", err, sizeof err));
    assert_non_null(strstr(err, "unterminated"));
    assert_null(host_expand_env("${A-B}", err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_default_listener),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_host_key_twice),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
