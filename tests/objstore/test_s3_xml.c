/* S3 XML response parsers over hand-written documents in the shapes real S3
 * and s3rver send (different namespaces, prefixes, entities, CDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

static const char list_aws[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <Name>bucket</Name><Prefix>01ABC/</Prefix><Delimiter>/</Delimiter>\n"
    "  <MaxKeys>2</MaxKeys><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>\n"
    "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
    "  <Contents><Key>01ABC/index</Key><LastModified>2019-12-10T10:00:00.000Z</LastModified>\n"
    "    <ETag>&quot;599bab3ed2c697f1d26842727561fd94&quot;</ETag><Size>1313</Size>\n"
    "    <StorageClass>STANDARD</StorageClass></Contents>\n"
    "  <CommonPrefixes><Prefix>01ABC/chunks/</Prefix></CommonPrefixes>\n"
    "</ListBucketResult>";

static void list_real_s3(void **state)
{
    objstore_s3_list l;
    assert_int_equal(objstore_s3_xml_parse_list(list_aws, strlen(list_aws), &l), 0);
    assert_int_equal(l.ncontents, 1);
    assert_string_equal(l.contents[0].key, "01ABC/index");
    assert_int_equal(l.contents[0].size, 1313);
    assert_int_equal(l.contents[0].last_modified, 1575972000); /* 2019-12-10T10:00:00Z */
    assert_int_equal(l.nprefixes, 1);
    assert_string_equal(l.prefixes[0], "01ABC/chunks/");
    assert_true(l.truncated);
    assert_string_equal(l.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    objstore_s3_list_free(&l);
    /* Any prefix of the document is rejected, never half-parsed. */
    for (size_t n = 0; n < strlen(list_aws); n += 7) {
        assert_int_equal(objstore_s3_xml_parse_list(list_aws, n, &l), -EINVAL);
        assert_int_equal(l.ncontents, 0);
    }
}

static void list_s3rver_prefixed_entities(void **state)
{
    const char *x =
        "<?xml version=\"1.0\"?><!-- s3rver namespace differs -->"
        "<s3:ListBucketResult xmlns:s3=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
        "<s3:IsTruncated>false</s3:IsTruncated>"
        "<s3:Contents><s3:Key>a &amp; b&lt;&#x41;&#66;&#233;</s3:Key><s3:Size>0</s3:Size></s3:Contents>"
        "<s3:Contents><s3:Key><![CDATA[c<d>&amp;]]></s3:Key><s3:Size>18446744073709551615</s3:Size>"
        "</s3:Contents>"
        "<s3:Contents><s3:Size>5</s3:Size></s3:Contents>" /* no key: ignored */
        "<s3:Contents><s3:Key>&bogus; &#xZZ;</s3:Key></s3:Contents>"
        "<s3:CommonPrefixes><s3:Prefix>p/</s3:Prefix></s3:CommonPrefixes>"
        "<s3:CommonPrefixes><s3:Prefix/></s3:CommonPrefixes>"
        "</s3:ListBucketResult>";
    objstore_s3_list l;
    assert_int_equal(objstore_s3_xml_parse_list(x, strlen(x), &l), 0);
    assert_int_equal(l.ncontents, 3);
    assert_string_equal(l.contents[0].key, "a & b<AB\xc3\xa9");
    assert_string_equal(l.contents[1].key, "c<d>&amp;");
    assert_int_equal(l.contents[1].size, UINT64_MAX);
    assert_string_equal(l.contents[2].key, "&bogus; &#xZZ;");
    assert_int_equal(l.nprefixes, 2);
    assert_string_equal(l.prefixes[0], "p/");
    assert_string_equal(l.prefixes[1], "");
    assert_false(l.truncated);
    assert_null(l.next_token);
    objstore_s3_list_free(&l);
}

