/* conf.d loading: libconfig text -> owned aion_config trees -> host_conf. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- diagnostics ---- */

void host_diag_add(host_diag *d, const char *file, int line, const char *fmt, ...)
{
    char msg[1024], full[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (file && line > 0)
        snprintf(full, sizeof full, "%s:%d: %s", file, line, msg);
    else if (file)
        snprintf(full, sizeof full, "%s: %s", file, msg);
    else
        snprintf(full, sizeof full, "%s", msg);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **nl = realloc(d->lines, cap * sizeof *nl);
        if (!nl)
            return;
        d->lines = nl;
        d->cap = cap;
    }
    char *s = strdup(full);
    if (s)
        d->lines[d->n++] = s;
}

void host_diag_free(host_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
    memset(d, 0, sizeof *d);
}

/* ---- value parsers ---- */

int host_parse_duration_ms(const char *s, int64_t *out)
{
    /* Prometheus durations: units y w d h m s ms, largest first, each once;
     * a bare integer means seconds (libconfig ints are handled by callers). */
    static const struct { const char *u; int64_t ms; } units[] = {
        { "y", 365LL * 86400000 }, { "w", 7LL * 86400000 }, { "d", 86400000 },
        { "h", 3600000 }, { "ms", 1 }, { "m", 60000 }, { "s", 1000 },
    };
    static const int order[] = { 0, 1, 2, 3, 6, 4, 5 }; /* rank of each unit (y..ms), by units[] index */
    if (!s || !*s)
        return -EINVAL;
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    int64_t total = 0;
    int last_rank = -1;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (INT64_MAX - 9) / 10)
                return -EINVAL;
            n = n * 10 + (*p++ - '0');
        }
        if (!*p) {
            /* bare number: seconds, only as the whole string */
            if (p - s == (ptrdiff_t)strlen(s)) {
                if (n > INT64_MAX / 1000)
                    return -EINVAL;
                *out = n * 1000;
                return 0;
            }
            return -EINVAL;
        }
        size_t k = 0;
        for (; k < sizeof units / sizeof units[0]; k++) {
            size_t ul = strlen(units[k].u);
            if (strncmp(p, units[k].u, ul) == 0 && !(ul == 1 && units[k].u[0] == 'm' && p[1] == 's'))
                break;
        }
        if (k == sizeof units / sizeof units[0])
            return -EINVAL;
        if (order[k] <= last_rank)
            return -EINVAL;
        last_rank = order[k];
        p += strlen(units[k].u);
        if (n > INT64_MAX / units[k].ms || total > INT64_MAX - n * units[k].ms)
            return -EINVAL;
        total += n * units[k].ms;
    }
    *out = total;
    return 0;
}

int host_parse_size(const char *s, int64_t *out)
{
    static const struct { const char *u; int64_t mul; } units[] = {
        { "KiB", 1LL << 10 }, { "MiB", 1LL << 20 }, { "GiB", 1LL << 30 }, { "TiB", 1LL << 40 },
        { "KB", 1000LL }, { "MB", 1000000LL }, { "GB", 1000000000LL }, { "TB", 1000000000000LL },
        { "B", 1 }, { "", 1 },
    };
    if (!s || !isdigit((unsigned char)*s))
        return -EINVAL;
    int64_t n = 0;
    const char *p = s;
    while (isdigit((unsigned char)*p)) {
        if (n > (INT64_MAX - 9) / 10)
            return -EINVAL;
        n = n * 10 + (*p++ - '0');
    }
    while (*p == ' ')
        p++;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strcmp(p, units[k].u) == 0) {
            if (n > INT64_MAX / units[k].mul)
                return -EINVAL;
            *out = n * units[k].mul;
            return 0;
        }
    return -EINVAL;
}

char *host_expand_env(const char *s, char *err, size_t errlen)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (const char *p = s; *p;) {
        const char *val = NULL;
        size_t vlen = 1;
        if (p[0] == '$' && p[1] == '$') {        /* "$$" is a literal "$" */
            val = "$";
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (!end) {
                snprintf(err, errlen, "unterminated ${ in \"%s\"", s);
                free(out);
                return NULL;
            }
            size_t nl = (size_t)(end - (p + 2));
            char name[256];
            if (nl == 0 || nl >= sizeof name) {
                snprintf(err, errlen, "bad variable name in \"%s\"", s);
                free(out);
                return NULL;
            }
            memcpy(name, p + 2, nl);
            name[nl] = '\0';
            for (size_t i = 0; i < nl; i++)
                if (!(isalnum((unsigned char)name[i]) || name[i] == '_')) {
                    snprintf(err, errlen, "bad variable name '%s'", name);
                    free(out);
                    return NULL;
                }
            val = getenv(name);
            if (!val) {
                snprintf(err, errlen, "environment variable %s is not set", name);
                free(out);
                return NULL;
            }
            p = end + 1;
        } else {
            val = p++;
        }
        if (val != p - 1)
            vlen = strlen(val);
        if (len + vlen + 1 > cap) {
            while (len + vlen + 1 > cap)
                cap *= 2;
            char *no = realloc(out, cap);
            if (!no) {
                free(out);
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            out = no;
        }
        memcpy(out + len, val, vlen);
        len += vlen;
    }
    out[len] = '\0';
    return out;
}

