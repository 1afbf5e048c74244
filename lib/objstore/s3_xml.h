/* Parsers of the S3 XML responses the client needs (ListObjectsV2,
 * InitiateMultipartUpload, CompleteMultipartUpload, Error). Pure functions
 * over a buffer (not NUL-terminated), thread-safe, fuzzed by
 * tests/fuzz/fuzz_s3_xml.c. Namespaces and prefixes are ignored; elements are
 * matched by local name. Private to lib/objstore. */
#ifndef OBJSTORE_S3_XML_H
#define OBJSTORE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

typedef struct objstore_s3_list_entry {
    char *key;            /* malloc'ed, decoded (also URL-decoded with EncodingType url) */
    uint64_t size;
    int64_t last_modified; /* unix seconds, 0 if absent/unparsable */
} objstore_s3_list_entry;

typedef struct objstore_s3_list {
    objstore_s3_list_entry *contents;
    size_t ncontents;
    char **prefixes;      /* CommonPrefixes/Prefix, malloc'ed, decoded */
    size_t nprefixes;
    int truncated;        /* IsTruncated == true */
    char *next_token;     /* NextContinuationToken, malloc'ed or NULL */
} objstore_s3_list;

/* Parses a ListBucketResult. Returns 0, -EINVAL (not a ListBucketResult or
 * malformed), -ENOMEM. On error *out is left empty. Free with _list_free. */
int objstore_s3_xml_parse_list(const char *buf, size_t len, objstore_s3_list *out);
void objstore_s3_list_free(objstore_s3_list *l);

/* Parses an <Error> document into code/message (truncated to the buffers,
 * NUL-terminated). Returns 0 if the root element is Error, -EINVAL if not. */
int objstore_s3_xml_parse_error(const char *buf, size_t len, char *code, size_t codelen,
                                char *msg, size_t msglen);

/* Extracts InitiateMultipartUploadResult/UploadId. 0, -EINVAL, -ENOMEM.
 * *upload_id is malloc'ed. */
int objstore_s3_xml_parse_initiate(const char *buf, size_t len, char **upload_id);

/* Local name of the root element into name (NUL-terminated). 0 or -EINVAL. */
int objstore_s3_xml_root(const char *buf, size_t len, char *name, size_t namelen);

/* Decodes application/x-www-form-urlencoded style text ('+' = space, %XX)
 * in place. Returns 0, or -EINVAL on a bad escape. */
int objstore_s3_url_decode(char *s);

#endif
