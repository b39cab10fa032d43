#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Randomized syscall stress in rounds (TAP; issue "Hardening").  Runs inside
# the VM.  Each round:
#   1. two network namespaces joined by a veth (198.51.100.1 <-> .2, RFC
#      5737; 1 ms delay and 1% loss one way), short timers there
#      (TIME_WAIT 1 s, FIN_WAIT_2 2 s, one orphan retry, one SYN/SYN-ACK
#      retry);
#   2. build/selftests/stress (stress.c) with 4 threads for
#      MTCP_STRESS_SECS seconds on sockets of $MTCP_PROTO in both namespaces
#      and their loopbacks: no EFAULT/EBADF, no call stuck;
#   3. every fd is closed: both namespaces' socket tables drain (mini_tcp:
#      empty, TIME_WAIT included; TCP: nothing but TIME_WAIT) in 40 s;
#   4. the namespaces are deleted; for mini_tcp the module's reference count
#      drops to 0, rmmod succeeds, its slab caches are gone, insmod again.
# Kernel complaints fail the run (run_group, vm-run).
#
# Environment: MTCP_STRESS_ROUNDS (2), MTCP_STRESS_SECS (8 per round),
# MTCP_STRESS_SKIP_IPOPT=1 (no IP_OPTIONS in the random options),
# MTCP_STRESS_SEED.  `make stress` runs a long version.
set -u

KSFT_SKIP=4
PROTO=${MTCP_PROTO:-253}
ROUNDS=${MTCP_STRESS_ROUNDS:-2}
SECS=${MTCP_STRESS_SECS:-8}
DIR=$(cd "$(dirname "$0")" && pwd)
BIN=$DIR/../build/selftests/stress
A=mtst_a
B=mtst_b

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit $KSFT_SKIP; }
[ -x "$BIN" ] || { echo "1..1"; echo "not ok 1 $BIN built (make)"; exit 1; }
if [ "$PROTO" != 6 ]; then
	if [ -z "${MTCP_KO:-}" ] || [ ! -f "${MTCP_KO:-}" ]; then
		echo "1..0 # SKIP needs the module (MTCP_KO)"
		exit $KSFT_SKIP
	fi
	MOD=$(basename "$MTCP_KO" .ko)
	MOD=${MOD//-/_}
	# shellcheck disable=SC2206 # word splitting of module parameters intended
	ARGS=(${MTCP_KO_ARGS:-})
fi

TMP=$(mktemp -d)
loaded() { grep -q "^$MOD " /proc/modules; }
cleanup() {
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$TMP"
	# later tests of the group need the module
	[ "$PROTO" = 6 ] || loaded || insmod "$MTCP_KO" "${ARGS[@]}"
}
trap cleanup EXIT

# shellcheck source=lib/tap.sh
. "$DIR/lib/tap.sh"

sysctls() {	# in netns $1
	if [ "$PROTO" = 6 ]; then
		ip netns exec "$1" sh -c 'cd /proc/sys/net/ipv4 &&
			echo 2 >tcp_fin_timeout && echo 1 >tcp_orphan_retries &&
			echo 1 >tcp_syn_retries && echo 1 >tcp_synack_retries &&
			echo 3 >tcp_retries2'
	else
		ip netns exec "$1" sh -c 'cd /proc/sys/net/mini_tcp &&
			echo 1 >tw_timeout && echo 2 >fin_timeout &&
			echo 1 >orphan_retries && echo 1 >syn_retries &&
			echo 1 >synack_retries && echo 3 >retries2'
	fi
}

setup() {
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	ip netns add $A && ip netns add $B &&
	ip -n $A link set lo up && ip -n $B link set lo up &&
	ip -n $A link add st0 type veth peer name st0 netns $B &&
	ip -n $A addr add 198.51.100.1/24 dev st0 &&
	ip -n $B addr add 198.51.100.2/24 dev st0 &&
	ip -n $A link set st0 up && ip -n $B link set st0 up &&
	ip netns exec $A tc qdisc add dev st0 root netem delay 1ms loss 1% &&
	sysctls $A && sysctls $B
}

run_stress() {
	MTCP_PROTO=$PROTO MTCP_STRESS_NS="$A $B" \
		MTCP_STRESS_ADDRS="0:198.51.100.1 1:198.51.100.2" \
		timeout -k 5 $((SECS + 60)) "$BIN" "$SECS" 4
}

table() {	# table NETNS: the state column of its socket table
	local f=/proc/net/mini_tcp
	[ "$PROTO" = 6 ] && f=/proc/net/tcp
	ip netns exec "$1" awk 'NR > 1 { print $4 }' "$f"
}

drained() {	# every table empty (TCP: only TIME_WAIT, 06, left)
	local t0=$SECONDS ns left
	while :; do
		left=
		for ns in $A $B; do
			if [ "$PROTO" = 6 ]; then
				left+=$(table $ns | grep -vx 06 | sort | uniq -c | tr '\n' ' ')
			else
				left+=$(table $ns | sort | uniq -c | tr '\n' ' ')
			fi
		done
		[ -z "$left" ] && { echo "drained after $((SECONDS - t0)) s"; return 0; }
		if [ $((SECONDS - t0)) -ge 40 ]; then
			echo "left after 40 s (count state): $left"
			for ns in $A $B; do
				echo "$ns:"
				if [ "$PROTO" = 6 ]; then ip netns exec $ns cat /proc/net/tcp
				else ip netns exec $ns cat /proc/net/mini_tcp; fi
			done | head -40
			return 1
		fi
		sleep 0.5
	done
}

refcnt() { cat "/sys/module/$MOD/refcnt" 2>/dev/null || echo gone; }
slabs() { grep -iE '^(mini_tcp|[a-z_]*MINI_TCP) ' /proc/slabinfo | awk '{print $1 "=" $2}' | tr '\n' ' '; }

unload() {
	ip netns del $A && ip netns del $B || return 1
	[ "$PROTO" = 6 ] && return 0
	local t0=$SECONDS out
	while [ "$(refcnt)" != 0 ] && [ $((SECONDS - t0)) -lt 30 ]; do
		sleep 0.2
	done
	if ! out=$(rmmod "$MOD" 2>&1); then
		echo "rmmod failed ($(refcnt) references after $((SECONDS - t0)) s): $out"
		echo "slabs: $(slabs)"
		return 1
	fi
	echo "rmmod after $((SECONDS - t0)) s"
	if [ -n "$(slabs)" ]; then
		echo "slab caches left after rmmod: $(slabs)"
		insmod "$MTCP_KO" "${ARGS[@]}"
		return 1
	fi
	insmod "$MTCP_KO" "${ARGS[@]}" && loaded
}

if [ "$PROTO" = 6 ]; then
	echo "1..$((ROUNDS * 3))"
	last="netns deleted"
else
	echo "1..$((ROUNDS * 3))"
	last="netns deleted, refcnt 0, rmmod, slab caches gone, insmod"
fi
for r in $(seq 1 "$ROUNDS"); do
	if ! setup >"$TMP/out" 2>&1; then
		for d in "stress" "drained" "$last"; do
			n=$((n + 1)); failed=1
			echo "not ok $n round $r: $d # setup failed"
		done
		sed 's/^/# /' "$TMP/out"
		continue
	fi
	check "round $r: $SECS s of random calls by 4 threads, 2 netns + veth (loss) + loopback" run_stress
	grep -E "^# (stress:|[0-9]+ calls|(connect|accept|send|recv) )" "$TMP/out"
	check "round $r: all fds closed, the socket tables drain" drained
	check "round $r: $last" unload
done
exit $failed
