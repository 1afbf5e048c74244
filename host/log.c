/* Leveled logfmt logging on stderr; one write(2) per line so lines from
 * different threads never interleave. */
#include "log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic int min_level = AION_LOG_INFO;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void host_log_set_level(aion_log_level level) { atomic_store(&min_level, (int)level); }
aion_log_level host_log_get_level(void) { return (aion_log_level)atomic_load(&min_level); }

int host_log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return AION_LOG_WARN;
    return -1;
}

struct line {
    char buf[4096];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof l->buf - 1 - l->len;  /* keep one byte for '\n' */
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

/* logfmt value: bare when it has no space, quote, '=' or control char. */
static void put_value(struct line *l, const char *v)
{
    bool quote = (*v == '\0');
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20) {
            quote = true;
            break;
        }
    if (!quote) {
        puts_(l, v);
        return;
    }
    put(l, "\"", 1);
    for (const char *p = v; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put(l, "\\\"", 2); break;
        case '\\': put(l, "\\\\", 2); break;
        case '\n': put(l, "\\n", 2); break;
        case '\t': put(l, "\\t", 2); break;
        case '\r': put(l, "\\r", 2); break;
        default:
            if ((unsigned char)*p < 0x20) {
                snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)*p);
                puts_(l, esc);
            } else {
                put(l, p, 1);
            }
        }
    }
    put(l, "\"", 1);
}

void host_log_kv(aion_log_level level, const char *component, const char *msg,
                 const char *const *kv)
{
    if ((int)level < atomic_load(&min_level) || (int)level < 0 || level > AION_LOG_ERROR)
        return;
    struct line l = { .len = 0 };
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t n = strftime(ts, sizeof ts, "ts=%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ level=", (long)(tv.tv_usec / 1000));
    puts_(&l, ts);
    puts_(&l, level_names[level]);
    if (component) {
        puts_(&l, " plugin=");
        put_value(&l, component);
    }
    puts_(&l, " msg=");
    put_value(&l, msg ? msg : "");
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        put(&l, " ", 1);
        puts_(&l, kv[i]);
        put(&l, "=", 1);
        put_value(&l, kv[i + 1]);
    }
    l.buf[l.len++] = '\n';
    ssize_t off = 0;
    while (off < (ssize_t)l.len) {
        ssize_t w = write(STDERR_FILENO, l.buf + off, l.len - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
}

void host_logv(aion_log_level level, const char *component, const char *fmt, va_list ap)
{
    if ((int)level < atomic_load(&min_level))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    host_log_kv(level, component, msg, NULL);
}

void host_log(aion_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_logv(level, component, fmt, ap);
    va_end(ap);
}
