/* S3 HTTP layer: one signed request per attempt over a pooled libcurl easy
 * handle, retried with exponential backoff and jitter on network errors,
 * 5xx, 429 and SlowDown, within max_retries and retry_max_time_ms. */
#include "s3_http.h"
#include "s3_xml.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ERROR_BODY_MAX (1u << 20)
#define RESPONSE_BODY_MAX (64u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

int objstore_s3c_init(s3_client *c, const objstore_config *cfg, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "objstore: curl_global_init failed: %s",
                 curl_easy_strerror(curl_init_rc));
        return -EIO;
    }
    const char *ak = cfg->access_key[0] ? cfg->access_key : getenv("AWS_ACCESS_KEY_ID");
    const char *sk = cfg->secret_key[0] ? cfg->secret_key : getenv("AWS_SECRET_ACCESS_KEY");
    const char *tok = cfg->session_token[0] ? cfg->session_token : getenv("AWS_SESSION_TOKEN");
    if (!ak || !*ak || !sk || !*sk) {
        snprintf(err, errlen, "objstore: S3 needs access_key and secret_key (config or "
                              "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)");
        return -EINVAL;
    }
    int vhost;
    if (cfg->lookup == OBJSTORE_LOOKUP_PATH)
        vhost = 0;
    else if (cfg->lookup == OBJSTORE_LOOKUP_VHOST)
        vhost = 1;
    else {
        /* auto, as minio-go: virtual-host only for the big clouds, and never
         * for https buckets with '.' (wildcard certificates break). */
        const char *h = cfg->endpoint;
        size_t hl = strcspn(h, ":");
        vhost = 0;
        static const char *const clouds[] = {"amazonaws.com", "amazonaws.com.cn",
                                             "googleapis.com", "aliyuncs.com"};
        for (size_t i = 0; i < sizeof clouds / sizeof *clouds; i++) {
            size_t cl = strlen(clouds[i]);
            if (hl >= cl && !strncmp(h + hl - cl, clouds[i], cl))
                vhost = 1;
        }
        if (vhost && !cfg->insecure && strchr(cfg->bucket, '.'))
            vhost = 0;
    }
    c->scheme = dupstr(cfg->insecure ? "http" : "https");
    c->endpoint = dupstr(cfg->endpoint);
    c->bucket = dupstr(cfg->bucket);
    c->region = dupstr(cfg->region[0] ? cfg->region : "us-east-1");
    c->access_key = dupstr(ak);
    c->secret_key = dupstr(sk);
    c->session_token = dupstr(tok);
    c->ca_file = cfg->ca_file[0] ? dupstr(cfg->ca_file) : NULL;
    c->cert_file = cfg->cert_file[0] ? dupstr(cfg->cert_file) : NULL;
    c->key_file = cfg->key_file[0] ? dupstr(cfg->key_file) : NULL;
    if (!c->scheme || !c->endpoint || !c->bucket || !c->region || !c->access_key ||
        !c->secret_key || !c->session_token || (cfg->ca_file[0] && !c->ca_file) ||
        (cfg->cert_file[0] && !c->cert_file) || (cfg->key_file[0] && !c->key_file)) {
        objstore_s3c_free(c);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->vhost = vhost;
    c->unsigned_payload = cfg->unsigned_payload;
    c->insecure_skip_verify = cfg->insecure_skip_verify;
    c->max_retries = cfg->max_retries;
    c->retry_max_time_ms = cfg->retry_max_time_ms;
    c->connect_timeout_ms = cfg->connect_timeout_ms;
    c->idle_timeout_ms = cfg->idle_timeout_ms;
    pthread_mutex_init(&c->lock, NULL);
    c->lock_init = 1;
    return 0;
}

void objstore_s3c_free(s3_client *c)
{
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    free(c->pool);
    if (c->secret_key)
        OPENSSL_cleanse(c->secret_key, strlen(c->secret_key));
    free(c->scheme);
    free(c->endpoint);
    free(c->bucket);
    free(c->region);
    free(c->access_key);
    free(c->secret_key);
    free(c->session_token);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    if (c->lock_init)
        pthread_mutex_destroy(&c->lock);
    memset(c, 0, sizeof *c);
}

static CURL *pool_get(s3_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->npool)
        h = c->pool[--c->npool];
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_reset(h); /* keeps live connections */
    else
        h = curl_easy_init();
    return h;
}

