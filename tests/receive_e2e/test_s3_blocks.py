#!/usr/bin/env python3
"""Blocks to an S3 bucket (issue 6): aiond with an s3rver bucket (the
SigV4-checking @20minutes/s3rver wrapper of tests/objstore) and a 1-minute
block duration. Blocks appear in the bucket while it runs, the rest on
SIGTERM (flush_on_shutdown); every block downloaded with a real SigV4 client
(curl --aws-sigv4) is accepted by `promtool tsdb analyze`, its meta.json has
the Thanos section, and `promtool tsdb dump` of all of them is exactly what
was written (and what `aion-tsdb dump` reads from the same copies).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

promtool = e2e.need('promtool')
e2e.need('curl')
root = e2e.root('s3blocks')
s3, s3port, _ = e2e.s3rver_start(root)
e2e.log('s3rver on', s3port)

a = e2e.Aiond(root, '''
  block_duration = "1m";
  maintenance_interval = "1s";
  external_labels = { receive_replica = "0"; };
  bucket = { type = "S3"; prefix = "blocks"; config = { bucket = "aion"; endpoint = "127.0.0.1:%d";
             region = "us-east-1"; access_key = "S3RVER"; secret_key = "S3RVER"; insecure = true; }; };
''' % s3port).start()
e2e.log('aiond ready on', a.url)

SERIES, SAMPLES, STEP = 300, 600, 1000     # 10 minutes of data: ~10 one-minute blocks
start_ms = (int(time.time() * 1000) - SAMPLES * STEP) // 1000 * 1000
r = subprocess.run([e2e.tool('tools/bench/rw/rwload'), '--url', a.url + '/api/v1/receive', '--series', str(SERIES),
                    '--samples-per-series', str(SAMPLES), '--samples-per-request', '3000', '--per-series', '10',
                    '--connections', '2', '--start-ms', str(start_ms), '--step-ms', str(STEP), '--tenant', 'blocks',
                    '--quiet'], capture_output=True, text=True, timeout=120)
e2e.check('non2xx=0' in r.stdout and 'samples_ok=%d' % (SERIES * SAMPLES) in r.stdout,
          'writes failed: ' + r.stdout + r.stderr)
e2e.log('wrote', SERIES * SAMPLES, 'samples')


def metas():
    return [k for k in e2e.s3_list(s3port, 'blocks/') if k.endswith('/meta.json')]


e2e.wait_until(metas, 60, 'a block in the bucket while aiond runs', interval=0.5)
e2e.log('blocks in the bucket while running:', len(metas()))
a.stop()
keys = e2e.s3_list(s3port, 'blocks/')
ulids = sorted({k.split('/')[1] for k in keys if k.endswith('/meta.json')})
e2e.log('after shutdown: %d blocks, %d objects' % (len(ulids), len(keys)))
e2e.check(len(ulids) >= 2, 'only %d blocks in the bucket' % len(ulids))

db = os.path.join(root, 'download')
for k in keys:
    e2e.check(k.split('/')[1] in ulids, 'object of a block without meta.json: %s' % k)
    out = os.path.join(db, *k.split('/')[1:])
    os.makedirs(os.path.dirname(out), exist_ok=True)
    e2e.s3_get(s3port, k, out)
for u in ulids:
    meta = json.load(open(os.path.join(db, u, 'meta.json')))
    th = meta.get('thanos', {})
    e2e.check(meta.get('ulid') == u and meta.get('version') == 1, 'meta.json of %s: %s' % (u, meta))
    e2e.check(th.get('labels') == {'receive_replica': '0', 'tenant_id': 'blocks'}, 'thanos.labels of %s: %s' % (u, th))
    e2e.check(th.get('source') == 'receive' and th.get('downsample', {}).get('resolution') == 0,
              'thanos section of %s: %s' % (u, th))
    files = {f['rel_path'] for f in th.get('files', [])}
    e2e.check({'index', 'chunks/000001'} <= files, 'thanos.files of %s: %s' % (u, files))
    e2e.check(meta['maxTime'] - meta['minTime'] <= 60000, 'block %s spans more than 1m' % u)

# promtool analyze wants a db dir (and writes into wal/): this is a scratch copy.
os.makedirs(os.path.join(db, 'wal'), exist_ok=True)
for u in ulids:
    r = subprocess.run([promtool, 'tsdb', 'analyze', db, u], capture_output=True, text=True, timeout=60)
    e2e.check(r.returncode == 0 and 'Block ID: ' + u in r.stdout,
              'promtool tsdb analyze %s: rc %d\n%s%s' % (u, r.returncode, r.stdout[-1500:], r.stderr[-1500:]))
    m = re.search(r'Series: (\d+)', r.stdout)
    e2e.check(m and 0 < int(m.group(1)) <= SERIES, 'analyze of %s: %s' % (u, r.stdout[:500]))
e2e.log('promtool tsdb analyze accepts all %d blocks' % len(ulids))

aion_text = e2e.aion_dump(db, '--blocks-only')
prom_text = e2e.promtool_dump(db, os.path.join(root, 'promtool-copy'))
dump = e2e.parse_dump(prom_text)
e2e.check(sorted(prom_text.splitlines()) == sorted(aion_text.splitlines()),
          'promtool and aion-tsdb read the downloaded blocks differently')
want_keys = {e2e.rwload_series_key(i) for i in range(SERIES)}
e2e.check(set(dump) == want_keys, 'series differ: %d in the bucket, %d written' % (len(dump), len(want_keys)))
n = e2e.check_acked(dump, [(0, SERIES, start_ms, start_ms + (SAMPLES - 1) * STEP)], start_ms, STEP)
total = sum(len(s) for s in dump.values())
e2e.check(total == n, 'the bucket has %d samples, %d were written' % (total, n))
e2e.log('bucket blocks hold exactly the %d samples written' % n)
shutil.rmtree(db)

# A restart on the same data dir uploads nothing twice (thanos.shipper.json).
shipped = json.load(open(os.path.join(a.tenant_dir('blocks'), 'thanos.shipper.json')))
e2e.check(sorted(shipped.get('uploaded', [])) == ulids, 'thanos.shipper.json: %s, bucket: %s' % (shipped, ulids))


def puts():
    return open(os.path.join(root, 's3rver.log')).read().count('"m":"PUT"')


puts_before = puts()
e2e.check(puts_before >= len(keys), 'the s3rver log shows %d PUTs for %d objects' % (puts_before, len(keys)))
a.start()
time.sleep(3)   # a few maintenance passes
a.stop()
e2e.check(sorted(e2e.s3_list(s3port, 'blocks/')) == sorted(keys), 'the bucket changed after a restart')
e2e.check(puts() == puts_before, '%d PUTs after the restart' % (puts() - puts_before))
e2e.log('restart: nothing uploaded again')
print('PASS')
