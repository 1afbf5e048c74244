#!/bin/sh
# The SDK example is built OUT OF TREE against the INSTALLED SDK only
# (pkg-config aion-sdk), loaded by the installed aiond, and its route called
# after a test plugin published on the write topic it subscribes to. Also:
# the installed aiond finds the installed plugins on its own, and the .pc
# file is right with a multiarch libdir (lib/x86_64-linux-gnu, as with
# prefix /usr on Debian).
set -eu
src=${AION_SOURCE_DIR:?}; bin=${AION_BINARY_DIR:?}
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/aiond.log" ] && cat "$tmp/aiond.log"; exit 1; }
same_dir() { [ -d "$1" ] && [ -d "$2" ] && [ "$(cd "$1" && pwd -P)" = "$(cd "$2" && pwd -P)" ]; }

cmake --install "$bin" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/aion/plugin.h"
test -x "$tmp/prefix/bin/aiond"
pc=$(find "$tmp/prefix" -name aion-sdk.pc)
[ -n "$pc" ] || fail "aion-sdk.pc not installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
same_dir "$(pkg-config --variable=includedir aion-sdk)" "$tmp/prefix/include" ||
  fail "pkg-config includedir $(pkg-config --variable=includedir aion-sdk) is not $tmp/prefix/include"

# The installed aiond, with no --plugin-dir, lists the installed plugins
# (<prefix>/<libdir>/aion/plugins, found from its own location).
"$tmp/prefix/bin/aiond" --list-plugins > "$tmp/list.txt" 2>&1 || fail "--list-plugins: $(cat "$tmp/list.txt")"
grep -q "^Plugins in $tmp/prefix/bin/../" "$tmp/list.txt" || fail "plugin dir not under the prefix: $(head -1 "$tmp/list.txt")"
grep -q "^receive .*(receive.so)" "$tmp/list.txt" || fail "receive not listed: $(cat "$tmp/list.txt")"
echo "installed aiond lists: $(grep -c '\.so)$' "$tmp/list.txt") plugin(s) from the prefix"

cp -r "$src/sdk/examples/hello" "$tmp/hello"
# Build with the same sanitizer flags as the host under test (when it has them).
extra=""
if nm "$tmp/prefix/bin/aiond" 2>/dev/null | grep -q __asan_init; then extra="-fsanitize=address,undefined"; fi
make -s -C "$tmp/hello" CC="${CC:-cc}" CFLAGS="-O1 -g $extra" hello.so
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$tmp/conf.d"
# "pub" (a host test plugin) publishes on the write topic: POST /tp/pub/write
# sends one series with one sample per body byte.
cat > "$tmp/conf.d/10-hello.conf" <<CONF
host = { data_dir = "$tmp/data"; listeners = ( { name = "main"; address = "127.0.0.1:$port"; } ); };
plugins = ( { name = "hello"; path = "$tmp/hello/hello.so"; config = { greeting = "bonjour"; }; },
            { name = "pub"; path = "$bin/tests/host/plugins/tp_good.so"; } );
CONF
"$tmp/prefix/bin/aiond" --config-dir "$tmp/conf.d" > "$tmp/aiond.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/-/ready" && break; sleep 0.1; done
out=$(curl -sf "http://127.0.0.1:$port/hello") || fail "GET /hello"
echo "GET /hello -> $out"
case "$out" in "bonjour from hello: 0 series, 0 samples"*) ;; *) fail "unexpected answer before publishing";; esac
curl -sf -d abc "http://127.0.0.1:$port/tp/pub/write" >/dev/null || fail "POST /tp/pub/write"
curl -sf -d 12345 "http://127.0.0.1:$port/tp/pub/write" >/dev/null || fail "POST /tp/pub/write"
out=$(curl -sf "http://127.0.0.1:$port/hello") || fail "GET /hello"
echo "GET /hello -> $out"
case "$out" in "bonjour from hello: 2 series, 8 samples seen on the write topic") ;;
  *) fail "the example's subscriber did not see the published series";; esac
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
[ "$rc" = 0 ] || fail "aiond exited $rc"

# Multiarch libdir: configure and install only the SDK part with
# CMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu (headers only: nothing to compile).
mkdir -p "$tmp/ma-src"
cat > "$tmp/ma-src/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.18)
project(aion VERSION 0.0.0 LANGUAGES NONE)
include(GNUInstallDirs)
add_subdirectory("$src/sdk" sdk)
CM
cmake -S "$tmp/ma-src" -B "$tmp/ma-build" -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_INSTALL_LIBDIR=lib/x86_64-linux-gnu >/dev/null 2>"$tmp/ma.err" || fail "cmake: $(cat "$tmp/ma.err")"
cmake --install "$tmp/ma-build" --prefix "$tmp/ma" >/dev/null
pcdir="$tmp/ma/lib/x86_64-linux-gnu/pkgconfig"
[ -f "$pcdir/aion-sdk.pc" ] || fail "no $pcdir/aion-sdk.pc"
inc=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=includedir aion-sdk)
same_dir "$inc" "$tmp/ma/include" || fail "multiarch libdir: includedir $inc is not $tmp/ma/include"
pdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=plugindir aion-sdk)
case "$pdir" in *lib/x86_64-linux-gnu/aion/plugins) ;; *) fail "multiarch plugindir $pdir";; esac
# shellcheck disable=SC2046
"${CC:-cc}" -std=c11 -fsyntax-only $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags aion-sdk) "$src/sdk/examples/hello/hello.c" ||
  fail "hello.c does not compile against the multiarch install"
echo "PASS: out-of-tree example plugin built against the installed SDK saw the write topic; installed plugins found; multiarch .pc correct"