static void list_url_encoding(void **state)
{
    const char *x = "<ListBucketResult><EncodingType>url</EncodingType>"
                    "<Contents><Key>dir%2Fa+b%3Dc%25</Key></Contents>"
                    "<CommonPrefixes><Prefix>sp%20ace%2F</Prefix></CommonPrefixes>"
                    "</ListBucketResult>";
    objstore_s3_list l;
    assert_int_equal(objstore_s3_xml_parse_list(x, strlen(x), &l), 0);
    assert_string_equal(l.contents[0].key, "dir/a b=c%");
    assert_string_equal(l.prefixes[0], "sp ace/");
    objstore_s3_list_free(&l);
    /* Without EncodingType the same text is taken literally. */
    const char *y = "<ListBucketResult><Contents><Key>dir%2Fa+b</Key></Contents>"
                    "</ListBucketResult>";
    assert_int_equal(objstore_s3_xml_parse_list(y, strlen(y), &l), 0);
    assert_string_equal(l.contents[0].key, "dir%2Fa+b");
    objstore_s3_list_free(&l);
    const char *bad = "<ListBucketResult><EncodingType>url</EncodingType>"
                      "<Contents><Key>%G1</Key></Contents></ListBucketResult>";
    assert_int_equal(objstore_s3_xml_parse_list(bad, strlen(bad), &l), -EINVAL);
}

static void list_rejects(void **state)
{
    objstore_s3_list l;
    const char *cases[] = {
        "",
        "not xml",
        "<Error><Code>X</Code></Error>",                           /* other root */
        "<ListBucketResult><a></b></ListBucketResult>",            /* mismatched */
        "<ListBucketResult>",                                      /* unterminated */
        "<ListBucketResult></ListBucketResult><x/>",               /* two roots */
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", /* no token */
        "<ListBucketResult><Key attr=\"></ListBucketResult>",      /* open quote */
        "<ListBucketResult><![CDATA[x</ListBucketResult>",         /* open CDATA */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(objstore_s3_xml_parse_list(cases[i], strlen(cases[i]), &l), -EINVAL);
    /* Nesting deeper than the scanner's limit is an error, not a crash. */
    char deep[2000] = "<ListBucketResult>";
    for (int i = 0; i < 40; i++)
        strcat(deep, "<a>");
    assert_int_equal(objstore_s3_xml_parse_list(deep, strlen(deep), &l), -EINVAL);
}

static void error_doc(void **state)
{
    const char *x = "\n\n   <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
                    "<Code>SignatureDoesNotMatch</Code><Message>The request signature we "
                    "calculated does not match the signature you provided.</Message>"
                    "<StringToSign>AWS4-HMAC-SHA256\n...</StringToSign>"
                    "<Resource>/thanos/x</Resource><RequestId>4442587FB7D0A2F9</RequestId>"
                    "</Error>";
    char code[64], msg[32];
    assert_int_equal(objstore_s3_xml_parse_error(x, strlen(x), code, sizeof code, msg,
                                                 sizeof msg), 0);
    assert_string_equal(code, "SignatureDoesNotMatch");
    assert_string_equal(msg, "The request signature we calcul"); /* cut to the buffer */
    const char *ok = "<CompleteMultipartUploadResult><ETag>\"x\"</ETag>"
                     "</CompleteMultipartUploadResult>";
    assert_int_equal(objstore_s3_xml_parse_error(ok, strlen(ok), code, sizeof code, msg,
                                                 sizeof msg), -EINVAL);
    assert_string_equal(code, "");
    char root[64];
    assert_int_equal(objstore_s3_xml_root(ok, strlen(ok), root, sizeof root), 0);
    assert_string_equal(root, "CompleteMultipartUploadResult");
}

static void initiate(void **state)
{
    const char *x = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult "
                    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
                    "<Key>k</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5t"
                    "MnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>";
    char *id;
    assert_int_equal(objstore_s3_xml_parse_initiate(x, strlen(x), &id), 0);
    assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    const char *none = "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
                       "</InitiateMultipartUploadResult>";
    assert_int_equal(objstore_s3_xml_parse_initiate(none, strlen(none), &id), -EINVAL);
    assert_null(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_real_s3),     cmocka_unit_test(list_s3rver_prefixed_entities),
        cmocka_unit_test(list_url_encoding), cmocka_unit_test(list_rejects),
        cmocka_unit_test(error_doc),        cmocka_unit_test(initiate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
