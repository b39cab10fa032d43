#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo_short.sh - `make run`'s demo, short (TAP): scripts/demo --short must
# exit 0 (every act checks what it claims: the ladder of the connection from
# tcpdump, the states from the tracepoint, the counters from mtcp-stat, the
# flood with syncookies=1 all legit connections succeeding and with
# syncookies=0 most failing), leave the capture, the trace, an SVG that
# parses and the path file for fsm_dot -H, and fail if the acts fail.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/demo-short.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/selftests/lib/tap.sh"

echo "TAP version 13"
if [ "$(id -u)" != 0 ] || [ -z "${MTCP_OUT:-}" ]; then
	echo "1..0 # SKIP needs root in the VM"
	exit 4
fi
echo "1..5"
"$ROOT/scripts/demo" --short --out "$TMP/demo" >"$TMP/demo.log" 2>&1
rc=$?
n=1
if [ $rc = 0 ] && grep -q "checks, 0 failed" "$TMP/demo.log"; then
	echo "ok 1 scripts/demo --short: every act did what it said"
else
	failed=1
	echo "not ok 1 scripts/demo --short: every act did what it said (exit $rc)"
fi
sed 's/^/# /' "$TMP/demo.log"
check "the capture and the trace are kept" \
	test -s "$TMP/demo/demo.pcap" -a -s "$TMP/demo/demo.trace"
check "ladder.svg parses" /usr/bin/python3 -c \
	'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.tag.endswith("svg") and len([g for g in r.iter() if g.get("class") == "segment"]) >= 9' \
	"$TMP/demo/ladder.svg"
check "demo-path.txt: the client's and the server's transitions" \
	grep -q "^FIN_WAIT2 TIME_WAIT red rcv FIN$" "$TMP/demo/demo-path.txt"
check "demo-path.txt: the listener's and the refused connect's" \
	grep -q "^SYN_SENT CLOSE orange rcv RST$" "$TMP/demo/demo-path.txt"
exit $failed
