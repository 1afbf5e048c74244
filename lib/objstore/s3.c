/* S3 backend: the bucket operations as S3 REST calls (PutObject, multipart
 * upload, GetObject, HeadObject, ListObjectsV2, DeleteObject). */
#include "s3_http.h"
#include "s3_xml.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s3b {
    s3_client c;
    uint64_t part_size;
    size_t part_concurrency;
    int multipart;
    int send_md5;
    uint32_t max_keys;
    /* Counters for objstore_bucket_stats (relaxed atomics). */
    _Atomic uint64_t n_list, n_list_cont, n_multipart, n_parts, n_aborts, n_aborts_failed;
} s3b;

static void bump(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static int put_range(s3b *b, const char *name, const objstore_src *src, uint64_t off,
                     uint64_t len, const objstore_s3_kv *q, size_t nq, char *etag,
                     size_t etaglen, const char *op, objstore_err *err)
{
    char sha[65], md5[32];
    const char *payload_hash = NULL;
    if (b->send_md5 || !b->c.unsigned_payload) {
        int rc = objstore_s3c_hash_src(src, off, len, sha, b->send_md5 ? md5 : NULL);
        if (rc < 0)
            return objstore_seterrno(err, -rc, "read source for", name);
        payload_hash = b->c.unsigned_payload ? "UNSIGNED-PAYLOAD" : sha;
    }
    s3_request rq = {.method = "PUT", .key = name, .query = q, .nquery = nq,
                     .content_md5 = b->send_md5 ? md5 : NULL, .src = src, .off = off,
                     .len = len, .payload_hash = payload_hash,
                     .content_type = q ? NULL : "application/octet-stream"};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, op, name, err);
    if (rc == 0 && etag)
        snprintf(etag, etaglen, "%s", rs.etag);
    objstore_s3c_response_free(&rs);
    return rc;
}

/* Parts are uploaded by up to part_concurrency threads taking the next part
 * number in turn; the first failure stops the others. */
typedef struct part_job {
    s3b *b;
    const char *name;
    const objstore_src *src;
    const char *upload_id;
    uint64_t part;
    size_t nparts;
    char (*etags)[160];
    pthread_mutex_t lock;
    size_t next;
    int rc;
    objstore_err err;
} part_job;

static void *part_worker(void *arg)
{
    part_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next;
        int stop = j->rc < 0 || i >= j->nparts;
        if (!stop)
            j->next++;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        char pn[24];
        snprintf(pn, sizeof pn, "%zu", i + 1);
        objstore_s3_kv pq[] = {{"partNumber", pn}, {"uploadId", j->upload_id}};
        uint64_t off = (uint64_t)i * j->part;
        uint64_t len = j->src->size - off < j->part ? j->src->size - off : j->part;
        objstore_err le = {0};
        int rc = put_range(j->b, j->name, j->src, off, len, pq, 2, j->etags[i],
                           sizeof j->etags[i], "upload part of", &le);
        if (rc == 0 && !j->etags[i][0])
            rc = objstore_seterr(&le, -EIO, OBJSTORE_ERR_FATAL, 0, "BadResponse",
                                 "upload part %zu of %s: no ETag in response", i + 1, j->name);
        if (rc == 0)
            bump(&j->b->n_parts);
        if (rc < 0) {
            pthread_mutex_lock(&j->lock);
            if (j->rc == 0) {
                j->rc = rc;
                j->err = le;
            }
            pthread_mutex_unlock(&j->lock);
            break;
        }
    }
    return NULL;
}

/* Appends text with XML special characters escaped. */
static int add_xml_text(objstore_s3_str *s, const char *t)
{
    int rc = 0;
    for (; *t && rc == 0; t++) {
        if (*t == '&')
            rc = objstore_s3_str_add(s, "&amp;", 5);
        else if (*t == '<')
            rc = objstore_s3_str_add(s, "&lt;", 4);
        else if (*t == '>')
            rc = objstore_s3_str_add(s, "&gt;", 4);
        else
            rc = objstore_s3_str_add(s, t, 1);
    }
    return rc;
}

/* Aborts a failed multipart upload so its parts are not kept (and billed).
 * The abort is retried like any request, within its own retry_max_time. When
 * it fails too (server down past the bound, or no AbortMultipartUpload as in
 * s3rver 5), the upload's parts stay on the server, invisible to get and
 * iter: the failure is counted and appended to the upload's error message,
 * which the caller logs. */
