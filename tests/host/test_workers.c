/* tests/host/test_workers.c: worker pool (bounded queue, drain/drop at stop)
 * and timers (period, no overlap, cancel waits, self-cancel). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "metrics.h"
#include "workers.h"

static atomic_int ran, dropped, running, max_running;

static void reset(void)
{
    atomic_store(&ran, 0);
    atomic_store(&dropped, 0);
    atomic_store(&running, 0);
    atomic_store(&max_running, 0);
}

static void count(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ran, 1);
}

static void on_drop(void *arg)
{
    (void)arg;
    atomic_fetch_add(&dropped, 1);
}

static void sleep_ms_job(void *arg)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    int m = atomic_load(&max_running);
    while (now > m && !atomic_compare_exchange_weak(&max_running, &m, now))
        ;
    usleep((useconds_t)(intptr_t)arg * 1000);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&ran, 1);
}

static void test_submit_runs_everything(void **state)
{
    (void)state;
    reset();
    assert_int_equal(host_work_submit(count, NULL), -ESHUTDOWN); /* not started */
    assert_int_equal(host_workers_start(4, 10000), 0);
    assert_int_equal(host_workers_start(4, 10), -EALREADY);
    assert_int_equal(host_workers_threads(), 4);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(host_work_submit(count, NULL), 0);
    assert_int_equal(host_workers_stop(5000), 0);
    assert_int_equal(atomic_load(&ran), 5000);
    assert_int_equal(host_work_submit(count, NULL), -ESHUTDOWN);
    host_workers_free();
}

