/*
 * host/workers.h: the host's worker pool and timers (internal to aiond).
 *
 * One process-wide pool of N threads (default: number of online CPUs) fed
 * by a bounded FIFO queue. HTTP handlers and middleware, bus work, plugin
 * work items (aion_api.work_submit) and timer callbacks run here. A timer
 * thread decides when timers are due and submits their callbacks to the
 * pool; a timer never overlaps itself.
 *
 * Lifecycle (main thread): host_workers_start -> ... -> host_workers_stop
 * -> host_workers_free. Every thread is joined by host_workers_stop, so
 * nothing is left running at exit (ASan/LSan clean).
 *
 * Thread-safety: host_work_submit*, host_timer_add, host_timer_cancel and
 * host_workers_threads are safe from any thread while the pool exists;
 * start/stop/free are main-thread only and must not race each other.
 * See docs/threading.md.
 */
#ifndef AION_HOST_WORKERS_H
#define AION_HOST_WORKERS_H

#include <stddef.h>
#include <stdint.h>
#include <aion/plugin.h>

/* Starts the pool: nthreads workers (0 = two per online CPU, at least 4) and a
 * queue of queue_max items (0 = 4096). Returns 0, -EALREADY if running,
 * -ENOMEM, or a negative errno from pthread_create. */
int host_workers_start(unsigned nthreads, size_t queue_max);

/* Number of worker threads (0 when not started). */
unsigned host_workers_threads(void);

/* Queues fn(arg). Returns 0; -EAGAIN when the queue is full; -ESHUTDOWN
 * when the pool is stopping/stopped or was never started. fn runs exactly
 * once on a worker unless the pool drops queued items at its stop
 * deadline (then nothing runs for plain submits). */
int host_work_submit(aion_work_fn fn, void *arg);

/* Like host_work_submit, but if the item is dropped at stop (never run),
 * drop(arg) is called instead (on the thread calling host_workers_stop),
 * so the owner of arg can release it. drop may be NULL. */
int host_work_submit_ex(aion_work_fn fn, aion_work_fn drop, void *arg);

/* Stops the pool: new submits fail with -ESHUTDOWN, timers stop firing
 * (the timer thread is joined), queued items run until the queue is
 * empty or deadline_ms has passed; items still queued then are dropped
 * (their drop callbacks run); finally every worker is joined (a callback
 * that is running is waited for). Returns the number of dropped items.
 * No-op returning 0 when not running. */
int host_workers_stop(int64_t deadline_ms);

/* Frees the pool and every timer not cancelled (after host_workers_stop;
 * calls it with deadline 0 if still running). */
void host_workers_free(void);

/* Runs fn(arg) every interval_ms (first run interval_ms from now) on a
 * worker, never overlapping itself; a run that overruns skips the missed
 * ticks. Returns NULL on allocation failure, interval_ms <= 0, or when the
 * pool is not running. The handle is owned by the host; it stays valid
 * until host_timer_cancel or host_workers_free. */
aion_timer *host_timer_add(int64_t interval_ms, aion_work_fn fn, void *arg);

/* Cancels t and waits until a running callback returns, then frees t.
 * Called from t's own callback it only marks t cancelled (freed when the
 * callback returns). NULL is ignored. */
void host_timer_cancel(aion_timer *t);

/* Monotonic clock in milliseconds. */
int64_t host_mono_ms(void);

#endif