static void abort_multipart(s3b *b, const char *name, const char *upload_id, objstore_err *err)
{
    objstore_s3_kv q[] = {{"uploadId", upload_id}};
    s3_request rq = {.method = "DELETE", .key = name, .query = q, .nquery = 1};
    s3_response rs;
    objstore_err ae = {0};
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "abort multipart upload", name, &ae);
    objstore_s3c_response_free(&rs);
    if (rc == 0 || (rc == -ENOENT && !strcmp(ae.code, "NoSuchUpload"))) {
        bump(&b->n_aborts); /* NoSuchUpload: already gone */
        return;
    }
    bump(&b->n_aborts_failed);
    if (err) {
        size_t l = strlen(err->msg);
        snprintf(err->msg + l, sizeof err->msg - l,
                 "; then %s; parts of upload ID %s may remain on the server (not visible to "
                 "get or iter) until a lifecycle rule (AbortIncompleteMultipartUpload) "
                 "removes them",
                 ae.msg, upload_id);
    }
}

static int upload_multipart(s3b *b, const char *name, const objstore_src *src,
                            objstore_err *err)
{
    uint64_t part = b->part_size;
    if (src->size / part >= 10000)
        part = (src->size + 9999) / 10000; /* S3 allows 10000 parts at most */
    size_t nparts = (size_t)((src->size + part - 1) / part);

    objstore_s3_kv iq[] = {{"uploads", ""}};
    s3_request rq = {.method = "POST", .key = name, .query = iq, .nquery = 1,
                     .content_type = "application/octet-stream"};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "create multipart upload", name, err);
    char *upload_id = NULL;
    if (rc == 0 && objstore_s3_xml_parse_initiate(rs.body.p ? rs.body.p : "", rs.body.len,
                                                  &upload_id) < 0)
        rc = objstore_seterr(err, -EIO, OBJSTORE_ERR_FATAL, (int)rs.status, "BadResponse",
                             "create multipart upload %s: no UploadId in response", name);
    objstore_s3c_response_free(&rs);
    if (rc < 0)
        return rc;

    char (*etags)[160] = calloc(nparts, sizeof *etags);
    objstore_s3_str body = {0};
    if (!etags) {
        rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
        goto fail;
    }
    part_job job = {.b = b, .name = name, .src = src, .upload_id = upload_id, .part = part,
                    .nparts = nparts, .etags = etags};
    pthread_mutex_init(&job.lock, NULL);
    size_t nthreads = b->part_concurrency < nparts ? b->part_concurrency : nparts;
    pthread_t th[OBJSTORE_MAX_PART_CONCURRENCY];
    size_t started = 0;
    while (started + 1 < nthreads &&
           pthread_create(&th[started], NULL, part_worker, &job) == 0)
        started++;
    part_worker(&job); /* the caller works too; fewer threads if creation failed */
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&job.lock);
    if (job.rc < 0) {
        rc = job.rc;
        if (err)
            *err = job.err;
        goto fail;
    }
    rc = -ENOMEM;
    static const char head[] =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    if (objstore_s3_str_add(&body, head, sizeof head - 1))
        goto nomem;
    for (size_t i = 0; i < nparts; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        if (objstore_s3_str_add(&body, line, (size_t)n) || add_xml_text(&body, etags[i]) ||
            objstore_s3_str_add(&body, "</ETag></Part>", 14))
            goto nomem;
    }
    if (objstore_s3_str_add(&body, "</CompleteMultipartUpload>", 26))
        goto nomem;
    objstore_src bsrc = {.mem = (const unsigned char *)body.p, .fd = -1, .size = body.len};
    objstore_s3_kv cq[] = {{"uploadId", upload_id}};
    s3_request crq = {.method = "POST", .key = name, .query = cq, .nquery = 1,
                      .content_type = "application/xml", .src = &bsrc, .off = 0,
                      .len = body.len};
    /* A 200 may still carry an <Error> (error_in_2xx): retried like a 500
     * when it is InternalError/SlowDown. */
    crq.error_in_2xx = 1;
    rc = objstore_s3c_do(&b->c, &crq, &rs, "complete multipart upload", name, err);
    objstore_s3c_response_free(&rs);
    if (rc < 0)
        goto fail;
    bump(&b->n_multipart);
    free(body.p);
    free(etags);
    free(upload_id);
    return 0;
nomem:
    rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM", "out of memory");
fail:
    /* No partial object may stay behind (nor its parts billed). */
    abort_multipart(b, name, upload_id, err);
    free(body.p);
    free(etags);
    free(upload_id);
    return rc;
}

