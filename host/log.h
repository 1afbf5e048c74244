/* host/log.h: logfmt logging on stderr (internal to aiond). */
#ifndef AION_HOST_LOG_H
#define AION_HOST_LOG_H

#include <stdarg.h>
#include <aion/log.h>

/* Minimum level printed; default info. Thread-safe. */
void host_log_set_level(aion_log_level level);
aion_log_level host_log_get_level(void);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int host_log_parse_level(const char *s);

/* Writes one line: ts=... level=... [plugin=component] msg="..." k=v ...
 * component may be NULL (the host itself). kv is NULL-terminated pairs or NULL.
 * A line is written with one write(2), so lines never interleave. */
void host_log_kv(aion_log_level level, const char *component, const char *msg,
                 const char *const *kv);
void host_logv(aion_log_level level, const char *component, const char *fmt, va_list ap);
void host_log(aion_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define host_info(...) host_log(AION_LOG_INFO, NULL, __VA_ARGS__)
#define host_warn(...) host_log(AION_LOG_WARN, NULL, __VA_ARGS__)
#define host_error(...) host_log(AION_LOG_ERROR, NULL, __VA_ARGS__)
#define host_debug(...) host_log(AION_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
