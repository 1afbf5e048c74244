/* receive's shipper end to end: blocks cut from the head (1 minute blocks)
 * appear in a filesystem bucket with meta.json last and a correct thanos
 * section; SIGTERM flushes and uploads the head; a restart uploads nothing
 * twice; samples below the cut block are refused as too old. */
#include <dirent.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "recv_util.h"

static const char *const V1[] = { "Content-Encoding: snappy", NULL };

static bool is_ulid(const char *s)
{
    return strlen(s) == 26 && strspn(s, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == 26;
}

/* ULID directories under dir (sorted, up to max); with meta only those with meta.json. */
static int list_ulids(const char *dir, char out[][27], int max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (!is_ulid(e->d_name))
            continue;
        char meta[1024];
        snprintf(meta, sizeof meta, "%s/%s/meta.json", dir, e->d_name);
        if (access(meta, F_OK) != 0)
            continue;
        snprintf(out[n++], 27, "%s", e->d_name);
    }
    closedir(d);
    qsort(out, (size_t)n, 27, (int (*)(const void *, const void *))strcmp);
    return n;
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Checks one uploaded block against its local copy. */
static void check_block(const char *bucket, const char *local, const char *ulid)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/meta.json", bucket, ulid);
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "ulid")), ulid);
    json_t *th = json_object_get(m, "thanos");
    assert_non_null(th);
    json_t *lb = json_object_get(th, "labels");
    assert_int_equal(json_object_size(lb), 2);
    assert_string_equal(json_string_value(json_object_get(lb, "receive_replica")), "0");
    assert_string_equal(json_string_value(json_object_get(lb, "tenant_id")), "default-tenant");
    assert_string_equal(json_string_value(json_object_get(th, "source")), "receive");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(th, "downsample"), "resolution")), 0);
    /* every file listed is in the bucket with the size given, and equals the local one */
    json_t *files = json_object_get(th, "files"), *f;
    size_t i;
    int seen_index = 0, seen_chunks = 0;
    json_array_foreach(files, i, f) {
        const char *rel = json_string_value(json_object_get(f, "rel_path"));
        assert_non_null(rel);
        char bp[1200], lp[1200];
        snprintf(bp, sizeof bp, "%s/%s/%s", bucket, ulid, rel);
        snprintf(lp, sizeof lp, "%s/%s/%s", local, ulid, rel);
        struct stat bs, ls;
        assert_int_equal(stat(bp, &bs), 0);
        if (stat(lp, &ls) == 0)
            assert_int_equal(bs.st_size, ls.st_size);
        json_t *sz = json_object_get(f, "size_bytes");
        if (sz)
            assert_int_equal(bs.st_size, json_integer_value(sz));
        seen_index += strcmp(rel, "index") == 0;
        seen_chunks += strncmp(rel, "chunks/", 7) == 0;
    }
    assert_int_equal(seen_index, 1);
    assert_true(seen_chunks >= 1);
    json_decref(m);
}

