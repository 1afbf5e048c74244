/* Reproducers of differences found with tools/promql-test/reference_focus.py
 * (the @ modifier's offset bookkeeping, subqueries, classic-bucket `le`
 * parsing). Expected values are Prometheus 2.42's answers (`promtool test
 * rules` on the same series and expressions), never Aion's output.
 *
 * The scripts run with instant queries only: in these corners Prometheus
 * itself answers differently in range mode and for the @ variants (it is
 * not step invariant there), so those harness checks cannot hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner.h"
#include "script_check.h"

static void run_script(const char *name, const char *text, int want_passed)
{
    psc_run_script(name, text, want_passed, true);
}

/* @ in a subquery that keeps its parent's aligned start: Prometheus subtracts the subquery offsets passed (setOffsetForAtModifier), so the @ lands elsewhere; data outside the statically selected range is invisible */
static const char subquery_keeps_start[] =
    "load 10s\n"
    "  m{a=\"1\"} 0+1x100\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[1m:20s] @ 400)[5m:1m] offset -4m)\n"
    "  {__name__=\"m\", a=\"1\"} 4E+01\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[10m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m count_over_time(last_over_time((m)[10m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 6E+00\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[10m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 6E+00\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[10m:20s] @ 400)[5m:1m] offset -4m)\n"
    "  {a=\"1\"} 2.1E+01\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[1m:20s] @ 400)[5m:1m] offset -2m)\n"
    "  {__name__=\"m\", a=\"1\"} 4E+01\n"
    "\n"
    "eval instant at 10m last_over_time((last_over_time((m)[1m:20s] @ 400))[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time((m)[1m:20s] @ 400)\n"
    "  {__name__=\"m\", a=\"1\"} 4E+01\n"
    "\n"
    "eval instant at 10m last_over_time((m @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m last_over_time((m offset 1m @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 4E+00\n"
    "\n"
    "eval instant at 10m last_over_time((m offset -1m @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 1.6E+01\n"
    ;

/* range function over an @ subquery: its window comes from the @ alone, its evaluation from the adjusted offset */
static const char subquery_at_window[] =
    "load 10s\n"
    "  m{a=\"1\"} 0+1x100\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[2m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[3m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[5m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 1E+00\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((m)[7m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 6E+00\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[7m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[5m:20s] @ 400)[5m:1m] offset -5m)\n"
    "  {__name__=\"m\", a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((m)[3m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((vector(time()))[3m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((vector(time()))[3m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(count_over_time((vector(time()))[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m last_over_time(last_over_time((vector(time()))[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    ;

/* nested subqueries with @ on both levels; predict_linear over an @ range (not step invariant: the window moves with the subquery step) */
static const char nested[] =
    "load 10s\n"
    "  m{a=\"1\"} 0+1x100\n"
    "\n"
    "eval instant at 10m max_over_time(timestamp(m @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 4E+02\n"
    "\n"
    "eval instant at 10m min_over_time(timestamp(m @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 4E+02\n"
    "\n"
    "eval instant at 10m max_over_time(timestamp(m @ 400 offset 10s)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 3.9E+02\n"
    "\n"
    "eval instant at 10m max_over_time(minute(m @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 0E+00\n"
    "\n"
    "eval instant at 10m max_over_time(predict_linear(m[1m] @ 400, 10)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 9.1E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time(m[1m] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time(m[1m] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 400)[1m:20s])[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 4E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m)[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 300)[1m:20s] @ 400)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 300)[1m:20s] @ 400)[5m:1m] @ 200)\n"
    "  {a=\"1\"} 3E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 300)[1m:20s] @ 400)[1m:20s] @ 200)\n"
    "  {a=\"1\"} 3E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 300)[1m:20s] @ 400 offset 20s)[1m:20s] @ 200 offset -1m)\n"
    "  {a=\"1\"} 3E+01\n"
    ;

