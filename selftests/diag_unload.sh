#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mini_tcp_diag.ko and unloading (TAP; runs in the VM, needs MTCP_KO):
#  - with mini_tcp_diag loaded, sockets in a netns (listener, pair,
#    TIME_WAIT) are dumped with mtcp-ss -a -i -e -o; after ip netns del the
#    module's reference count is back to its baseline;
#  - rmmod mini_tcp fails while mini_tcp_diag (which uses it) is loaded;
#  - rmmod mini_tcp_diag works, mtcp-ss then fails with ENOENT; rmmod
#    mini_tcp works; insmod both 5 times with a dump in between;
#  - with mini_tcp loaded as ipproto=254, mini_tcp_diag answers for 254;
#  - autoload: with both modules in a depmod'ed copy of the module tree, a
#    dump for protocol 253 loads mini_tcp_diag by its alias
#    net-pf-16-proto-4-type-2-253 (skipped if the tree is not the VM's).
# Leaves mini_tcp loaded and mini_tcp_diag unloaded.
set -u

KSFT_SKIP=4
PROTO=${MTCP_PROTO:-253}
[ -n "${MTCP_KO:-}" ] && [ -f "${MTCP_KO:-}" ] ||
	{ echo "1..0 # SKIP needs the module (MTCP_KO)"; exit $KSFT_SKIP; }
[ "$PROTO" != 6 ] || { echo "1..0 # SKIP mini_tcp only (MTCP_PROTO=6)"; exit $KSFT_SKIP; }
DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=${MTCP_DIR:-$(cd "$DIR/.." && pwd)}
SS=$ROOT/build/mtcp-ss
DIAG_KO=$(dirname "$MTCP_KO")/mini_tcp_diag.ko
[ -f "$DIAG_KO" ] || { echo "1..0 # SKIP $DIAG_KO not built"; exit $KSFT_SKIP; }
# shellcheck disable=SC2206 # word splitting of module parameters intended
ARGS=(${MTCP_KO_ARGS:-})
TMP=$(mktemp -d)
NS=mtcp_diag_u
KVER=$(uname -r)
MDIR=/lib/modules/$KVER
MLINK=

loaded() { grep -q "^$1 " /proc/modules; }
refcnt() { cat /sys/module/mini_tcp/refcnt 2>/dev/null || echo none; }

cleanup() {
	ip netns del $NS 2>/dev/null
	if [ -n "$MLINK" ]; then
		rm -rf "$MDIR" && ln -s "$MLINK" "$MDIR"
	fi
	loaded mini_tcp_diag && rmmod mini_tcp_diag
	loaded mini_tcp || insmod "$MTCP_KO" "${ARGS[@]}"
	rm -rf "$TMP"
}
trap cleanup EXIT

n=0
failed=0
check() {	# check "description" command...
	local desc=$1
	shift
	n=$((n + 1))
	if "$@" >"$TMP/out" 2>&1; then
		echo "ok $n - $desc"
	else
		failed=1
		echo "not ok $n - $desc"
		sed 's/^/# /' "$TMP/out"
	fi
}

load_diag() {
	modprobe inet_diag 2>/dev/null
	loaded mini_tcp_diag || insmod "$DIAG_KO"
}

# sockets in a fresh netns, dumped from inside it; the process exits (its
# TIME_WAIT stays until the netns goes)
dump_in_netns() {
	ip netns add $NS && ip -n $NS link set lo up || return 1
	echo 600 | ip netns exec $NS tee /proc/sys/net/mini_tcp/tw_timeout >/dev/null
	ip netns exec $NS /usr/bin/python3 - "$SS" "$PROTO" <<-'EOF'
		import socket, subprocess, sys, time
		ss, proto = sys.argv[1], int(sys.argv[2])
		ls = socket.socket(2, 1, proto)
		ls.bind(("127.0.0.1", 7100)); ls.listen(4)
		c = socket.socket(2, 1, proto); c.connect(("127.0.0.1", 7100)); s, _ = ls.accept()
		t = socket.socket(2, 1, proto); t.connect(("127.0.0.1", 7100)); u, _ = ls.accept()
		t.close(); u.recv(1); u.close()
		for _ in range(50):
		    r = subprocess.run([ss, "-H", "-a", "-i", "-e", "-o"], capture_output=True, text=True)
		    states = [l.split()[0] for l in r.stdout.splitlines() if not l.startswith("\t")]
		    if sorted(states) == ["ESTAB", "ESTAB", "LISTEN", "TIME-WAIT"]:
		        print(r.stdout)
		        sys.exit(0)
		    time.sleep(0.1)
		print(r.stdout, r.stderr)
		sys.exit("want LISTEN, 2 ESTAB, TIME-WAIT")
	EOF
}

baseline_after_netns_del() {
	ip netns del $NS || return 1
	local i
	for i in $(seq 1 100); do
		[ "$(refcnt)" = "$BASE" ] && return 0
		sleep 0.2
	done
	echo "refcnt $(refcnt), baseline $BASE"
	return 1
}

rmmod_mini_tcp_fails() {
	if rmmod mini_tcp; then
		echo "rmmod mini_tcp succeeded under mini_tcp_diag"
		return 1
	fi
	loaded mini_tcp && loaded mini_tcp_diag
}