static void test_parallelism(void **state)
{
    (void)state;
    reset();
    assert_int_equal(host_workers_start(4, 64), 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(host_work_submit(sleep_ms_job, (void *)(intptr_t)100), 0);
    host_workers_stop(5000);
    assert_int_equal(atomic_load(&ran), 8);
    assert_int_equal(atomic_load(&max_running), 4);
    host_workers_free();
}

static void test_queue_full(void **state)
{
    (void)state;
    reset();
    assert_int_equal(host_workers_start(1, 4), 0);
    assert_int_equal(host_work_submit(sleep_ms_job, (void *)(intptr_t)300), 0);
    usleep(50 * 1000); /* the worker took it: the queue is empty again */
    for (int i = 0; i < 4; i++)
        assert_int_equal(host_work_submit_ex(count, on_drop, NULL), 0);
    assert_int_equal(host_work_submit(count, NULL), -EAGAIN);
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(host_metrics_render(&out, &len), 0);
    assert_non_null(strstr(out, "\naion_workers_queued 4\n"));
    assert_non_null(strstr(out, "\naion_workers_busy 1\n"));
    assert_non_null(strstr(out, "\naion_workers_threads 1\n"));
    assert_non_null(strstr(out, "\naion_workers_rejected_total "));
    free(out);
    host_workers_stop(5000);
    assert_int_equal(atomic_load(&ran), 5);
    assert_int_equal(atomic_load(&dropped), 0);
    host_workers_free();
}

static void test_stop_deadline_drops(void **state)
{
    (void)state;
    reset();
    assert_int_equal(host_workers_start(1, 100), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(host_work_submit_ex(sleep_ms_job, on_drop, (void *)(intptr_t)50), 0);
    int64_t t0 = host_mono_ms();
    int n = host_workers_stop(120);
    int64_t took = host_mono_ms() - t0;
    /* about 2-3 ran before the deadline, the running one finished, the rest dropped */
    assert_true(n >= 10 && n <= 19);
    assert_int_equal(atomic_load(&dropped), n);
    assert_int_equal(atomic_load(&ran) + n, 20);
    assert_true(took < 1500);
    host_workers_free();
}

/* ---- timers ---- */

static atomic_int ticks;

static void tick(void *arg)
{
    (void)arg;
    atomic_fetch_add(&ticks, 1);
}

static void slow_tick(void *arg)
{
    sleep_ms_job(arg);
    atomic_fetch_add(&ticks, 1);
}

static void test_timer_period(void **state)
{
    (void)state;
    atomic_store(&ticks, 0);
    assert_int_equal(host_workers_start(2, 16), 0);
    assert_null(host_timer_add(0, tick, NULL));
    aion_timer *t = host_timer_add(50, tick, NULL);
    assert_non_null(t);
    usleep(25 * 1000);
    assert_int_equal(atomic_load(&ticks), 0); /* first run after one interval */
    usleep(500 * 1000);
    host_timer_cancel(t);
    int n = atomic_load(&ticks);
    assert_true(n >= 5 && n <= 11);
    usleep(150 * 1000);
    assert_int_equal(atomic_load(&ticks), n); /* cancelled: no more */
    host_workers_stop(1000);
    host_workers_free();
}

static void test_timer_no_overlap_and_cancel_waits(void **state)
{
    (void)state;
    reset();
    atomic_store(&ticks, 0);
    assert_int_equal(host_workers_start(4, 16), 0);
    /* runs 120 ms every 20 ms: must never overlap itself */
    aion_timer *t = host_timer_add(20, slow_tick, (void *)(intptr_t)120);
    assert_non_null(t);
    usleep(600 * 1000);
    /* cancel while (most likely) running: returns only when it finished */
    host_timer_cancel(t);
    assert_int_equal(atomic_load(&running), 0);
    int n = atomic_load(&ticks);
    assert_true(n >= 2 && n <= 6);
    assert_int_equal(atomic_load(&max_running), 1);
    host_workers_stop(1000);
    host_workers_free();
}

static aion_timer *self_t;
static atomic_int self_runs;

static void self_cancel(void *arg)
{
    (void)arg;
    if (atomic_fetch_add(&self_runs, 1) + 1 == 3)
        host_timer_cancel(self_t);
}

static void test_timer_self_cancel_and_stop(void **state)
{
    (void)state;
    atomic_store(&self_runs, 0);
    atomic_store(&ticks, 0);
    assert_int_equal(host_workers_start(2, 16), 0);
    self_t = host_timer_add(10, self_cancel, NULL);
    aion_timer *left = host_timer_add(10, tick, NULL); /* never cancelled: freed by host_workers_free */
    assert_non_null(left);
    usleep(200 * 1000);
    assert_int_equal(atomic_load(&self_runs), 3);
    host_workers_stop(1000);
    int n = atomic_load(&ticks);
    usleep(50 * 1000);
    assert_int_equal(atomic_load(&ticks), n); /* stopped with the pool */
    assert_null(host_timer_add(10, tick, NULL));
    host_workers_free();
}

static void test_timer_cancel_while_queued(void **state)
{
    (void)state;
    reset();
    atomic_store(&ticks, 0);
    assert_int_equal(host_workers_start(1, 16), 0);
    assert_int_equal(host_work_submit(sleep_ms_job, (void *)(intptr_t)300), 0);
    aion_timer *t = host_timer_add(20, tick, NULL);
    usleep(100 * 1000); /* due, but queued behind the busy worker */
    host_timer_cancel(t);
    assert_int_equal(atomic_load(&ticks), 0);
    assert_int_equal(atomic_load(&ran), 1);
    host_workers_stop(1000);
    host_workers_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_runs_everything),
        cmocka_unit_test(test_parallelism),
        cmocka_unit_test(test_queue_full),
        cmocka_unit_test(test_stop_deadline_drops),
        cmocka_unit_test(test_timer_period),
        cmocka_unit_test(test_timer_no_overlap_and_cancel_waits),
        cmocka_unit_test(test_timer_self_cancel_and_stop),
        cmocka_unit_test(test_timer_cancel_while_queued),
    };
    int rc = cmocka_run_group_tests_name("workers", tests, NULL, NULL);
    host_metrics_free_all();
    return rc;
}
