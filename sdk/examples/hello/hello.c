/*
 * hello: an example third-party Aion plugin, built out of tree against the
 * installed SDK only:
 *
 *   cc $(pkg-config --cflags aion-sdk) -std=c11 -Wall -shared -fPIC -o hello.so hello.c
 *
 * It answers GET /hello and counts the series and samples that pass on the
 * bus's write topic (from remote write, federation, ...).
 *
 *   plugins = ( { name = "hello"; path = "/path/to/hello.so";
 *                 config = { greeting = "hi"; }; } );
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <aion/plugin.h>

static const aion_api *api;

struct hello {
    const char *greeting;
    _Atomic unsigned long series, samples;
};

static int on_write(const char *topic, aion_msg *msg, void *result, void *arg)
{
    struct hello *h = arg;
    (void)topic;
    (void)result;
    const aion_write_batch *b = api->msg_payload(msg);
    unsigned long samples = 0;
    for (size_t i = 0; i < b->nseries; i++)
        samples += b->series[i].nsamples;
    atomic_fetch_add(&h->series, b->nseries);
    atomic_fetch_add(&h->samples, samples);
    return 0;
}

static void handle_hello(aion_http_req *req, void *arg)
{
    struct hello *h = arg;
    api->http_reply_text(req, 200, "%s from %s: %lu series, %lu samples seen on the write topic",
                         h->greeting, "hello", atomic_load(&h->series), atomic_load(&h->samples));
}

static int hello_init(aion_ctx *ctx)
{
    api = aion_api_get(ctx);
    struct hello *h = calloc(1, sizeof *h);
    if (!h)
        return -12; /* -ENOMEM */
    h->greeting = api->cfg_string(ctx, NULL, "greeting");
    api->set_data(ctx, h);
    int rc = api->http_route(ctx, NULL, AION_HTTP_GET, "/hello", 0, handle_hello, h);
    if (rc == 0)
        rc = api->subscribe(ctx, AION_TOPIC_WRITE, on_write, h);
    api->log(ctx, AION_LOG_INFO, "hello plugin ready, greeting \"%s\"", h->greeting);
    return rc;
}

static void hello_destroy(aion_ctx *ctx)
{
    free(api->get_data(ctx));
}

static const aion_option hello_options[] = {
    { "greeting", AION_OPT_STRING, "hello", "the word /hello answers with", 0 },
    AION_OPTION_END
};

static const aion_plugin hello_plugin = {
    .abi_version = AION_ABI_VERSION,
    .name = "hello",
    .version = "1.0.0",
    .description = "Example third-party plugin: GET /hello, counts the write topic",
    .options = hello_options,
    .init = hello_init,
    .destroy = hello_destroy,
};

AION_PLUGIN_DEFINE(hello_plugin)