static int s3_upload(void *impl, const char *name, const objstore_src *src, objstore_err *err)
{
    s3b *b = impl;
    if (b->multipart && src->size > b->part_size)
        return upload_multipart(b, name, src, err);
    if (src->size > (5ull << 30))
        return objstore_seterr(err, -EFBIG, OBJSTORE_ERR_FATAL, 0, "EntityTooLarge",
                               "upload %s: over 5 GiB needs multipart", name);
    return put_range(b, name, src, 0, src->size, NULL, 0, NULL, 0, "upload", err);
}

static int s3_attributes(void *impl, const char *name, objstore_attrs *a, objstore_err *err)
{
    s3b *b = impl;
    s3_request rq = {.method = "HEAD", .key = name, .head = 1};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "attributes", name, err);
    if (rc == 0) {
        a->size = rs.content_length;
        a->last_modified = rs.last_modified;
    }
    objstore_s3c_response_free(&rs);
    return rc;
}

static int s3_get(void *impl, const char *name, uint64_t off, int64_t len,
                  objstore_write_fn fn, void *ud, objstore_err *err)
{
    s3b *b = impl;
    if (len == 0) {
        objstore_attrs a;
        return s3_attributes(impl, name, &a, err); /* still report a missing object */
    }
    s3_request rq = {.method = "GET", .key = name, .sink = fn, .sink_ud = ud,
                     .has_range = off > 0 || len >= 0, .range_off = off, .range_len = len};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "get", name, err);
    objstore_s3c_response_free(&rs);
    if (rc == -ERANGE && off == 0) {
        /* bytes=0-N of an empty object is unsatisfiable on S3; an empty
         * result is what the filesystem backend gives. */
        objstore_attrs a;
        if (s3_attributes(impl, name, &a, NULL) == 0 && a.size == 0) {
            if (err)
                memset(err, 0, sizeof *err);
            return 0;
        }
    }
    return rc;
}

static int s3_iter(void *impl, const char *prefix, int recursive, objstore_iter_attrs_fn fn,
                   void *ud, objstore_err *err)
{
    s3b *b = impl;
    char maxkeys[16];
    snprintf(maxkeys, sizeof maxkeys, "%u", b->max_keys);
    char *token = NULL, *last = NULL;
    int rc = 0;
    size_t pl = strlen(prefix);
    do {
        objstore_s3_kv q[6];
        size_t nq = 0;
        q[nq++] = (objstore_s3_kv){"list-type", "2"};
        q[nq++] = (objstore_s3_kv){"max-keys", maxkeys};
        q[nq++] = (objstore_s3_kv){"encoding-type", "url"};
        if (pl)
            q[nq++] = (objstore_s3_kv){"prefix", prefix};
        if (!recursive)
            q[nq++] = (objstore_s3_kv){"delimiter", "/"};
        if (token)
            q[nq++] = (objstore_s3_kv){"continuation-token", token};
        /* Bucket-level GET "/bucket?list-type=2..." with no slash after the
         * bucket: s3rver 5 mis-signs "/bucket/". */
        s3_request rq = {.method = "GET", .key = NULL, .query = q, .nquery = nq};
        s3_response rs;
        bump(&b->n_list);
        if (token)
            bump(&b->n_list_cont);
        rc = objstore_s3c_do(&b->c, &rq, &rs, "iter", prefix, err);
        if (rc < 0) {
            objstore_s3c_response_free(&rs);
            break;
        }
        objstore_s3_list l;
        int status = (int)rs.status;
        int prc = objstore_s3_xml_parse_list(rs.body.p ? rs.body.p : "", rs.body.len, &l);
        objstore_s3c_response_free(&rs);
        if (prc < 0) {
            rc = objstore_seterr(err, prc == -ENOMEM ? -ENOMEM : -EIO, OBJSTORE_ERR_FATAL,
                                 status, "BadResponse",
                                 "iter %s: unparsable ListObjectsV2 response", prefix);
            break;
        }
        /* Contents and CommonPrefixes come as two sorted lists: merge them
         * so callers see one byte-ordered listing. */
        size_t i = 0, j = 0;
        while (rc == 0 && (i < l.ncontents || j < l.nprefixes)) {
            const char *name;
            objstore_attrs attrs, *a = NULL;
            if (j >= l.nprefixes ||
                (i < l.ncontents && strcmp(l.contents[i].key, l.prefixes[j]) < 0)) {
                attrs.size = l.contents[i].size;
                attrs.last_modified = l.contents[i].last_modified;
                a = &attrs;
                name = l.contents[i++].key;
            } else {
                name = l.prefixes[j++];
            }
            if (strncmp(name, prefix, pl) != 0)
                continue; /* not ours: a confused server */
            if (pl && prefix[pl - 1] == '/' && !strcmp(name, prefix))
                continue; /* directory marker object */
            /* s3rver repeats a common prefix at the start of the next page
             * when a page ends just before it: drop the repeat. */
            if (last && strcmp(name, last) == 0)
                continue;
            char *nl = strdup(name);
            if (!nl) {
                rc = objstore_seterr(err, -ENOMEM, OBJSTORE_ERR_FATAL, 0, "ENOMEM",
                                     "out of memory");
                break;
            }
            free(last);
            last = nl;
            rc = fn(ud, name, a);
        }
        free(token);
        token = NULL;
        if (rc == 0 && l.truncated) {
            token = l.next_token;
            l.next_token = NULL;
        }
        objstore_s3_list_free(&l);
    } while (rc == 0 && token);
    free(token);
    free(last);
    return rc;
}

