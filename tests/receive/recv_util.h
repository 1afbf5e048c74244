/* Helpers for the receive tests: run the real aiond with the receive plugin
 * on a free port, post remote-write requests with libcurl, read back what
 * was stored with lib/tsdb. Test code: failures abort through cmocka. */
#ifndef RECV_UTIL_H
#define RECV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <prompb/write.h>

typedef struct ru_aiond {
    pid_t pid;
    int port;
    char dir[512];      /* test root: conf/, data/, bucket/ */
    char log[600];
} ru_aiond;

typedef struct ru_resp {
    long code;
    char body[1 << 18];
    size_t len;
    char headers[8192];
} ru_resp;

/* Creates a fresh root dir under /tmp named after `name`. */
void ru_init(ru_aiond *a, const char *name);
/* Writes conf/00.conf (host on a free port, data under dir/data) and
 * conf/20-receive.conf with `receive_config` inserted into the plugin's
 * config group, then starts aiond and waits for /-/ready 200. */
void ru_start(ru_aiond *a, const char *receive_config);
/* Same with more plugin entries ("{ name = ...; path = ...; }, ") before receive. */
void ru_start_with(ru_aiond *a, const char *receive_config, const char *other_plugins);
/* Path of a test plugin built in tests/receive/plugins/ (static buffer). */
const char *ru_test_plugin(const char *name);
/* Same, without a new config (restart). */
void ru_restart(ru_aiond *a);
/* Sends sig and waits for the exit status (or kills after 20 s). */
int ru_stop(ru_aiond *a, int sig);
/* Removes the root dir. */
void ru_cleanup(ru_aiond *a);

/* POST body to path; extra headers as "Name: value" strings, NULL-ended. */
long ru_post(ru_aiond *a, const char *path, const void *body, size_t len,
             const char *const *headers, ru_resp *r);
long ru_get(ru_aiond *a, const char *path, ru_resp *r);

/* A series for the encoders: labels as "name", "value" pairs. */
typedef struct ru_series {
    const char *labels[16];   /* name, value, name, value, ..., NULL */
    prompb_sample samples[64];
    size_t nsamples;
} ru_series;

/* Snappy-compressed remote write 1.0 / 2.0 bodies (malloc'ed, *len set). */
void *ru_encode_v1(const ru_series *s, size_t n, size_t *len);
void *ru_encode_v2(const ru_series *s, size_t n, size_t *len);
/* Snappy-compresses raw bytes. */
void *ru_snappy(const void *raw, size_t n, size_t *len);

/* Reads the samples of the series with exactly these labels from the TSDB in
 * dir (opened with lib/tsdb while aiond is not running). Returns the count
 * (-1 when the series does not exist). */
int ru_read_series(const char *tsdb_dir, const char *const *labels, prompb_sample *out, size_t max);
/* Number of series in the TSDB in dir. */
int ru_count_series(const char *tsdb_dir);

int64_t ru_now_ms(void);
char *ru_read_file(const char *path);

#endif
