/* AWS Signature Version 4 signer (HMAC-SHA256 chain, canonical request,
 * string to sign), written against the AWS "Authenticating Requests
 * (AWS Signature Version 4)" description for S3: the path is encoded once
 * and never normalised, query names/values are encoded with '/' as %2F and
 * sorted, header values trimmed with inner spaces collapsed. */
#include "s3_sign.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

int objstore_s3_str_add(objstore_s3_str *s, const char *src, size_t len)
{
    if (len + 1 > s->cap - s->len || !s->p) {
        size_t nc = s->cap ? s->cap : 256;
        while (nc - s->len < len + 1)
            nc *= 2;
        char *np = realloc(s->p, nc);
        if (!np)
            return -ENOMEM;
        s->p = np;
        s->cap = nc;
    }
    memcpy(s->p + s->len, src, len);
    s->len += len;
    s->p[s->len] = 0;
    return 0;
}

static int add_cstr(objstore_s3_str *s, const char *src)
{
    return objstore_s3_str_add(s, src, strlen(src));
}

int objstore_s3_uri_encode(objstore_s3_str *s, const char *src, size_t len, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = objstore_s3_str_add(s, "", 0); /* ensure non-NULL */
    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char c = (unsigned char)src[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
            char ch = (char)c;
            rc = objstore_s3_str_add(s, &ch, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = objstore_s3_str_add(s, e, 3);
        }
    }
    return rc;
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = 0;
}

void objstore_s3_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    to_hex(md, sizeof md, out);
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int olen = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &olen))
        return -EINVAL;
    return 0;
}

typedef struct enc_kv {
    char *name;
    char *value;
} enc_kv;

static int kv_cmp(const void *a, const void *b)
{
    const enc_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Header values: trimmed, runs of spaces collapsed to one. */
static char *canon_value(const char *v)
{
    size_t n = strlen(v);
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == ' ' || c == '\t') {
            space = 1;
            continue;
        }
        if (space && j > 0)
            o[j++] = ' ';
        space = 0;
        o[j++] = c;
    }
    o[j] = 0;
    return o;
}