/* @ at the aligned start, @ end(), timestamp() and minute() of @ data in subqueries */
static const char misc[] =
    "load 10s\n"
    "  m{a=\"1\"} 0+1x100\n"
    "\n"
    "eval instant at 10m max_over_time((m @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m count_over_time((m @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 6E+00\n"
    "\n"
    "eval instant at 100s max_over_time((m @ 100)[1m:10s] @ 160)\n"
    "  {a=\"1\"} 4E+00\n"
    "\n"
    "eval instant at 100s min_over_time((m @ 100)[1m:10s] @ 160)\n"
    "  {a=\"1\"} 4E+00\n"
    "\n"
    "eval instant at 10m min_over_time((timestamp(m @ 100))[1m:10s])\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 10m max_over_time((timestamp(m @ 100))[1m:10s])\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 10m min_over_time((timestamp(m @ 100 offset 20s))[1m:10s])\n"
    "  {a=\"1\"} 8E+01\n"
    "\n"
    "eval instant at 10m max_over_time((timestamp(m @ 100 offset 20s))[1m:10s])\n"
    "  {a=\"1\"} 8E+01\n"
    "\n"
    "eval instant at 10m count_over_time((timestamp(m @ 100 offset 20s))[1m:10s])\n"
    "  {a=\"1\"} 7E+00\n"
    "\n"
    "eval instant at 10m min_over_time((timestamp(m @ 100))[1m:10s] offset -1m)\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 10m max_over_time((timestamp(m @ 100))[1m:10s] offset -1m)\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 10m min_over_time((minute(m @ 100))[1m:10s])\n"
    "  {a=\"1\"} 0E+00\n"
    "\n"
    "eval instant at 10m min_over_time((m @ 100)[1m:10s])\n"
    "  {a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 100)[1m:10s])[5m:1m] offset -1m)\n"
    "  {a=\"1\"} 1E+01\n"
    "\n"
    "eval instant at 10m max_over_time(max_over_time((m @ 100)[1m:10s] offset -1m)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(rate(m[1m] @ 100)[5m:1m] offset -5m)\n"
    "\n"
    "eval instant at 10m max_over_time(sum(m @ 400)[5m:1m] offset -5m)\n"
    "  {} 1E+01\n"
    "\n"
    "eval instant at 10m max_over_time((m @ 400 + m)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 10m max_over_time((m @ end())[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 3E+01\n"
    ;

/* timestamp(x @ t offset o) reads at t within the offset-narrowed data; errors inside a subquery with no step still surface; topk/quantile_over_time with a non-constant parameter */
static const char timestamps_errors[] =
    "load 10s\n"
    "  m{a=\"1\", b=\"x\"} 0+1x100\n"
    "  n{a=\"1\"} 0+0.5x100\n"
    "\n"
    "eval_fail instant at 20m sum by (a) (avg_over_time((irate((({__name__=~\"m|n\"} @ 300) / on(a) (m))[10m:15s]))[30s:5m] offset 1m))\n"
    "\n"
    "eval instant at 20m avg_over_time((irate((m @ 300)[10m:15s]))[30s:5m] offset 1m)\n"
    "\n"
    "eval instant at 10m timestamp(n offset -30s @ 600)\n"
    "  {a=\"1\"} 6E+02\n"
    "\n"
    "eval instant at 10m timestamp(n @ 100 offset 1m)\n"
    "  {a=\"1\"} 4E+01\n"
    "\n"
    "eval instant at 10m timestamp(n @ 100 offset -1m)\n"
    "  {a=\"1\"} 1E+02\n"
    "\n"
    "eval instant at 30m max_over_time(timestamp(n @ 400 offset 10s)[5m:1m] offset -5m)\n"
    "  {a=\"1\"} 3.9E+02\n"
    "\n"
    "eval instant at 10m max_over_time(predict_linear(m[1m] @ 400, 10)[5m:1m] offset -5m)\n"
    "  {a=\"1\", b=\"x\"} 9.1E+01\n"
    "\n"
    "eval instant at 10m min_over_time(predict_linear(m[1m] @ 400, 10)[5m:1m] offset -5m)\n"
    "  {a=\"1\", b=\"x\"} 9.1E+01\n"
    "\n"
    "eval instant at 10m count_over_time(predict_linear(m[1m] @ 400, 10)[5m:1m] offset -5m)\n"
    "  {a=\"1\", b=\"x\"} 1E+00\n"
    "\n"
    "eval instant at 10m count_over_time(quantile_over_time(scalar(n) / 100, m[1m] @ 400)[5m:1m] offset -5m)\n"
    "  {a=\"1\", b=\"x\"} 2E+00\n"
    "\n"
    "eval instant at 10m count_over_time(topk(scalar(n) / 10, m @ 400)[5m:1m])\n"
    "  {a=\"1\", b=\"x\"} 6E+00\n"
    "\n"
    "eval instant at 10m max_over_time(topk(scalar(n) / 100, m @ 400)[5m:1m])\n"
    ;