/* ---- tree ---- */

void host_config_node_free(struct aion_config *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nchildren; i++)
        host_config_node_free(n->children[i]);
    free(n->children);
    free(n->keys);
    free(n->name);
    free(n->text);
    free(n);
}

struct aion_config *host_config_get(const struct aion_config *g, const char *name)
{
    if (!g || g->kind != HOST_CFG_GROUP)
        return NULL;
    for (size_t i = 0; i < g->nchildren; i++)
        if (g->children[i]->name && strcmp(g->children[i]->name, name) == 0)
            return g->children[i];
    return NULL;
}

static struct aion_config *convert(config_setting_t *s, const char *file, host_diag *diag)
{
    struct aion_config *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->file = file;
    n->line = (int)config_setting_source_line(s);
    const char *nm = config_setting_name(s);
    if (nm && !(n->name = strdup(nm)))
        goto oom;
    char buf[64];
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        n->kind = HOST_CFG_INT;
        n->ival = config_setting_get_int64(s);
        n->dval = (double)n->ival;
        snprintf(buf, sizeof buf, "%lld", (long long)n->ival);
        if (!(n->text = strdup(buf)))
            goto oom;
        break;
    case CONFIG_TYPE_FLOAT:
        n->kind = HOST_CFG_FLOAT;
        n->dval = config_setting_get_float(s);
        snprintf(buf, sizeof buf, "%.17g", n->dval);
        if (!(n->text = strdup(buf)))
            goto oom;
        break;
    case CONFIG_TYPE_BOOL:
        n->kind = HOST_CFG_BOOL;
        n->bval = config_setting_get_bool(s) != 0;
        if (!(n->text = strdup(n->bval ? "true" : "false")))
            goto oom;
        break;
    case CONFIG_TYPE_STRING: {
        n->kind = HOST_CFG_STRING;
        char err[256];
        n->text = host_expand_env(config_setting_get_string(s), err, sizeof err);
        if (!n->text) {
            host_diag_add(diag, file, n->line, "%s%s%s", n->name ? n->name : "",
                          n->name ? ": " : "", err);
            n->text = strdup("");
            if (!n->text)
                goto oom;
        }
        break;
    }
    case CONFIG_TYPE_GROUP:
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        n->kind = config_setting_type(s) == CONFIG_TYPE_GROUP ? HOST_CFG_GROUP : HOST_CFG_LIST;
        int cnt = config_setting_length(s);
        if (cnt > 0) {
            n->children = calloc((size_t)cnt, sizeof *n->children);
            if (!n->children)
                goto oom;
        }
        for (int i = 0; i < cnt; i++) {
            struct aion_config *c = convert(config_setting_get_elem(s, (unsigned)i), file, diag);
            if (!c)
                goto oom;
            n->children[n->nchildren++] = c;
        }
        break;
    }
    default:
        n->kind = HOST_CFG_STRING;
        if (!(n->text = strdup("")))
            goto oom;
    }
    return n;
oom:
    host_config_node_free(n);
    return NULL;
}

struct aion_config *host_config_parse_buffer(const char *file, const char *text, size_t len,
                                             host_diag *diag)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        host_diag_add(diag, file, 0, "out of memory");
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (strlen(copy) != len) {
        host_diag_add(diag, file, 0, "file contains a NUL byte");
        free(copy);
        return NULL;
    }
    config_t cf;
    config_init(&cf);
    struct aion_config *root = NULL;
    if (config_read_string(&cf, copy) != CONFIG_TRUE) {
        host_diag_add(diag, file, config_error_line(&cf), "syntax error: %s",
                      config_error_text(&cf) ? config_error_text(&cf) : "unknown");
    } else {
        root = convert(config_root_setting(&cf), file, diag);
        if (!root)
            host_diag_add(diag, file, 0, "out of memory");
    }
    config_destroy(&cf);
    free(copy);
    return root;
}

/* ---- option validation ---- */

