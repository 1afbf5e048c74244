/* Fuzzes regex matchers: the first byte is the pattern length (mod the
 * input size), then the pattern, then the subject. Must never crash, hang
 * or leak; also checks that =~ and !~ always disagree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t plen = data[0];
    if (plen > size - 1)
        plen = size - 1;
    const char *pat = (const char *)data + 1;
    const char *subj = pat + plen;
    size_t slen = size - 1 - plen;
    char err[256];
    labels_matcher *re = NULL, *nre = NULL;
    int rc1 = labels_matcher_new(LABELS_MATCH_RE, "x", 1, pat, plen, &re, err, sizeof(err));
    int rc2 = labels_matcher_new(LABELS_MATCH_NRE, "x", 1, pat, plen, &nre, err, sizeof(err));
    if ((rc1 == 0) != (rc2 == 0))
        abort();
    if (rc1 == 0) {
        bool a = labels_matcher_matches(re, subj, slen);
        bool b = labels_matcher_matches(nre, subj, slen);
        if (a == b)
            abort();
        if (labels_matcher_matches_empty(re) != labels_matcher_matches(re, "", 0))
            abort();
        const char *const *vals;
        const uint32_t *lens;
        int n = labels_matcher_set_values(re, &vals, &lens);
        if (n >= 0) {
            bool in = false;
            for (int i = 0; i < n; i++)
                if (lens[i] == slen && memcmp(vals[i], subj, slen) == 0)
                    in = true;
            if (in != a)
                abort();
        }
        char buf[64];
        size_t need = labels_matcher_format(re, buf, sizeof(buf));
        if (strlen(buf) != (need < sizeof(buf) ? need : sizeof(buf) - 1))
            abort();
    } else if (strncmp(err, "error parsing regexp: ", 22) != 0) {
        abort();
    }
    labels_matcher_free(re);
    labels_matcher_free(nre);
    return 0;
}
