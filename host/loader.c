/* Plugin loading (dlopen + ABI checks) and start ordering. */
#include "plugins.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *host_plugin_resolve(const char *path, const char *plugin_dir)
{
    if (strchr(path, '/'))
        return strdup(path);
    size_t n = strlen(plugin_dir) + strlen(path) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", plugin_dir, path);
    return s;
}

int host_plugin_load(aion_ctx *ctx, const char *plugin_dir, host_diag *diag)
{
    const host_plugin_conf *pc = ctx->conf;
    ctx->so_path = host_plugin_resolve(pc->path, plugin_dir);
    if (!ctx->so_path)
        return -ENOMEM;
    struct stat st;
    if (stat(ctx->so_path, &st) != 0) {
        host_diag_add(diag, pc->file, pc->line, "plugin %s: cannot load %s: %s", pc->name,
                      ctx->so_path, strerror(errno));
        return -ENOENT;
    }
    ctx->dl = dlopen(ctx->so_path, RTLD_NOW | RTLD_LOCAL);
    if (!ctx->dl) {
        const char *e = dlerror();
        host_diag_add(diag, pc->file, pc->line, "plugin %s: cannot load %s: %s", pc->name,
                      ctx->so_path, e ? e : "dlopen failed");
        return -EINVAL;
    }
    dlerror();
    void *sym = dlsym(ctx->dl, AION_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        host_diag_add(diag, pc->file, pc->line,
                      "plugin %s: %s is not an Aion plugin: no symbol '%s'", pc->name,
                      ctx->so_path, AION_PLUGIN_ENTRY_SYMBOL);
        return -EINVAL;
    }
    aion_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);   /* object -> function pointer, as POSIX allows */
    const aion_plugin *d = entry();
    if (!d) {
        host_diag_add(diag, pc->file, pc->line, "plugin %s: %s: entry returned no descriptor",
                      pc->name, ctx->so_path);
        return -EINVAL;
    }
    if (d->abi_version != AION_ABI_VERSION) {
        host_diag_add(diag, pc->file, pc->line,
                      "plugin %s: %s: ABI version %u, but this aiond speaks version %u (rebuild the plugin against this SDK)",
                      pc->name, ctx->so_path, d->abi_version, AION_ABI_VERSION);
        return -EINVAL;
    }
    if (!d->name || !d->init) {
        host_diag_add(diag, pc->file, pc->line, "plugin %s: %s: descriptor lacks %s", pc->name,
                      ctx->so_path, !d->name ? "a name" : "an init callback");
        return -EINVAL;
    }
    ctx->desc = d;
    return 0;
}

void host_plugin_unload(aion_ctx *ctx)
{
    /* Under AddressSanitizer, dlclose makes leak reports unreadable and can
     * unmap code still referenced by atexit handlers of libraries the plugin
     * pulled in; the process is exiting anyway, so leave the mapping. */
    ctx->dl = NULL;
    free(ctx->so_path);
    ctx->so_path = NULL;
}

static bool provides(const aion_ctx *c, const char *service)
{
    for (const char *const *p = c->desc ? c->desc->provides : NULL; p && *p; p++)
        if (strcmp(*p, service) == 0)
            return true;
    return false;
}

/* DFS with colors; on a back edge, report the cycle path. */
static int visit(aion_ctx **ctxs, size_t n, size_t i, int *color, size_t *stack, size_t depth,
                 aion_ctx **out, size_t *nout, host_diag *diag)
{
    if (color[i] == 2)
        return 0;
    if (color[i] == 1) {
        char path[1024] = "";
        size_t start = 0;
        while (start < depth && stack[start] != i)
            start++;
        for (size_t k = start; k < depth; k++) {
            strncat(path, ctxs[stack[k]]->conf->name, sizeof path - strlen(path) - 1);
            strncat(path, " -> ", sizeof path - strlen(path) - 1);
        }
        strncat(path, ctxs[i]->conf->name, sizeof path - strlen(path) - 1);
        host_diag_add(diag, ctxs[i]->conf->file, ctxs[i]->conf->line,
                      "plugin dependency cycle: %s", path);
        return -1;
    }
    color[i] = 1;
    stack[depth] = i;
    int rc = 0;
    for (const char *const *r = ctxs[i]->desc->requires; r && *r && rc == 0; r++) {
        bool found = false;
        for (size_t k = 0; k < n && rc == 0; k++) {
            if (k == i || !provides(ctxs[k], *r))
                continue;
            found = true;
            rc = visit(ctxs, n, k, color, stack, depth + 1, out, nout, diag);
        }
        if (!found && !provides(ctxs[i], *r)) {
            host_diag_add(diag, ctxs[i]->conf->file, ctxs[i]->conf->line,
                          "plugin %s requires service '%s', which no configured plugin provides",
                          ctxs[i]->conf->name, *r);
            rc = -1;
        }
    }
    color[i] = 2;
    if (rc == 0)
        out[(*nout)++] = ctxs[i];
    return rc;
}

int host_plugins_order(aion_ctx **ctxs, size_t n, host_diag *diag)
{
    if (n == 0)
        return 0;
    int *color = calloc(n, sizeof *color);
    size_t *stack = calloc(n + 1, sizeof *stack);
    aion_ctx **out = calloc(n, sizeof *out);
    int rc = 0;
    if (!color || !stack || !out) {
        rc = -ENOMEM;
        goto done;
    }
    size_t nout = 0;
    for (size_t i = 0; i < n; i++)
        if (visit(ctxs, n, i, color, stack, 0, out, &nout, diag) != 0)
            rc = -1;
    if (rc == 0)
        memcpy(ctxs, out, n * sizeof *ctxs);
done:
    free(color);
    free(stack);
    free(out);
    return rc;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *host_default_plugin_dir(const char *argv0)
{
    static char buf[PATH_MAX + 64];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    (void)argv0;
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            /* Running from a build tree (build/host/aiond): build/plugins. */
            size_t l = strlen(self);
            if (l >= 5 && strcmp(self + l - 5, "/host") == 0) {
                snprintf(buf, sizeof buf, "%s/../plugins", self);
                if (is_dir(buf))
                    return buf;
            }
            /* Installed (<prefix>/bin/aiond): <prefix>/<libdir>/aion/plugins,
             * wherever the prefix was moved or installed to with --prefix. */
            if (AION_INSTALL_LIBDIR[0] != '/') {
                snprintf(buf, sizeof buf, "%s/../%s/aion/plugins", self, AION_INSTALL_LIBDIR);
                if (is_dir(buf))
                    return buf;
            }
        }
    }
    return AION_DEFAULT_PLUGIN_DIR;
}