const aion_option *host_option_find(const aion_option *opts, const char *name)
{
    for (const aion_option *o = opts; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

static const char *kind_name(host_cfg_kind k)
{
    switch (k) {
    case HOST_CFG_STRING: return "a string";
    case HOST_CFG_INT: return "an integer";
    case HOST_CFG_FLOAT: return "a number";
    case HOST_CFG_BOOL: return "a boolean";
    case HOST_CFG_GROUP: return "a group";
    case HOST_CFG_LIST: return "a list";
    }
    return "a value";
}

static const char *type_want(aion_opt_type t)
{
    switch (t) {
    case AION_OPT_STRING: return "a string";
    case AION_OPT_INT: return "an integer";
    case AION_OPT_BOOL: return "a boolean (true/false)";
    case AION_OPT_DOUBLE: return "a number";
    case AION_OPT_DURATION: return "a duration such as \"30s\" or \"5m\"";
    case AION_OPT_SIZE: return "a size such as \"64MiB\"";
    case AION_OPT_STRING_LIST: return "a list of strings";
    case AION_OPT_GROUP: return "a group { ... }";
    case AION_OPT_GROUP_LIST: return "a list of groups ( { ... }, ... )";
    }
    return "?";
}

/* Checks one value against its option type; returns an error text or NULL. */
static const char *check_value(const struct aion_config *v, aion_opt_type t, char *buf, size_t len)
{
    int64_t tmp;
    switch (t) {
    case AION_OPT_STRING:
        return v->kind == HOST_CFG_STRING ? NULL : "";
    case AION_OPT_INT:
        return v->kind == HOST_CFG_INT ? NULL : "";
    case AION_OPT_BOOL:
        return v->kind == HOST_CFG_BOOL ? NULL : "";
    case AION_OPT_DOUBLE:
        return v->kind == HOST_CFG_INT || v->kind == HOST_CFG_FLOAT ? NULL : "";
    case AION_OPT_DURATION:
        if (v->kind == HOST_CFG_INT)
            return v->ival >= 0 ? NULL : "must not be negative";
        if (v->kind != HOST_CFG_STRING)
            return "";
        if (host_parse_duration_ms(v->text, &tmp) != 0) {
            snprintf(buf, len, "invalid duration \"%s\" (use e.g. \"30s\", \"5m\", \"1h30m\")", v->text);
            return buf;
        }
        return NULL;
    case AION_OPT_SIZE:
        if (v->kind == HOST_CFG_INT)
            return v->ival >= 0 ? NULL : "must not be negative";
        if (v->kind != HOST_CFG_STRING)
            return "";
        if (host_parse_size(v->text, &tmp) != 0) {
            snprintf(buf, len, "invalid size \"%s\" (use e.g. \"512KiB\", \"64MiB\", \"1GB\")", v->text);
            return buf;
        }
        return NULL;
    case AION_OPT_STRING_LIST:
        if (v->kind != HOST_CFG_LIST)
            return "";
        for (size_t i = 0; i < v->nchildren; i++)
            if (v->children[i]->kind != HOST_CFG_STRING)
                return "";
        return NULL;
    case AION_OPT_GROUP:
        return v->kind == HOST_CFG_GROUP ? NULL : "";
    case AION_OPT_GROUP_LIST:
        if (v->kind != HOST_CFG_LIST)
            return "";
        for (size_t i = 0; i < v->nchildren; i++)
            if (v->children[i]->kind != HOST_CFG_GROUP)
                return "";
        return NULL;
    }
    return "";
}

int host_config_validate(const struct aion_config *group, const aion_option *opts,
                         const char *plugin, host_diag *diag)
{
    int problems = 0;
    char who[160];
    snprintf(who, sizeof who, "plugin %s", plugin);
    if (!group || group->kind != HOST_CFG_GROUP) {
        if (group) {
            host_diag_add(diag, group->file, group->line, "%s: config must be a group { ... }", who);
            return 1;
        }
        return 0;
    }
    for (size_t i = 0; i < group->nchildren; i++) {
        const struct aion_config *v = group->children[i];
        const aion_option *o = host_option_find(opts, v->name);
        if (!o) {
            const char *best = NULL;
            size_t bestd = 3;
            for (const aion_option *c = opts; c && c->name; c++) {
                size_t d = edit_distance(v->name, c->name);
                if (d < bestd) {
                    bestd = d;
                    best = c->name;
                }
            }
            if (best)
                host_diag_add(diag, v->file, v->line, "%s: unknown option '%s' (did you mean '%s'?)",
                              who, v->name, best);
            else
                host_diag_add(diag, v->file, v->line, "%s: unknown option '%s'", who, v->name);
            problems++;
            continue;
        }
        char buf[256];
        const char *e = check_value(v, o->type, buf, sizeof buf);
        if (e) {
            if (*e)
                host_diag_add(diag, v->file, v->line, "%s: option '%s': %s", who, v->name, e);
            else
                host_diag_add(diag, v->file, v->line, "%s: option '%s' must be %s, not %s", who,
                              v->name, type_want(o->type), kind_name(v->kind));
            problems++;
        }
    }
    for (const aion_option *o = opts; o && o->name; o++)
        if ((o->flags & AION_OPT_REQUIRED) && !host_config_get(group, o->name)) {
            host_diag_add(diag, group->file, group->line, "%s: missing required option '%s'", who,
                          o->name);
            problems++;
        }
    return problems;
}
