/* libFuzzer target: every S3 XML response parser over arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    objstore_s3_list l;
    if (objstore_s3_xml_parse_list(buf, size, &l) == 0) {
        for (size_t i = 0; i < l.ncontents; i++)
            if (!l.contents[i].key)
                abort();
        if (l.truncated && (!l.next_token || !l.next_token[0]))
            abort();
        objstore_s3_list_free(&l);
    }
    char code[64], msg[128], root[64];
    if (objstore_s3_xml_parse_error(buf, size, code, sizeof code, msg, sizeof msg) == 0 &&
        (strlen(code) >= sizeof code || strlen(msg) >= sizeof msg))
        abort();
    objstore_s3_xml_root(buf, size, root, sizeof root);
    char *id;
    if (objstore_s3_xml_parse_initiate(buf, size, &id) == 0) {
        if (!id || !id[0])
            abort();
        free(id);
    }
    return 0;
}
