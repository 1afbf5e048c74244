#!/usr/bin/env python3
"""A real Prometheus 2.42 scraping a real node-exporter and itself every
second, remote-writing to aiond: every series Prometheus stored is in Aion's
TSDB with identical samples (issue 6, "Tests with real clients").

Oracle: Prometheus' own TSDB, read with `promtool tsdb dump` on a copy of its
data dir after it stopped. Aion's side: `aion-tsdb dump` of the default
tenant's TSDB after aiond stopped. Both print the same text, so values are
compared exactly (NaN stale markers as "NaN").

Window: Prometheus' remote write reads its WAL behind the scrapes; on
SIGTERM it sends what it had read, not necessarily the last scrape. Each
scrape is one WAL commit (its samples and its `up`), so per target the
samples up to the last `up` that reached Aion are compared, and none after
it may be missing from Prometheus.

Argument (optional): `kill9` or `restart` restarts aiond in the middle of
the run (SIGKILL, or SIGTERM = graceful with flush_on_shutdown) while
Prometheus keeps writing; Prometheus retries what failed during the
downtime, so the comparison must still find everything.

The restart variant guards a bug it found: a graceful stop cut the head
into a block ending at the aligned 2h boundary (up to 2 h in the future),
and after the restart every write was refused as too old (409) until the
clock passed it. Now the flushed block ends at the newest sample + 1 ms, as
Prometheus' CompactHead does (lib/tsdb tsdb_flush_head).
"""
import os
import math
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

prom_bin = e2e.need('prometheus')
ne_bin = e2e.need('prometheus-node-exporter')
e2e.need('promtool')
root = e2e.root('prometheus')

a = e2e.Aiond(root, 'external_labels = { receive_replica = "0"; };').start()
e2e.log('aiond ready on', a.url)

ne_port = e2e.free_port()
ne = e2e.spawn([ne_bin, '--web.listen-address=127.0.0.1:%d' % ne_port, '--no-collector.systemd',
                '--no-collector.hwmon', '--no-collector.thermal_zone'], os.path.join(root, 'node-exporter.log'))
e2e.wait_http_ok('http://127.0.0.1:%d/metrics' % ne_port, 30, 'node-exporter', ne)

pport = e2e.free_port()
pdata = os.path.join(root, 'prom-data')
pconf = os.path.join(root, 'prometheus.yml')
with open(pconf, 'w') as f:
    f.write('''global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: {cluster: e2e, replica: "a"}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:%d']}]
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:%d']}]
remote_write:
  - url: %s/api/v1/write
    queue_config: {batch_send_deadline: 1s, max_samples_per_send: 2000, min_backoff: 100ms, max_backoff: 1s}
    metadata_config: {send: true, send_interval: 5s}
''' % (pport, ne_port, a.url))
plog = os.path.join(root, 'prometheus.log')
prom = e2e.spawn([prom_bin, '--config.file=' + pconf, '--storage.tsdb.path=' + pdata,
                  '--web.listen-address=127.0.0.1:%d' % pport], plog)
e2e.wait_http_ok('http://127.0.0.1:%d/-/ready' % pport, 30, 'prometheus', prom, plog)
e2e.log('prometheus ready on', pport)

# Its first remote write comes ~6 s after start (test-peers.md); then let a
# few more scrapes through.
e2e.wait_until(lambda: e2e.metric_value(a.metrics(), 'aion_receive_samples_total') > 0, 40,
               'the first samples from Prometheus')
e2e.log('first samples arrived in aion')
mode = sys.argv[1] if len(sys.argv) > 1 else ''
if mode in ('kill9', 'restart'):
    time.sleep(3)
    a.stop(signal.SIGKILL if mode == 'kill9' else signal.SIGTERM)
    e2e.log('aiond stopped (%s) under Prometheus\' writes' % mode)
    time.sleep(1.5)
    a.start()
    e2e.log('aiond restarted')
    e2e.wait_until(lambda: e2e.metric_value(a.metrics(), 'aion_receive_requests_total') > 0, 30,
                   'Prometheus writing again')
elif mode:
    e2e.fail('unknown mode ' + mode)
time.sleep(6)
# Prometheus' own HTTP API (a second oracle): every raw sample of the last
# 10 minutes, as a range-vector instant query.
api_time = time.time()
st, body = e2e.http('http://127.0.0.1:%d/api/v1/query' % pport,
                    data=urllib.parse.urlencode({'query': '{__name__=~".+"}[10m]', 'time': '%.3f' % api_time}).encode(),
                    headers={'Content-Type': 'application/x-www-form-urlencoded'}, timeout=30)
