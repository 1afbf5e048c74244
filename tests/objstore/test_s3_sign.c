/* SigV4 signer against the known-answer examples AWS publishes: the S3
 * "Signature Calculations" examples (GET with Range, PUT, GET ?lifecycle,
 * list objects) and cases of the generic SigV4 test suite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_sign.h"

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_AK "AKIAIOSFODNN7EXAMPLE"
#define S3_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_DATE "20130524T000000Z"

static void check(const objstore_s3_sign_req *r, const char *cr_hash, const char *sig,
                  const char *signed_headers)
{
    char *auth, *qs, *cr, *sts;
    assert_int_equal(objstore_s3_sign(r, &auth, &qs, &cr, &sts), 0);
    char h[65];
    objstore_s3_sha256_hex(cr, strlen(cr), h);
    if (strcmp(h, cr_hash) != 0)
        print_error("canonical request:\n%s\n", cr);
    assert_string_equal(h, cr_hash);
    /* The string to sign ends with the canonical request hash. */
    assert_non_null(strstr(sts, cr_hash));
    char want[512];
    snprintf(want, sizeof want, "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
             "SignedHeaders=%s, Signature=%s", r->access_key, r->amz_date, r->region,
             r->service, signed_headers, sig);
    assert_string_equal(auth, want);
    free(auth);
    free(qs);
    free(cr);
    free(sts);
}

static void s3_get_range(void **state)
{
    objstore_s3_kv h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                          {"Range", "bytes=0-9"},
                          {"x-amz-content-sha256", EMPTY},
                          {"x-amz-date", S3_DATE}};
    objstore_s3_sign_req r = {.method = "GET", .path = "/test.txt", .headers = h, .nheaders = 4,
                              .payload_hash = EMPTY, .access_key = S3_AK, .secret_key = S3_SK,
                              .region = "us-east-1", .service = "s3", .amz_date = S3_DATE};
    check(&r, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
          "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
          "host;range;x-amz-content-sha256;x-amz-date");
}

