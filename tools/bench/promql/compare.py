#!/usr/bin/env python3
"""Compares a bench_promql dump (`labels t value` lines) with a Prometheus
query_range JSON answer. Prints the number of points compared and the
mismatches (relative tolerance 1e-9; the first five on stderr); exits 1 on
any mismatch."""
import json, math, sys

def fmt(metric):
    name = metric.get('__name__')
    rest = sorted((k, v) for k, v in metric.items() if k != '__name__')
    inner = ', '.join('%s=%s' % (k, json.dumps(v)) for k, v in rest)
    if name is None:
        return '{' + inner + '}'
    return name + ('{' + inner + '}' if rest else '')

ours = {}
for line in open(sys.argv[1]):
    lab, t, v = line.rstrip('\n').rsplit(' ', 2)
    ours[(lab, int(t))] = float(v)
d = json.load(open(sys.argv[2]))
theirs = {}
for s in d['data']['result']:
    lab = fmt(s['metric'])
    for t, v in s['values']:
        theirs[(lab, int(round(float(t) * 1000)))] = float(v)
bad = 0
for k in sorted(set(ours) | set(theirs)):
    a, b = ours.get(k), theirs.get(k)
    ok = a is not None and b is not None and (a == b or (math.isnan(a) and math.isnan(b)) or
                                              abs(a - b) <= 1e-9 * (abs(a) + abs(b)))
    if not ok:
        bad += 1
        if bad <= 5:
            print('  mismatch', k, 'aion', a, 'prometheus', b, file=sys.stderr)
print('%d points compared, %d mismatches' % (len(theirs), bad))
sys.exit(1 if bad else 0)
