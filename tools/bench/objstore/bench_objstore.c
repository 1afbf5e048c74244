/* Objstore throughput on loopback: upload, whole get and range get MB/s for
 * the FILESYSTEM backend and for S3 against a local s3rver (started here
 * with tests/objstore/s3rver.js). Not part of ctest.
 *
 * With -b sink, the S3 client runs against a do-nothing HTTP server in this
 * process (tools/bench/objstore/sink_server.c) to show the client's own cost.
 *
 * usage: bench_objstore [-s object_MiB] [-n objects] [-r range_KiB] [-g range_gets]
 *                       [-b fs|s3|sink|all] [-p part_MiB]
 */
#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "objstore/objstore.h"
#include "s3peer.h"
#include "sink_server.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int discard(void *ud, const void *d, size_t n)
{
    (void)d;
    *(size_t *)ud += n;
    return 0;
}

static int run(const char *label, const objstore_config *c, size_t size, int nobj,
               size_t range, int ngets)
{
    objstore_bucket *b;
    char err[512];
    if (objstore_bucket_open(c, &b, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", label, err);
        return 1;
    }
    unsigned char *data = malloc(size);
    if (!data)
        return 1;
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 2654435761u >> 13);
    objstore_err e;
    char name[64];

    double t0 = now();
    for (int i = 0; i < nobj; i++) {
        snprintf(name, sizeof name, "bench/obj%d", i);
        if (objstore_upload_buffer(b, name, data, size, &e) != 0) {
            fprintf(stderr, "%s upload: %s\n", label, e.msg);
            return 1;
        }
    }
    double up = now() - t0;

    size_t got = 0;
    t0 = now();
    for (int i = 0; i < nobj; i++) {
        snprintf(name, sizeof name, "bench/obj%d", i);
        if (objstore_get_cb(b, name, 0, -1, discard, &got, &e) != 0) {
            fprintf(stderr, "%s get: %s\n", label, e.msg);
            return 1;
        }
    }
    double whole = now() - t0;

    size_t rgot = 0;
    unsigned seed = 12345;
    t0 = now();
    for (int i = 0; i < ngets; i++) {
        seed = seed * 1103515245u + 12345u;
        uint64_t off = (uint64_t)(seed % (unsigned)(size - range));
        snprintf(name, sizeof name, "bench/obj%d", i % nobj);
        if (objstore_get_cb(b, name, off, (int64_t)range, discard, &rgot, &e) != 0) {
            fprintf(stderr, "%s range get: %s\n", label, e.msg);
            return 1;
        }
    }
    double rg = now() - t0;
    double mb = 1024.0 * 1024.0;
    printf("%-4s upload %4d x %6.1f MiB: %8.1f MB/s | get whole: %8.1f MB/s | "
           "%d range gets of %zu KiB: %8.1f MB/s, %7.0f gets/s\n",
           label, nobj, (double)size / mb, (double)size * nobj / mb / up,
           (double)got / mb / whole, ngets, range / 1024, (double)rgot / mb / rg,
           ngets / rg);
    for (int i = 0; i < nobj; i++) {
        snprintf(name, sizeof name, "bench/obj%d", i);
        objstore_delete(b, name, &e);
    }
    free(data);
    objstore_bucket_close(b);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* as aiond: see objstore.h */
    size_t size_mib = 32, range_kib = 16, part_mib = 16;
    int nobj = 4, ngets = 1000, opt;
    const char *which = "all";
    while ((opt = getopt(argc, argv, "s:n:r:g:b:p:h")) != -1) {
        switch (opt) {
        case 's': size_mib = strtoul(optarg, NULL, 10); break;
        case 'n': nobj = atoi(optarg); break;
        case 'r': range_kib = strtoul(optarg, NULL, 10); break;
        case 'g': ngets = atoi(optarg); break;
        case 'b': which = optarg; break;
        case 'p': part_mib = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: %s [-s object_MiB] [-n objects] [-r range_KiB] "
                            "[-g range_gets] [-b fs|s3|sink|all] [-p part_MiB]\n", argv[0]);
            return 2;
        }
    }
    size_t size = size_mib << 20, range = range_kib << 10;
    if (nobj < 1 || range == 0 || range >= size) {
        fprintf(stderr, "bad sizes\n");
        return 2;
    }
    int rc = 0;
    if (!strcmp(which, "fs") || !strcmp(which, "all")) {
        char dir[] = "/tmp/objstore-bench-XXXXXX";
        if (!mkdtemp(dir))
            return 1;
        objstore_config c;
        objstore_config_init(&c);
        snprintf(c.directory, sizeof c.directory, "%s", dir);
        rc |= run("fs", &c, size, nobj, range, ngets);
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (!strcmp(which, "sink") || !strcmp(which, "all")) {
        int port = sink_server_start(size);
        if (port < 0) {
            fprintf(stderr, "cannot start the sink server\n");
            return 1;
        }
        objstore_config c;
        objstore_config_init(&c);
        c.type = OBJSTORE_S3;
        snprintf(c.bucket, sizeof c.bucket, "sink");
        snprintf(c.endpoint, sizeof c.endpoint, "127.0.0.1:%d", port);
        snprintf(c.access_key, sizeof c.access_key, "AK");
        snprintf(c.secret_key, sizeof c.secret_key, "SK");
        c.insecure = true;
        c.part_size = (uint64_t)part_mib << 20;
        c.disable_multipart = true; /* the sink speaks no multipart XML */
        rc |= run("sink", &c, size, nobj, range, ngets);
    }
    if (!strcmp(which, "s3") || !strcmp(which, "all")) {
        s3peer p;
        int prc = s3peer_init(&p);
        if (prc == 77) {
            printf("s3   SKIPPED: %s\n", p.why);
            return rc;
        }
        if (prc != 0 || s3peer_start(&p, NULL) != 0) {
            fprintf(stderr, "cannot start s3rver\n");
            s3peer_cleanup(&p);
            return 1;
        }
        objstore_config c;
        objstore_config_init(&c);
        c.type = OBJSTORE_S3;
        snprintf(c.bucket, sizeof c.bucket, "%s", S3PEER_BUCKET);
        snprintf(c.endpoint, sizeof c.endpoint, "127.0.0.1:%d", p.port);
        snprintf(c.access_key, sizeof c.access_key, "%s", S3PEER_ACCESS_KEY);
        snprintf(c.secret_key, sizeof c.secret_key, "%s", S3PEER_SECRET_KEY);
        c.insecure = true;
        c.part_size = (uint64_t)part_mib << 20;
        rc |= run("s3", &c, size, nobj, range, ngets);
        s3peer_cleanup(&p);
    }
    return rc;
}