e2e.check(st == 200, 'prometheus /api/v1/query: %s %s' % (st, body[:300]))
api = e2e.load_json(body)['data']['result']
rc = e2e.stop(prom, signal.SIGTERM, timeout=90)
e2e.check(rc == 0, 'prometheus exited with %s' % rc)
e2e.log('prometheus stopped')
e2e.stop(ne)
out = a.metrics()
e2e.check(e2e.metric_value(out, 'aion_receive_requests_total', {'code': '204'}) > 0, 'no 204 answers:\n' + out)
# After a restart, requests that come while the tenants are reopened get 503
# (documented; Prometheus retries them).
allowed = ('code="204"', 'code="503"') if mode else ('code="204"',)
bad = [l for l in out.splitlines() if l.startswith('aion_receive_requests_total')
       and not any(c in l for c in allowed) and not l.rstrip().endswith(' 0')]
e2e.check(not bad, 'aiond answered Prometheus with other codes than %s: %s' % (allowed, bad))
a.stop()
e2e.log('aiond stopped')

prom_dump = e2e.parse_dump(e2e.promtool_dump(pdata, os.path.join(root, 'prom-copy')))
aion_dump = e2e.parse_dump(e2e.aion_dump(a.tenant_dir('default-tenant')))
e2e.log('prometheus has %d series, aion %d' % (len(prom_dump), len(aion_dump)))

ext = (('cluster', 'e2e'), ('replica', 'a'))


def with_ext(key):
    return tuple(sorted(key + ext))


# Per target, the last scrape that reached Aion.
cutoff = {}
for key, samples in aion_dump.items():
    d = dict(key)
    if d.get('__name__') == 'up':
        cutoff[d['instance']] = max(samples)
e2e.check(set(cutoff) == {'127.0.0.1:%d' % pport, '127.0.0.1:%d' % ne_port},
          'aion does not have `up` of both targets: %s' % cutoff)

compared = series = 0
node_series = 0
problems = []
for key, psamples in prom_dump.items():
    inst = dict(key).get('instance')
    if inst not in cutoff:
        problems.append('unexpected series without a scraped instance: %s' % e2e.fmt_series(key))
        continue
    want = {t: v for t, v in psamples.items() if t <= cutoff[inst]}
    if not want:
        continue
    got = aion_dump.get(with_ext(key))
    if got is None:
        problems.append('missing in aion: %s' % e2e.fmt_series(key))
        continue
    got = {t: v for t, v in got.items() if t <= cutoff[inst]}
    if got != want:
        diff = sorted(set(want.items()) ^ set(got.items()))[:6]
        problems.append('%s: prometheus %d samples, aion %d; differing (t, v): %s'
                        % (e2e.fmt_series(key), len(want), len(got), diff))
    series += 1
    compared += len(want)
    if dict(key).get('__name__', '').startswith('node_'):
        node_series += 1
# Aion has nothing Prometheus does not have.
known = {with_ext(k) for k in prom_dump}
extra = [e2e.fmt_series(k) for k in aion_dump if k not in known]
if extra:
    problems.append('%d series in aion that prometheus does not have, e.g. %s' % (len(extra), extra[:3]))
e2e.check(not problems, '%d problems:\n  %s' % (len(problems), '\n  '.join(problems[:20])))

# The HTTP API's answer (values as strings, compared as floats; NaN = NaN).
api_n = 0
for r in api:
    key = tuple(sorted((k, v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n'))
                       for k, v in r['metric'].items()))
    inst = dict(key).get('instance')
    got = aion_dump.get(with_ext(key), {})
    for t, v in r['values']:
        t = int(round(float(t) * 1000))
        if inst not in cutoff or t > cutoff[inst]:
            continue
        g = got.get(t)
        same = g is not None and (float(g) == float(v) or (math.isnan(float(g)) and math.isnan(float(v))))
        if not same:
            problems.append('%s @%d: prometheus API %s, aion %s' % (e2e.fmt_series(key), t, v, g))
        api_n += 1
e2e.check(not problems, '%d differences with the HTTP API:\n  %s' % (len(problems), '\n  '.join(problems[:20])))
e2e.check(api_n >= compared * 0.5, 'the HTTP API answer covered only %d samples' % api_n)
e2e.log('prometheus HTTP API agrees on %d samples' % api_n)
scrapes = min(len([t for t in s if t <= cutoff[dict(k)['instance']]])
              for k, s in prom_dump.items() if dict(k).get('__name__') == 'up')
e2e.check(node_series >= 100, 'only %d node_* series compared' % node_series)
e2e.check(scrapes >= 3, 'only %d scrapes per target compared' % scrapes)
e2e.log('identical: %d series (%d node_*), %d samples, %d scrapes per target'
        % (series, node_series, compared, scrapes))
print('PASS')
