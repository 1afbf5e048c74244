/* In-process message bus: synchronous topics and a service registry. */
#include "bus.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct aion_msg {
    _Atomic long refs;
    char *type;
    void *payload;
    aion_msg_free_fn free_fn;
    void *free_arg;
};

struct sub {
    aion_subscriber_fn fn;
    void *arg;
    const void *owner;
    bool active;
};

struct topic {
    char *name;
    pthread_rwlock_t lock;   /* read: delivery; write: (de)activation */
    struct sub *subs;
    size_t nsubs;
};

struct service {
    char *name;
    uint32_t version;
    const void *vtable;
    void *self;
    const void *owner;
    bool active;
};

struct host_bus {
    pthread_mutex_t mu;      /* guards the topic array and service array shapes */
    struct topic **topics;
    size_t ntopics;
    pthread_rwlock_t svc_lock;
    struct service *services;
    size_t nservices;
};

aion_msg *host_msg_new(const char *type, void *payload, aion_msg_free_fn fn, void *arg)
{
    aion_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->type = strdup(type ? type : "");
    if (!m->type) {
        free(m);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    m->payload = payload;
    m->free_fn = fn;
    m->free_arg = arg;
    return m;
}

void host_msg_ref(aion_msg *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void host_msg_unref(aion_msg *m)
{
    if (!m)
        return;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (m->free_fn)
        m->free_fn(m->payload, m->free_arg);
    free(m->type);
    free(m);
}

const char *host_msg_type(const aion_msg *m) { return m->type; }
void *host_msg_payload(const aion_msg *m) { return m->payload; }

host_bus *host_bus_new(void)
{
    host_bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_rwlock_init(&b->svc_lock, NULL);
    return b;
}

void host_bus_free(host_bus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ntopics; i++) {
        pthread_rwlock_destroy(&b->topics[i]->lock);
        free(b->topics[i]->subs);
        free(b->topics[i]->name);
        free(b->topics[i]);
    }
    free(b->topics);
    for (size_t i = 0; i < b->nservices; i++)
        free(b->services[i].name);
    free(b->services);
    pthread_rwlock_destroy(&b->svc_lock);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* Finds (or creates when create) a topic. Topics are never removed, so the
 * returned pointer stays valid for the bus's life. */
static struct topic *topic_get(host_bus *b, const char *name, bool create)
{
    pthread_mutex_lock(&b->mu);
    for (size_t i = 0; i < b->ntopics; i++)
        if (strcmp(b->topics[i]->name, name) == 0) {
            struct topic *t = b->topics[i];
            pthread_mutex_unlock(&b->mu);
            return t;
        }
    struct topic *t = NULL;
    if (create) {
        struct topic **nt = realloc(b->topics, (b->ntopics + 1) * sizeof *nt);
        if (nt) {
            b->topics = nt;
            t = calloc(1, sizeof *t);
            if (t && !(t->name = strdup(name))) {
                free(t);
                t = NULL;
            }
            if (t) {
                pthread_rwlock_init(&t->lock, NULL);
                b->topics[b->ntopics++] = t;
            }
        }
    }
    pthread_mutex_unlock(&b->mu);
    return t;
}

int host_bus_subscribe(host_bus *b, const char *topic, aion_subscriber_fn fn, void *arg,
                       const void *owner)
{
    if (!topic || !*topic || !fn)
        return -EINVAL;
    struct topic *t = topic_get(b, topic, true);
    if (!t)
        return -ENOMEM;
    pthread_rwlock_wrlock(&t->lock);
    struct sub *ns = realloc(t->subs, (t->nsubs + 1) * sizeof *ns);
    if (!ns) {
        pthread_rwlock_unlock(&t->lock);
        return -ENOMEM;
    }
    t->subs = ns;
    t->subs[t->nsubs++] = (struct sub){ fn, arg, owner, true };
    pthread_rwlock_unlock(&t->lock);
    return 0;
}

int host_bus_publish(host_bus *b, const char *topic, aion_msg *msg, void *result)
{
    if (!topic || !msg)
        return -EINVAL;
    struct topic *t = topic_get(b, topic, false);
    if (!t)
        return -ENOENT;
    int rc = -ENOENT, first_err = 0;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->nsubs; i++) {
        if (!t->subs[i].active)
            continue;
        if (rc == -ENOENT)
            rc = 0;
        int r = t->subs[i].fn(topic, msg, result, t->subs[i].arg);
        if (r < 0 && first_err == 0)
            first_err = r;
    }
    pthread_rwlock_unlock(&t->lock);
    return first_err ? first_err : rc;
}

size_t host_bus_subscribers(host_bus *b, const char *topic)
{
    struct topic *t = topic_get(b, topic, false);
    size_t n = 0;
    if (!t)
        return 0;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->nsubs; i++)
        n += t->subs[i].active;
    pthread_rwlock_unlock(&t->lock);
    return n;
}

int host_bus_service_register(host_bus *b, const char *name, uint32_t version,
                              const void *vtable, void *self, const void *owner)
{
    if (!name || !*name || !vtable)
        return -EINVAL;
    char *nm = strdup(name);
    if (!nm)
        return -ENOMEM;
    pthread_rwlock_wrlock(&b->svc_lock);
    struct service *ns = realloc(b->services, (b->nservices + 1) * sizeof *ns);
    if (!ns) {
        pthread_rwlock_unlock(&b->svc_lock);
        free(nm);
        return -ENOMEM;
    }
    b->services = ns;
    b->services[b->nservices++] = (struct service){ nm, version, vtable, self, owner, true };
    pthread_rwlock_unlock(&b->svc_lock);
    return 0;
}

size_t host_bus_service_list(host_bus *b, const char *name, uint32_t version,
                             const void **vtables, void **selves, size_t max)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&b->svc_lock);
    for (size_t i = 0; i < b->nservices; i++) {
        struct service *s = &b->services[i];
        if (!s->active || s->version != version || strcmp(s->name, name) != 0)
            continue;
        if (n < max) {
            if (vtables)
                vtables[n] = s->vtable;
            if (selves)
                selves[n] = s->self;
        }
        n++;
    }
    pthread_rwlock_unlock(&b->svc_lock);
    return n;
}

void host_bus_deactivate(host_bus *b, const void *owner)
{
    pthread_mutex_lock(&b->mu);
    size_t nt = b->ntopics;
    struct topic **ts = nt ? malloc(nt * sizeof *ts) : NULL;
    if (ts)
        memcpy(ts, b->topics, nt * sizeof *ts);
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; ts && i < nt; i++) {
        pthread_rwlock_wrlock(&ts[i]->lock);  /* waits for in-flight deliveries */
        for (size_t k = 0; k < ts[i]->nsubs; k++)
            if (ts[i]->subs[k].owner == owner)
                ts[i]->subs[k].active = false;
        pthread_rwlock_unlock(&ts[i]->lock);
    }
    free(ts);
    pthread_rwlock_wrlock(&b->svc_lock);
    for (size_t i = 0; i < b->nservices; i++)
        if (b->services[i].owner == owner)
            b->services[i].active = false;
    pthread_rwlock_unlock(&b->svc_lock);
}
