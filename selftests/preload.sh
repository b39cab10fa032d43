#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unmodified TCP programs over mini_tcp (TAP): Python's http.server and
# curl, run with LD_PRELOAD=build/libmtcp_preload.so, which turns their
# socket(AF_INET, SOCK_STREAM, 0) into protocol $MTCP_PROTO.  The server
# must be unreachable over TCP, and the counters must show the connections.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHIM=$ROOT/build/libmtcp_preload.so
PY=/usr/bin/python3
PROTO=${MTCP_PROTO:-253}
PORT=8087
TMP=$(mktemp -d)
srv=

cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ "$PROTO" = 6 ]; then
	echo "1..0 # SKIP the shim is for mini_tcp"
	exit 4
fi
if [ ! -f "$SHIM" ] || ! command -v curl >/dev/null; then
	echo "1..1"
	echo "not ok 1 build/libmtcp_preload.so and curl are there (make, scripts/deps)"
	exit 1
fi

# shellcheck source=lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"

stat_of() {	# stat_of NAME: a counter of /proc/net/mini_tcp_stat
	awk -v name="$1" 'NR == 1 { for (i = 2; i <= NF; i++) if ($i == name) col = i }
			  NR == 2 { print $col }' /proc/net/mini_tcp_stat
}

ip link set lo up
mkdir -p "$TMP/www"
head -c 100000 /dev/urandom >"$TMP/www/blob"
passive0=$(stat_of PassiveOpens)
active0=$(stat_of ActiveOpens)

start_server() {
	LD_PRELOAD=$SHIM $PY -m http.server "$PORT" --bind 127.0.0.1 \
		--directory "$TMP/www" >"$TMP/server.log" 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do
		# a listener (state 0A) on our port in the socket table
		awk -v port="$(printf %04X $PORT)" \
			'NR > 1 { split($2, a, ":"); if (a[2] == port && $4 == "0A") f = 1 } END { exit !f }' \
			/proc/net/mini_tcp && return 0
		sleep 0.1
	done
	cat "$TMP/server.log"
	return 1
}

tcp_refused() {	# the same URL over TCP: nobody listens there
	if curl -sS --max-time 20 -o /dev/null "http://127.0.0.1:$PORT/blob"; then
		echo "a TCP client reached the server: it is not on mini_tcp"
		return 1
	fi
	return 0
}

curl_fetch() {
	LD_PRELOAD=$SHIM curl -sS --max-time 60 -o "$TMP/got" "http://127.0.0.1:$PORT/blob" &&
	cmp "$TMP/www/blob" "$TMP/got"
}

urllib_fetch() {
	LD_PRELOAD=$SHIM $PY -c "
import sys, urllib.request
data = urllib.request.urlopen('http://127.0.0.1:$PORT/blob', timeout=60).read()
sys.exit(data != open('$TMP/www/blob', 'rb').read())"
}

counted() {
	local p a
	p=$(stat_of PassiveOpens)
	a=$(stat_of ActiveOpens)
	echo "PassiveOpens $passive0 -> $p, ActiveOpens $active0 -> $a"
	[ $((p - passive0)) -ge 2 ] && [ $((a - active0)) -ge 2 ]
}

echo "1..5"
check "unmodified python3 -m http.server listens on mini_tcp" start_server
check "curl without the shim (TCP) cannot reach it" tcp_refused
check "curl over mini_tcp fetches 100 kB intact" curl_fetch
check "python3 urllib over mini_tcp fetches it intact" urllib_fetch
check "mini_tcp counted those connections" counted
exit $failed
