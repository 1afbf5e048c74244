/* Plugin loading and start ordering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plugins.h"

static char plugdir[1024];

static bool diag_has(const host_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->lines[i], needle))
            return true;
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "  diag: %s\n", d->lines[i]);
    return false;
}

static int try_load(const char *path, host_diag *d, aion_ctx *ctx, host_plugin_conf *pc)
{
    memset(ctx, 0, sizeof *ctx);
    memset(pc, 0, sizeof *pc);
    pc->name = (char *)"x";
    pc->path = (char *)path;
    pc->file = "conf.d/x.conf";
    pc->line = 7;
    ctx->conf = pc;
    return host_plugin_load(ctx, plugdir, d);
}

static void test_load(void **state)
{
    (void)state;
    host_diag d = { 0 };
    aion_ctx ctx;
    host_plugin_conf pc;
    assert_int_equal(try_load("tp_good.so", &d, &ctx, &pc), 0);
    assert_string_equal(ctx.desc->name, "testplug");
    host_plugin_unload(&ctx);

    assert_int_not_equal(try_load("tp_noentry.so", &d, &ctx, &pc), 0);
    assert_true(diag_has(&d, "conf.d/x.conf:7: plugin x: "));
    assert_true(diag_has(&d, "tp_noentry.so is not an Aion plugin: no symbol 'aion_plugin_entry'"));
    host_plugin_unload(&ctx);

    assert_int_not_equal(try_load("tp_badabi.so", &d, &ctx, &pc), 0);
    assert_true(diag_has(&d, "ABI version 999, but this aiond speaks version 1"));
    host_plugin_unload(&ctx);

    assert_int_not_equal(try_load("missing.so", &d, &ctx, &pc), 0);
    assert_true(diag_has(&d, "missing.so: No such file or directory"));
    host_plugin_unload(&ctx);

    /* not a shared object at all */
    char bogus[1100];
    snprintf(bogus, sizeof bogus, "%s/../test_loader.c.bogus.so", plugdir);
    FILE *f = fopen(bogus, "w");
    fputs("not an ELF file\n", f);
    fclose(f);
    assert_int_not_equal(try_load(bogus, &d, &ctx, &pc), 0);
    assert_true(diag_has(&d, "cannot load"));
    host_plugin_unload(&ctx);
    remove(bogus);
    host_diag_free(&d);
}

/* ordering with descriptors made up in place */
static aion_ctx *fake(const char *name, const char *const *req, const char *const *prov)
{
    aion_ctx *c = calloc(1, sizeof *c);
    host_plugin_conf *pc = calloc(1, sizeof *pc);
    aion_plugin *d = calloc(1, sizeof *d);
    pc->name = strdup(name);
    pc->file = "conf.d/o.conf";
    pc->line = 1;
    d->name = name;
    d->requires = req;
    d->provides = prov;
    c->conf = pc;
    c->desc = d;
    return c;
}

static void fake_free(aion_ctx *c)
{
    free(c->conf->name);
    free(c->conf);
    free((void *)c->desc);
    free(c);
}

static void test_order(void **state)
{
    (void)state;
    static const char *const need_store[] = { "store", NULL };
    static const char *const give_store[] = { "store", NULL };
    static const char *const need_auth[] = { "authenticator", NULL };
    static const char *const give_auth[] = { "authenticator", NULL };
    host_diag d = { 0 };
    /* querier needs store (receive) and auth; config order is querier, receive, auth */
    aion_ctx *c[3] = { fake("querier", need_store, NULL), fake("receive", need_auth, give_store),
                       fake("auth", NULL, give_auth) };
    aion_ctx *orig[3] = { c[0], c[1], c[2] };
    assert_int_equal(host_plugins_order(c, 3, &d), 0);
    assert_string_equal(c[0]->conf->name, "auth");
    assert_string_equal(c[1]->conf->name, "receive");
    assert_string_equal(c[2]->conf->name, "querier");
    for (int i = 0; i < 3; i++)
        fake_free(orig[i]);

    /* no constraints: config order kept */
    aion_ctx *e[3] = { fake("c", NULL, NULL), fake("a", NULL, NULL), fake("b", NULL, NULL) };
    assert_int_equal(host_plugins_order(e, 3, &d), 0);
    assert_string_equal(e[0]->conf->name, "c");
    assert_string_equal(e[2]->conf->name, "b");
    for (int i = 0; i < 3; i++)
        fake_free(e[i]);

    /* cycle: a needs store from b, b needs authenticator from a */
    aion_ctx *y[2] = { fake("a", need_store, give_auth), fake("b", need_auth, give_store) };
    assert_int_not_equal(host_plugins_order(y, 2, &d), 0);
    assert_true(diag_has(&d, "plugin dependency cycle: a -> b -> a"));
    for (int i = 0; i < 2; i++)
        fake_free(y[i]);

    /* missing provider */
    aion_ctx *m[1] = { fake("q", need_store, NULL) };
    assert_int_not_equal(host_plugins_order(m, 1, &d), 0);
    assert_true(diag_has(&d, "plugin q requires service 'store', which no configured plugin provides"));
    fake_free(m[0]);
    host_diag_free(&d);
}

int main(void)
{
    const char *b = getenv("AION_BINARY_DIR");
    snprintf(plugdir, sizeof plugdir, "%s/tests/host/plugins", b ? b : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
