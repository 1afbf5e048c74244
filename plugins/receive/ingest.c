/*
 * receive/ingest.c: the write path. recv_ingest decodes a remote-write body
 * (decode.c: snappy + zero-copy protobuf walk + validation), publishes the
 * good series as ONE message on the write topic and turns the outcome into
 * an HTTP status. recv_on_write is the storage side: it subscribes to the
 * write topic (so federate and third-party plugins store the same way) and
 * appends into the tenant's TSDB, committing before it returns.
 *
 * Memory: a write message's payload is a recv_batch that owns the
 * decompressed body the labels point into, the decoder's arrays and the
 * aion_series array. When the last reference goes, the batch returns to a
 * per-thread cache of one, so a steady stream of requests decodes without
 * allocating (buffers only grow).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "receive.h"

#define api recv_api

static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

static void batch_destroy(void *p)
{
    recv_batch_free(p);
}

static void batch_key_init(void)
{
    pthread_key_create(&batch_key, batch_destroy);
}

static recv_batch *batch_get(void)
{
    pthread_once(&batch_once, batch_key_init);
    recv_batch *b = pthread_getspecific(batch_key);
    if (b) {
        pthread_setspecific(batch_key, NULL);
        return b;
    }
    return recv_batch_new();
}

/* Message free function: back to this thread's cache, or freed. Huge
 * buffers are not kept so one outlier request does not pin memory. */
static void batch_release(void *payload, void *arg)
{
    (void)arg;
    recv_batch *b = payload;
    if (!pthread_getspecific(batch_key) && b->body.cap <= (64u << 20)) {
        pthread_setspecific(batch_key, b);
        return;
    }
    batch_destroy(b);
}

void recv_ingest(recv *r, const char *tenant, int version, const void *body, size_t len,
                 recv_outcome *out)
{
    memset(out, 0, sizeof *out);
    recv_batch *b = batch_get();
    if (!b) {
        out->status = 500;
        snprintf(out->msg, sizeof out->msg, "out of memory");
        return;
    }
    recv_decoded d;
    recv_decode(&r->lim, version, body, len, b, &d);
    if (d.nbad) {
        api->metric_add(r->m_invalid, NULL, (double)d.nbad);
        const char *lv[] = { "invalid", NULL };
        if (d.bad_samples)
            api->metric_add(r->m_refused, lv, (double)d.bad_samples);
    }
    if (d.status) {
        out->status = d.status;
        snprintf(out->msg, sizeof out->msg, "%s", d.msg);
        batch_release(b, NULL);
        return;
    }
    aion_write_result res;
    memset(&res, 0, sizeof res);
    int rc = 0;
    if (d.ngood) {
        snprintf(b->tenant, sizeof b->tenant, "%s", tenant);
        b->b.tenant = b->tenant;
        b->b.series = b->series;
        b->b.nseries = d.ngood;
        aion_msg *m = api->msg_new(AION_MSG_WRITE_V1, b, batch_release, NULL);
        if (!m) {
            out->status = 500;
            snprintf(out->msg, sizeof out->msg, "out of memory");
            batch_release(b, NULL);
            return;
        }
        rc = api->publish(r->ctx, AION_TOPIC_WRITE, m, &res);
        api->msg_unref(m); /* may release b */
    } else {
        batch_release(b, NULL);
    }
    out->samples_written = res.samples_stored;

    uint64_t conflicts = res.out_of_order + res.duplicate + res.too_old + res.too_new;
    if (rc < 0 || res.status >= 500) {
        out->status = res.status >= 500 ? res.status : 500;
        snprintf(out->msg, sizeof out->msg, "storage failed: %s", res.message[0] ? res.message : strerror(-rc));
    } else if (res.status == 429 || res.limited) {
        out->status = 429;
        snprintf(out->msg, sizeof out->msg, "%s; %" PRIu64 " series (%" PRIu64 " samples) refused, %" PRIu64 " samples stored",
                 res.message[0] ? res.message : "limit reached", res.series_refused, res.limited,
                 res.samples_stored);
    } else if (d.nbad || (res.status >= 400 && res.status < 500)) {
        out->status = res.status >= 400 && !d.nbad ? res.status : 400;
        if (d.nbad)
            snprintf(out->msg, sizeof out->msg, "%s (%zu bad series refused, %zu stored with %" PRIu64 " samples)",
                     d.msg, d.nbad, d.ngood, res.samples_stored);
        else
            snprintf(out->msg, sizeof out->msg, "%s", res.message);
    } else if (conflicts) {
        out->status = 409;
        snprintf(out->msg, sizeof out->msg,
                 "conflict: %" PRIu64 " out of order, %" PRIu64 " duplicate, %" PRIu64 " too old, %" PRIu64
                 " too far in the future; %" PRIu64 " samples stored",
                 res.out_of_order, res.duplicate, res.too_old, res.too_new, res.samples_stored);
    } else {
        out->status = 204;
    }
}

/* ---- the storage side ---------------------------------------------------------- */

static void set_failure(aion_write_result *res, int status, const char *fmt, const char *a, const char *b)
{
    if (res->status < status || !res->message[0]) {
        if (status > res->status)
            res->status = status;
        if (snprintf(res->message, sizeof res->message, fmt, a, b) < 0) /* truncation is fine */
            res->message[0] = '\0';
    }
}