static void pool_put(s3_client *c, CURL *h, int reusable)
{
    if (reusable) {
        pthread_mutex_lock(&c->lock);
        if (c->npool == c->cappool) {
            size_t nc = c->cappool ? c->cappool * 2 : 8;
            void **np = realloc(c->pool, nc * sizeof *np);
            if (np) {
                c->pool = np;
                c->cappool = nc;
            }
        }
        if (c->npool < c->cappool) {
            c->pool[c->npool++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (h)
        curl_easy_cleanup(h);
}

void objstore_s3c_response_free(s3_response *rs)
{
    free(rs->body.p);
    memset(rs, 0, sizeof *rs);
}

int objstore_s3c_hash_src(const objstore_src *src, uint64_t off, uint64_t len,
                          char sha_hex[65], char md5_b64[32])
{
    int rc = -ENOMEM;
    EVP_MD_CTX *sha = EVP_MD_CTX_new(), *md5 = md5_b64 ? EVP_MD_CTX_new() : NULL;
    unsigned char *buf = src->mem ? NULL : malloc(1 << 20);
    if (!sha || (md5_b64 && !md5) || (!src->mem && !buf))
        goto out;
    rc = -EIO;
    if (!EVP_DigestInit_ex(sha, EVP_sha256(), NULL) ||
        (md5 && !EVP_DigestInit_ex(md5, EVP_md5(), NULL)))
        goto out;
    for (uint64_t done = 0; done < len;) {
        const unsigned char *p;
        size_t n;
        if (src->mem) {
            p = src->mem + off + done;
            n = (size_t)(len - done);
        } else {
            size_t want = len - done > (1u << 20) ? (1u << 20) : (size_t)(len - done);
            ssize_t r = objstore_src_read(src, off + done, buf, want);
            if (r <= 0) {
                rc = r < 0 ? (int)r : -EIO;
                goto out;
            }
            p = buf;
            n = (size_t)r;
        }
        if (!EVP_DigestUpdate(sha, p, n) || (md5 && !EVP_DigestUpdate(md5, p, n)))
            goto out;
        done += n;
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl;
    if (!EVP_DigestFinal_ex(sha, d, &dl))
        goto out;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < dl; i++) {
        sha_hex[2 * i] = hex[d[i] >> 4];
        sha_hex[2 * i + 1] = hex[d[i] & 15];
    }
    sha_hex[2 * dl] = 0;
    if (md5) {
        if (!EVP_DigestFinal_ex(md5, d, &dl))
            goto out;
        EVP_EncodeBlock((unsigned char *)md5_b64, d, (int)dl);
    }
    rc = 0;
out:
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md5);
    free(buf);
    return rc;
}

/* State of one attempt, shared by the curl callbacks. */
typedef struct attempt {
    CURL *h;
    const s3_request *rq;
    s3_response *rs;
    uint64_t body_pos;   /* upload position within [off, off+len) */
    int read_err;
    int status_checked, ok2xx;
    uint64_t skip;       /* bytes to drop (server ignored our Range) */
    uint64_t remaining;  /* bytes still wanted by the sink (UINT64_MAX: all) */
    uint64_t *delivered; /* bytes given to the sink over all attempts */
    int sink_rc;
    int sent_range;
    uint64_t range_start;
} attempt;

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    const s3_request *rq = a->rq;
    size_t want = size * nmemb;
    if (a->body_pos >= rq->len)
        return 0;
    if (want > rq->len - a->body_pos)
        want = (size_t)(rq->len - a->body_pos);
    ssize_t n = objstore_src_read(rq->src, rq->off + a->body_pos, buf, want);
    if (n <= 0) {
        a->read_err = n < 0 ? (int)-n : EIO;
        return CURL_READFUNC_ABORT;
    }
    a->body_pos += (uint64_t)n;
    return (size_t)n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    attempt *a = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > a->rq->len)
        return CURL_SEEKFUNC_FAIL;
    a->body_pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    size_t len = size * nmemb;
    if (!a->status_checked) {
        long st = 0;
        curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &st);
        a->ok2xx = st >= 200 && st < 300;
        a->status_checked = 1;
        if (st == 200 && a->sent_range)
            a->skip = a->range_start; /* Range ignored: full body follows */
    }
    if (a->ok2xx && a->rq->sink) {
        size_t n = len;
        const char *q = p;
        if (a->skip) {
            size_t s = a->skip < n ? (size_t)a->skip : n;
            a->skip -= s;
            q += s;
            n -= s;
        }
        if (n > a->remaining)
            n = (size_t)a->remaining;
        if (n) {
            int rc = a->rq->sink(a->rq->sink_ud, q, n);
            if (rc != 0) {
                a->sink_rc = rc < 0 ? rc : -ECANCELED;
                return 0; /* aborts the transfer */
            }
            *a->delivered += n;
            if (a->remaining != UINT64_MAX)
                a->remaining -= n;
        }
        return len;
    }
    if (!a->ok2xx && a->rs->body.len + len > ERROR_BODY_MAX)
        return len; /* keep the start of huge error bodies only */
    if (a->rs->body.len + len > RESPONSE_BODY_MAX)
        return 0; /* a listing page is far smaller: refuse to buffer more */
    if (objstore_s3_str_add(&a->rs->body, p, len))
        return 0;
    return len;
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    size_t len = size * nmemb;
    s3_response *rs = a->rs;
    const char *colon = memchr(p, ':', len);
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* A new response (e.g. after 100 Continue): reset what we saw. */
        rs->etag[0] = 0;
        rs->content_length = 0;
        rs->last_modified = 0;
        a->status_checked = 0;
        return len;
    }
    if (!colon)
        return len;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    char tmp[256];
    if (nl == 4 && !strncasecmp(p, "etag", 4)) {
        copy_header_value(rs->etag, sizeof rs->etag, v, vl);
    } else if (nl == 14 && !strncasecmp(p, "content-length", 14)) {
        copy_header_value(tmp, sizeof tmp, v, vl);
        rs->content_length = strtoull(tmp, NULL, 10);
    } else if (nl == 13 && !strncasecmp(p, "last-modified", 13)) {
        copy_header_value(tmp, sizeof tmp, v, vl);
        time_t t = curl_getdate(tmp, NULL);
        rs->last_modified = t > 0 ? (int64_t)t : 0;
    } else if (nl == 16 && !strncasecmp(p, "x-amz-request-id", 16)) {
        copy_header_value(rs->request_id, sizeof rs->request_id, v, vl);
    }
    return len;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t jitter_rand(void)
{
    static _Thread_local uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&s ^ (uint64_t)ts.tv_sec;
        if (!s)
            s = 88172645463325252ull;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (uint32_t)(s >> 32);
}

