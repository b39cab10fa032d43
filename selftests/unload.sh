#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module unload safety (TAP):
#  - rmmod/insmod 20 times in a row;
#  - rmmod while a mini_tcp socket is open fails, and the module keeps working;
#  - after that socket is closed, rmmod succeeds.
# Needs MTCP_KO (set by scripts/vm-run); leaves the module loaded at the end
# so later tests of the group still have it.
set -u

KSFT_SKIP=4
PY=/usr/bin/python3
PROTO=${MTCP_PROTO:-253}

if [ -z "${MTCP_KO:-}" ] || [ ! -f "${MTCP_KO:-}" ]; then
	echo "1..0 # SKIP needs the module (MTCP_KO)"
	exit $KSFT_SKIP
fi
MOD=$(basename "$MTCP_KO" .ko)
MOD=${MOD//-/_}
# shellcheck disable=SC2206 # word splitting of module parameters intended
ARGS=(${MTCP_KO_ARGS:-})

TMP=$(mktemp -d)
holder_pid=
cleanup() {
	[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null && wait "$holder_pid" 2>/dev/null
	exec 3>&- 2>/dev/null
	rm -rf "$TMP"
	# later tests of the group need the module
	loaded || insmod "$MTCP_KO" "${ARGS[@]}"
}
trap cleanup EXIT

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n $*"
}
not_ok() {
	n=$((n + 1))
	failed=1
	echo "not ok $n $*"
}
check() {	# check "description" command...
	local desc=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		sed 's/^/# /' "$TMP/out"
	fi
}

loaded() { grep -q "^$MOD " /proc/modules; }
not_loaded() { ! loaded; }

# socket(AF_INET, SOCK_STREAM, PROTO) works
sock_ok() {
	$PY -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, $PROTO).close()"
}
# ... and fails with EPROTONOSUPPORT
sock_eprotonosupport() {
	$PY -c "
import errno, socket, sys
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM, $PROTO)
except OSError as e:
    sys.exit(0 if e.errno == errno.EPROTONOSUPPORT else 'errno %d' % e.errno)
sys.exit('socket() worked without the module')"
}

reload_loop() {
	local i
	for i in $(seq 1 20); do
		rmmod "$MOD" || { echo "rmmod failed in round $i"; return 1; }
		not_loaded || { echo "still loaded after rmmod in round $i"; return 1; }
		insmod "$MTCP_KO" "${ARGS[@]}" || { echo "insmod failed in round $i"; return 1; }
		loaded || { echo "not loaded after insmod in round $i"; return 1; }
	done
}

# start a process holding an open socket; it exits when fd 3 is closed
start_holder() {
	mkfifo "$TMP/ctl" || return 1
	$PY -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, $PROTO)
print('ready', flush=True)
sys.stdin.read()
s.close()" <"$TMP/ctl" >"$TMP/holder" 2>&1 &
	holder_pid=$!
	exec 3>"$TMP/ctl"
	for _ in $(seq 1 300); do
		grep -q ready "$TMP/holder" && return 0
		kill -0 "$holder_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$TMP/holder"
	return 1
}

stop_holder() {
	exec 3>&-
	wait "$holder_pid"
	local rc=$?
	holder_pid=
	return $rc
}

rmmod_then_eprotonosupport() {
	rmmod "$MOD" && sock_eprotonosupport
}

rmmod_fails() {
	if rmmod "$MOD"; then
		echo "rmmod succeeded while a socket was open"
		insmod "$MTCP_KO" "${ARGS[@]}"
		return 1
	fi
	loaded
}

# The number is taken: insmod fails with EBUSY and says why, nothing is left
# behind, and the module still loads with its own number afterwards.  6 is
# TCP's (a permanent protosw entry too); 17 is UDP's (a different type).
insmod_busy() {
	local p=$1 before
	rmmod "$MOD" || return 1
	before=$(dmesg | grep -c "IP protocol $p is already registered")
	if insmod "$MTCP_KO" ipproto="$p" 2>"$TMP/err"; then
		echo "insmod ipproto=$p succeeded"
		rmmod "$MOD"
		return 1
	fi
	grep -qi "busy" "$TMP/err" || { echo "not EBUSY:"; cat "$TMP/err"; return 1; }
	[ "$(dmesg | grep -c "IP protocol $p is already registered")" -gt "$before" ] ||
		{ echo "no log line"; return 1; }
	not_loaded || { echo "module left loaded"; return 1; }
	! grep -q "^MINI_TCP " /proc/slabinfo || { echo "MINI_TCP slab left behind"; return 1; }
	insmod "$MTCP_KO" "${ARGS[@]}" && sock_ok
}