ss_enoent() {
	local rc=0
	"$SS" -a >"$TMP/ss" 2>&1 || rc=$?
	cat "$TMP/ss"
	[ $rc = 1 ] && grep -q "No such file" "$TMP/ss"
}

reload_rounds() {
	local i
	for i in 1 2 3 4 5; do
		insmod "$DIAG_KO" || { echo "insmod diag, round $i"; return 1; }
		"$SS" -a >/dev/null || { echo "mtcp-ss, round $i"; return 1; }
		rmmod mini_tcp_diag || { echo "rmmod diag, round $i"; return 1; }
		rmmod mini_tcp || { echo "rmmod mini_tcp, round $i"; return 1; }
		insmod "$MTCP_KO" "${ARGS[@]}" || { echo "insmod mini_tcp, round $i"; return 1; }
	done
}

# mini_tcp with ipproto=254: mini_tcp_diag registers for 254, not 253
other_proto() {
	local rc=0 out
	rmmod mini_tcp && insmod "$MTCP_KO" ipproto=254 || return 1
	insmod "$DIAG_KO" || rc=1
	if [ $rc = 0 ]; then
		ip netns add $NS && ip -n $NS link set lo up || rc=1
		out=$(ip netns exec $NS /usr/bin/python3 -c '
import socket, subprocess, sys
ls = socket.socket(2, 1, 254); ls.bind(("127.0.0.1", 7200)); ls.listen(3)
print(subprocess.run(sys.argv[1:], capture_output=True, text=True).stdout, end="")
' "$SS" -H -P 254 -l) || rc=1
		echo "-P 254 -l: $out"
		[[ $out == LISTEN*" 0 "*" 3 "*"127.0.0.1:7200 "*"0.0.0.0:*"* ]] &&
			[ "$(echo "$out" | wc -l)" = 1 ] || { echo "want the listener"; rc=1; }
		ip netns exec $NS "$SS" -P 253 -a && { echo "-P 253 worked"; rc=1; }
		ip netns del $NS
	fi
	loaded mini_tcp_diag && { rmmod mini_tcp_diag || rc=1; }
	rmmod mini_tcp || rc=1
	insmod "$MTCP_KO" "${ARGS[@]}" || rc=1
	return $rc
}

# a module tree with both modules, depmod'ed, in place of the VM's
# read-only one (a symlink in a tmpfs, see scripts/vm-init)
autoload() {
	local out
	loaded mini_tcp_diag && rmmod mini_tcp_diag
	MLINK=$(readlink "$MDIR")
	rm "$MDIR" && mkdir "$MDIR" && cp -rs "$MLINK/." "$MDIR/" &&
		mkdir -p "$MDIR/extra" && cp "$MTCP_KO" "$DIAG_KO" "$MDIR/extra/" &&
		depmod "$KVER" || return 1
	modinfo -F alias mini_tcp_diag
	out=$("$SS" -l) || { echo "$out"; return 1; }
	loaded mini_tcp_diag || { echo "not autoloaded"; return 1; }
	echo "$out"
}

echo "TAP version 13"
if ! load_diag; then
	echo "1..1"
	echo "not ok 1 - insmod $DIAG_KO"
	exit 1
fi
# the reference mini_tcp_diag holds; earlier tests' namespaces may still be
# going away
BASE=1
for _ in $(seq 1 300); do
	[ "$(refcnt)" = "$BASE" ] && break
	sleep 0.2
done
echo "# mini_tcp refcnt with mini_tcp_diag loaded: $(refcnt)"
check "netns with a listener, a pair and a TIME_WAIT: mtcp-ss -a -i -e -o lists them" dump_in_netns
check "ip netns del: mini_tcp's refcnt back to $BASE" baseline_after_netns_del
check "rmmod mini_tcp fails while mini_tcp_diag is loaded" rmmod_mini_tcp_fails
check "rmmod mini_tcp_diag" rmmod mini_tcp_diag
check "mtcp-ss without mini_tcp_diag: exit 1, ENOENT" ss_enoent
check "rmmod mini_tcp after mini_tcp_diag, insmod again" bash -c "rmmod mini_tcp && insmod $MTCP_KO ${ARGS[*]}"
check "5 rounds: insmod mini_tcp_diag, dump, rmmod both, insmod mini_tcp" reload_rounds
check "ipproto=254: mini_tcp_diag answers for 254 (a listener), not for 253" other_proto
if [ -L "$MDIR" ] && command -v depmod >/dev/null; then
	check "autoload: a dump for protocol 253 loads mini_tcp_diag (alias net-pf-16-proto-4-type-2-253)" autoload
	check "rmmod mini_tcp_diag and mini_tcp after the autoload, insmod mini_tcp" \
		bash -c "rmmod mini_tcp_diag && rmmod mini_tcp && insmod $MTCP_KO ${ARGS[*]}"
else
	n=$((n + 2))
	echo "ok $((n - 1)) - autoload # SKIP $MDIR is not the VM's module tree"
	echo "ok $n - rmmod after the autoload # SKIP"
fi
echo "1..$n"
exit $failed
