#!/bin/sh
# aiond's /metrics, after a few requests, passes `promtool check metrics`
# (Prometheus' own parser and linter), including a plugin's counter, gauge
# and histogram whose label values and help texts need escaping.
set -eu
bin=${AION_BINARY_DIR:?}
if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIPPED: promtool not found (scripts/install-deps --test installs it)"
  exit 77
fi
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/aiond.log" ] && cat "$tmp/aiond.log"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/conf.d"
cat > "$tmp/conf.d/00.conf" <<CONF
host = { data_dir = "$tmp/data"; listeners = ( { name = "main"; address = "127.0.0.1:$port"; } ); };
plugins = ( { name = "m"; path = "tp_good.so"; config = { metrics = true; }; } );
CONF
"$bin/host/aiond" --config-dir "$tmp/conf.d" --plugin-dir "$bin/tests/host/plugins" > "$tmp/aiond.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break; sleep 0.1; done
u="http://127.0.0.1:$port"
curl -sf -o /dev/null "$u/tp/m" || fail "GET /tp/m"
curl -sf -o /dev/null "$u/tp/m" || fail "GET /tp/m"
curl -sf -o /dev/null -d abc "$u/tp/m/write" || fail "POST /tp/m/write"
curl -s -o /dev/null "$u/no/such/route"
curl -s -o /dev/null -X DELETE "$u/-/healthy"
curl -sf -o /dev/null "$u/metrics" || fail "GET /metrics"
curl -sf -D "$tmp/headers" "$u/metrics" > "$tmp/metrics.txt" || fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/headers" || fail "content type: $(cat "$tmp/headers")"

rc=0
promtool check metrics < "$tmp/metrics.txt" > "$tmp/promtool.out" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
  cat "$tmp/metrics.txt"
  fail "promtool check metrics exited $rc: $(cat "$tmp/promtool.out")"
fi
# The escapes are the text format's (\\, \", \n in label values; \\ and \n
# in HELP); promtool's parser accepted them, these check they are the ones meant.
for want in \
  'tp_requests_total{instance="m",note="say \"hi\" \\ back\\slash\nline 2"} 2' \
  'tp_temperature_celsius{where="say \"hi\" \\ back\\slash\nline 2"} -3.5' \
  'tp_temperature_celsius{where="plain"} 21' \
  '# HELP tp_requests_total Requests to the test plugin, with a \\ backslash\nand a newline.' \
  '# HELP tp_temperature_celsius A gauge with "quotes" in its help.' \
  '# TYPE tp_request_duration_seconds histogram' \
  'tp_request_duration_seconds_bucket{path="/tp/m",le="0.05"} 2' \
  'tp_request_duration_seconds_bucket{path="/tp/m",le="+Inf"} 2' \
  'tp_request_duration_seconds_count{path="/tp/m"} 2' \
  'aion_http_requests_total{listener="main",route="/tp/m",method="GET",code="200"} 2'
do
  grep -qxF -- "$want" "$tmp/metrics.txt" || { cat "$tmp/metrics.txt"; fail "missing line: $want"; }
done
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
[ "$rc" = 0 ] || fail "aiond exited $rc"
echo "PASS: /metrics passes promtool check metrics ($(grep -c '^# TYPE' "$tmp/metrics.txt") families)"
