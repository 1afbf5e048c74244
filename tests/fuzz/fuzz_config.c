/* Fuzzes conf.d parsing: libconfig text -> aion_config tree -> host_conf,
 * plus option validation and the duration/size/env parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const aion_option opts[] = {
    { "s", AION_OPT_STRING, "x", "", 0 },
    { "i", AION_OPT_INT, "1", "", 0 },
    { "d", AION_OPT_DURATION, "1s", "", 0 },
    { "z", AION_OPT_SIZE, "1KiB", "", 0 },
    { "l", AION_OPT_STRING_LIST, NULL, "", 0 },
    { "g", AION_OPT_GROUP_LIST, NULL, "", 0 },
    { "r", AION_OPT_STRING, NULL, "", AION_OPT_REQUIRED },
    AION_OPTION_END
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* also exercise the value parsers on the raw text */
    int64_t v;
    host_parse_duration_ms(text, &v);
    host_parse_size(text, &v);
    char err[128];
    free(host_expand_env(text, err, sizeof err));

    host_conf c;
    host_diag d = { 0 };
    const char *names[] = { "fuzz.conf" };
    const char *texts[] = { text };
    host_conf_load_buffers(&c, names, texts, 1, &d);
    for (size_t i = 0; i < c.nplugins; i++)
        host_config_validate(c.plugins[i].config, opts, c.plugins[i].name, &d);
    host_conf_free(&c);
    host_diag_free(&d);
    free(text);
    return 0;
}
