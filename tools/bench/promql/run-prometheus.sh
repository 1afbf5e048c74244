#!/bin/sh
# Times the bench_promql queries on Prometheus (the installed 2.42 server) over
# the same samples, via HTTP /api/v1/query_range (best of N, curl time_total),
# and checks that both return the same values (compare.py). "exec ms" is
# Prometheus' own execTotalTime (stats=all) of the last run: engine time
# without HTTP and JSON encoding, the fairer figure to set against ours.
#   tools/bench/promql/run-prometheus.sh path/to/bench_promql [repeats]
set -eu
BENCH=${1:?usage: $0 path/to/bench_promql [repeats]}
N=${2:-3}
command -v prometheus >/dev/null && command -v promtool >/dev/null || { echo "SKIPPED: prometheus/promtool not installed"; exit 77; }
W=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$W"' EXIT
"$BENCH" -r "$N" -o "$W/data.om" -d "$W/aion_q" | tee "$W/aion.txt"
promtool tsdb create-blocks-from openmetrics "$W/data.om" "$W/tsdb" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 15s\n' > "$W/prom.yml"
prometheus --config.file="$W/prom.yml" --storage.tsdb.path="$W/tsdb" --storage.tsdb.retention.time=100y \
  --web.listen-address=127.0.0.1:$PORT >"$W/prom.log" 2>&1 &
PID=$!
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break; sleep 0.3; done
START=$(sed -n 's/.*range \([0-9]*\)\.\.\([0-9]*\).*/\1/p' "$W/aion.txt")
END=$(sed -n 's/.*range \([0-9]*\)\.\.\([0-9]*\).*/\2/p' "$W/aion.txt")
S=$(echo "$START" | awk '{printf "%.3f", $1/1000}')
E=$(echo "$END" | awk '{printf "%.3f", $1/1000}')
printf '%-90s %10s %8s %10s\n' "query (prometheus)" "best ms" "series" "exec ms"
STATUS=0
QI=0
grep -E '^(rate|sum|histogram_quantile|[0-9])' "$W/aion.txt" | sed 's/  *[0-9.]*  *[0-9]*$//' > "$W/queries.txt"
while IFS= read -r Q; do
  best=999999
  for i in $(seq 1 "$N"); do
    t=$(curl -s -o "$W/out.json" -w '%{time_total}' --data-urlencode "query=$Q" --data-urlencode "stats=all" \
        --data-urlencode "start=$S" --data-urlencode "end=$E" --data-urlencode "step=15" \
        "http://127.0.0.1:$PORT/api/v1/query_range")
    ms=$(echo "$t" | awk '{printf "%.1f", $1*1000}')
    best=$(echo "$best $ms" | awk '{print ($2<$1)?$2:$1}')
  done
  ns=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["data"]["result"]) if d.get("status")=="success" else d)' "$W/out.json")
  # engine-internal time of the last run (stats=all), without HTTP/JSON
  ex=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.1f" % (1000*d["data"]["stats"]["timings"]["execTotalTime"]))' "$W/out.json" 2>/dev/null || echo "-")
  printf '%-90s %10s %8s %10s\n' "$Q" "$best" "$ns" "$ex"
  python3 "$(dirname "$0")/compare.py" "$W/aion_q$QI.txt" "$W/out.json" || STATUS=1
  QI=$((QI + 1))
done < "$W/queries.txt"
exit $STATUS
