/*
 * aion/config.h: plugin option tables and read access to a plugin's config.
 *
 * A plugin declares its options as a table (like Fluent Bit's config maps).
 * The host validates the plugin's `config = { ... }` group against it before
 * init: unknown keys and wrong types are rejected with `file:line: plugin
 * NAME: ...`; missing optional keys get their defaults; `${VAR}` inside
 * string values is replaced by the environment variable VAR (an unset
 * variable is an error).
 *
 * Values are read through aion_api.cfg_* (plugin.h). A aion_config handle
 * and every string it returns stay valid until the plugin's destroy().
 */
#ifndef AION_CONFIG_H
#define AION_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aion_opt_type {
    AION_OPT_STRING = 1,
    AION_OPT_INT,        /* 64-bit integer */
    AION_OPT_BOOL,
    AION_OPT_DOUBLE,
    AION_OPT_DURATION,   /* "30s", "5m", "1h30m", "250ms" or an integer of seconds; read as ms */
    AION_OPT_SIZE,       /* "64MiB", "512KB", "1GiB" or an integer of bytes; read as bytes */
    AION_OPT_STRING_LIST,/* [ "a", "b" ] or ( "a", "b" ) */
    AION_OPT_GROUP,      /* { ... }: free-form, read with cfg_group / cfg_keys; the plugin validates */
    AION_OPT_GROUP_LIST, /* ( { ... }, { ... } ): a list of groups */
} aion_opt_type;

enum { AION_OPT_REQUIRED = 1 << 0, AION_OPT_SECRET = 1 << 1 /* never printed */ };

typedef struct aion_option {
    const char *name;
    aion_opt_type type;
    const char *default_value; /* as text, parsed like a config value; NULL = no default */
    const char *description;   /* one line, shown by `aiond --list-plugins` */
    int flags;                 /* AION_OPT_* */
} aion_option;

/* Tables end with an all-zero entry: AION_OPTION_END. */
#define AION_OPTION_END { NULL, 0, NULL, NULL, 0 }

/* Opaque handle on a config group (the plugin's `config` or a nested group). */
typedef struct aion_config aion_config;

#ifdef __cplusplus
}
#endif
#endif