# 4 (IPIP) has an offload built into every kernel (af_inet.c), while the
# protocol itself belongs to tunnel4.ko, which nothing here loads: the
# protocol slot is free, the offload slot is taken.  insmod fails with
# EBUSY and the offload's own message, and the unwinding gives the protocol
# slot back: a second try fails the same way, not as "already registered".
insmod_offload_busy() {
	local i
	rmmod "$MOD" || return 1
	if grep -q "^tunnel4 " /proc/modules; then
		echo "tunnel4 is loaded: protocol 4 is taken as well"
		insmod "$MTCP_KO" "${ARGS[@]}"
		return 1
	fi
	local offl reg
	reg=$(dmesg | grep -c "IP protocol 4 is already registered")
	offl=$(dmesg | grep -c "IP protocol 4 already has an offload")
	for i in 1 2; do
		if insmod "$MTCP_KO" ipproto=4 2>"$TMP/err"; then
			echo "insmod ipproto=4 succeeded (try $i)"
			rmmod "$MOD"
			return 1
		fi
		grep -qi "busy" "$TMP/err" || { echo "not EBUSY:"; cat "$TMP/err"; return 1; }
		not_loaded || { echo "module left loaded"; return 1; }
	done
	offl=$(($(dmesg | grep -c "IP protocol 4 already has an offload") - offl))
	[ "$offl" = 2 ] || { echo "$offl offload log lines for 2 tries"; dmesg | tail -3; return 1; }
	[ "$(dmesg | grep -c "IP protocol 4 is already registered")" = "$reg" ] ||
		{ echo "protocol 4 was left registered"; return 1; }
	! grep -q "^MINI_TCP " /proc/slabinfo || { echo "MINI_TCP slab left behind"; return 1; }
	insmod "$MTCP_KO" "${ARGS[@]}" && sock_ok
}

# Another number: the protocol moves with the module parameter.
other_number() {
	rmmod "$MOD" || return 1
	insmod "$MTCP_KO" ipproto=254 || return 1
	$PY -c "import socket; socket.socket(2, 1, 254).close()" || { rmmod "$MOD"; return 1; }
	PROTO=$PROTO sock_eprotonosupport || { rmmod "$MOD"; return 1; }
	rmmod "$MOD" && insmod "$MTCP_KO" "${ARGS[@]}"
}

echo "1..15"
check "module loaded at start" loaded
check "socket() works" sock_ok
check "rmmod/insmod 20 times" reload_loop
check "socket() works after the reload loop" sock_ok
check "rmmod, then socket() fails with EPROTONOSUPPORT" rmmod_then_eprotonosupport
loaded || insmod "$MTCP_KO" "${ARGS[@]}"
if start_holder >"$TMP/out" 2>&1; then
	ok "a process holds an open socket"
	check "rmmod fails while the socket is open" rmmod_fails
	check "module keeps working (new socket)" sock_ok
	check "holder closes its socket" stop_holder
	check "rmmod succeeds after the close" rmmod "$MOD"
else
	not_ok "a process holds an open socket"
	sed 's/^/# /' "$TMP/out"
	for d in "rmmod fails while the socket is open" "module keeps working (new socket)" \
		 "holder closes its socket" "rmmod succeeds after the close"; do
		not_ok "$d # not run"
	done
fi
check "insmod again" insmod "$MTCP_KO" "${ARGS[@]}"
check "insmod ipproto=6 (TCP's): EBUSY, a log line, nothing left" insmod_busy 6
check "insmod ipproto=17 (UDP's): EBUSY, a log line, nothing left" insmod_busy 17
check "insmod ipproto=4 (IPIP's offload, no protocol): EBUSY, its own log line, the protocol slot given back" insmod_offload_busy
check "insmod ipproto=254: socket(2, 1, 254) works, 253 does not" other_number
exit $failed