/* le values as Go strconv.ParseFloat reads them (underscores, hex floats need p, no spaces) */
static const char le_syntax[] =
    "load 15s\n"
    "  x_bucket{le=\"0x1p1\", k=\"1\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"1\"} 10\n"
    "  x_bucket{le=\"1_0\", k=\"2\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"2\"} 10\n"
    "  x_bucket{le=\" 5\", k=\"3\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"3\"} 10\n"
    "  x_bucket{le=\"0x10\", k=\"4\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"4\"} 10\n"
    "  x_bucket{le=\"1e\", k=\"5\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"5\"} 10\n"
    "  x_bucket{le=\"Infinity\", k=\"6\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"6\"} 10\n"
    "  x_bucket{le=\"+Infinity\", k=\"7\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"7\"} 10\n"
    "  x_bucket{le=\"infinity\", k=\"8\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"8\"} 10\n"
    "  x_bucket{le=\"inf\", k=\"9\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"9\"} 10\n"
    "  x_bucket{le=\"NaN\", k=\"10\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"10\"} 10\n"
    "  x_bucket{le=\"nan\", k=\"11\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"11\"} 10\n"
    "  x_bucket{le=\"0x1.8p1\", k=\"12\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"12\"} 10\n"
    "  x_bucket{le=\"1_000\", k=\"13\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"13\"} 10\n"
    "  x_bucket{le=\"0b101\", k=\"14\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"14\"} 10\n"
    "  x_bucket{le=\"0o7\", k=\"15\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"15\"} 10\n"
    "  x_bucket{le=\".5\", k=\"16\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"16\"} 10\n"
    "  x_bucket{le=\"5.\", k=\"17\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"17\"} 10\n"
    "  x_bucket{le=\"1e+1\", k=\"18\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"18\"} 10\n"
    "  x_bucket{le=\"+4\", k=\"19\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"19\"} 10\n"
    "  x_bucket{le=\"0X1P2\", k=\"20\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"20\"} 10\n"
    "  x_bucket{le=\"1__0\", k=\"21\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"21\"} 10\n"
    "  x_bucket{le=\"_1\", k=\"22\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"22\"} 10\n"
    "  x_bucket{le=\"Inf \", k=\"23\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"23\"} 10\n"
    "  x_bucket{le=\"0x_1p0\", k=\"24\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"24\"} 10\n"
    "  x_bucket{le=\"1e1_0\", k=\"25\"} 10\n"
    "  x_bucket{le=\"+Inf\", k=\"25\"} 10\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"1\"})\n"
    "  {k=\"1\"} 1E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"2\"})\n"
    "  {k=\"2\"} 5E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"3\"})\n"
    "  {k=\"3\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"4\"})\n"
    "  {k=\"4\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"5\"})\n"
    "  {k=\"5\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"6\"})\n"
    "  {k=\"6\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"7\"})\n"
    "  {k=\"7\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"8\"})\n"
    "  {k=\"8\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"9\"})\n"
    "  {k=\"9\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"10\"})\n"
    "  {k=\"10\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"11\"})\n"
    "  {k=\"11\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"12\"})\n"
    "  {k=\"12\"} 1.5E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"13\"})\n"
    "  {k=\"13\"} 5E+02\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"14\"})\n"
    "  {k=\"14\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"15\"})\n"
    "  {k=\"15\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"16\"})\n"
    "  {k=\"16\"} 2.5E-01\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"17\"})\n"
    "  {k=\"17\"} 2.5E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"18\"})\n"
    "  {k=\"18\"} 5E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"19\"})\n"
    "  {k=\"19\"} 2E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"20\"})\n"
    "  {k=\"20\"} 2E+00\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"21\"})\n"
    "  {k=\"21\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"22\"})\n"
    "  {k=\"22\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"23\"})\n"
    "  {k=\"23\"} NaN\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"24\"})\n"
    "  {k=\"24\"} 5E-01\n"
    "\n"
    "eval instant at 0s histogram_quantile(0.5, x_bucket{k=\"25\"})\n"
    "  {k=\"25\"} 5E+09\n"
    ;

