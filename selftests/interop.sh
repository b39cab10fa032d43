#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/interop.sh [KERNEL_A [KERNEL_B]]: mini_tcp between two kernels,
# on a virtual wire between two VMs (host-side test; `make interop`).
#
# VM 1 boots KERNEL_A (default 6.1) as the server, 10.77.0.1/24, and captures
# the wire; VM 2 boots KERNEL_B (default 7.3) as the client, 10.77.0.2/24;
# both with their kernel's mini_tcp.ko, joined by scripts/vm-run --wire.  The
# client sends MTCP_INTEROP_BYTES (default 4 MiB) of pseudo-random data, the
# server answers with its sha256, both close (selftests/interop_peer.py).
# Then the same between two KERNEL_A VMs, the reference: the two captures
# must show the same handshake and teardown segments and the same data
# totals (selftests/interop_cmp.py).  The pairs run one after the other, so
# at most two VMs (one vCPU each) run at once.
#
# Prints TAP; exit status 0 when every check passed.  Logs, captures and
# their normal forms: build/interop/<A>-<B>/ (MTCP_INTEROP_OUT).
# MTCP_INTEROP_TIMEOUT: seconds each VM may take (default 300).

set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KA=${1:-6.1}
KB=${2:-7.3}
BYTES=${MTCP_INTEROP_BYTES:-4194304}
TMO=${MTCP_INTEROP_TIMEOUT:-300}
OUT=${MTCP_INTEROP_OUT:-$ROOT/build/interop}
PORT=5001
CMP=(/usr/bin/python3 selftests/interop_cmp.py)

n=0 failed=0
tap() {	# tap STATUS DESC: STATUS 0 is ok
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
	fi
}
# a peer's TAP line matching RE was "ok"
peer_ok() { grep -Eq "^ok [0-9]+ - $2" "$1"; }
# the lines of a log as TAP comments
show_log() { echo "# ---- $1"; sed 's/^/#   /' "$1"; }

pids=()
stop() {
	local p
	trap - INT TERM
	# vm-run's own trap takes its QEMU down
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "# interrupted"
	exit 130
}
trap stop INT TERM

# run_pair TAG SERVER_KERNEL CLIENT_KERNEL: one exchange; its results are
# read from $OUT/TAG/{server,client}.log and .rc and server/wire.pcap.
run_pair() {
	local tag=$1 ks=$2 kc=$3 d=$OUT/$1 wire rc t0=$SECONDS
	rm -rf "$d"
	mkdir -p "$d/server" "$d/client"
	# a wire of its own: a name no other run uses at the same time
	wire=mtcp-interop-$$-$tag
	# one vCPU each: the two VMs together take the two host CPUs, no more
	bash scripts/vm-run --kernel "$ks" --wire "$wire:1" --smp 1 --mem 1G \
		--timeout "$TMO" --out-dir "$d/server" -- \
		selftests/interop_peer.py server 10.77.0.1/24 "$PORT" "$BYTES" \
		>"$d/server.log" 2>&1 &
	pids=($!)
	bash scripts/vm-run --kernel "$kc" --wire "$wire:2" --smp 1 --mem 1G \
		--timeout "$TMO" --out-dir "$d/client" -- \
		selftests/interop_peer.py client 10.77.0.2/24 10.77.0.1 "$PORT" "$BYTES" \
		>"$d/client.log" 2>&1 &
	pids+=($!)
	rc=0; wait "${pids[0]}" || rc=$?
	echo "$rc" >"$d/server.rc"
	rc=0; wait "${pids[1]}" || rc=$?
	echo "$rc" >"$d/client.rc"
	pids=()
	echo "# $tag: server $ks, client $kc: $((SECONDS - t0)) s, vm-run exit" \
		"$(cat "$d/server.rc") (server) $(cat "$d/client.rc") (client)"
}

# check_pair TAG: the TAP lines of one exchange
check_pair() {
	local tag=$1 d=$OUT/$1 what=$2 st pcap=$OUT/$1/server/wire.pcap before=$failed
	st=0
	peer_ok "$d/server.log" "up:" && peer_ok "$d/client.log" "up:" || st=1
	tap $st "$what: both VMs up (NIC on the wire, module loaded, peer reachable)"
	st=0
	peer_ok "$d/server.log" "received $BYTES bytes" &&
		peer_ok "$d/server.log" "the bytes received are the pattern's" &&
		peer_ok "$d/client.log" "the server's sha256 .* \(byte-exact\)" || st=1
	tap $st "$what: transfer of $BYTES bytes byte-exact (sha256 on both sides)"
	st=0
	peer_ok "$d/server.log" "saw EOF" && peer_ok "$d/client.log" "saw EOF" &&
		peer_ok "$d/server.log" "server's socket table empty" &&
		peer_ok "$d/client.log" "client's socket in TIME_WAIT" || st=1
	if [ -s "$pcap" ]; then
		"${CMP[@]}" complete "$pcap" "$BYTES" || st=1
		"${CMP[@]}" no-rst "$pcap" || st=1
	else
		echo "# $tag: no capture ($pcap)"
		st=1
	fi
	tap $st "$what: clean close (both saw EOF, a FIN each way and acked, no RST on the wire)"
	st=0
	[ "$(cat "$d/server.rc")" = 0 ] && [ "$(cat "$d/client.rc")" = 0 ] || st=1
	tap $st "$what: both VMs finished, every peer check passed, no kernel complaint"
	if [ -s "$pcap" ]; then
		"${CMP[@]}" show "$pcap" | tee "$d/normal.txt"
		scripts/mtcp-ladder --list "$pcap" >"$d/ladder.txt" 2>&1 || true
	fi
	if [ "$failed" != "$before" ]; then
		show_log "$d/server.log"
		show_log "$d/client.log"
	fi
}

echo "TAP version 13"
echo "# interop: server $KA, client $KB; reference $KA <-> $KA; $BYTES bytes"
rm -rf "$OUT"
mkdir -p "$OUT"
run_pair "$KA-$KB" "$KA" "$KB"
check_pair "$KA-$KB" "$KA<->$KB"
if [ "$KA" != "$KB" ]; then
	run_pair "$KA-$KA" "$KA" "$KA"
	check_pair "$KA-$KA" "reference $KA<->$KA"
	got=$OUT/$KA-$KB/server/wire.pcap
	ref=$OUT/$KA-$KA/server/wire.pcap
	for part in handshake teardown data; do
		st=0
		"${CMP[@]}" same "$part" "$got" "$ref" || st=1
		case $part in
		data) desc="same data-phase totals (bytes each way, largest segment, options)" ;;
		*) desc="same $part segments (flags, relative seq/ack, lengths, options)" ;;
		esac
		tap $st "$KA<->$KB: $desc as $KA<->$KA"
	done
fi
echo "1..$n"
[ "$failed" = 0 ]