int recv_on_write(const char *topic, aion_msg *msg, void *result, void *arg)
{
    (void)topic;
    recv *r = arg;
    aion_write_result local, *res = result ? result : &local;
    if (!result)
        memset(&local, 0, sizeof local);
    if (strcmp(api->msg_type(msg), AION_MSG_WRITE_V1) != 0)
        return 0;
    const aion_write_batch *wb = api->msg_payload(msg);
    if (!wb || wb->nseries == 0)
        return 0;
    const char *tname = wb->tenant ? wb->tenant : r->default_tenant;
    char err[512];
    recv_tenant *t = NULL;
    int rc = recv_tenant_get(r, tname, true, &t, err, sizeof err);
    if (rc < 0) {
        set_failure(res, rc == -EINVAL ? 400 : rc == -EAGAIN ? 503 : 500, "tenant %s: %s", tname, err);
        return rc;
    }
    tsdb_appender *a = tsdb_appender_new(t->db);
    if (!a) {
        set_failure(res, 500, "tenant %s: %s", tname, "out of memory");
        return -ENOMEM;
    }
    int64_t maxt = api->now_ms() + r->future_window_ms;
    uint64_t stored = 0, ooo = 0, dup = 0, old = 0, future = 0, limited = 0, refused_series = 0;
    uint64_t invalid_series = 0, invalid_samples = 0;
    int fatal = 0;
    /* keys are computed a window ahead and their cache slots prefetched, so
     * the table's cache misses overlap instead of stalling one by one */
    enum { AHEAD = 16 };
    uint64_t kh1[AHEAD], kh2[AHEAD];
    for (size_t i = 0; i < wb->nseries && !fatal; i++) {
        const aion_series *s = &wb->series[i];
        const labels_label *ls = (const labels_label *)(const void *)s->labels;
        if (i % AHEAD == 0) {
            for (size_t j = i; j < wb->nseries && j < i + AHEAD; j++) {
                const aion_series *sj = &wb->series[j];
                recv_refcache_hash((const labels_label *)(const void *)sj->labels, sj->nlabels,
                                   &kh1[j - i], &kh2[j - i]);
                recv_refcache_prefetch(t->refs, kh1[j - i]);
            }
        }
        uint64_t h1 = kh1[i % AHEAD], h2 = kh2[i % AHEAD];
        tsdb_ref ref = recv_refcache_get(t->refs, h1, h2);
        bool learned = ref != 0; /* a hit needs no put */
        for (uint32_t k = 0; k < s->nsamples; k++) {
            const aion_sample *sm = &s->samples[k];
            if (sm->t > maxt) {
                future++;
                continue;
            }
            int e = ref ? tsdb_append_ref(a, ref, sm->t, sm->v) : tsdb_append(a, ls, s->nlabels, sm->t, sm->v, &ref);
            if (e == TSDB_ERR_NOT_FOUND) {
                /* the series was removed (head truncation): look it up again */
                ref = 0;
                learned = false;
                e = tsdb_append(a, ls, s->nlabels, sm->t, sm->v, &ref);
            }
            if (ref && !learned && (e == 0 || e == TSDB_ERR_OUT_OF_ORDER || e == TSDB_ERR_DUPLICATE ||
                                    e == TSDB_ERR_TOO_OLD)) {
                recv_refcache_put(t->refs, h1, h2, ref);
                learned = true;
            }
            if (e == 0) {
                stored++;
                continue;
            }
            if (e == TSDB_ERR_OUT_OF_ORDER) {
                ooo++;
            } else if (e == TSDB_ERR_DUPLICATE) {
                dup++;
            } else if (e == TSDB_ERR_TOO_OLD) {
                old++;
            } else if (e == TSDB_ERR_LIMIT) {
                /* a new series past the tenant's limit: refuse it whole */
                limited += s->nsamples - k;
                refused_series++;
                break;
            } else if (e == -EINVAL) {
                /* not a valid label set (a bus publisher that skipped validation) */
                invalid_series++;
                invalid_samples += s->nsamples - k;
                break;
            } else {
                fatal = e;
                break;
            }
        }
    }
    if (fatal) {
        tsdb_appender_free(a);
        set_failure(res, fatal == TSDB_ERR_CLOSED ? 503 : 500, "tenant %s: append: %s", tname, tsdb_strerror(fatal));
        return fatal < 0 ? fatal : -EIO;
    }
    rc = tsdb_commit(a, err, sizeof err);
    tsdb_appender_free(a);
    if (rc < 0) {
        set_failure(res, rc == TSDB_ERR_CLOSED ? 503 : 500, "tenant %s: commit: %s", tname, err);
        return rc;
    }
    res->samples_stored += stored;
    res->out_of_order += ooo;
    res->duplicate += dup;
    res->too_old += old;
    res->too_new += future;
    res->limited += limited;
    res->series_refused += refused_series;
    res->series_refused += invalid_series;
    if (invalid_series) {
        if (res->status < 400)
            res->status = 400;
        if (!res->message[0])
            snprintf(res->message, sizeof res->message,
                     "tenant %s: %" PRIu64 " series with an invalid label set (unsorted, duplicate or empty names) refused",
                     tname, invalid_series);
    }
    if (refused_series) {
        if (res->status < 429)
            res->status = 429;
        if (!res->message[0])
            snprintf(res->message, sizeof res->message,
                     "tenant %s: active series limit or memory budget reached (new series refused)", tname);
    }
    const char *tl[] = { tname, NULL };
    api->metric_add(r->m_samples, tl, (double)stored);
    api->metric_add(r->m_series, tl, (double)wb->nseries);
    static const char *const reasons[] = { "out_of_order", "duplicate", "too_old", "too_new", "limit", "invalid" };
    uint64_t counts[] = { ooo, dup, old, future, limited, invalid_samples };
    for (size_t i = 0; i < 6; i++)
        if (counts[i]) {
            const char *lv[] = { reasons[i], NULL };
            api->metric_add(r->m_refused, lv, (double)counts[i]);
        }
    return 0;
}
