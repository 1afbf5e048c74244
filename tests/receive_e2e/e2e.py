"""Helpers for the receive end-to-end tests (tests/receive_e2e/test_*.py).

Every peer (aiond, Prometheus, node-exporter, vmagent, s3rver) runs on
127.0.0.1 on a free port with its data under one temp dir; all of them are
killed when the test exits, whatever happens. A missing peer makes the test
print `SKIPPED: <why>` and exit 77 (ctest SKIP_RETURN_CODE). Python stdlib
only, so the suite needs nothing beyond what scripts/install-deps --test
installs.
"""
import atexit
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get('AION_SOURCE_DIR') or os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.environ.get('AION_BINARY_DIR') or os.path.join(SRC, 'build')

_procs = []
_root = None
_keep = False


def log(*a):
    print('[%7.2f]' % (time.monotonic() - _t0), *a, flush=True)


_t0 = time.monotonic()


def skip(why):
    print('SKIPPED: ' + why, flush=True)
    sys.exit(77)


def fail(why):
    global _keep
    _keep = True
    print('FAILED: ' + why, flush=True)
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)


def need(prog):
    """Path of a peer binary, or skip loudly."""
    p = shutil.which(prog)
    if not p:
        skip('%s not installed (scripts/install-deps --test installs it)' % prog)
    return p


def tool(rel):
    """A binary of our build (aiond, aion-tsdb, rwload); a missing one is a failure."""
    p = os.path.join(BIN, rel)
    check(os.access(p, os.X_OK), '%s is not built (build the default target first)' % p)
    return p


def root(name):
    """The test's temp dir, removed at exit unless the test failed."""
    global _root
    _root = tempfile.mkdtemp(prefix='aion-e2e-%s-' % name)
    return _root


def _cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except Exception:
                pass
    if _root and os.path.isdir(_root):
        if _keep:
            print('kept for inspection: ' + _root, flush=True)
        else:
            shutil.rmtree(_root, ignore_errors=True)


atexit.register(_cleanup)


def _on_term(sig, frame):
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, _on_term)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent():
    # If ctest kills this script (timeout: SIGKILL), its peers die with it.
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass


def spawn(cmd, logfile, env=None, cwd=None):
    f = open(logfile, 'ab')
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    f.close()
    _procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, timeout=30):
    """Sends sig and waits; returns the exit status (kills after timeout)."""
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None
    return p.returncode


