#!/usr/bin/env python3
"""kill -9 of aiond under a steady remote-write load, restart on the same data
dir: every sample that got a 2xx is there with its value (issue 6).

The writer is tools/bench/rw/rwload with --ack-log: it records every request
answered 2xx (series range x time range; values are a formula of series and
sample index). aiond runs with the default fsync policy (wal_fsync=commit),
or with the one given as the first argument (`interval`: written before the
2xx, fsynced every second; docs/receive.md says that survives kill -9 too).
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

policy = sys.argv[1] if len(sys.argv) > 1 else None
root = e2e.root('kill9')
rwload = e2e.tool('tools/bench/rw/rwload')
a = e2e.Aiond(root, 'flush_on_shutdown = false;' + ('wal_fsync = "%s";' % policy if policy else '')).start()
e2e.log('aiond ready on', a.url, 'wal_fsync', policy or 'default')

SERIES, PER_REQ, SAMPLES, STEP = 2000, 250, 300, 100
start_ms = int(time.time() * 1000) - SAMPLES * STEP
acklog = os.path.join(root, 'acks.txt')
wlog = os.path.join(root, 'rwload.log')
w = e2e.spawn([rwload, '--url', a.url + '/api/v1/receive', '--series', str(SERIES),
               '--samples-per-series', str(SAMPLES), '--samples-per-request', str(PER_REQ),
               '--connections', '3', '--start-ms', str(start_ms), '--step-ms', str(STEP),
               '--tenant', 'crash', '--ack-log', acklog, '--quiet'], wlog)


def acked():
    try:
        return sum(1 for _ in open(acklog))
    except OSError:
        return 0


e2e.wait_until(lambda: acked() >= 150, 60, '150 acknowledged requests')
e2e.check(w.poll() is None, 'the writer finished before the kill; make the load longer')
a.stop(signal.SIGKILL)
e2e.log('aiond killed with SIGKILL after %d acknowledged requests' % acked())
time.sleep(0.5)
e2e.stop(w, signal.SIGTERM)
out = open(wlog).read()
e2e.log('writer:', ' | '.join(out.strip().splitlines()))
e2e.check('transport_error' in out, 'the writer saw no failed request: aiond was not killed under load')
acks = e2e.read_acks(acklog)
e2e.check(len(acks) >= 150, 'only %d acks' % len(acks))

# Restart on the same data dir: WAL replay, then still accepting writes.
a.start()
e2e.log('aiond restarted and ready')
r = subprocess.run([rwload, '--url', a.url + '/api/v1/receive', '--series', '100', '--samples-per-series', '5',
                    '--samples-per-request', '100', '--connections', '1', '--start-ms',
                    str(start_ms + SAMPLES * STEP + 1000), '--step-ms', '1', '--tenant', 'crash', '--quiet'],
                   capture_output=True, text=True, timeout=60)
e2e.check('non2xx=0' in r.stdout and 'samples_ok=500' in r.stdout,
          'writes after the restart failed: ' + r.stdout + r.stderr)
a.stop()

dump = e2e.parse_dump(e2e.aion_dump(a.tenant_dir('crash')))
n = e2e.check_acked(dump, acks, start_ms, STEP)
e2e.log('all %d acknowledged samples (%d requests) are stored with their values' % (n, len(acks)))
print('PASS')