static int s3_del(void *impl, const char *name, objstore_err *err)
{
    s3b *b = impl;
    s3_request rq = {.method = "DELETE", .key = name};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "delete", name, err);
    objstore_s3c_response_free(&rs);
    if (rc == -ENOENT) {
        if (err)
            memset(err, 0, sizeof *err);
        rc = 0;
    }
    return rc;
}

static int s3_check(void *impl, objstore_err *err)
{
    s3b *b = impl;
    objstore_s3_kv q[] = {{"list-type", "2"}, {"max-keys", "1"}};
    s3_request rq = {.method = "GET", .key = NULL, .query = q, .nquery = 2};
    s3_response rs;
    int rc = objstore_s3c_do(&b->c, &rq, &rs, "check bucket", b->c.bucket, err);
    objstore_s3c_response_free(&rs);
    return rc;
}

static void s3_stats(void *impl, objstore_stats *st)
{
    s3b *b = impl;
    st->requests = atomic_load_explicit(&b->c.n_requests, memory_order_relaxed);
    st->retries = atomic_load_explicit(&b->c.n_retries, memory_order_relaxed);
    st->connections = atomic_load_explicit(&b->c.n_connections, memory_order_relaxed);
    st->list_requests = atomic_load_explicit(&b->n_list, memory_order_relaxed);
    st->list_continuations = atomic_load_explicit(&b->n_list_cont, memory_order_relaxed);
    st->multipart_uploads = atomic_load_explicit(&b->n_multipart, memory_order_relaxed);
    st->parts_uploaded = atomic_load_explicit(&b->n_parts, memory_order_relaxed);
    st->aborts = atomic_load_explicit(&b->n_aborts, memory_order_relaxed);
    st->aborts_failed = atomic_load_explicit(&b->n_aborts_failed, memory_order_relaxed);
}

static void s3_close(void *impl)
{
    s3b *b = impl;
    objstore_s3c_free(&b->c);
    free(b);
}

static const objstore_ops s3_ops = {
    .upload = s3_upload,
    .get = s3_get,
    .attributes = s3_attributes,
    .iter = s3_iter,
    .del = s3_del,
    .check = s3_check,
    .stats = s3_stats,
    .close = s3_close,
};

int objstore_s3_open(const objstore_config *c, const objstore_ops **ops, void **impl,
                     char *err, size_t errlen)
{
    if (!c->bucket[0] || !c->endpoint[0]) {
        snprintf(err, errlen, "objstore: S3 bucket needs \"bucket\" and \"endpoint\"");
        return -EINVAL;
    }
    if (c->part_size < (5ull << 20)) {
        snprintf(err, errlen, "objstore: part_size must be at least 5 MiB");
        return -EINVAL;
    }
    if (c->unsigned_payload && c->insecure) {
        snprintf(err, errlen, "objstore: unsigned_payload needs https (insecure = false)");
        return -EINVAL;
    }
    s3b *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = objstore_s3c_init(&b->c, c, err, errlen);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b->part_size = c->part_size;
    b->part_concurrency = c->part_concurrency < 1 ? 1
                          : c->part_concurrency > OBJSTORE_MAX_PART_CONCURRENCY
                              ? OBJSTORE_MAX_PART_CONCURRENCY
                              : c->part_concurrency;
    b->multipart = !c->disable_multipart;
    b->send_md5 = c->send_content_md5;
    b->max_keys = c->list_max_keys ? c->list_max_keys : 1000;
    *ops = &s3_ops;
    *impl = b;
    return 0;
}
