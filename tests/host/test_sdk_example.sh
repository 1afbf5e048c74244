#!/bin/sh
# The SDK example is built OUT OF TREE against the INSTALLED SDK only
# (pkg-config aion-sdk), loaded by the installed aiond, and its route called.
set -eu
src=${AION_SOURCE_DIR:?}; bin=${AION_BINARY_DIR:?}
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cmake --install "$bin" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/aion/plugin.h"
test -x "$tmp/prefix/bin/aiond"
pc=$(find "$tmp/prefix" -name aion-sdk.pc)
[ -n "$pc" ] || { echo "FAIL: aion-sdk.pc not installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
cp -r "$src/sdk/examples/hello" "$tmp/hello"
# Build with the same sanitizer flags as the host under test (when it has them).
extra=""
if nm "$tmp/prefix/bin/aiond" 2>/dev/null | grep -q __asan_init; then extra="-fsanitize=address,undefined"; fi
make -s -C "$tmp/hello" CC="${CC:-cc}" CFLAGS="-O1 -g $extra" hello.so
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/conf.d"
cat > "$tmp/conf.d/10-hello.conf" <<CONF
host = { data_dir = "$tmp/data"; listeners = ( { name = "main"; address = "127.0.0.1:$port"; } ); };
plugins = ( { name = "hello"; path = "$tmp/hello/hello.so"; config = { greeting = "bonjour"; }; } );
CONF
"$tmp/prefix/bin/aiond" --config-dir "$tmp/conf.d" > "$tmp/aiond.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break; sleep 0.1; done
out=$(curl -sf "http://127.0.0.1:$port/hello")
echo "GET /hello -> $out"
case "$out" in "bonjour from hello: 0 series"*) ;; *) echo "FAIL: unexpected answer"; cat "$tmp/aiond.log"; exit 1;; esac
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
[ "$rc" = 0 ] || { echo "FAIL: aiond exited $rc"; cat "$tmp/aiond.log"; exit 1; }
echo "PASS: out-of-tree example plugin built against the installed SDK and served /hello"