def http(url, data=None, headers=None, method=None, timeout=10):
    """(status, body bytes); status 0 when the connection failed."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception:
        return 0, b''


def wait_until(fn, timeout, what, interval=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    fail('timed out after %ss waiting for %s' % (timeout, what))


def wait_http_ok(url, timeout, what, proc=None, logfile=None):
    def ok():
        if proc is not None and proc.poll() is not None:
            tail = open(logfile, errors='replace').read()[-3000:] if logfile else ''
            fail('%s exited (%s) before it was ready:\n%s' % (what, proc.returncode, tail))
        return http(url, timeout=2)[0] == 200
    wait_until(ok, timeout, what)


def metric_value(text, name, labels=None):
    """Sum of the samples of `name` (with these label pairs) in exposition text."""
    tot = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith('#'):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        if labels and not all('%s="%s"' % kv in (m.group(2) or '') for kv in labels.items()):
            continue
        tot += float(m.group(3))
    return tot


class Aiond:
    """aiond with the receive plugin; receive_conf is the body of its config group."""

    def __init__(self, root, receive_conf, port=None, name='aiond'):
        self.root = root
        self.port = port or free_port()
        self.conf = os.path.join(root, name + '-conf')
        self.data = os.path.join(root, name + '-data')
        self.log = os.path.join(root, name + '.log')
        os.makedirs(self.conf, exist_ok=True)
        with open(os.path.join(self.conf, '00-host.conf'), 'w') as f:
            f.write('host = { data_dir = "%s"; stop_timeout = "30s";\n'
                    '  listeners = ( { name = "main"; address = "127.0.0.1:%d"; } ); };\n'
                    % (self.data, self.port))
        with open(os.path.join(self.conf, '20-receive.conf'), 'w') as f:
            f.write('plugins = ( { name = "receive"; config = {\n%s\n}; } );\n' % receive_conf)
        self.proc = None

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def tenant_dir(self, tenant):
        return os.path.join(self.data, 'receive', tenant)

    def start(self, timeout=60):
        env = dict(os.environ)
        env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
        self.proc = spawn([tool('host/aiond'), '--plugin-dir', os.path.join(BIN, 'plugins'),
                           '--config-dir', self.conf], self.log, env=env)
        wait_http_ok(self.url + '/-/ready', timeout, 'aiond /-/ready', self.proc, self.log)
        return self

    def metrics(self):
        return http(self.url + '/metrics')[1].decode(errors='replace')

    def stop(self, sig=signal.SIGTERM):
        rc = stop(self.proc, sig, timeout=60)
        if sig == signal.SIGTERM:
            check(rc == 0, 'aiond exited with %s on SIGTERM; log tail:\n%s' % (rc, self.log_tail()))
        return rc

    def log_tail(self, n=4000):
        try:
            return open(self.log, errors='replace').read()[-n:]
        except OSError:
            return ''


# ---- promtool tsdb dump text (`{a="b", c="d"} value ts`), from promtool or aion-tsdb ----

_label_re = re.compile(r'([^=,{} ]+)="((?:[^"\\]|\\.)*)"')


def parse_labels(s):
    """`{a="b", c="d"}` -> tuple of (name, quoted value) sorted by name."""
    return tuple(sorted(_label_re.findall(s)))


def parse_dump(text):
    """{labels tuple: {ts: value string}}. Values stay as printed (Go %g),
    so NaN (and the stale marker) compare equal as text and everything else
    compares exactly."""
    out = {}
    for line in text.splitlines():
        if not line.startswith('{'):
            continue
        lab, val, ts = line.rsplit(' ', 2)
        out.setdefault(parse_labels(lab), {})[int(ts)] = val
    return out


def aion_dump(dirpath, *args):
    r = subprocess.run([tool('tools/aion-tsdb/aion-tsdb'), 'dump', dirpath, *args],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, 'aion-tsdb dump %s failed: %s' % (dirpath, r.stderr[-2000:]))
    return r.stdout


def promtool_dump(dbdir, scratch, *args):
    """promtool tsdb dump on a scratch copy (it wants wal/ and writes chunks_head/)."""
    if os.path.exists(scratch):
        shutil.rmtree(scratch)
    shutil.copytree(dbdir, scratch, ignore=shutil.ignore_patterns('lock', 'queries.active'))
    os.makedirs(os.path.join(scratch, 'wal'), exist_ok=True)
    r = subprocess.run([need('promtool'), 'tsdb', 'dump', *args, scratch], capture_output=True,
                       text=True, timeout=300)
    check(r.returncode == 0, 'promtool tsdb dump failed: %s' % r.stderr[-2000:])
    return r.stdout


def fmt_series(key):
    return '{' + ', '.join('%s="%s"' % kv for kv in key) + '}'


def go_g(v):
    """Go's %g of a float (what promtool/aion-tsdb print), for computed values."""
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return '+Inf' if v > 0 else '-Inf'
    if v == 0:
        return '0'
    digits = 17
    for p in range(1, 18):
        e = '%.*e' % (p - 1, v)
        if float(e) == v:
            digits = p
            break
    e = '%.*e' % (digits - 1, v)
    exp = int(e.split('e')[1])
    if exp < -4 or exp >= 6:
        return e
    return '%.*f' % (max(digits - 1 - exp, 0), v)


def rwload_expected(i, j):
    """Value rwload writes for series i, sample j (see tools/bench/rw/rwload.c)."""
    return (i % 1000) + j * 0.25


