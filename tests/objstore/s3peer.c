/* Local s3rver process management for tests and benchmarks. */
#include "s3peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *source_dir(void)
{
    const char *s = getenv("AION_SOURCE_DIR");
    return s && *s ? s : AION_SOURCE_DIR_DEFAULT;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int s3peer_init(s3peer *p)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    char mod[PATH_MAX];
    snprintf(mod, sizeof mod, "%s/.peers/node_modules/@20minutes/s3rver/package.json",
             source_dir());
    if (access(mod, R_OK) != 0) {
        snprintf(p->why, sizeof p->why,
                 "%s missing (run scripts/install-deps --test)", mod);
        return 77;
    }
    if (system("node --version >/dev/null 2>&1") != 0) {
        snprintf(p->why, sizeof p->why, "node is not installed");
        return 77;
    }
    snprintf(p->dir, sizeof p->dir, "/tmp/objstore-s3rver-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    snprintf(p->log, sizeof p->log, "%s/log", p->dir);
    p->port = free_port();
    return p->port > 0 ? 0 : -1;
}

int s3peer_start(s3peer *p, const char *stall)
{
    char data[PATH_MAX + 8], script[PATH_MAX], nodepath[PATH_MAX], port[16];
    snprintf(data, sizeof data, "%s/data", p->dir);
    snprintf(script, sizeof script, "%s/tests/objstore/s3rver.js", source_dir());
    snprintf(nodepath, sizeof nodepath, "%s/.peers/node_modules", source_dir());
    snprintf(port, sizeof port, "%d", p->port);
    mkdir(data, 0755);
    int lfd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (lfd >= 0)
        close(lfd);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("NODE_PATH", nodepath, 1);
        /* s3rver's continuation tokens use DES, gone from OpenSSL 3's default provider. */
        setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
        if (p->tls_cert[0] && p->tls_key[0]) {
            setenv("S3RVER_TLS_CERT", p->tls_cert, 1);
            setenv("S3RVER_TLS_KEY", p->tls_key, 1);
        } else {
            unsetenv("S3RVER_TLS_CERT");
            unsetenv("S3RVER_TLS_KEY");
        }
        if (stall)
            setenv("S3RVER_STALL", stall, 1);
        else
            unsetenv("S3RVER_STALL");
        execlp("node", "node", script, data, port, S3PEER_BUCKET, (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    char needle[64];
    snprintf(needle, sizeof needle, "listening on 127.0.0.1:%d", p->port);
    if (!s3peer_wait_log(p, needle, 30000)) { /* slow under a loaded CI */
        s3peer_stop(p);
        return -1;
    }
    return 0;
}

void s3peer_stop(s3peer *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = -1;
}

int s3peer_wait_log(s3peer *p, const char *needle, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        FILE *f = fopen(p->log, "r");
        if (f) {
            char line[4096];
            while (fgets(line, sizeof line, f)) {
                if (strstr(line, needle)) {
                    fclose(f);
                    return 1;
                }
            }
            fclose(f);
        }
        if (p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = -1; /* died */
            return 0;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

int s3peer_count_log(s3peer *p, const char *needle)
{
    FILE *f = fopen(p->log, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

int s3peer_make_tls(s3peer *p, char *ca_out, size_t ca_len)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        snprintf(p->why, sizeof p->why, "openssl CLI not installed");
        return 77;
    }
    char cmd[8 * PATH_MAX];
    const char *d = p->dir;
    snprintf(cmd, sizeof cmd,
             "(cd '%s' && printf 'subjectAltName=IP:127.0.0.1\n' > ext &&"
             " openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout ca.key -out ca.pem -days 2 -subj /CN=objstore-test-ca &&"
             " openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&"
             " openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
             " -out srv.pem -days 2 -extfile ext) >/dev/null 2>&1",
             d);
    if (system(cmd) != 0) {
        snprintf(p->why, sizeof p->why, "openssl failed to make test certificates");
        return -1;
    }
    snprintf(p->tls_cert, sizeof p->tls_cert, "%s/srv.pem", d);
    snprintf(p->tls_key, sizeof p->tls_key, "%s/srv.key", d);
    snprintf(ca_out, ca_len, "%s/ca.pem", d);
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

void s3peer_cleanup(s3peer *p)
{
    s3peer_stop(p);
    if (p->dir[0] && !getenv("OBJSTORE_KEEP_SCRATCH"))
        nftw(p->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