static int retryable_code(const char *code)
{
    return !strcmp(code, "SlowDown") || !strcmp(code, "InternalError") ||
           !strcmp(code, "ServiceUnavailable") || !strcmp(code, "RequestTimeout");
}

static int curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Builds "/bucket/key" (path style) or "/key" (virtual host), unencoded. */
static char *raw_path(const s3_client *c, const char *key)
{
    char *p;
    int rc;
    if (c->vhost)
        rc = asprintf(&p, "/%s", key ? key : "");
    else
        rc = key ? asprintf(&p, "/%s/%s", c->bucket, key) : asprintf(&p, "/%s", c->bucket);
    return rc < 0 ? NULL : p;
}

/* One attempt. Returns 0 when a response arrived (any status), a CURLcode
 * (> 0) for a transport failure, or a negative errno. */
static int attempt_once(s3_client *c, const s3_request *rq, s3_response *rs,
                        const char *payload_hash, uint64_t *delivered, char *curl_msg,
                        size_t curl_msg_len, int *sink_rc)
{
    int rc = -ENOMEM;
    char *path = raw_path(c, rq->key), *auth = NULL, *qs = NULL, *url = NULL;
    objstore_s3_str epath = {0};
    struct curl_slist *hl = NULL;
    char host[OBJSTORE_STR_MAX * 2 + 2];
    if (c->vhost)
        snprintf(host, sizeof host, "%s.%s", c->bucket, c->endpoint);
    else
        snprintf(host, sizeof host, "%s", c->endpoint);

    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char amz_date[20];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);

    /* Range for this attempt: resume after what the sink already has. */
    char range[64] = "";
    uint64_t start = rq->range_off + *delivered;
    int sent_range = 0;
    uint64_t remaining = UINT64_MAX;
    if (rq->has_range || *delivered) {
        if (rq->has_range && rq->range_len >= 0) {
            uint64_t endb = rq->range_off + (uint64_t)rq->range_len; /* exclusive */
            remaining = endb - start;
            snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)start,
                     (unsigned long long)(endb - 1));
        } else {
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)start);
        }
        sent_range = 1;
    }

    objstore_s3_kv hdrs[8];
    size_t nh = 0;
    hdrs[nh++] = (objstore_s3_kv){"host", host};
    hdrs[nh++] = (objstore_s3_kv){"x-amz-content-sha256", payload_hash};
    hdrs[nh++] = (objstore_s3_kv){"x-amz-date", amz_date};
    if (c->session_token[0])
        hdrs[nh++] = (objstore_s3_kv){"x-amz-security-token", c->session_token};
    if (sent_range)
        hdrs[nh++] = (objstore_s3_kv){"range", range};
    if (rq->content_md5)
        hdrs[nh++] = (objstore_s3_kv){"content-md5", rq->content_md5};
    if (rq->content_type)
        hdrs[nh++] = (objstore_s3_kv){"content-type", rq->content_type};
    if (!path)
        goto out;
    objstore_s3_sign_req sr = {
        .method = rq->method, .path = path, .query = rq->query, .nquery = rq->nquery,
        .headers = hdrs, .nheaders = nh, .payload_hash = payload_hash,
        .access_key = c->access_key, .secret_key = c->secret_key, .region = c->region,
        .service = "s3", .amz_date = amz_date,
    };
    rc = objstore_s3_sign(&sr, &auth, &qs, NULL, NULL);
    if (rc < 0)
        goto out;
    rc = -ENOMEM;
    if (objstore_s3_uri_encode(&epath, path, strlen(path), 1) ||
        asprintf(&url, "%s://%s%s%s%s", c->scheme, host, epath.p, qs[0] ? "?" : "", qs) < 0) {
        url = NULL;
        goto out;
    }
    for (size_t i = 0; i < nh; i++) {
        char *line;
        if (asprintf(&line, "%s: %s", hdrs[i].name, hdrs[i].value) < 0)
            goto out;
        struct curl_slist *n = curl_slist_append(hl, line);
        free(line);
        if (!n)
            goto out;
        hl = n;
    }
    char *authline;
    if (asprintf(&authline, "Authorization: %s", auth) < 0)
        goto out;
    struct curl_slist *n = curl_slist_append(hl, authline);
    free(authline);
    if (!n || !(n = curl_slist_append(n, "Expect:")))
        goto out;
    hl = n;
    if (!rq->content_type && !(n = curl_slist_append(hl, "Content-Type:")))
        goto out;
    hl = n;

    CURL *h = pool_get(c);
    if (!h)
        goto out;
    free(rs->body.p);
    memset(rs, 0, sizeof *rs);
    attempt a = {.h = h, .rq = rq, .rs = rs, .remaining = remaining, .delivered = delivered,
                 .sent_range = sent_range, .range_start = start};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((c->idle_timeout_ms + 999) / 1000));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    curl_msg[0] = 0;
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (c->insecure_skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (rq->head) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(rq->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(rq->src ? rq->len : 0));
    } else if (!strcmp(rq->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->src ? rq->len : 0));
        if (!rq->src)
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    } else if (strcmp(rq->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (rq->src) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &a);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &a);
    }
    CURLcode cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
    long nconn = 0;
    if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
        atomic_fetch_add_explicit(&c->n_connections, (uint64_t)nconn, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->n_requests, 1, memory_order_relaxed);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    *sink_rc = a.sink_rc;
    if (a.sink_rc) {
        rc = a.sink_rc;
        pool_put(c, h, 0);
    } else if (a.read_err) {
        rc = -a.read_err;
        pool_put(c, h, 0);
    } else if (cc != CURLE_OK) {
        if (!curl_msg[0])
            snprintf(curl_msg, curl_msg_len, "%s", curl_easy_strerror(cc));
        rc = (int)cc;
        pool_put(c, h, 0);
    } else {
        rc = 0;
        pool_put(c, h, 1);
    }
