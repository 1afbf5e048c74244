#!/bin/sh
# Aion vs Prometheus 2.42 on the bench_promql range queries (10k series, 1h
# at a 15 s step), on the same samples, and a check that both answer the same
# values (compare.py).
#   tools/bench/promql/run-prometheus.sh path/to/bench_promql [repeats]
# Exits 77 (skipped) when prometheus/promtool are not installed.
#
# What each column measures (best of `repeats` runs each):
#   aion tsdb ms   Aion's engine in process over lib/tsdb (lib/promql_tsdb):
#                  the samples appended, flushed into a block and the db
#                  reopened, so the query decodes XOR chunks of an mmapped
#                  block, as Prometheus does. No HTTP, no JSON.
#   aion mem ms    the same over promql_memstore (decoded points: the engine alone).
#   prom exec ms   Prometheus' own execTotalTime (stats=all): queue + series
#                  selection + evaluation + result sort, no HTTP, no JSON.
#                  This is the figure to set against "aion tsdb ms".
#   prom http ms   curl time_total of /api/v1/query_range on 127.0.0.1:
#                  Prometheus' whole HTTP round trip incl. JSON encoding.
# Prometheus reads the block promtool create-blocks-from openmetrics writes
# from bench_promql's OpenMetrics dump (its head is empty).
set -eu
BENCH=${1:?usage: $0 path/to/bench_promql [repeats]}
N=${2:-3}
command -v prometheus >/dev/null && command -v promtool >/dev/null || { echo "SKIPPED: prometheus/promtool not installed"; exit 77; }
command -v python3 >/dev/null && command -v curl >/dev/null || { echo "SKIPPED: python3/curl not installed"; exit 77; }
[ -x "$BENCH" ] || { echo "run-prometheus.sh: $BENCH is not built"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BENCH" -r "$N" -s both -o "$W/data.om" -d "$W/aion_q" -t "$W/aion.tsv" | tee "$W/aion.txt"
promtool tsdb create-blocks-from openmetrics "$W/data.om" "$W/tsdb" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 15s\n' > "$W/prom.yml"
prometheus --config.file="$W/prom.yml" --storage.tsdb.path="$W/tsdb" --storage.tsdb.retention.time=100y \
  --web.listen-address=127.0.0.1:$PORT >"$W/prom.log" 2>&1 &
PID=$!
ready=0
for i in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null; then ready=1; break; fi
  sleep 0.3
done
[ $ready = 1 ] || { echo "prometheus did not become ready:"; tail -20 "$W/prom.log"; exit 1; }
START=$(sed -n 's/.*range \([0-9]*\)\.\.\([0-9]*\).*/\1/p' "$W/aion.txt")
END=$(sed -n 's/.*range \([0-9]*\)\.\.\([0-9]*\).*/\2/p' "$W/aion.txt")
S=$(echo "$START" | awk '{printf "%.3f", $1/1000}')
E=$(echo "$END" | awk '{printf "%.3f", $1/1000}')
echo "load average before Prometheus: $(cut -d' ' -f1-3 /proc/loadavg)"
STATUS=0
: > "$W/table.txt"
# aion.tsv: index, query, mem ms, tsdb ms, series
while IFS="$(printf '\t')" read -r QI Q AMEM ATSDB ASER; do
  : > "$W/runs.txt"
  for i in $(seq 1 "$N"); do
    t=$(curl -s -o "$W/out.json" -w '%{time_total}' --data-urlencode "query=$Q" --data-urlencode "stats=all" \
        --data-urlencode "start=$S" --data-urlencode "end=$E" --data-urlencode "step=15" \
        "http://127.0.0.1:$PORT/api/v1/query_range")
    # one line per run: http ms, execTotalTime ms, queryPreparationTime ms (unused: 2.42 selects
    # series lazily during evaluation, so it is near 0), series
    python3 - "$W/out.json" "$t" >> "$W/runs.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if d.get("status") != "success":
    print("error", d, file=sys.stderr)
    sys.exit(1)
tm = d["data"].get("stats", {}).get("timings", {})
f = lambda k: "%.1f" % (1000 * tm[k]) if k in tm else "-"
print("%.1f %s %s %d" % (1000 * float(sys.argv[2]), f("execTotalTime"), f("queryPreparationTime"),
                         len(d["data"]["result"])))
EOF
  done
  # best of each column independently
  best=$(awk 'function mn(a, b) { return (a == "-" || (b != "-" && b + 0 < a + 0)) ? b : a }
              NR == 1 { h = $1; x = $2; p = $3; s = $4; next }
              { h = mn(h, $1); x = mn(x, $2); p = mn(p, $3) }
              END { print h, x, p, s }' "$W/runs.txt")
  set -- $best
  PH=$1 PX=$2 PP=$3 PS=$4
  vals=$(python3 "$HERE/compare.py" "$W/aion_q$QI.txt" "$W/out.json") || STATUS=1
  ratio=$(awk -v a="$ATSDB" -v b="$PX" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", b / a; else print "-" }')
  printf '%-88s %9s %9s %9s %9s %7s %9s  %s\n' "$Q" "$ATSDB" "$AMEM" "$PX" "$PH" "$ratio" \
    "$ASER/$PS" "$vals" >> "$W/table.txt"
done < "$W/aion.tsv"
echo
echo "Aion (in process) vs Prometheus 2.42, ms, best of $N; speedup = prom exec / aion tsdb"
printf '%-88s %9s %9s %9s %9s %7s %9s  %s\n' "query" "aion tsdb" "aion mem" "prom exec" "prom http" \
  "speedup" "series" "values (aion tsdb vs prometheus)"
cat "$W/table.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $STATUS
