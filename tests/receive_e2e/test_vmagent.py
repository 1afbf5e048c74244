#!/usr/bin/env python3
"""vmagent (VictoriaMetrics 1.79) as a second real remote-write client, with
a tenant header: what it scraped from a real node-exporter lands in the
team-b tenant's TSDB (and nowhere else) with identical samples (issue 6).

Oracle: the same vmagent also remote-writes to a Prometheus 2.42 receiver
(--web.enable-remote-write-receiver), whose TSDB `promtool tsdb dump` reads
exactly (VictoriaMetrics would round values and drop NaNs). vmagent sends
the same series to both URLs; the comparison covers the samples up to the
last scrape (`up`) that reached both.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

vma_bin = e2e.need('vmagent')
prom_bin = e2e.need('prometheus')
ne_bin = e2e.need('prometheus-node-exporter')
e2e.need('promtool')
root = e2e.root('vmagent')

a = e2e.Aiond(root, '').start()
e2e.log('aiond ready on', a.url)

ne_port = e2e.free_port()
ne = e2e.spawn([ne_bin, '--web.listen-address=127.0.0.1:%d' % ne_port, '--no-collector.systemd',
                '--no-collector.hwmon', '--no-collector.thermal_zone'], os.path.join(root, 'node-exporter.log'))
e2e.wait_http_ok('http://127.0.0.1:%d/metrics' % ne_port, 30, 'node-exporter', ne)

pport = e2e.free_port()
pdata = os.path.join(root, 'prom-data')
pconf = os.path.join(root, 'prometheus.yml')
with open(pconf, 'w') as f:
    f.write('global: {scrape_interval: 1h}\n')
plog = os.path.join(root, 'prometheus.log')
prom = e2e.spawn([prom_bin, '--config.file=' + pconf, '--storage.tsdb.path=' + pdata,
                  '--web.listen-address=127.0.0.1:%d' % pport, '--web.enable-remote-write-receiver'], plog)
e2e.wait_http_ok('http://127.0.0.1:%d/-/ready' % pport, 30, 'prometheus', prom, plog)

vport = e2e.free_port()
sconf = os.path.join(root, 'scrape.yml')
with open(sconf, 'w') as f:
    f.write('''global: {scrape_interval: 1s}
scrape_configs:
  - job_name: node-via-vmagent
    static_configs: [{targets: ['127.0.0.1:%d']}]
''' % ne_port)
vlog = os.path.join(root, 'vmagent.log')
# -remoteWrite.* array flags are positional per URL: the tenant header goes
# to aiond (1st URL) only. One queue per URL keeps each URL's requests in
# scrape order, so what reached a sink when vmagent stops is a prefix of the
# scrapes (with the default 4 queues a later scrape can land while an
# earlier one is still queued, and is then lost to the comparison).
vma = e2e.spawn([vma_bin, '-httpListenAddr=127.0.0.1:%d' % vport, '-promscrape.config=' + sconf,
                 '-remoteWrite.tmpDataPath=' + os.path.join(root, 'vmagent-data'),
                 '-remoteWrite.url=%s/api/v1/receive' % a.url,
                 '-remoteWrite.url=http://127.0.0.1:%d/api/v1/write' % pport,
                 '-remoteWrite.headers=THANOS-TENANT:team-b,',
                 '-remoteWrite.flushInterval=500ms', '-remoteWrite.queues=1', '-loggerLevel=WARN'], vlog)
e2e.wait_http_ok('http://127.0.0.1:%d/health' % vport, 30, 'vmagent', vma, vlog)
e2e.log('vmagent ready')

e2e.wait_until(lambda: e2e.metric_value(a.metrics(), 'aion_receive_samples_total', {'tenant': 'team-b'}) > 0,
               30, 'the first samples from vmagent in tenant team-b')
e2e.log('first samples arrived in team-b')
time.sleep(5)
# What node-exporter exposes (names are stable between scrapes).
exposed = set()
for line in e2e.http('http://127.0.0.1:%d/metrics' % ne_port)[1].decode().splitlines():
    if line and not line.startswith('#'):
        exposed.add(line.split('{')[0].split(' ')[0])
e2e.check(len(exposed) > 100, 'node-exporter exposed only %d names' % len(exposed))
rc = e2e.stop(vma, signal.SIGTERM, timeout=60)
e2e.check(rc == 0, 'vmagent exited with %s' % rc)
e2e.stop(ne)
time.sleep(0.5)
out = a.metrics()
bad = [l for l in out.splitlines() if l.startswith('aion_receive_requests_total') and 'code="204"' not in l
       and not l.rstrip().endswith(' 0')]
e2e.check(not bad, 'aiond answered vmagent with other codes than 204: %s' % bad)
e2e.check(e2e.stop(prom, signal.SIGTERM, timeout=60) == 0, 'prometheus did not stop cleanly')
a.stop()
e2e.log('all stopped')

recv = os.path.join(a.data, 'receive')
tenants = sorted(os.listdir(recv))
e2e.check(tenants == ['team-b'], 'tenant directories: %s (want only team-b)' % tenants)

oracle = e2e.parse_dump(e2e.promtool_dump(pdata, os.path.join(root, 'prom-copy')))
ours = e2e.parse_dump(e2e.aion_dump(a.tenant_dir('team-b')))
e2e.log('prometheus (oracle) has %d series, aion team-b %d' % (len(oracle), len(ours)))


def last_up(d):
    ups = [max(s) for k, s in d.items() if dict(k).get('__name__') == 'up']
    e2e.check(len(ups) == 1, 'expected one `up` series, have %d' % len(ups))
    return ups[0]


cut = min(last_up(oracle), last_up(ours))
problems, compared, nseries, node = [], 0, 0, 0
keys = set(oracle) | set(ours)
for k in sorted(keys):
    w = {t: v for t, v in oracle.get(k, {}).items() if t <= cut}
    g = {t: v for t, v in ours.get(k, {}).items() if t <= cut}
    if w != g:
        diff = sorted(set(w.items()) ^ set(g.items()))[:6]
        problems.append('%s: oracle %d samples, aion %d; differing (t, v): %s'
                        % (e2e.fmt_series(k), len(w), len(g), diff))
    if w:
        nseries += 1
        compared += len(w)
        if dict(k).get('__name__', '').startswith('node_'):
            node += 1
e2e.check(not problems, '%d problems:\n  %s' % (len(problems), '\n  '.join(problems[:20])))

# The series are node-exporter's: every metric family it exposes is there.
names = {dict(k).get('__name__') for k in ours}
missing_names = sorted(exposed - names)
e2e.check(not missing_names, 'metric names node-exporter exposes but team-b lacks: %s' % missing_names[:10])
e2e.check(node >= 100, 'only %d node_* series compared' % node)
ups = [len([t for t in s if t <= cut]) for k, s in ours.items() if dict(k).get('__name__') == 'up']
e2e.check(ups[0] >= 3, 'only %d scrapes compared' % ups[0])
e2e.check(all(dict(k).get('job') == 'node-via-vmagent' for k in ours), 'series of another job in team-b')
e2e.log('identical: %d series (%d node_*, %d metric names), %d samples, %d scrapes'
        % (nseries, node, len(names), compared, ups[0]))
print('PASS')
