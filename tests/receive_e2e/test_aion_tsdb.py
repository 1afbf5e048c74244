#!/usr/bin/env python3
"""tools/aion-tsdb against promtool: on blocks that promtool itself created
(from OpenMetrics with awkward values and label escapes), `aion-tsdb dump`
prints exactly what `promtool tsdb dump` prints, with and without --match
and time bounds; `aion-tsdb list` shows the same blocks as `promtool tsdb
list`. The other end-to-end tests rely on this to read back what aiond
stored."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

promtool = e2e.need('promtool')
root = e2e.root('aiontsdb')
vals = ['0', '1', '-1', '0.5', '1234567', '123456', '1e-05', '0.0001', '3.14159265358979', '1e+21', '2.5e-07',
        '+Inf', '-Inf', 'NaN', '100', '1e+06', '99999.5', '1.2345678901234567e+19', '0.30000000000000004',
        '-0.000123', '5e-324', '1.7976931348623157e+308', '123456.789', '-42']
om = []
for i, v in enumerate(vals):
    om.append('# TYPE m%d gauge' % i)
    for j in range(3):   # three samples 2 h apart: several blocks
        om.append('m%d{a="x\\\\y\\"z",b="é ü",c="line\\nbreak",i="%d"} %s %d'
                  % (i, j, v, 1700000000 + i + j * 7200))
om.append('# EOF')
with open(os.path.join(root, 'in.om'), 'w') as f:
    f.write('\n'.join(om) + '\n')
blocks = os.path.join(root, 'blocks')
r = subprocess.run([promtool, 'tsdb', 'create-blocks-from', 'openmetrics', os.path.join(root, 'in.om'), blocks],
                   capture_output=True, text=True, timeout=60)
e2e.check(r.returncode == 0, 'promtool create-blocks-from: ' + r.stderr)
ulids = sorted(d for d in os.listdir(blocks) if os.path.isdir(os.path.join(blocks, d)))
e2e.check(len(ulids) >= 2, 'promtool made %d blocks' % len(ulids))

cases = [[], ['--match', '{i="1"}'], ['--match', 'm3'], ['--match', '{__name__=~"m1.*", i!="2"}'],
         ['--min-time', '1700007000000', '--max-time', '1700007210000']]
for args in cases:
    ours = e2e.aion_dump(blocks, '--blocks-only', *args)
    theirs = e2e.promtool_dump(blocks, os.path.join(root, 'copy'), *['%s=%s' % (args[k], args[k + 1])
                                                                      for k in range(0, len(args), 2)])
    e2e.check(ours.splitlines() and sorted(ours.splitlines()) == sorted(theirs.splitlines()),
              'dump %s differs:\n--- aion-tsdb\n%s\n--- promtool\n%s' % (args, ours[:3000], theirs[:3000]))
    e2e.log('dump %s: %d identical lines' % (args, len(ours.splitlines())))
# A single block directory reads the same as that block within the db dir.
one = e2e.aion_dump(os.path.join(blocks, ulids[0]))
e2e.check(one and set(one.splitlines()) <= set(e2e.aion_dump(blocks, '--blocks-only').splitlines()),
          'single-block dump differs')
# A database directory (tsdb_open) reads the same blocks.
dbcopy = os.path.join(root, 'db')
shutil.copytree(blocks, dbcopy)
e2e.check(sorted(e2e.aion_dump(dbcopy).splitlines()) == sorted(e2e.aion_dump(blocks, '--blocks-only').splitlines()),
          'dump of the database directory differs')

r = subprocess.run([e2e.tool('tools/aion-tsdb/aion-tsdb'), 'list', blocks], capture_output=True, text=True)
p = subprocess.run([promtool, 'tsdb', 'list', blocks], capture_output=True, text=True)
e2e.check(r.returncode == 0 and p.returncode == 0, 'list failed: %s %s' % (r.stderr, p.stderr))


def rows(text):
    return sorted(tuple(l.split()[:3]) + tuple(l.split()[4:7]) for l in text.splitlines()[1:] if re.match(r'^[0-9A-Z]{26} ', l))


e2e.check(rows(r.stdout) == rows(p.stdout) and len(rows(p.stdout)) == len(ulids),
          'list differs:\n%s\n%s' % (r.stdout, p.stdout))
e2e.log('list: %d identical block rows' % len(ulids))
print('PASS')
