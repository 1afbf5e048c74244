#!/usr/bin/env python3
"""Differential test aimed at the @ modifier, subqueries and histogram_quantile.

Like reference.py, but with data sets and expression generators for:
  at        @ with offsets (negative too), start()/end(), inside range
            functions, subqueries and nested subqueries, timestamp() and the
            date functions of @-pinned data, step invariance;
  subquery  step alignment, default step, nesting, offset/@ combinations,
            range functions over subqueries, subqueries of aggregations and
            binary operations;
  hist      classic-bucket histogram_quantile on odd buckets (NaN, decreasing
            counts, no +Inf, only +Inf, le="1" vs "1.0", le not a number,
            zero counts, duplicate groups), q outside [0, 1] and NaN, rate()
            and sum by (le) of buckets, histogram_count/_sum/_fraction on
            float data.

Each expression is evaluated at many times (promtool only runs instant
queries, so behaviour over steps is reached through subqueries and many
evaluation times). Run the output with `promql-test --instant-only`: where
Prometheus' own @ bookkeeping is not step invariant, the harness' range-mode
and @-variant checks would fail on Prometheus as well.

  reference_focus.py --profile at --seed 1 --count 300 --out /tmp/x.test

Exits 77 with a SKIPPED line when promtool is missing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402  (shares the promtool driver)

AT_DATA = [
    ('m{a="1", b="x"}', '0+1x120 stale 200+2x60'),
    ('m{a="2", b="y"}', '5 3 8 2 9 1 10 0 11 _ _ 12 13 14 15 0 1 2 3 4 5 _x20 6 7 8 9 10 NaN 12 13 14 15 16 17 18 19 20'),
    ('m{a="3", b="x"}', '1000-3x200'),
    ('n{a="1"}', '0+0.5x200'),
    ('n{a="2", c="k"}', '1 2 3 4 5 6 7 8 9 10 _x30 20 21 22 23 24 25 26 27 28 29 30'),
    ('c_total{a="1"}', '0+5x50 0+7x100'),
]
AT_INTERVAL = '10s'
AT_TIMES = ['0s', '10s', '1m', '100s', '2m', '3m20s', '5m', '6m40s', '7m', '9m59s', '10m', '10m10s', '12m',
            '15m', '16m40s', '20m', '30m']

HIST_DATA = [
    # an ordinary histogram with an extra label
    ('h_bucket{le="0.5", j="a"}', '0+1x40'),
    ('h_bucket{le="1", j="a"}', '0+3x40'),
    ('h_bucket{le="2.5", j="a"}', '0+3x20 60+5x20'),
    ('h_bucket{le="+Inf", j="a"}', '0+6x40'),
    # decreasing counts (not monotonic) and NaN
    ('h_bucket{le="0.5", j="b"}', '10 9 8 7 6 NaN 5 4 3 2 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0'),
    ('h_bucket{le="1", j="b"}', '5+1x40'),
    ('h_bucket{le="+Inf", j="b"}', '8+1x20 NaN 30+1x19'),
    # no +Inf bucket
    ('h_bucket{le="1", j="c"}', '0+1x40'),
    ('h_bucket{le="10", j="c"}', '0+2x40'),
    # only +Inf
    ('h_bucket{le="+Inf", j="d"}', '0+1x40'),
    # duplicate upper bounds after parsing, unusual spellings
    ('h_bucket{le="1", j="e"}', '0+1x40'),
    ('h_bucket{le="1.0", j="e", k="dup"}', '0+1x40'),
    ('h_bucket{le="1.0", j="e"}', '0+2x40'),
    ('h_bucket{le="1e1", j="e"}', '0+3x40'),
    ('h_bucket{le="+inf", j="e"}', '0+4x40'),
    ('h_bucket{le="Inf", j="e", k="dup"}', '0+5x40'),
    # le not a number, zero counts, negative and zero bounds
    ('h_bucket{le="abc", j="f"}', '1x40'),
    ('h_bucket{le="-1", j="f"}', '0x40'),
    ('h_bucket{le="0", j="f"}', '0x20 1+1x19'),
    ('h_bucket{le="2", j="f"}', '0x20 2+2x19'),
    ('h_bucket{le="+Inf", j="f"}', '0x20 3+3x19'),
    # odd number syntax for le
    ('h_bucket{le="0x1p1", j="g"}', '0+1x40'),
    ('h_bucket{le="1_0", j="g"}', '0+2x40'),
    ('h_bucket{le=" 5", j="g"}', '0+3x40'),
    ('h_bucket{le="Infinity", j="g"}', '0+4x40'),
    ('h_bucket{le="0x10", j="g"}', '0+3x40'),
    ('h_bucket{le="1e", j="g"}', '0+3x40'),
    # a second metric with the same labels otherwise: same output group
    ('other_bucket{le="1", j="a"}', '0+1x40'),
    ('other_bucket{le="+Inf", j="a"}', '0+2x40'),
    ('q', '0.5 0.9 -1 2 NaN 0 1 0.25 0.75 0.99 0.5x30'),
]
HIST_INTERVAL = '15s'
HIST_TIMES = ['0s', '15s', '1m', '2m', '3m', '4m45s', '5m', '6m', '7m30s', '9m', '10m']

RFN = ['rate', 'increase', 'delta', 'irate', 'idelta', 'changes', 'resets', 'deriv', 'avg_over_time',
       'sum_over_time', 'min_over_time', 'max_over_time', 'count_over_time', 'last_over_time',
       'stddev_over_time', 'present_over_time']
AGG = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev']
DATEFN = ['minute', 'hour', 'day_of_month', 'month', 'year', 'day_of_week', 'days_in_month']


class Gen(reference.Gen):
    # ---- @ / subquery -------------------------------------------------------
    def at(self):
        return ' @ ' + self.c(['0', '30', '60', '100', '120', '150', '200', '300', '360', '400', '599.5',
                               '600', '1000', '-30', 'start()', 'end()', '45.5'])

    def off(self):
        return ' offset ' + self.c(['10s', '30s', '1m', '5m', '-10s', '-30s', '-1m', '-5m', '90s', '2m'])

    def mods(self, p_at, p_off):
        s = ''
        a, o = self.r.random() < p_at, self.r.random() < p_off
        if a and o and self.r.random() < 0.5:
            return self.off() + self.at()
        if a:
            s += self.at()
        if o:
            s += self.off()
        return s

    def sel(self):
        return self.c(['m', 'm{a="1"}', 'n', 'm{b="x"}', 'c_total', '{__name__=~"m|n"}'])

    def avsel(self):
        return self.sel() + self.mods(0.6, 0.3)

    def amsel(self):
        return self.sel() + '[' + self.c(['10s', '30s', '1m', '2m', '5m', '75s']) + ']' + self.mods(0.6, 0.3)

    def asub(self, d):
        step = self.c(['', '10s', '15s', '20s', '30s', '1m', '7s', '2m'])
        rng = self.c(['30s', '1m', '2m', '5m', '10m', '90s', '3m'])
        return '(' + self.avexpr(d + 1) + ')[' + rng + ':' + step + ']' + self.mods(0.4, 0.4)

    def arange(self, d):
        return self.amsel() if self.r.random() < 0.45 or d > 3 else self.asub(d)

    def avexpr(self, d=0):
        x = self.r.random()
        if d > 4 or x < 0.2:
            return self.avsel()
        if x < 0.45:
            return self.c(RFN) + '(' + self.arange(d) + ')'
        if x < 0.52:
            return 'timestamp(' + self.avsel() + ')'
        if x < 0.56:
            return self.c(DATEFN) + '(' + self.c(['', 'timestamp(' + self.avsel() + ')', self.avsel()]) + ')'
        if x < 0.66:
            g = self.c(['', ' by (a)', ' without (b)', ' by (b)'])
            return self.c(AGG) + g + ' (' + self.avexpr(d + 1) + ')'
        if x < 0.7:
            return 'quantile(' + self.c(['0.5', '0.1']) + ', ' + self.avexpr(d + 1) + ')'
        if x < 0.82:
            op = self.c(['+', '-', '*', '/', '>', '<=', 'and', 'or', 'unless'])
            if op in ('and', 'or', 'unless'):
                return '(' + self.avexpr(d + 1) + ') ' + op + ' on(a) (' + self.avexpr(d + 1) + ')'
            if self.r.random() < 0.4:
                return '(' + self.avexpr(d + 1) + ') ' + op + ' ' + self.c(['2', 'time()', 'scalar(n{a="1"}' +
                                                                              self.mods(0.5, 0.3) + ')'])
            return '(' + self.avexpr(d + 1) + ') ' + op + ' on(a) (' + self.avexpr(d + 1) + ')'
        if x < 0.88:
            return self.c(['quantile_over_time(0.3, %s)', 'holt_winters(%s, 0.5, 0.5)', 'absent_over_time(%s)',
                           'predict_linear(%s, 60)', 'quantile_over_time(scalar(n{a="1"}) / 100, %s)']) % \
                self.arange(d)
        if x < 0.92:
            return self.c(['vector(time())', 'vector(scalar(%s))' % self.avsel(), 'absent(%s)' % self.avsel(),
                           'sgn(%s)' % self.avsel(), '-(%s)' % self.avexpr(d + 1)])
        return self.c(RFN) + '(' + self.asub(d) + ')'

    def svexpr(self, d=0):
        """subquery profile: mostly range functions over subqueries"""
        x = self.r.random()
        if d > 3 or x < 0.15:
            return self.sel() + self.mods(0.15, 0.3)
        if x < 0.6:
            step = self.c(['', '10s', '15s', '20s', '30s', '1m', '7s', '45s', '5m'])
            rng = self.c(['30s', '1m', '2m', '5m', '10m', '90s', '3m', '7m'])
            inner = self.svexpr(d + 1)
            return self.c(RFN) + '((' + inner + ')[' + rng + ':' + step + ']' + self.mods(0.2, 0.4) + ')'
        if x < 0.72:
            g = self.c(['', ' by (a)', ' without (b)'])
            return self.c(AGG) + g + ' (' + self.svexpr(d + 1) + ')'
        if x < 0.85:
            op = self.c(['+', '-', '*', '/', '>', 'and', 'or'])
            if op in ('and', 'or'):
                return '(' + self.svexpr(d + 1) + ') ' + op + ' (' + self.svexpr(d + 1) + ')'
            return '(' + self.svexpr(d + 1) + ') ' + op + ' on(a) (' + self.svexpr(d + 1) + ')'
        if x < 0.92:
            return self.c(RFN) + '(' + self.sel() + '[' + self.c(['1m', '2m', '5m']) + ']' + \
                self.mods(0.15, 0.3) + ')'
        return 'timestamp(' + self.sel() + self.mods(0.2, 0.3) + ')'

    # ---- histograms ---------------------------------------------------------
    def hsel(self):
        return self.c(['h_bucket', 'h_bucket{j="a"}', 'h_bucket{j="b"}', 'h_bucket{j="c"}', 'h_bucket{j="d"}',
                       'h_bucket{j="e"}', 'h_bucket{j="e", k=""}', 'h_bucket{j="f"}', 'h_bucket{j="g"}',
                       'h_bucket{j=~"a|b"}', '{__name__=~".*_bucket", j="a"}', 'h_bucket{j!="e"}'])

    def hvec(self):
        s = self.hsel()
        x = self.r.random()
        if x < 0.3:
            return s
        if x < 0.5:
            return self.c(['rate', 'increase', 'max_over_time', 'delta']) + '(' + s + '[' + \
                self.c(['1m', '2m', '45s']) + '])'
        if x < 0.75:
            return self.c(['sum', 'max', 'min']) + ' by (' + self.c(['le', 'le, j', 'le, k', 'j']) + ') (' + \
                self.c([s, 'rate(' + s + '[1m])']) + ')'
        if x < 0.85:
            return 'sum without (' + self.c(['j', 'k', 'j, k']) + ') (' + s + ')'
        if x < 0.9:
            return 'label_replace(' + s + ', "le", "$1", "le", "(.*)\\\\.0")'
        return self.c(['(%s) * 2', '(%s) - 5', '-(%s)', 'max_over_time((%s)[2m:30s])']) % s

    def hexpr(self):
        q = self.c(['0', '0.1', '0.25', '0.5', '0.75', '0.9', '0.99', '1', '-0.5', '1.5', 'NaN', 'Inf', '-Inf',
                    'scalar(q)'])
        x = self.r.random()
        if x < 0.85:
            return 'histogram_quantile(' + q + ', ' + self.hvec() + ')'
        if x < 0.9:
            return self.c(['histogram_count(%s)', 'histogram_sum(%s)', 'histogram_fraction(0, 1, %s)',
                           'histogram_fraction(-Inf, 0.5, %s)']) % self.hvec()
        return self.c(['sum', 'count', 'max']) + ' by (j) (histogram_quantile(' + q + ', ' + self.hvec() + '))'


def dur_ms(s):
    """Go duration (2m0s, 1m40s, 599.5s, 0s) or promtool-style (10m) to ms."""
    tot = 0.0
    for num, unit in re.findall(r'([0-9.]+)(ms|s|m|h)', s):
        tot += float(num) * {'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000}[unit]
    return int(round(tot))


def ask_timed(promtool, y):
    """promtool's answers keyed by (expression, eval time in ms)."""
    got, errs = {}, {}
    for kind, e, t, text in reference.run_promtool(promtool, y, timeout=600):
        (got if kind == 'got' else errs)[(e, dur_ms(t))] = text
    return got, errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--profile', choices=['at', 'subquery', 'hist'], required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--count', type=int, default=200, help='expressions; each at several times')
    ap.add_argument('--times', type=int, default=3, help='evaluation times per expression')
    ap.add_argument('--out', required=True)
    ap.add_argument('--promtool', default='promtool')
    a = ap.parse_args()
    promtool = shutil.which(a.promtool)
    if not promtool:
        print('SKIPPED: promtool (Prometheus 2.42) not installed; no reference answers')
        return 77
    g = Gen(a.seed * 1000 + {'at': 1, 'subquery': 2, 'hist': 3}[a.profile])
    if a.profile == 'hist':
        data, interval, times, mk = HIST_DATA, HIST_INTERVAL, HIST_TIMES, g.hexpr
    else:
        data, interval, times = AT_DATA, AT_INTERVAL, AT_TIMES
        mk = g.avexpr if a.profile == 'at' else g.svexpr
    exprs = []
    seen = set()
    while len(exprs) < a.count:
        e = mk()
        if e not in seen:
            seen.add(e)
            exprs.append(e)
    evals = [(t, e) for e in exprs for t in g.r.sample(times, min(a.times, len(times)))]
    y = reference.rules_yaml(interval, data, evals)
    got, errs = ask_timed(promtool, y)
    out = ['# Generated by tools/promql-test/reference_focus.py --profile %s --seed %d --count %d --times %d;'
           % (a.profile, a.seed, a.count, a.times),
           '# expected values are Prometheus 2.42 answers (promtool test rules); run with --instant-only.',
           'load ' + interval]
    out += ['  %s %s' % sv for sv in data]
    out.append('')
    n = 0
    for t, e in evals:
        k = (e, dur_ms(t))
        if k in got:
            out += reference.eval_lines(t, e, got[k])
            n += 1
        elif k in errs:
            # runtime error: a Go panic (e.g. makeslice for nested subqueries
            # with no step), which depends on Go's slice pool: not an answer
            if 'parse error' in errs[k] or 'runtime error' in errs[k]:
                continue
            out += ['# ' + errs[k], 'eval_fail instant at %s %s' % (t, e), '']
            n += 1
    with open(a.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('%s: %d evaluations with reference answers' % (a.out, n))
    return 0 if n else 1


if __name__ == '__main__':
    sys.exit(main())
