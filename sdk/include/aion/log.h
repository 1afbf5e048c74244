/*
 * aion/log.h: log levels. Logging goes through aion_api.log / log_kv (see
 * plugin.h): leveled logfmt lines on stderr, e.g.
 *   ts=2026-11-25T10:00:00.123Z level=info plugin=receive msg="listening" addr=127.0.0.1:10902
 * Safe from any thread; a line is written atomically.
 */
#ifndef AION_LOG_H
#define AION_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aion_log_level {
    AION_LOG_DEBUG = 0,
    AION_LOG_INFO,
    AION_LOG_WARN,
    AION_LOG_ERROR,
} aion_log_level;

#ifdef __cplusplus
}
#endif
#endif