out:
    curl_slist_free_all(hl);
    free(path);
    free(auth);
    free(qs);
    free(url);
    free(epath.p);
    return rc;
}

int objstore_s3c_do(s3_client *c, const s3_request *rq, s3_response *rs, const char *op,
                    const char *name, objstore_err *err)
{
    memset(rs, 0, sizeof *rs);
    char hash[65];
    const char *payload_hash = rq->payload_hash;
    if (!payload_hash) {
        if (!rq->src || rq->len == 0)
            payload_hash = EMPTY_SHA256;
        else if (c->unsigned_payload)
            payload_hash = "UNSIGNED-PAYLOAD";
        else {
            int hrc = objstore_s3c_hash_src(rq->src, rq->off, rq->len, hash, NULL);
            if (hrc < 0)
                return objstore_seterrno(err, -hrc, op, name);
            payload_hash = hash;
        }
    }
    int64_t t0 = now_ms();
    uint64_t delivered = 0;
    char curl_msg[CURL_ERROR_SIZE];
    for (int attempt_no = 0;; attempt_no++) {
        int sink_rc = 0;
        int rc = attempt_once(c, rq, rs, payload_hash, &delivered, curl_msg, sizeof curl_msg,
                              &sink_rc);
        int retry = 0;
        char code[64] = "", msg[400] = "";
        if (sink_rc)
            return sink_rc;
        if (rc < 0)
            return objstore_seterrno(err, -rc, op, name);
        if (rc > 0 && rq->sink && rq->has_range && rq->range_len >= 0 &&
            delivered == (uint64_t)rq->range_len)
            return 0; /* cut after the last byte we wanted: nothing to redo */
        if (rc > 0) {
            retry = curl_retryable((CURLcode)rc);
            snprintf(code, sizeof code, "curl:%d", rc);
            snprintf(msg, sizeof msg, "%s", curl_msg);
        } else if (rs->status >= 200 && rs->status < 300 &&
                   !(rq->error_in_2xx && rs->body.p &&
                     objstore_s3_xml_parse_error(rs->body.p, rs->body.len, code, sizeof code,
                                                 msg, sizeof msg) == 0)) {
            return 0;
        } else if (code[0]) {
            /* 200 carrying an <Error>: S3 failed while assembling the parts. */
            retry = retryable_code(code);
        } else {
            if (rs->body.p)
                objstore_s3_xml_parse_error(rs->body.p, rs->body.len, code, sizeof code, msg,
                                            sizeof msg);
            if (!code[0]) {
                snprintf(code, sizeof code, "%s",
                         rs->status == 404 ? "NotFound"
                         : rs->status == 403 ? "AccessDenied"
                                             : "HTTPError");
                snprintf(msg, sizeof msg, "HTTP status %ld", rs->status);
            }
            /* 501 NotImplemented is permanent (e.g. an S3 subset server). */
            retry = (rs->status >= 500 && rs->status != 501) || rs->status == 429 ||
                    retryable_code(code);
        }
        int64_t elapsed = now_ms() - t0;
        if (retry && attempt_no < c->max_retries) {
            /* Exponential backoff, 100 ms doubling up to 5 s, "equal jitter". */
            uint64_t d = 100ull << (attempt_no < 6 ? attempt_no : 6);
            if (d > 5000)
                d = 5000;
            d = d / 2 + jitter_rand() % (d / 2 + 1);
            if (elapsed + (int64_t)d <= (int64_t)c->retry_max_time_ms) {
                struct timespec ts = {(time_t)(d / 1000), (long)(d % 1000) * 1000000};
                while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                    ;
                atomic_fetch_add_explicit(&c->n_retries, 1, memory_order_relaxed);
                continue;
            }
        }
        objstore_errclass cls;
        int ret;
        if (retry) {
            cls = OBJSTORE_ERR_RETRYABLE;
            ret = -EAGAIN;
        } else if (rc > 0) {
            cls = OBJSTORE_ERR_FATAL;
            ret = -EIO;
        } else if (rs->status == 404) {
            cls = OBJSTORE_ERR_NOT_FOUND;
            ret = -ENOENT;
        } else if (rs->status == 403 || rs->status == 401) {
            cls = OBJSTORE_ERR_ACCESS;
            ret = -EACCES;
        } else if (rs->status == 416) {
            cls = OBJSTORE_ERR_FATAL;
            ret = -ERANGE;
        } else {
            cls = OBJSTORE_ERR_FATAL;
            ret = -EIO;
        }
        int status = rc > 0 ? 0 : (int)rs->status;
        if (rc > 0)
            return objstore_seterr(err, ret, cls, status, code,
                                   "%s %s: %s (%d attempt%s, %lld ms)", op, name, msg,
                                   attempt_no + 1, attempt_no ? "s" : "", (long long)elapsed);
        return objstore_seterr(err, ret, cls, status, code,
                               "%s %s: HTTP %d %s: %s%s%s (%d attempt%s)", op, name, status,
                               code, msg, rs->request_id[0] ? " request-id " : "",
                               rs->request_id, attempt_no + 1, attempt_no ? "s" : "");
    }
}