/* A step-invariant subtree is evaluated with end = start (StepInvariantExpr)
 * even when its evaluator has one step: inside `[1m:1m] @ 45.5` at 0s the end
 * is 45.5s, not a step, and the subquery nested in the subtree must not count
 * its steps up to it. With no step at all it is still evaluated once at the
 * start, a sample past the end that a window placed from an outer @ sees.
 * The first case is reference_focus.py --profile at --seed 13 on less data. */
static const char invariant_end[] =
    "load 10s\n"
    "  m{a=\"1\", b=\"x\"} 0+1x100\n"
    "  n{a=\"1\"} 0+0.5x100\n"
    "  n{a=\"2\"} 1+1x100\n"
    "\n"
    "eval instant at 0s (stddev by (a) (n @ start() offset -5m)) or on(a) (quantile(0.5, sum_over_time((sum_over_time((irate({__name__=~\"m|n\"}[10s] @ 300))[1m:7s] @ 0 offset 2m))[1m:1m] @ 45.5)))\n"
    "  {} 2E-01\n"
    "  {a=\"1\"} 0E+00\n"
    "  {a=\"2\"} 0E+00\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((vector(1))[1m:7s] @ 0))[1m:1m] @ 45.5)\n"
    "  {} 2E+00\n"
    "\n"
    "eval instant at 5m sum_over_time((sum_over_time((vector(1))[1m:7s] @ 0))[1m:1m] @ 45.5)\n"
    "  {} 9E+00\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((vector(1))[1m:7s] @ 0 offset 2m))[1m:1m] @ 45.5)\n"
    "  {} 2E+00\n"
    "\n"
    "eval instant at 0s max_over_time((max_over_time((timestamp(vector(1)))[1m:7s] @ 0))[1m:1m] @ 45.5)\n"
    "  {} -4.9E+01\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((vector(1))[1m:7s] @ 0) + sum_over_time((vector(1))[1m:7s] @ 0))[1m:1m] @ 45.5)\n"
    "  {} 4E+00\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((vector(1))[1m:7s] @ 0) or vector(time()))[1m:1m] @ 45.5)\n"
    "  {} 2E+00\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((m @ 300)[1m:7s] @ 0))[1m:1m] @ 45.5)\n"
    "  {a=\"1\", b=\"x\"} 6E+01\n"
    "\n"
    "eval instant at 0s sum_over_time((sum_over_time((vector(1))[10s:1m] @ 0))[1m:1m] @ 45.5)\n"
    "  {} 1E+00\n"
    "\n"
    "eval instant at 1m sum_over_time((count_over_time((m @ 100)[10s:1m] @ 0))[1m:1m] @ 45.5)\n"
    "  {a=\"1\", b=\"x\"} 1E+00\n"
    "\n"
    "eval instant at 0s sum_over_time((timestamp(sum_over_time((vector(1))[10s:1m] @ 0)))[1m:1m] @ 45.5)\n"
    "  {} 0E+00\n"
    ;

static void test_subquery_keeps_start(void **state)
{
    (void)state;
    run_script("subquery_keeps_start", subquery_keeps_start, 12);
}

static void test_subquery_at_window(void **state)
{
    (void)state;
    run_script("subquery_at_window", subquery_at_window, 12);
}

static void test_nested(void **state)
{
    (void)state;
    run_script("nested", nested, 13);
}

static void test_misc(void **state)
{
    (void)state;
    run_script("misc", misc, 19);
}

static void test_timestamps_errors(void **state)
{
    (void)state;
    run_script("timestamps_errors", timestamps_errors, 12);
}

static void test_le_syntax(void **state)
{
    (void)state;
    run_script("le_syntax", le_syntax, 25);
}

static void test_invariant_end(void **state)
{
    (void)state;
    run_script("invariant_end", invariant_end, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subquery_keeps_start), cmocka_unit_test(test_subquery_at_window),
        cmocka_unit_test(test_nested),               cmocka_unit_test(test_misc),
        cmocka_unit_test(test_timestamps_errors),    cmocka_unit_test(test_le_syntax),
        cmocka_unit_test(test_invariant_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