def rwload_series_key(i):
    return tuple(sorted([('__name__', 'rwload_metric_%d' % (i % 50)), ('instance', 'host-%d' % (i // 50 % 1000)),
                         ('job', 'rwload'), ('series', str(i))]))


def read_acks(path):
    acks = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 5 and p[0] == 'ack':
                acks.append((int(p[1]), int(p[2]), int(p[3]), int(p[4])))
    return acks


def check_acked(dump, acks, start_ms, step_ms, extra_labels=()):
    """Every acknowledged rwload sample is in dump (parse_dump result) with
    its exact value. Returns the number of samples checked."""
    n = 0
    missing = []
    for lo, hi, tlo, thi in acks:
        for i in range(lo, hi):
            key = tuple(sorted(rwload_series_key(i) + tuple(extra_labels)))
            got = dump.get(key, {})
            for t in range(tlo, thi + 1, step_ms):
                j = (t - start_ms) // step_ms
                want = go_g(rwload_expected(i, j))
                n += 1
                if got.get(t) != want:
                    missing.append('%s @%d: want %s, got %s' % (fmt_series(key), t, want, got.get(t)))
    check(not missing, '%d of %d acknowledged samples missing or wrong, e.g.:\n  %s'
          % (len(missing), n, '\n  '.join(missing[:10])))
    return n


def s3rver_start(root, port=None, stall=None):
    """Starts tests/objstore/s3rver.js (SigV4-checking @20minutes/s3rver) with
    bucket `aion` and its data in root/s3data (kept across restarts with the
    same root); returns (proc, port, data dir). stall: requests whose URL
    contains it are never answered. Skips when s3rver is not installed."""
    node = need('node')
    mods = os.path.join(SRC, '.peers', 'node_modules')
    if not os.path.isdir(os.path.join(mods, '@20minutes', 's3rver')):
        skip('@20minutes/s3rver not installed in %s (scripts/install-deps --test)' % mods)
    port = port or free_port()
    data = os.path.join(root, 's3data')
    os.makedirs(data, exist_ok=True)
    env = dict(os.environ, NODE_PATH=mods, NODE_OPTIONS='--openssl-legacy-provider')
    env.pop('S3RVER_STALL', None)
    if stall:
        env['S3RVER_STALL'] = stall
    logf = os.path.join(root, 's3rver.log')
    start = os.path.getsize(logf) if os.path.exists(logf) else 0
    p = spawn([node, os.path.join(SRC, 'tests', 'objstore', 's3rver.js'), data, str(port), 'aion'], logf, env=env)

    def ready():
        text = open(logf, errors='replace').read()[start:]
        if p.poll() is not None:
            fail('s3rver exited: ' + text[-2000:])
        return 'listening on' in text
    wait_until(ready, 30, 's3rver')
    return p, port, data


_EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'


def s3_get(port, key, out=None):
    """Signed GET with curl --aws-sigv4 (a real SigV4 client). Returns bytes."""
    cmd = [need('curl'), '-sS', '-f', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', 'S3RVER:S3RVER',
           '-H', 'x-amz-content-sha256: ' + _EMPTY_SHA, 'http://127.0.0.1:%d/aion/%s' % (port, key)]
    r = subprocess.run(cmd + (['-o', out] if out else []), capture_output=True, timeout=60)
    check(r.returncode == 0, 'S3 GET %s failed: %s' % (key, r.stderr.decode(errors='replace')))
    return r.stdout


def s3_list(port, prefix=''):
    """Every key under prefix (ListObjectsV2, following continuation tokens)."""
    import urllib.parse
    keys, token = [], None
    while True:
        q = [('list-type', '2'), ('prefix', prefix)]
        if token:
            q.append(('continuation-token', token))
        qs = '&'.join('%s=%s' % (k, urllib.parse.quote(v, safe='-_.~')) for k, v in sorted(q))
        cmd = [need('curl'), '-sS', '-f', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', 'S3RVER:S3RVER',
               '-H', 'x-amz-content-sha256: ' + _EMPTY_SHA, 'http://127.0.0.1:%d/aion?%s' % (port, qs)]
        r = subprocess.run(cmd, capture_output=True, timeout=60)
        check(r.returncode == 0, 'S3 list failed: %s' % r.stderr.decode(errors='replace'))
        body = r.stdout.decode()
        keys += re.findall(r'<Key>([^<]*)</Key>', body)
        m = re.search(r'<NextContinuationToken>([^<]*)</NextContinuationToken>', body)
        if '<IsTruncated>true</IsTruncated>' in body and m:
            token = m.group(1)
        else:
            return keys


def load_json(b):
    return json.loads(b.decode() if isinstance(b, bytes) else b)
