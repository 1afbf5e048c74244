#!/usr/bin/env python3
"""kill -9 of aiond in the middle of a block upload to S3 (issue 6: "a
restart neither skips nor uploads a block twice").

s3rver (tests/objstore/s3rver.js) holds every request for a block's `index`
object unanswered, so the first upload hangs after its chunks went up and
before its meta.json. aiond is killed with SIGKILL there, s3rver restarted
without the hold on the same data, aiond restarted on the same data dir and
stopped with SIGTERM (flush_on_shutdown). Then: every block aiond has on
disk is complete in the bucket (meta.json, index, chunks) and recorded in
thanos.shipper.json, and the bucket's blocks hold exactly the samples that
were written (none lost, none twice).
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

e2e.need('curl')
root = e2e.root('s3crash')
s3, s3port, _ = e2e.s3rver_start(root, stall='/index')
e2e.log('s3rver on', s3port, 'holding /index uploads')

conf = '''
  block_duration = "1m";
  maintenance_interval = "1s";
  shutdown_upload_timeout = "10s";
  bucket = { type = "S3"; config = { bucket = "aion"; endpoint = "127.0.0.1:%d";
             region = "us-east-1"; access_key = "S3RVER"; secret_key = "S3RVER"; insecure = true; }; };
''' % s3port
a = e2e.Aiond(root, conf).start()
SERIES, SAMPLES, STEP = 200, 480, 1000     # 8 minutes of data: several 1-minute blocks
start_ms = (int(time.time() * 1000) - SAMPLES * STEP) // 1000 * 1000
r = subprocess.run([e2e.tool('tools/bench/rw/rwload'), '--url', a.url + '/api/v1/receive', '--series', str(SERIES),
                    '--samples-per-series', str(SAMPLES), '--samples-per-request', '2000', '--per-series', '10',
                    '--connections', '2', '--start-ms', str(start_ms), '--step-ms', str(STEP), '--tenant', 'c',
                    '--quiet'], capture_output=True, text=True, timeout=120)
e2e.check('non2xx=0' in r.stdout and 'samples_ok=%d' % (SERIES * SAMPLES) in r.stdout,
          'writes failed: ' + r.stdout + r.stderr)
e2e.log('wrote', SERIES * SAMPLES, 'samples')

s3log = os.path.join(root, 's3rver.log')
e2e.wait_until(lambda: '"stall":true' in open(s3log).read(), 60, 'an upload held by s3rver', interval=0.2)
a.stop(signal.SIGKILL)
e2e.log('aiond killed in the middle of an upload')
held = [json.loads(line) for line in open(s3log) if line.startswith('{') and '"stall":true' in line]
e2e.stop(s3)
s3, _, _ = e2e.s3rver_start(root, port=s3port)
e2e.log('s3rver restarted without the hold; held before:', [h['u'] for h in held][:3])
before = e2e.s3_list(s3port)
e2e.check(not any(k.endswith('/meta.json') for k in before if held[0]['u'].split('/')[2] in k),
          'the held block has a meta.json already: %s' % before)

a.start()
time.sleep(2)
a.stop()
tdir = a.tenant_dir('c')
local = sorted(d for d in os.listdir(tdir) if os.path.exists(os.path.join(tdir, d, 'meta.json')))
keys = e2e.s3_list(s3port)
metas = sorted(k.split('/')[0] for k in keys if k.endswith('/meta.json'))
e2e.check(local and metas == local, 'local blocks %s, blocks in the bucket %s' % (local, metas))
shipped = json.load(open(os.path.join(tdir, 'thanos.shipper.json')))
e2e.check(sorted(shipped.get('uploaded', [])) == local, 'thanos.shipper.json %s, local %s' % (shipped, local))
for u in local:
    for f in ('index', 'chunks/000001'):
        e2e.check('%s/%s' % (u, f) in keys, 'block %s lacks %s in the bucket' % (u, f))
e2e.log('%d blocks, all complete in the bucket and recorded' % len(local))

db = os.path.join(root, 'download')
for k in keys:
    out = os.path.join(db, *k.split('/'))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    e2e.s3_get(s3port, k, out)
dump = e2e.parse_dump(e2e.aion_dump(db, '--blocks-only'))
n = e2e.check_acked(dump, [(0, SERIES, start_ms, start_ms + (SAMPLES - 1) * STEP)], start_ms, STEP)
total = sum(len(s) for s in dump.values())
e2e.check(total == n and len(dump) == SERIES, 'the bucket has %d samples of %d series, %d of %d were written'
          % (total, len(dump), n, SERIES))
# Overlapping blocks would hold samples twice (the dump merges equal ones):
# the blocks' own sample counts must add up too.
counted = sum(json.load(open(os.path.join(db, u, 'meta.json')))['stats']['numSamples'] for u in local)
e2e.check(counted == n, 'the blocks count %d samples, %d were written' % (counted, n))
e2e.log('bucket blocks hold exactly the %d samples written' % n)
print('PASS')