static void free_kvs(enc_kv *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

int objstore_s3_sign(const objstore_s3_sign_req *r, char **authorization, char **query_string,
                     char **canonical_request, char **string_to_sign)
{
    *authorization = NULL;
    if (query_string)
        *query_string = NULL;
    if (canonical_request)
        *canonical_request = NULL;
    if (string_to_sign)
        *string_to_sign = NULL;
    if (!r->method || !r->path || r->path[0] != '/' || !r->payload_hash || !r->access_key ||
        !r->secret_key || !r->region || !r->service || !r->amz_date ||
        strlen(r->amz_date) != 16)
        return -EINVAL;

    int rc = -ENOMEM;
    enc_kv *q = calloc(r->nquery + 1, sizeof *q);
    enc_kv *h = calloc(r->nheaders + 1, sizeof *h);
    objstore_s3_str cq = {0}, qs = {0}, ch = {0}, sh = {0}, sts = {0}, auth = {0};
    if (!q || !h)
        goto out;

    /* Canonical query string. */
    for (size_t i = 0; i < r->nquery; i++) {
        objstore_s3_str n = {0}, v = {0};
        const char *val = r->query[i].value ? r->query[i].value : "";
        if (objstore_s3_uri_encode(&n, r->query[i].name, strlen(r->query[i].name), 0) ||
            objstore_s3_uri_encode(&v, val, strlen(val), 0)) {
            free(n.p);
            free(v.p);
            goto out;
        }
        q[i].name = n.p;
        q[i].value = v.p;
    }
    qsort(q, r->nquery, sizeof *q, kv_cmp);
    if (add_cstr(&qs, ""))
        goto out;
    for (size_t i = 0; i < r->nquery; i++) {
        if ((i && add_cstr(&qs, "&")) || add_cstr(&qs, q[i].name) || add_cstr(&qs, "=") ||
            add_cstr(&qs, q[i].value))
            goto out;
    }

    /* Canonical headers: lowercase names, sorted, duplicates joined by ','. */
    for (size_t i = 0; i < r->nheaders; i++) {
        h[i].name = strdup(r->headers[i].name);
        h[i].value = canon_value(r->headers[i].value ? r->headers[i].value : "");
        if (!h[i].name || !h[i].value)
            goto out;
        for (char *p = h[i].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
    }
    /* Stable order for duplicates: sort by name only keeps values in input
     * order only with a stable sort, so do an insertion sort. */
    for (size_t i = 1; i < r->nheaders; i++) {
        enc_kv t = h[i];
        size_t j = i;
        while (j > 0 && strcmp(h[j - 1].name, t.name) > 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = t;
    }
    if (add_cstr(&ch, "") || add_cstr(&sh, ""))
        goto out;
    for (size_t i = 0; i < r->nheaders; i++) {
        int dup = i > 0 && !strcmp(h[i - 1].name, h[i].name);
        if (dup) {
            /* replace the trailing '\n' with ',value\n' */
            ch.len--;
            if (add_cstr(&ch, ",") || add_cstr(&ch, h[i].value) || add_cstr(&ch, "\n"))
                goto out;
            continue;
        }
        if (add_cstr(&ch, h[i].name) || add_cstr(&ch, ":") || add_cstr(&ch, h[i].value) ||
            add_cstr(&ch, "\n"))
            goto out;
        if ((sh.len && add_cstr(&sh, ";")) || add_cstr(&sh, h[i].name))
            goto out;
    }

    /* Canonical request. */
    if (add_cstr(&cq, r->method) || add_cstr(&cq, "\n") ||
        objstore_s3_uri_encode(&cq, r->path, strlen(r->path), 1) || add_cstr(&cq, "\n") ||
        add_cstr(&cq, qs.p) || add_cstr(&cq, "\n") || add_cstr(&cq, ch.p) ||
        add_cstr(&cq, "\n") || add_cstr(&cq, sh.p) || add_cstr(&cq, "\n") ||
        add_cstr(&cq, r->payload_hash))
        goto out;

    char date[9];
    memcpy(date, r->amz_date, 8);
    date[8] = 0;
    char cq_hash[65];
    objstore_s3_sha256_hex(cq.p, cq.len, cq_hash);
    if (add_cstr(&sts, "AWS4-HMAC-SHA256\n") || add_cstr(&sts, r->amz_date) ||
        add_cstr(&sts, "\n") || add_cstr(&sts, date) || add_cstr(&sts, "/") ||
        add_cstr(&sts, r->region) || add_cstr(&sts, "/") || add_cstr(&sts, r->service) ||
        add_cstr(&sts, "/aws4_request\n") || add_cstr(&sts, cq_hash))
        goto out;

    /* Signing key chain. */
    unsigned char k[32], k2[32];
    size_t sl = strlen(r->secret_key);
    char *ks = malloc(sl + 5);
    if (!ks)
        goto out;
    memcpy(ks, "AWS4", 4);
    memcpy(ks + 4, r->secret_key, sl + 1);
    rc = hmac(ks, sl + 4, date, k);
    OPENSSL_cleanse(ks, sl + 4);
    free(ks);
    if (rc || (rc = hmac(k, 32, r->region, k2)) || (rc = hmac(k2, 32, r->service, k)) ||
        (rc = hmac(k, 32, "aws4_request", k2)) || (rc = hmac(k2, 32, sts.p, k)))
        goto out;
    rc = -ENOMEM;
    char sig[65];
    to_hex(k, 32, sig);
    OPENSSL_cleanse(k2, sizeof k2);
    if (add_cstr(&auth, "AWS4-HMAC-SHA256 Credential=") || add_cstr(&auth, r->access_key) ||
        add_cstr(&auth, "/") || add_cstr(&auth, date) || add_cstr(&auth, "/") ||
        add_cstr(&auth, r->region) || add_cstr(&auth, "/") || add_cstr(&auth, r->service) ||
        add_cstr(&auth, "/aws4_request, SignedHeaders=") || add_cstr(&auth, sh.p) ||
        add_cstr(&auth, ", Signature=") || add_cstr(&auth, sig))
        goto out;

    *authorization = auth.p;
    auth.p = NULL;
    if (query_string) {
        *query_string = qs.p;
        qs.p = NULL;
    }
    if (canonical_request) {
        *canonical_request = cq.p;
        cq.p = NULL;
    }
    if (string_to_sign) {
        *string_to_sign = sts.p;
        sts.p = NULL;
    }
    rc = 0;
out:
    free_kvs(q, r->nquery);
    free_kvs(h, r->nheaders);
    free(cq.p);
    free(qs.p);
    free(ch.p);
    free(sh.p);
    free(sts.p);
    free(auth.p);
    return rc;
}
