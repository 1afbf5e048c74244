#!/usr/bin/env python3
"""Slow and greedy clients (issue 6): a few hundred remote-write clients
that send their bodies a byte at a time must not hold decode or storage
capacity. While they trickle, a real writer (rwload, 4 keep-alive
connections) must get every request stored with 2xx; afterwards the
listener's request_timeout cuts the slow ones off.

What would make this fail: a host that handed a request to a worker before
its body arrived (the slow bodies would hold every worker, as measured for
VictoriaMetrics' insert slots), or that stopped accepting at a low
connection cap (as Prometheus' does), or that never cut trickling clients.
"""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

SLOW = 300
READ_TIMEOUT_S, REQUEST_TIMEOUT_S = 3, 12
root = e2e.root('slow')
rwload = e2e.tool('tools/bench/rw/rwload')
a = e2e.Aiond(root, '')
with open(os.path.join(a.conf, '00-host.conf'), 'w') as f:
    f.write('host = { data_dir = "%s"; stop_timeout = "30s"; worker_threads = 2;\n'
            '  listeners = ( { name = "main"; address = "127.0.0.1:%d"; read_timeout = "%ds";\n'
            '                  request_timeout = "%ds"; } ); };\n'
            % (a.data, a.port, READ_TIMEOUT_S, REQUEST_TIMEOUT_S))
a.start()
e2e.log('aiond ready on', a.url, 'with 2 worker threads')

head = ('POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n'
        'Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n'
        'Content-Length: 100000\r\n\r\n').encode()
socks = []
for i in range(SLOW):
    s = socket.create_connection(('127.0.0.1', a.port), timeout=5)
    s.sendall(head + b'\xff')  # a snappy preamble byte; the body never completes
    socks.append(s)
t_open = time.monotonic()
stop_trickle = threading.Event()
closed_at = {}


def trickle():
    # one more body byte per connection every second: under read_timeout,
    # so only the whole-request deadline can end them
    while not stop_trickle.is_set():
        for i, s in enumerate(socks):
            if i in closed_at:
                continue
            try:
                s.sendall(b'\x00')
            except OSError:
                closed_at[i] = time.monotonic() - t_open
        stop_trickle.wait(1.0)


th = threading.Thread(target=trickle, daemon=True)
th.start()
e2e.log('%d slow writers connected and trickling' % SLOW)

SERIES, SAMPLES, PER_REQ, STEP = 2000, 30, 500, 1000
start_ms = int(time.time() * 1000) - SAMPLES * STEP
acklog = os.path.join(root, 'acks.txt')
t0 = time.monotonic()
r = subprocess.run([rwload, '--url', a.url + '/api/v1/write', '--series', str(SERIES),
                    '--samples-per-series', str(SAMPLES), '--samples-per-request', str(PER_REQ),
                    '--connections', '4', '--start-ms', str(start_ms), '--step-ms', str(STEP),
                    '--ack-log', acklog, '--quiet'], capture_output=True, text=True, timeout=120)
took = time.monotonic() - t0
open_during = SLOW - len(closed_at)
e2e.log('rwload: %.2f s, %s' % (took, r.stdout.strip()))
requests = SERIES * SAMPLES // PER_REQ
e2e.check(r.returncode == 0 and 'non2xx=0' in r.stdout, 'the writer failed beside slow clients: %s %s'
          % (r.stdout, r.stderr[-1000:]))
acks = e2e.read_acks(acklog)
e2e.check(len(acks) == requests, '%d of %d requests acknowledged' % (len(acks), requests))
# It finished while the slow clients still held their connections (none is
# cut before REQUEST_TIMEOUT_S), so it did not just wait for them to go.
e2e.check(open_during >= SLOW - 5 and time.monotonic() - t_open < REQUEST_TIMEOUT_S,
          'the writer only finished after the slow clients were cut off (%.1f s, %d still open)'
          % (time.monotonic() - t_open, open_during))

# The slow clients are cut off by request_timeout (not earlier by read_timeout).
deadline = t_open + REQUEST_TIMEOUT_S + 8
while len(closed_at) < SLOW and time.monotonic() < deadline:
    for i, s in enumerate(socks):
        if i in closed_at:
            continue
        s.setblocking(False)
        try:
            if s.recv(4096) == b'':
                closed_at[i] = time.monotonic() - t_open
        except BlockingIOError:
            pass
        except OSError:
            closed_at[i] = time.monotonic() - t_open
    time.sleep(0.2)
stop_trickle.set()
th.join()
e2e.check(len(closed_at) == SLOW, 'only %d of %d slow clients were cut off within %d s'
          % (len(closed_at), SLOW, REQUEST_TIMEOUT_S + 8))
first = min(closed_at.values())
e2e.check(first >= READ_TIMEOUT_S, 'a trickling client was cut after %.1f s, before read_timeout' % first)
e2e.log('slow clients cut off after %.1f..%.1f s (request_timeout %d s)'
        % (first, max(closed_at.values()), REQUEST_TIMEOUT_S))
for s in socks:
    s.close()

# The server still takes writes, and every acknowledged sample is stored.
r = subprocess.run([rwload, '--url', a.url + '/api/v1/write', '--series', '10', '--samples-per-series', '2',
                    '--samples-per-request', '20', '--connections', '1', '--start-ms',
                    str(start_ms + SAMPLES * STEP + 1000), '--step-ms', '1', '--quiet'],
                   capture_output=True, text=True, timeout=60)
e2e.check('non2xx=0' in r.stdout and 'samples_ok=20' in r.stdout, 'writes afterwards failed: ' + r.stdout)
a.stop()
dump = e2e.parse_dump(e2e.aion_dump(a.tenant_dir('default-tenant')))
n = e2e.check_acked(dump, acks, start_ms, STEP)
e2e.log('all %d acknowledged samples stored; %d slow clients held no worker' % (n, SLOW))
print('PASS')