static void s3_put_object(void **state)
{
    const char *body = "Welcome to Amazon S3.";
    char ph[65];
    objstore_s3_sha256_hex(body, strlen(body), ph);
    assert_string_equal(ph, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    /* Headers given out of order and with odd case and spacing. */
    objstore_s3_kv h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                          {"x-amz-date", S3_DATE},
                          {"Date", "  Fri, 24 May 2013   00:00:00 GMT "},
                          {"HOST", "examplebucket.s3.amazonaws.com"},
                          {"x-amz-content-sha256", ph}};
    objstore_s3_sign_req r = {.method = "PUT", .path = "/test$file.text", .headers = h,
                              .nheaders = 5, .payload_hash = ph, .access_key = S3_AK,
                              .secret_key = S3_SK, .region = "us-east-1", .service = "s3",
                              .amz_date = S3_DATE};
    check(&r, "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
          "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
          "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
}

static void s3_get_lifecycle(void **state)
{
    objstore_s3_kv q[] = {{"lifecycle", NULL}};
    objstore_s3_kv h[] = {{"host", "examplebucket.s3.amazonaws.com"},
                          {"x-amz-content-sha256", EMPTY},
                          {"x-amz-date", S3_DATE}};
    objstore_s3_sign_req r = {.method = "GET", .path = "/", .query = q, .nquery = 1,
                              .headers = h, .nheaders = 3, .payload_hash = EMPTY,
                              .access_key = S3_AK, .secret_key = S3_SK, .region = "us-east-1",
                              .service = "s3", .amz_date = S3_DATE};
    check(&r, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
          "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
          "host;x-amz-content-sha256;x-amz-date");
}

static void s3_list_objects(void **state)
{
    objstore_s3_kv q[] = {{"prefix", "J"}, {"max-keys", "2"}}; /* unsorted on purpose */
    objstore_s3_kv h[] = {{"host", "examplebucket.s3.amazonaws.com"},
                          {"x-amz-content-sha256", EMPTY},
                          {"x-amz-date", S3_DATE}};
    objstore_s3_sign_req r = {.method = "GET", .path = "/", .query = q, .nquery = 2,
                              .headers = h, .nheaders = 3, .payload_hash = EMPTY,
                              .access_key = S3_AK, .secret_key = S3_SK, .region = "us-east-1",
                              .service = "s3", .amz_date = S3_DATE};
    check(&r, "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
          "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
          "host;x-amz-content-sha256;x-amz-date");
    char *auth, *qs;
    assert_int_equal(objstore_s3_sign(&r, &auth, &qs, NULL, NULL), 0);
    assert_string_equal(qs, "max-keys=2&prefix=J");
    free(auth);
    free(qs);
}

/* Generic SigV4 suite (service "service", no x-amz-content-sha256). */
#define G_AK "AKIDEXAMPLE"
#define G_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define G_DATE "20150830T123600Z"

static void generic(const char *path, const objstore_s3_kv *q, size_t nq, const char *token,
                    const char *cr_hash, const char *sig, const char *sh)
{
    objstore_s3_kv h[3] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", G_DATE}};
    size_t nh = 2;
    if (token)
        h[nh++] = (objstore_s3_kv){"X-Amz-Security-Token", token};
    objstore_s3_sign_req r = {.method = "GET", .path = path, .query = q, .nquery = nq,
                              .headers = h, .nheaders = nh, .payload_hash = EMPTY,
                              .access_key = G_AK, .secret_key = G_SK, .region = "us-east-1",
                              .service = "service", .amz_date = G_DATE};
    check(&r, cr_hash, sig, sh);
}

static void suite_get_vanilla(void **state)
{
    generic("/", NULL, 0, NULL,
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", "host;x-amz-date");
}

static void suite_query_order(void **state)
{
    objstore_s3_kv q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    generic("/", q, 2, NULL, "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", "host;x-amz-date");
}

static void suite_session_token(void **state)
{
    generic("/", NULL, 0, "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
            "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            "host;x-amz-date;x-amz-security-token");
}

static void suite_space_unnormalized(void **state)
{
    generic("/example space/", NULL, 0, NULL,
            "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741", "host;x-amz-date");
}

static void uri_encoding(void **state)
{
    objstore_s3_str s = {0};
    const char *in = "a b/c~d_e.f-g+h=i%\xc3\xa9";
    assert_int_equal(objstore_s3_uri_encode(&s, in, strlen(in), 1), 0);
    assert_string_equal(s.p, "a%20b/c~d_e.f-g%2Bh%3Di%25%C3%A9");
    s.len = 0;
    assert_int_equal(objstore_s3_uri_encode(&s, "x/y", 3, 0), 0);
    assert_string_equal(s.p, "x%2Fy");
    free(s.p);

    /* Query values are encoded with '/' as %2F and sorted after encoding. */
    objstore_s3_kv q[] = {{"prefix", "a/b c"}, {"delimiter", "/"}, {"list-type", "2"},
                          {"continuation-token", "x+y=="}};
    objstore_s3_kv h[] = {{"host", "h"}};
    objstore_s3_sign_req r = {.method = "GET", .path = "/b", .query = q, .nquery = 4,
                              .headers = h, .nheaders = 1, .payload_hash = EMPTY,
                              .access_key = "a", .secret_key = "s", .region = "r",
                              .service = "s3", .amz_date = "20200101T000000Z"};
    char *auth, *qs;
    assert_int_equal(objstore_s3_sign(&r, &auth, &qs, NULL, NULL), 0);
    assert_string_equal(qs, "continuation-token=x%2By%3D%3D&delimiter=%2F&list-type=2&"
                            "prefix=a%2Fb%20c");
    free(auth);
    free(qs);
    r.amz_date = "2020";
    assert_int_equal(objstore_s3_sign(&r, &auth, &qs, NULL, NULL), -22);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(s3_get_range),      cmocka_unit_test(s3_put_object),
        cmocka_unit_test(s3_get_lifecycle),  cmocka_unit_test(s3_list_objects),
        cmocka_unit_test(suite_get_vanilla), cmocka_unit_test(suite_query_order),
        cmocka_unit_test(suite_session_token), cmocka_unit_test(suite_space_unnormalized),
        cmocka_unit_test(uri_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
