#!/usr/bin/env python3
"""Differential test against the reference engine.

Generates random PromQL expressions over a fixed data set, asks Prometheus
2.42's own engine for the answers (`promtool test rules`, which shares the
test-script series notation), and writes a test script with those answers
that promql-test then runs (instant query, range mode and @ variants).

  reference.py --seed 1 --count 150 --out /tmp/x.test [--promtool promtool]

Exits 77 (ctest's skip code) with a SKIPPED line when promtool is missing.
Expressions whose answer depends on Prometheus' storage order (topk/bottomk
ties) or on its moving @ window (docs/promql.md, How @ is evaluated) are not generated; expressions
with both @ and a subquery are left out of the script (Prometheus itself is
not step invariant there, so the @-variant and range-mode checks do not hold).
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

DATA = [
    ('m{a="1", b="x"}', '0+1x40 stale 50+2x20'),
    ('m{a="2", b="y"}', '5 3 8 2 9 1 10 0 11 _ _ 12 13 14 15 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 NaN 22 23'),
    ('m{a="3", b="x"}', '100-1x80'),
    ('n{a="1"}', '1 2 3 4 5 6 7 8 9 10 _x10 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40'),
    ('n{a="2", c="k"}', '0+0.5x80'),
    ('h_bucket{le="0.5", a="1"}', '0+1x80'),
    ('h_bucket{le="1", a="1"}', '0+3x80'),
    ('h_bucket{le="+Inf", a="1"}', '0+4x80'),
    ('h_bucket{le="1", a="2"}', '0+2x80'),
    ('h_bucket{le="+Inf", a="2"}', '0+2x80'),
]
INTERVAL = '15s'
SEL = ['m{a="1"}', 'm', 'n', 'm{b=~"x|y"}', 'n{a!="2"}', '{__name__=~"m|n"}', 'h_bucket']
RNG = ['30s', '1m', '2m', '5m', '90s']
RFN = ['rate', 'increase', 'delta', 'irate', 'idelta', 'changes', 'resets', 'deriv', 'avg_over_time',
       'sum_over_time', 'min_over_time', 'max_over_time', 'count_over_time', 'last_over_time',
       'stddev_over_time', 'stdvar_over_time', 'present_over_time']
VFN = ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'sgn', 'round', 'timestamp', 'sort', 'sort_desc']
AGG = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group']
# an @ together with a subquery (`[5m:` or `[5m:1m]`)
AT_IN_SUBQUERY = re.compile(r'@.*\[[0-9]+[a-z]+:|\[[0-9]+[a-z]+:.*@')
CMP = ('==', '!=', '>', '<', '>=', '<=')
OPS = ['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless']


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def c(self, xs):
        return self.r.choice(xs)

    def vsel(self, at=True):
        s = self.c(SEL)
        x = self.r.random()
        if x < 0.15:
            s += ' offset ' + self.c(['30s', '1m', '-1m', '-30s', '2m'])
        elif x < 0.25 and at:
            s += ' @ ' + self.c(['60', '120', '300', '0', '45.5'])
        return s

    def msel(self, at=True):
        s = self.c(SEL) + '[' + self.c(RNG) + ']'
        x = self.r.random()
        if x < 0.15:
            s += ' offset ' + self.c(['30s', '1m', '-1m'])
        elif x < 0.25 and at:
            s += ' @ ' + self.c(['60', '120', '300'])
        return s

    def sub(self, d):
        s = '(' + self.vexpr(d + 1) + ')[' + self.c(RNG) + ':' + self.c(['', '10s', '15s', '7s', '1m']) + ']'
        if self.r.random() < 0.2:
            s += ' offset ' + self.c(['30s', '-20s'])
        if self.r.random() < 0.2:
            s += ' @ ' + self.c(['100', '200'])
        return s

    def rarg(self, d):
        return self.msel() if self.r.random() < 0.7 or d > 2 else self.sub(d)

    def scalar(self):
        return self.c(['1', '2.5', '-1', '0', 'scalar(n)', 'time()', 'NaN'])

    def vexpr(self, d=0):
        x = self.r.random()
        if d > 3 or x < 0.2:
            return self.vsel()
        if x < 0.4:
            return self.c(RFN) + '(' + self.rarg(d) + ')'
        if x < 0.5:
            return self.c(VFN) + '(' + self.vexpr(d + 1) + ')'
        if x < 0.65:
            g = self.c(['', ' by (a)', ' without (a)', ' by (b)', ' by (le)'])
            return self.c(AGG) + g + ' (' + self.vexpr(d + 1) + ')'
        if x < 0.68:
            return 'quantile' + self.c(['', ' by (b)']) + '(' + self.c(['0.5', '0.9', '1']) + ', ' + self.vexpr(d + 1) + ')'
        if x < 0.85:
            op = self.c(OPS)
            if op in ('and', 'or', 'unless'):
                mod = self.c(['', '', ' on(a)', ' ignoring(b)'])
                return '(' + self.vexpr(d + 1) + ') ' + op + mod + ' (' + self.vexpr(d + 1) + ')'
            if self.r.random() < 0.3:
                b = ' bool' if op in CMP and self.r.random() < 0.5 else ''
                return '(' + self.vexpr(d + 1) + ') ' + op + b + ' ' + self.scalar()
            mod = self.c(['', '', ' on(a)', ' ignoring(b)', ' on(a) group_left()', ' ignoring(le) group_left(b)'])
            if op in CMP and self.r.random() < 0.3:
                mod = ' bool' + mod
            return '(' + self.vexpr(d + 1) + ') ' + op + mod + ' (' + self.vexpr(d + 1) + ')'
        if x < 0.9:
            return 'histogram_quantile(' + self.c(['0.5', '0.9', '0', '1']) + ', ' + \
                self.c(['h_bucket', 'rate(h_bucket[2m])', 'sum by (le) (h_bucket)']) + ')'
        if x < 0.91:
            return 'clamp(' + self.vexpr(d + 1) + ', 1, 5)'
        if x < 0.92:
            return 'count_values' + self.c(['', ' by (a)', ' without (b)']) + '("cv", ' + self.vexpr(d + 1) + ')'
        if x < 0.93:
            return 'label_join(' + self.vexpr(d + 1) + ', "j", "-", "a", "b")'
        if x < 0.94:
            return self.c(['absent(%s)', 'timestamp(%s)', 'vector(scalar(%s))', 'sort_desc(%s)']) % self.vexpr(d + 1)
        if x < 0.95:
            # no @ here: Prometheus' @ window moves over steps (docs/promql.md)
            return self.c(['holt_winters(%s, 0.5, 0.3)', 'predict_linear(%s, 30)',
                           'quantile_over_time(0.7, %s)', 'absent_over_time(%s)']) % self.msel(at=False)
        return 'label_replace(' + self.vexpr(d + 1) + ', "c", "$1", "a", "(.*)")'


def rules_yaml(interval, data, evals):
    """`promtool test rules` input: the data set and one test per (time, expr)
    whose expected answer never matches, so promtool prints what it got."""
    y = ['tests:', '  - interval: ' + interval, '    input_series:']
    for s, v in data:
        y += ['      - series: ' + json.dumps(s), '        values: ' + json.dumps(v)]
    y.append('    promql_expr_test:')
    for t, e in evals:
        y += ['      - expr: ' + json.dumps(e), '        eval_time: ' + t, '        exp_samples:',
              "          - labels: '{__never=\"1\"}'", '            value: -123456.789']
    # loads all samples (promtool loads up to the largest eval time)
    y += ['      - expr: vector(1)', '        eval_time: 1000m', '        exp_samples:',
          "          - labels: '{}'", '            value: 1']
    return y


def run_promtool(promtool, y, timeout=300):
    """Runs promtool on the YAML lines y; yields ('got'|'err', expr, time, text)
    in promtool's output order (the order the evals were written)."""
    with tempfile.NamedTemporaryFile('w', suffix='.yml', delete=False) as f:
        f.write('\n'.join(y) + '\n')
        name = f.name
    try:
        p = subprocess.run([promtool, 'test', 'rules', name], capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(name)
    txt = p.stdout + p.stderr
    for m in re.finditer(r'expr: "((?:[^"\\]|\\.)*)", time: (\S+),\n\s+exp: .*\n\s+got: (.*)\n', txt):
        yield 'got', json.loads('"' + m.group(1) + '"'), m.group(2), m.group(3)
    for m in re.finditer(r'expr: "((?:[^"\\]|\\.)*)", time: (\S+), err: (.*)', txt):
        yield 'err', json.loads('"' + m.group(1) + '"'), m.group(2), m.group(3)


def ask(promtool, y):
    """({expr: [got...]}, {expr: [err...]}) in the order the evals were written."""
    got, errs = {}, {}
    for kind, e, _t, text in run_promtool(promtool, y):
        (got if kind == 'got' else errs).setdefault(e, []).append(text)
    return got, errs


def eval_lines(t, e, res):
    """A test-script eval of e at t expecting promtool's printed result res."""
    out = ['eval instant at %s %s' % (t, e)]
    for mm in re.finditer(r'(\{[^}]*\}) (\S+?)(?:,|$)', res):
        out.append('  %s %s' % (mm.group(1), mm.group(2)))
    return out + ['']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--count', type=int, default=150)
    ap.add_argument('--out', required=True)
    ap.add_argument('--promtool', default='promtool')
    a = ap.parse_args()
    promtool = shutil.which(a.promtool)
    if not promtool:
        print('SKIPPED: promtool (Prometheus 2.42) not installed; no reference answers')
        return 77
    g = Gen(a.seed)
    times = ['2m', '5m', '7m30s', '10m', '12m', '3m15s', '20m']
    evals = [(g.c(times), g.vexpr()) for _ in range(a.count)]
    y = rules_yaml(INTERVAL, DATA, evals)
    got, errs = ask(promtool, y)
    out = ['# Generated by tools/promql-test/reference.py --seed %d --count %d;' % (a.seed, a.count),
           '# expected values are Prometheus 2.42 answers (promtool test rules).',
           'load ' + INTERVAL]
    out += ['  %s %s' % sv for sv in DATA]
    out.append('')
    n = 0
    for t, e in evals:
        if AT_IN_SUBQUERY.search(e):
            # Prometheus' own answers to the @ variants and range mode differ
            # from its instant answer there (lib/promql/eval_at.c); its
            # instant answers are covered by reference_focus.py --profile at
            for answers in (got, errs):  # keep later answers of e in step
                if answers.get(e):
                    answers[e].pop(0)
                    break
            continue
        if got.get(e):
            out += eval_lines(t, e, got[e].pop(0))
            n += 1
        elif errs.get(e):
            err = errs[e].pop(0)
            if 'parse error' in err:
                continue
            out += ['# ' + err, 'eval_fail instant at %s %s' % (t, e), '']
            n += 1
    with open(a.out, 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('%s: %d expressions with reference answers' % (a.out, n))
    return 0 if n else 1


if __name__ == '__main__':
    sys.exit(main())