static void test_shipper(void **state)
{
    (void)state;
    ru_aiond a;
    ru_init(&a, "shipper");
    char conf[2048], bucket[700], local[700], shipper[800];
    snprintf(bucket, sizeof bucket, "%s/bucket", a.dir);
    snprintf(local, sizeof local, "%s/data/receive/default-tenant", a.dir);
    snprintf(shipper, sizeof shipper, "%s/thanos.shipper.json", local);
    snprintf(conf, sizeof conf,
             "external_labels = { receive_replica = \"0\"; };\n"
             "bucket = { type = \"FILESYSTEM\"; config = { directory = \"%s\"; }; };\n"
             "block_duration = \"1m\"; maintenance_interval = \"100ms\"; retention = \"0\";",
             bucket);
    char others[900];
    snprintf(others, sizeof others, "{ name = \"probe\"; path = \"%s\"; },", ru_test_plugin("storeprobe"));
    ru_start_with(&a, conf, others);
    static ru_resp r;
    /* 12 minutes of one sample per 10 s: the head spans far more than 1.5 blocks */
    int64_t now = ru_now_ms(), t0 = now - 12 * 60000;
    ru_series s = { .labels = { "__name__", "shipped", "job", "x", NULL } };
    int total = 0;
    for (int64_t t = t0; t <= now; t += 10000) {
        s.samples[s.nsamples++] = (prompb_sample){ t, (double)total++ };
        if (s.nsamples == 64) {
            size_t len;
            void *b = ru_encode_v1(&s, 1, &len);
            assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
            free(b);
            s.nsamples = 0;
        }
    }
    size_t len;
    void *b = ru_encode_v1(&s, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);

    /* blocks appear in the bucket */
    char ulids[64][27];
    int n = 0;
    bool recorded = false;
    for (int i = 0; i < 100 && !recorded; i++) {
        usleep(100000);
        n = list_ulids(bucket, ulids, 64);
        /* meta.json goes first into the bucket, then into thanos.shipper.json */
        char *sj = ru_read_file(shipper);
        recorded = n >= 2 && sj;
        for (int k = 0; recorded && k < n; k++)
            recorded = strstr(sj, ulids[k]) != NULL;
        free(sj);
    }
    assert_true(recorded);
    for (int i = 0; i < n; i++)
        check_block(bucket, local, ulids[i]);

    /* below the cut blocks: too old, 409 */
    ru_series old = { .labels = { "__name__", "shipped", "job", "x", NULL }, .samples = { { t0 + 5000, 1 } }, .nsamples = 1 };
    b = ru_encode_v1(&old, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 409);
    assert_non_null(strstr(r.body, "1 too old"));
    free(b);

    /* SIGTERM: the head is cut and uploaded too */
    assert_int_equal(ru_stop(&a, SIGTERM), 0);
    char lu[64][27], bu[64][27];
    int nl = list_ulids(local, lu, 64), nb = list_ulids(bucket, bu, 64);
    assert_true(nb > n);
    assert_int_equal(nl, nb);
    for (int i = 0; i < nb; i++) {
        assert_string_equal(lu[i], bu[i]);
        check_block(bucket, local, bu[i]);
    }
    prompb_sample got[128];
    const char *sl[] = { "__name__", "shipped", "job", "x", NULL };
    char *log = ru_read_file(a.log);
    int uploads = count_str(log, "uploaded block");
    free(log);
    assert_int_equal(uploads, nb);

    /* restart: nothing is uploaded again, nothing skipped */
    struct stat before[64];
    for (int i = 0; i < nb; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s/meta.json", bucket, bu[i]);
        assert_int_equal(stat(p, &before[i]), 0);
    }
    ru_restart(&a);
    usleep(600000);
    assert_int_equal(ru_get(&a, "/metrics", &r), 200);
    assert_null(strstr(r.body, "aion_receive_shipper_uploads_total{tenant=\"default-tenant\"} 1"));
    /* the store service reads the local blocks (the head is empty after the flush) */
    assert_int_equal(ru_get(&a, "/probe/select?m=job%3Dx", &r), 200);
    const char *pfx = "{__name__=\"shipped\", job=\"x\", receive_replica=\"0\", tenant_id=\"default-tenant\"}";
    assert_int_equal(strncmp(r.body, pfx, strlen(pfx)), 0);
    assert_int_equal(count_str(r.body, ":"), total);
    assert_int_equal(count_str(r.body, "\n"), 1);
    assert_int_equal(ru_stop(&a, SIGTERM), 0);
    log = ru_read_file(a.log);
    assert_int_equal(count_str(log, "uploaded block"), uploads);
    free(log);
    for (int i = 0; i < nb; i++) {
        char p[1200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s/meta.json", bucket, bu[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_mtim.tv_sec == before[i].st_mtim.tv_sec && st.st_mtim.tv_nsec == before[i].st_mtim.tv_nsec);
    }
    assert_int_equal(ru_read_series(local, sl, got, 128), total);
    for (int i = 0; i < total; i++)
        assert_true(got[i].value == i);
    /* the bucket alone holds every sample too (opened as a TSDB dir, last) */
    assert_int_equal(ru_read_series(bucket, sl, got, 128), total);
    for (int i = 0; i < total; i++)
        assert_true(got[i].value == i);
    ru_cleanup(&a);
}

/* Uploads failing (the bucket directory replaced by a file) are retried
 * with backoff; retention never removes a block before it is uploaded, and
 * removes it once it is. */
static void test_retry_and_retention(void **state)
{
    (void)state;
    ru_aiond a;
    ru_init(&a, "retention");
    char conf[2048], bucket[700], local[700];
    snprintf(bucket, sizeof bucket, "%s/bucket", a.dir);
    snprintf(local, sizeof local, "%s/data/receive/default-tenant", a.dir);
    snprintf(conf, sizeof conf,
             "external_labels = { receive_replica = \"0\"; };\n"
             "bucket = { type = \"FILESYSTEM\"; config = { directory = \"%s\"; }; };\n"
             "block_duration = \"1m\"; maintenance_interval = \"100ms\"; retention = \"1s\";",
             bucket);
    ru_start(&a, conf);
    assert_int_equal(rmdir(bucket), 0);
    FILE *f = fopen(bucket, "w");
    assert_non_null(f);
    fclose(f);
    ru_resp r;
    int64_t now = ru_now_ms(), t0 = now - 12 * 60000;
    ru_series s = { .labels = { "__name__", "kept", NULL } };
    for (int64_t t = t0; t <= now; t += 20000)
        s.samples[s.nsamples++] = (prompb_sample){ t, 1 };
    size_t len;
    void *b = ru_encode_v1(&s, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);
    char lu[64][27], bu[64][27];
    int nl = 0;
    for (int i = 0; i < 50 && nl < 2; i++) {
        usleep(100000);
        nl = list_ulids(local, lu, 64);
    }
    assert_true(nl >= 2);
    usleep(1500000); /* well past the retention: the blocks stay, they are not uploaded */
    char later[64][27];
    int nlater = list_ulids(local, later, 64);
    for (int i = 0; i < nl; i++) {
        bool still = false;
        for (int k = 0; k < nlater; k++)
            still |= strcmp(lu[i], later[k]) == 0;
        assert_true(still);
    }
    nl = nlater;
    assert_int_equal(ru_get(&a, "/metrics", &r), 200);
    assert_non_null(strstr(r.body, "aion_receive_shipper_upload_failures_total{tenant=\"default-tenant\"}"));
    /* the bucket is back: the blocks go up, then the local copies go */
    assert_int_equal(unlink(bucket), 0);
    assert_int_equal(mkdir(bucket, 0755), 0);
    int nb = 0, left = nl;
    for (int i = 0; i < 150 && (nb < nl || left > 0); i++) {
        usleep(100000);
        nb = list_ulids(bucket, bu, 64);
        left = list_ulids(local, lu, 64);
    }
    assert_true(nb >= nl);
    assert_int_equal(left, 0);
    for (int i = 0; i < nb; i++)
        check_block(bucket, bucket, bu[i]);
    assert_int_equal(ru_stop(&a, SIGTERM), 0);
    /* the head went up at shutdown; every sample is in the bucket */
    prompb_sample got[64];
    const char *kl[] = { "__name__", "kept", NULL };
    assert_int_equal(ru_read_series(bucket, kl, got, 64), (int)s.nsamples);
    ru_cleanup(&a);
}

/* kill -9 while writing: every acknowledged sample is there after a
 * restart (WAL fsynced before each 2xx). */
static void test_kill9(void **state)
{
    (void)state;
    ru_aiond a;
    ru_init(&a, "kill9");
    ru_start(&a, "");
    ru_resp r;
    int64_t t0 = ru_now_ms() - 600000;
    int acked = 0;
    for (int i = 0; i < 200; i++) {
        ru_series s = { .labels = { "__name__", "k9", NULL }, .samples = { { t0 + i * 1000, i } }, .nsamples = 1 };
        size_t len;
        void *b = ru_encode_v1(&s, 1, &len);
        long code = ru_post(&a, "/api/v1/receive", b, len, V1, &r);
        free(b);
        assert_int_equal(code, 204);
        acked++;
    }
    assert_int_equal(ru_stop(&a, SIGKILL), 128 + SIGKILL);
    ru_restart(&a);
    /* readable at once after the replay, and writable */
    ru_series s = { .labels = { "__name__", "k9", NULL }, .samples = { { t0 + acked * 1000, acked } }, .nsamples = 1 };
    size_t len;
    void *b = ru_encode_v1(&s, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);
    assert_int_equal(ru_stop(&a, SIGKILL), 128 + SIGKILL);
    char dir[700];
    snprintf(dir, sizeof dir, "%s/data/receive/default-tenant", a.dir);
    prompb_sample got[256];
    const char *kl[] = { "__name__", "k9", NULL };
    assert_int_equal(ru_read_series(dir, kl, got, 256), acked + 1);
    for (int i = 0; i <= acked; i++)
        assert_true(got[i].value == i);
    ru_cleanup(&a);
}

/* A series removed from the head (all its data cut into a block) and
 * written again: the write path's cached reference is stale and must fall
 * back to a lookup by labels, never lose or misplace the sample. */
static void test_series_removed_and_back(void **state)
{
    (void)state;
    ru_aiond a;
    ru_init(&a, "removed");
    ru_start(&a, "block_duration = \"1m\"; maintenance_interval = \"100ms\"; retention = \"0\";");
    ru_resp r;
    int64_t now = ru_now_ms(), t0 = now - 12 * 60000;
    ru_series gone = { .labels = { "__name__", "gone", NULL }, .samples = { { t0, 1 }, { t0 + 1000, 2 } }, .nsamples = 2 };
    ru_series span = { .labels = { "__name__", "span", NULL } };
    for (int64_t t = t0; t <= now; t += 20000)
        span.samples[span.nsamples++] = (prompb_sample){ t, 1 };
    ru_series both[2] = { gone, span };
    size_t len;
    void *b = ru_encode_v1(both, 2, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);
    /* wait until the head dropped "gone" (one series left) */
    bool dropped = false;
    for (int i = 0; i < 100 && !dropped; i++) {
        usleep(100000);
        assert_int_equal(ru_get(&a, "/metrics", &r), 200);
        dropped = strstr(r.body, "aion_receive_head_series{tenant=\"default-tenant\"} 1\n") != NULL;
    }
    assert_true(dropped);
    ru_series back = { .labels = { "__name__", "gone", NULL }, .samples = { { now, 3 } }, .nsamples = 1 };
    b = ru_encode_v1(&back, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);
    assert_int_equal(ru_stop(&a, SIGKILL), 128 + SIGKILL); /* from the WAL, not a flush */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/data/receive/default-tenant", a.dir);
    prompb_sample got[64];
    const char *gl[] = { "__name__", "gone", NULL };
    assert_int_equal(ru_read_series(dir, gl, got, 64), 3);
    assert_true(got[0].value == 1 && got[1].value == 2 && got[2].value == 3);
    assert_int_equal(got[2].timestamp_ms, now);
    const char *sl[] = { "__name__", "span", NULL };
    assert_int_equal(ru_read_series(dir, sl, got, 64), (int)span.nsamples);
    ru_cleanup(&a);
}

/* The memory budget holds during WAL replay too: restarted with a lower
 * series limit, the head takes only what fits, and new series get 429. */
static void test_replay_budget(void **state)
{
    (void)state;
    ru_aiond a;
    ru_init(&a, "replay");
    ru_start(&a, "");
    static ru_resp r;
    int64_t T = ru_now_ms() - 60000;
    static char iv[300][8];
    static ru_series s[300];
    for (int i = 0; i < 300; i++) {
        snprintf(iv[i], sizeof iv[i], "%d", i);
        const char *l[] = { "__name__", "rb", "i", iv[i], NULL };
        memcpy(s[i].labels, l, sizeof l);
        s[i].samples[0] = (prompb_sample){ T, i };
        s[i].nsamples = 1;
    }
    size_t len;
    void *b = ru_encode_v1(s, 300, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 204);
    free(b);
    assert_int_equal(ru_stop(&a, SIGKILL), 128 + SIGKILL); /* the head is only in the WAL */
    ru_start(&a, "max_series_per_tenant = 100;");
    assert_int_equal(ru_get(&a, "/metrics", &r), 200);
    assert_non_null(strstr(r.body, "aion_receive_head_series{tenant=\"default-tenant\"} 100\n"));
    ru_series extra = { .labels = { "__name__", "rb", "i", "new", NULL }, .samples = { { T + 1000, 1 } }, .nsamples = 1 };
    b = ru_encode_v1(&extra, 1, &len);
    assert_int_equal(ru_post(&a, "/api/v1/receive", b, len, V1, &r), 429);
    free(b);
    assert_int_equal(ru_stop(&a, SIGTERM), 0);
    ru_cleanup(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipper),
        cmocka_unit_test(test_retry_and_retention),
        cmocka_unit_test(test_kill9),
        cmocka_unit_test(test_series_removed_and_back),
        cmocka_unit_test(test_replay_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
