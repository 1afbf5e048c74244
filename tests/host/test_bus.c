/* The message bus: delivery, failure propagation, services, deactivation,
 * reference counting, concurrent publishers. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"

static int order[8], norder;

static int sub_a(const char *topic, aion_msg *m, void *result, void *arg)
{
    (void)topic; (void)m; (void)arg;
    order[norder++] = 1;
    if (result)
        ((aion_write_result *)result)->samples_stored += 10;
    return 0;
}

static int sub_fail(const char *topic, aion_msg *m, void *result, void *arg)
{
    (void)topic; (void)m; (void)result; (void)arg;
    order[norder++] = 2;
    return -EIO;
}

static int sub_c(const char *topic, aion_msg *m, void *result, void *arg)
{
    (void)topic; (void)result; (void)arg;
    order[norder++] = 3;
    assert_string_equal(host_msg_type(m), AION_MSG_WRITE_V1);
    return 0;
}

static _Atomic int freed;
static void free_payload(void *p, void *arg)
{
    (void)arg;
    free(p);
    freed++;
}

static void test_pubsub(void **state)
{
    (void)state;
    host_bus *b = host_bus_new();
    int owner1, owner2;
    aion_msg *m = host_msg_new(AION_MSG_WRITE_V1, malloc(16), free_payload, NULL);
    assert_int_equal(host_bus_publish(b, "write", m, NULL), -ENOENT);
    assert_int_equal(host_bus_subscribe(b, "write", sub_a, NULL, &owner1), 0);
    assert_int_equal(host_bus_subscribe(b, "write", sub_fail, NULL, &owner2), 0);
    assert_int_equal(host_bus_subscribe(b, "write", sub_c, NULL, &owner1), 0);
    aion_write_result r = { 0 };
    norder = 0;
    /* every subscriber runs, in order; the failure reaches the publisher */
    assert_int_equal(host_bus_publish(b, "write", m, &r), -EIO);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    assert_int_equal(r.samples_stored, 10);
    /* deactivating owner2 removes the failing one */
    host_bus_deactivate(b, &owner2);
    norder = 0;
    assert_int_equal(host_bus_publish(b, "write", m, NULL), 0);
    assert_int_equal(norder, 2);
    assert_int_equal(host_bus_subscribers(b, "write"), 2);
    host_bus_deactivate(b, &owner1);
    assert_int_equal(host_bus_publish(b, "write", m, NULL), -ENOENT);
    /* refcounting: payload freed exactly once, at the last unref */
    host_msg_ref(m);
    host_msg_unref(m);
    assert_int_equal(freed, 0);
    host_msg_unref(m);
    assert_int_equal(freed, 1);
    host_bus_free(b);
}

static void test_services(void **state)
{
    (void)state;
    host_bus *b = host_bus_new();
    int o1, o2, o3;
    static const int vt1 = 1, vt2 = 2, vt3 = 3;
    int self1, self2;
    assert_int_equal(host_bus_service_register(b, "store", 1, &vt1, &self1, &o1), 0);
    assert_int_equal(host_bus_service_register(b, "store", 1, &vt2, &self2, &o2), 0);
    assert_int_equal(host_bus_service_register(b, "store", 2, &vt3, NULL, &o3), 0);
    assert_int_equal(host_bus_service_register(b, "authenticator", 1, &vt3, NULL, &o3), 0);
    const void *vts[4];
    void *selves[4];
    assert_int_equal(host_bus_service_list(b, "store", 1, vts, selves, 4), 2);
    assert_ptr_equal(vts[0], &vt1);
    assert_ptr_equal(selves[1], &self2);
    assert_int_equal(host_bus_service_list(b, "store", 1, vts, selves, 1), 2); /* total, even past max */
    assert_int_equal(host_bus_service_list(b, "store", 2, vts, selves, 4), 1);
    assert_int_equal(host_bus_service_list(b, "nothing", 1, vts, selves, 4), 0);
    host_bus_deactivate(b, &o1);
    assert_int_equal(host_bus_service_list(b, "store", 1, vts, selves, 4), 1);
    assert_ptr_equal(vts[0], &vt2);
    assert_int_equal(host_bus_service_register(b, "", 1, &vt1, NULL, &o1), -EINVAL);
    host_bus_free(b);
}

static _Atomic long delivered;
static int sub_count(const char *topic, aion_msg *m, void *result, void *arg)
{
    (void)topic; (void)result; (void)arg;
    host_msg_ref(m);       /* a subscriber keeping the message a moment */
    atomic_fetch_add(&delivered, 1);
    host_msg_unref(m);
    return 0;
}

static void *publisher(void *arg)
{
    host_bus *b = arg;
    for (int i = 0; i < 20000; i++) {
        aion_msg *m = host_msg_new("t", malloc(8), free_payload, NULL);
        host_bus_publish(b, "hot", m, NULL);
        host_msg_unref(m);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    host_bus *b = host_bus_new();
    int o1, o2;
    host_bus_subscribe(b, "hot", sub_count, NULL, &o1);
    host_bus_subscribe(b, "hot", sub_count, NULL, &o2);
    freed = 0;
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, publisher, b);
    /* deactivation while publishers run must not lose or crash anything */
    host_bus_deactivate(b, &o2);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    long d = atomic_load(&delivered);
    assert_true(d >= 80000 && d <= 160000);
    host_bus_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pubsub),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
