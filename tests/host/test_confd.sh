#!/bin/sh
# The shipped configuration works:
#   test_confd.sh check   aiond --check-config on conf.d/, and on conf.d/ plus
#                         each conf.d/examples/*.conf copied in as a user would
#                         (replacing the file its header says "in place of")
#   test_confd.sh smoke   aiond on a copy of the default conf.d (listener moved
#                         to a free port, data in a temp dir, plugin directory
#                         the default one): /-/ready turns 200, SIGTERM exits 0
set -eu
src=${AION_SOURCE_DIR:?}; bin=${AION_BINARY_DIR:?}
mode=${1:?usage: test_confd.sh check|smoke}
aiond="$bin/host/aiond"
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Runs from $1 so relative data paths (./data) land in the temp dir.
check() {
  dir=$1; shift
  out=$(cd "$tmp" && "$aiond" --check-config --config-dir "$dir" 2>&1) || fail "$* --check-config: $out"
  case "$out" in *"configuration OK"*) echo "ok: $*: $out" ;; *) fail "$*: $out" ;; esac
}

case "$mode" in
check)
  check "$src/conf.d" "conf.d"
  n=0
  for ex in "$src"/conf.d/examples/*.conf; do
    [ -f "$ex" ] || continue
    n=$((n + 1))
    d="$tmp/conf-$(basename "$ex" .conf)"
    mkdir -p "$d"
    cp "$src"/conf.d/*.conf "$d/"
    replaced=$(sed -n 's/.*in place of \([A-Za-z0-9_.-]*\.conf\).*/\1/p' "$ex" | head -1)
    [ -n "$replaced" ] && rm -f "$d/$replaced"
    cp "$ex" "$d/50-$(basename "$ex")"
    # Secrets come from the environment (${VAR}): give each one a value.
    for v in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$ex" | tr -d '${}' | sort -u); do
      eval "[ -n \"\${$v:-}\" ] || export $v=aion-test-value"
    done
    check "$d" "conf.d + examples/$(basename "$ex")${replaced:+ (in place of $replaced)}"
  done
  echo "PASS: conf.d and $n example(s) pass --check-config"
  ;;
smoke)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cp -r "$src/conf.d" "$tmp/conf.d"
  rm -rf "$tmp/conf.d/examples"
  grep -q '"127.0.0.1:10902"' "$tmp/conf.d/00-host.conf" || fail "00-host.conf no longer listens on 127.0.0.1:10902"
  sed -i "s/\"127.0.0.1:10902\"/\"127.0.0.1:$port\"/" "$tmp/conf.d/00-host.conf"
  (cd "$tmp" && exec "$aiond" --config-dir "$tmp/conf.d") > "$tmp/aiond.log" 2>&1 &
  pid=$!
  code=000
  for i in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready" || true)
    [ "$code" = 200 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  [ "$code" = 200 ] || { cat "$tmp/aiond.log"; fail "/-/ready answered $code"; }
  curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" || { cat "$tmp/aiond.log"; fail "/metrics"; }
  kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
  [ "$rc" = 0 ] || { cat "$tmp/aiond.log"; fail "aiond exited $rc on SIGTERM"; }
  [ -d "$tmp/data" ] || fail "no ./data written in the working directory"
  echo "PASS: default conf.d serves /-/ready 200 on port $port, SIGTERM exits 0"
  ;;
*) fail "unknown mode $mode" ;;
esac
