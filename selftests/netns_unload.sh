#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# netns_unload.sh - resource release on unload and netns deletion (TAP;
# issue 4 point 8).  Runs inside the VM (scripts/vm-run), needs MTCP_KO.
#
#  s1  rmmod with a listener open fails ("in use"; delete_module(2): EAGAIN,
#      what 6.1 returns for a module with references) and the listener keeps
#      accepting; once it is closed rmmod succeeds.
#  s2  rmmod with only TIME_WAIT socks left fails; after tw_timeout (2 s) it
#      succeeds.
#  s3  rmmod while a request sock of a closed listener exists (its SYN-ACKs
#      are blackholed) fails; once the request sock is gone it succeeds.
#  s4  sockets in every state in two namespaces (LISTEN, request socks,
#      unaccepted children, ESTABLISHED, FIN_WAIT_1 orphans (FIN unacked, and
#      behind a zero window), FIN_WAIT_2 orphan, CLOSE_WAIT, TIME_WAIT both
#      sides, SYN_SENT): rmmod fails; kill the process, ip netns del both:
#      every slab object and module reference is released in bounded time,
#      rmmod succeeds.  tw_timeout stays 30 s, longer than that bound, so the
#      TIME_WAIT socks must be purged by the pernet exit, not expire.
#  s5  1000 connect/close cycles (tw_timeout 1 s) leave zero sockets and
#      baseline slab counts, before the netns is deleted.
#  s6  5 rounds of s4 + rmmod + insmod; odd rounds call delete_module(2) in a
#      loop right after the netns deletion (racing the teardown), even rounds
#      wait for the baseline first.
#  s7  the link goes first (both veth ends down), then the process: A's
#      FIN_WAIT_2 orphan, A's FIN_WAIT_1 orphan behind B's zero window and
#      B's LAST_ACK orphan whose FIN never left must all be reaped (fin_timeout
#      3 s, orphan_retries 1) as TCP reaps them; then netns del, rmmod.
# After every scenario: the module's slab caches (/proc/slabinfo active
# objects of MINI_TCP, request_sock_MINI_TCP, tw_sock_MINI_TCP,
# mini_tcp_bind_bucket) and its reference count are
# back to their values at the start, and a connect/accept/echo in a fresh
# netns works.  Kernel WARNING/BUG/Oops fail the run through vm-run.
#
# Environment (vm-run passes MTCP_* through): MTCP_NU_CYCLES (1000),
# MTCP_NU_ROUNDS (5), MTCP_NU_WAIT (30: seconds to wait for the baseline
# after a netns deletion).  Needs an idle module at the start (waits up to
# 70 s for earlier tests' TIME_WAIT socks).  Leaves the module loaded.
#
# Topology of a pair (RFC 5737 addresses), veth nu0 <-> nu0:
#   A 192.0.2.1  --  B 192.0.2.2, 192.0.2.3, 192.0.2.4
#   A has a permanent neighbour entry with a MAC nobody owns for 192.0.2.3
#   (SYN-ACKs to it are lost: request socks stay), and gets one for
#   192.0.2.4 once a connection from there is established (its FIN is never
#   acknowledged: FIN_WAIT_1 orphan).
set -u

KSFT_SKIP=4
PY=/usr/bin/python3
PROTO=${MTCP_PROTO:-253}
CYCLES=${MTCP_NU_CYCLES:-1000}
ROUNDS=${MTCP_NU_ROUNDS:-5}
NSWAIT=${MTCP_NU_WAIT:-30}
CACHES="MINI_TCP request_sock_MINI_TCP tw_sock_MINI_TCP mini_tcp_bind_bucket"
BOGUS_MAC=02:00:00:00:00:01
PLAN=$((22 + ROUNDS + 1 + 6))

if [ -z "${MTCP_KO:-}" ] || [ ! -f "${MTCP_KO:-}" ]; then
	echo "1..0 # SKIP needs the module (MTCP_KO)"
	exit $KSFT_SKIP
fi
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit $KSFT_SKIP; }
[ "$PROTO" != 6 ] || { echo "1..0 # SKIP mini_tcp only (MTCP_PROTO=6)"; exit $KSFT_SKIP; }
MOD=$(basename "$MTCP_KO" .ko)
MOD=${MOD//-/_}
# shellcheck disable=SC2206 # word splitting of module parameters intended
ARGS=(${MTCP_KO_ARGS:-})

TMP=$(mktemp -d /tmp/netns_unload.XXXXXX)
HELPER=$TMP/helper.py
NETNS_MADE=()
CTL_PID=
CTL_W=
CTL_R=
REPLY_LINE=
trap '' PIPE

loaded() { grep -q "^$MOD " /proc/modules; }

cleanup() {
	ctl_kill
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
	# later tests of the group need the module
	loaded || insmod "$MTCP_KO" "${ARGS[@]}"
}
trap cleanup EXIT

# ----------------------------------------------------------------- helper
# A line-command socket driver: one command per line on stdin, one reply
# line ("OK ..." or "ERR ...") on stdout.  It keeps every socket in one
# process and moves its (only) thread between namespaces with setns(2), so
# /proc/self/net and /proc/sys/net are those of the current namespace.
cat >"$HELPER" <<'EOF'
import ctypes, errno, os, re, socket, struct, sys, time

PROTO = int(os.environ.get("MTCP_PROTO") or 253)
CLONE_NEWNET = 0x40000000
SYS_delete_module = 176          # x86_64
libc = ctypes.CDLL(None, use_errno=True)
INIT_NS = os.open("/proc/self/ns/net", os.O_RDONLY)
socks = {}
socket.setdefaulttimeout(10)


class Fail(Exception):
    pass


def setns_fd(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def c_ns(name):
    if name == "-":
        setns_fd(INIT_NS)
        return "init"
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)
    return name


def new_sock():
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)


def name(a):
    return "%s:%d" % a


def c_listen(sid, addr, port, backlog="8"):
    s = new_sock()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(int(backlog))
    socks[sid] = s
    return name(s.getsockname())


def c_connect(sid, addr, port, src="-"):
    s = new_sock()
    if src != "-":
        s.bind((src, 0))
    s.connect((addr, int(port)))
    socks[sid] = s
    return name(s.getsockname())


def c_connect_nb(sid, addr, port, src="-"):
    """connect() that must not complete (EINPROGRESS)."""
    s = new_sock()
    if src != "-":
        s.bind((src, 0))
    s.setblocking(False)
    rc = s.connect_ex((addr, int(port)))
    if rc != errno.EINPROGRESS:
        s.close()
        raise Fail("connect: %s, want EINPROGRESS" % errno.errorcode.get(rc, rc))
    socks[sid] = s
    return name(s.getsockname())


def c_accept(sid, lid):
    c, peer = socks[lid].accept()
    socks[sid] = c
    return name(peer)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise Fail("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def c_xfer(a, b, n="4"):
    data = os.urandom(int(n))
    socks[a].sendall(data)
    if recv_exact(socks[b], int(n)) != data:
        raise Fail("data mismatch")
    return n


def c_echo(a, b):
    c_xfer(a, b)
    c_xfer(b, a)


def c_pair(cid, sid, lid, ns_c, ns_s, addr, port, src="-"):
    """connect cid (in ns_c), accept it as sid (in ns_s), echo; ends in ns_s."""
    c_ns(ns_c)
    r = c_connect(cid, addr, port, src)
    c_ns(ns_s)
    c_accept(sid, lid)
    c_echo(cid, sid)
    return r


def c_eof(sid):
    d = socks[sid].recv(100)
    if d:
        raise Fail("%d bytes instead of EOF" % len(d))


def c_fill(sid):
    """Send until the peer's window and our send buffer are full."""
    s = socks[sid]
    s.setblocking(False)
    total = idle = 0
    chunk = b"z" * 65536
    while idle < 3:
        n = 0
        while True:
            try:
                n += s.send(chunk)
            except BlockingIOError:
                break
        total += n
        idle = idle + 1 if n == 0 else 0
        time.sleep(0.2)
    s.settimeout(10)
    return total


def c_close(sid):
    socks.pop(sid).close()


def c_abort(sid):
    s = socks.pop(sid)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def c_sysctl(key, val):
    path = "/proc/sys/net/mini_tcp/" + key
    with open(path, "w") as f:
        f.write(val)
    with open(path) as f:
        back = f.read().strip()
    if back != val:
        raise Fail("%s reads back %s" % (key, back))


def table():
    rows = []
    with open("/proc/self/net/mini_tcp") as f:
        next(f)
        for line in f:
            p = line.split()
            rows.append((p[3], int(p[6], 16)))
    return rows


def summary(rows):
    n = {}
    for st, _ in rows:
        n[st] = n.get(st, 0) + 1
    return " ".join("%s:%d" % kv for kv in sorted(n.items())) or "empty"


def c_table():
    return summary(table())


COND = re.compile(r"^(\*|[0-9A-F]{2})(>=|==|<=)(\d+)$")


def holds(rows, conds):
    for st, op, n in conds:
        k = sum(1 for r in rows if st == "*" or r[0] == st)
        if not {">=": k >= n, "==": k == n, "<=": k <= n}[op]:
            return False
    return True


def c_wait_states(tmo, *conds):
    """Wait until the table matches every STATE{>=,==,<=}N (* = any)."""
    cs = []
    for c in conds:
        m = COND.match(c)
        if not m:
            raise Fail("bad condition " + c)
        cs.append((m.group(1), m.group(2), int(m.group(3))))
    t0 = time.monotonic()
    while True:
        rows = table()
        if holds(rows, cs):
            return "%s (%.1f s)" % (summary(rows), time.monotonic() - t0)
        if time.monotonic() - t0 > float(tmo):
            raise Fail("timeout after %s s: %s" % (tmo, summary(rows)))
        time.sleep(0.05)


def c_wait_retrans(tmo, st, n):
    """Wait until a socket in state st has retransmitted >= n times."""
    t0 = time.monotonic()
    while True:
        rows = table()
        if any(r[0] == st and r[1] >= int(n) for r in rows):
            return "%s (%.1f s)" % (summary(rows), time.monotonic() - t0)
        if time.monotonic() - t0 > float(tmo):
            raise Fail("timeout after %s s: %s" % (tmo, summary(rows)))
        time.sleep(0.05)


def c_rmmod(mod):
    """delete_module(2) itself (kmod's rmmod refuses early on refcnt != 0)."""
    if libc.syscall(SYS_delete_module, mod.encode(), os.O_NONBLOCK) == 0:
        return "0"
    return errno.errorcode.get(ctypes.get_errno(), "?")


def c_echo_test(addr, port):
    l = new_sock()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, int(port)))
    l.listen(4)
    c = new_sock()
    c.connect((addr, int(port)))
    s, _ = l.accept()
    for a, b in ((c, s), (s, c)):
        data = os.urandom(1000)
        a.sendall(data)
        if recv_exact(b, len(data)) != data:
            raise Fail("echo mismatch")
    c.close()
    if s.recv(10) != b"":
        raise Fail("no EOF after the client's close")
    s.close()
    l.close()


def c_cycles(n, addr, port):
    l = new_sock()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, int(port)))
    l.listen(16)
    t0 = time.monotonic()
    try:
        for i in range(int(n)):
            c = new_sock()
            try:
                c.connect((addr, int(port)))
                s, _ = l.accept()
                c.sendall(b"q")
                if s.recv(1) != b"q":
                    raise Fail("cycle %d: request lost" % i)
                s.sendall(b"r")
                if c.recv(1) != b"r":
                    raise Fail("cycle %d: reply lost" % i)
            except Exception as e:
                raise Fail("cycle %d: %s" % (i, e))
            c.close()                    # active close: client TIME_WAIT
            if s.recv(1) != b"":
                raise Fail("cycle %d: no EOF" % i)
            s.close()
    finally:
        l.close()
    dt = time.monotonic() - t0
    return "%s cycles in %.1f s (%.0f/s)" % (n, dt, int(n) / dt)


def c_sleep(s):
    time.sleep(float(s))


def c_hello():
    return "pid %d proto %d" % (os.getpid(), PROTO)


CMDS = {k[2:]: v for k, v in globals().items() if k.startswith("c_")}

while True:
    line = sys.stdin.readline()
    if not line:
        break
    w = line.split()
    if not w:
        continue
    try:
        r = CMDS[w[0]](*w[1:])
        out = "OK" + ("" if r is None else " " + str(r))
    except Exception as e:
        out = "ERR %s: %s" % (type(e).__name__, e)
    sys.stdout.write(out.replace("\n", " ") + "\n")
    sys.stdout.flush()
EOF

ctl_start() {
	rm -f "$TMP/ctl.in" "$TMP/ctl.out"
	mkfifo "$TMP/ctl.in" "$TMP/ctl.out" || return 1
	MTCP_PROTO=$PROTO "$PY" "$HELPER" <"$TMP/ctl.in" >"$TMP/ctl.out" 2>>"$TMP/helper.err" &
	CTL_PID=$!
	exec {CTL_W}>"$TMP/ctl.in" {CTL_R}<"$TMP/ctl.out"
	ctl hello
}

ctl_kill() {
	[ -n "$CTL_PID" ] || return 0
	kill -KILL "$CTL_PID" 2>/dev/null
	wait "$CTL_PID" 2>/dev/null
	exec {CTL_W}>&- {CTL_R}<&-
	CTL_PID=
}

ctl_ensure() {
	if [ -n "$CTL_PID" ] && kill -0 "$CTL_PID" 2>/dev/null; then
		return 0
	fi
	ctl_kill
	ctl_start
}

# ctl CMD ARG...: one command to the helper; its reply in REPLY_LINE
ctl() {
	REPLY_LINE=
	if [ -z "$CTL_PID" ]; then
		REPLY_LINE="ERR helper not running"
		return 1
	fi
	if ! { printf '%s\n' "$*" >&"$CTL_W"; } 2>/dev/null; then
		REPLY_LINE="ERR helper gone ($(tail -n 3 "$TMP/helper.err" 2>/dev/null))"
		return 1
	fi
	if ! read -r -t 90 -u "$CTL_R" REPLY_LINE; then
		REPLY_LINE="ERR no reply ($(tail -n 3 "$TMP/helper.err" 2>/dev/null))"
		return 1
	fi
	[[ $REPLY_LINE == OK* ]]
}

# step CMD ARG...: ctl, and say what failed
step() {
	ctl "$@" && return 0
	echo "$* -> $REPLY_LINE"
	return 1
}

# ------------------------------------------------------------------- TAP
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*"; }
diag() { [ -n "$*" ] && sed 's/^/# /' <<<"$*"; }
usec() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
since() { local d=$(($(usec) - $1)); printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000)); }

# check "description" function args...: the function runs in this shell
# (it may talk to the helper); its output becomes diagnostics
check() {
	local desc=$1 t0 rc
	shift
	t0=$(usec)
	"$@" >"$TMP/out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
	diag "$(cat "$TMP/out")"
	echo "#   ($(since "$t0") s)"
	return $rc
}

# ------------------------------------------------------- module, slabs
refcnt() {
	local r=-
	read -r r <"/sys/module/$MOD/refcnt" 2>/dev/null
	echo "$r"
}

# "MINI_TCP=0 request_sock_MINI_TCP=0 ..." (active objects)
slab_now() {
	awk -v list="$CACHES" '
		BEGIN { n = split(list, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
		$1 in want { v[$1] = $2 }
		END { for (i = 1; i <= n; i++) printf "%s=%s ", a[i], (a[i] in v) ? v[a[i]] : "missing" }
	' /proc/slabinfo
}

at_baseline() {	# every cache present and <= baseline, refcnt too
	local r
	r=$(refcnt)
	[ "$r" != - ] && [ "$r" -le "$BASE_REF" ] || return 1
	awk -v now="$(slab_now)" -v base="$BASE_SLAB" '
		BEGIN {
			n = split(base, b, " ")
			split(now, c, " ")
			for (i = 1; i <= n; i++) {
				split(b[i], bb, "="); split(c[i], cc, "=")
				if (cc[2] == "missing" || cc[2] + 0 > bb[2] + 0) exit 1
			}
		}'
}

# wait_baseline SECONDS: poll slabs and refcnt until back at the baseline
wait_baseline() {
	local t0 deadline
	t0=$(usec)
	deadline=$((t0 + $1 * 1000000))
	while ! at_baseline; do
		if [ "$(usec)" -gt "$deadline" ]; then
			echo "not back to baseline after $1 s:"
			echo "  now:      $(slab_now)refcnt=$(refcnt)"
			echo "  baseline: ${BASE_SLAB}refcnt=$BASE_REF"
			return 1
		fi
		sleep 0.1
	done
	echo "slabs and refcnt at baseline after $(since "$t0") s"
}

delete_module() {	# exit status: 0 or the errno of delete_module(2)
	perl -e 'exit(syscall(176, $ARGV[0], 2048) == 0 ? 0 : $! + 0)' "$MOD"
}

reload() { loaded || insmod "$MTCP_KO" "${ARGS[@]}"; }

# rmmod must fail: kmod's rmmod says "in use", delete_module(2) says
# EAGAIN (what 6.1 returns for a module with references) or EBUSY
rmmod_busy() {
	local out rc
	out=$(rmmod "$MOD" 2>&1)
	rc=$?
	if [ $rc = 0 ] || ! loaded; then
		echo "rmmod succeeded with mini_tcp sockets alive (refcnt was $(refcnt))"
		reload
		return 1
	fi
	delete_module
	rc=$?
	if [ $rc = 0 ] || ! loaded; then
		echo "delete_module(2) succeeded with mini_tcp sockets alive"
		reload
		return 1
	fi
	echo "rmmod: $out"
	echo "delete_module(2): errno $rc, refcnt $(refcnt)"
	case $out in
	*"in use"*) ;;
	*) echo "rmmod did not say 'in use'"; return 1 ;;
	esac
	[ $rc = 11 ] || [ $rc = 16 ] || { echo "want EAGAIN (11) or EBUSY (16)"; return 1; }
}

# rmmod_ok SECONDS: wait up to SECONDS for refcnt 0, rmmod, caches gone,
# insmod again
rmmod_ok() {
	local t0 out
	t0=$(usec)
	while [ "$(refcnt)" != 0 ] && [ $(($(usec) - t0)) -lt $(($1 * 1000000)) ]; do
		sleep 0.1
	done
	if ! out=$(rmmod "$MOD" 2>&1); then
		echo "rmmod failed after $(since "$t0") s: $out"
		echo "refcnt $(refcnt); slabs $(slab_now)"
		return 1
	fi
	echo "rmmod succeeded after $(since "$t0") s"
	rmmod_done
}

# after a successful unload: nothing left, load it again
rmmod_done() {
	local rc=0
	if loaded; then
		echo "module still listed in /proc/modules"
		rc=1
	fi
	if grep -qiE '^(mini_tcp|[a-z_]*MINI_TCP) ' /proc/slabinfo; then
		echo "slab caches left after rmmod: $(grep -iE '^(mini_tcp|[a-z_]*MINI_TCP) ' /proc/slabinfo | awk '{print $1}' | tr '\n' ' ')"
		rc=1
	fi
	if ! insmod "$MTCP_KO" "${ARGS[@]}"; then
		echo "insmod failed"
		return 1
	fi
	loaded || return 1
	return $rc
}

# ------------------------------------------------------------ namespaces
mk_ns() {
	ip netns add "$1" || return 1
	NETNS_MADE+=("$1")
	ip -n "$1" link set lo up
}

# mk_pair A B: see the topology at the top
mk_pair() {
	local A=$1 B=$2
	mk_ns "$A" && mk_ns "$B" || return 1
	ip -n "$A" -batch - <<-EOF || return 1
		link add nu0 type veth peer name nu0 netns $B
		addr add 192.0.2.1/24 dev nu0
		link set nu0 up
		neigh add 192.0.2.3 lladdr $BOGUS_MAC dev nu0 nud permanent
	EOF
	ip -n "$B" -batch - <<-EOF
		addr add 192.0.2.2/24 dev nu0
		addr add 192.0.2.3/24 dev nu0
		addr add 192.0.2.4/24 dev nu0
		link set nu0 up
	EOF
}

del_ns() {
	local ns rc=0
	for ns in "$@"; do
		ip netns del "$ns" || rc=1
	done
	return $rc
}

# works: connect/accept/echo/close over loopback in a fresh netns, which is
# then deleted; everything back to the baseline
W=0
works() {
	local ns=nuw$W rc=0
	W=$((W + 1))
	mk_ns "$ns" || return 1
	ctl_ensure || { echo "helper: $REPLY_LINE"; return 1; }
	step ns "$ns" && step echo_test 127.0.0.1 7000 || rc=1
	step ns - || rc=1
	del_ns "$ns" || rc=1
	wait_baseline "$NSWAIT" || rc=1
	return $rc
}

# =================================================================== main
echo "TAP version 13"
echo "1..$PLAN"
loaded || { echo "Bail out! $MOD not loaded at start"; exit 1; }
# earlier tests of the group may have left TIME_WAIT socks (60 s)
t0=$(usec)
while [ "$(refcnt)" != 0 ] && [ $(($(usec) - t0)) -lt 70000000 ]; do
	sleep 0.5
done
[ "$(refcnt)" = 0 ] ||
	{ echo "Bail out! $MOD still in use (refcnt $(refcnt)) after 70 s: $(slab_now)"; exit 1; }
[ $(($(usec) - t0)) -gt 1000000 ] && diag "waited $(since "$t0") s for the module to be idle"
BASE_SLAB=$(slab_now)
BASE_REF=$(refcnt)
diag "baseline: ${BASE_SLAB}refcnt=$BASE_REF"
case $BASE_SLAB in
*missing*) echo "Bail out! slab caches missing from /proc/slabinfo (slub_debug?)"; exit 1 ;;
esac
ctl_start || { echo "Bail out! helper: $REPLY_LINE"; exit 1; }
diag "helper: $REPLY_LINE"

# ------------------------------------------------ s1: listener open
s1_setup() {
	mk_pair nu1a nu1b || return 1
	step ns nu1a && step listen L 192.0.2.1 5001 8 &&
		step pair C S L nu1b nu1a 192.0.2.1 5001 &&
		# only the listener stays
		step ns nu1b && step abort C && step ns nu1a && step close S &&
		step wait_states 10 0A==1 '*==1' && echo "nu1a: ${REPLY_LINE#OK }" &&
		step ns nu1b && step wait_states 10 '*==0' && step ns -
}
s1_accepts() {
	step pair C2 S2 L nu1b nu1a 192.0.2.1 5001 && step ns nu1b && step abort C2 &&
		step ns nu1a && step close S2 && step close L && step ns -
}
if check "s1: setup, a listener is open" s1_setup; then
	check "s1: rmmod fails (in use) while a listener is open" rmmod_busy
	check "s1: the listener still accepts and echoes after the failed rmmod" s1_accepts
else
	not_ok "s1: rmmod fails (in use) while a listener is open # not run"
	not_ok "s1: the listener still accepts after the failed rmmod # not run"
fi
ctl ns -
check "s1: listener closed: slabs and refcnt back to baseline" wait_baseline 10
check "s1: rmmod succeeds after the listener is closed, insmod again" rmmod_ok 10
del_ns nu1a nu1b
check "s1: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s2: only TIME_WAIT left
# conn 1: B closes first (TIME_WAIT in B), conn 2: A closes first (in A).
s2_tw() {
	mk_pair nu2a nu2b || return 1
	step ns nu2b && step sysctl tw_timeout 2 &&
		step ns nu2a && step sysctl tw_timeout 2 &&
		step listen L 192.0.2.1 5002 8 &&
		step pair C1 S1 L nu2b nu2a 192.0.2.1 5002 &&
		step pair C2 S2 L nu2b nu2a 192.0.2.1 5002 &&
		step close L && step close S2 &&
		step ns nu2b && step eof C2 && step close C2 && step close C1 &&
		step ns nu2a && step eof S1 && step close S1 &&
		step wait_states 5 06==1 '*==1' && echo "nu2a: ${REPLY_LINE#OK }" &&
		step ns nu2b && step wait_states 5 06==1 '*==1' && echo "nu2b: ${REPLY_LINE#OK }" || {
		ctl ns -
		return 1
	}
	rmmod_busy
	local rc=$?
	# the verdict only counts if the TIME_WAIT socks were still there
	step table && echo "nu2b after rmmod: ${REPLY_LINE#OK }" &&
		[[ $REPLY_LINE == *06:1* ]] ||
		{ echo "TIME_WAIT already gone: raise tw_timeout"; rc=1; }
	ctl ns -
	return $rc
}
s2_expire() {
	step ns nu2a && step wait_states 10 '*==0' && step ns nu2b && step wait_states 10 '*==0' &&
		echo "TIME_WAIT expired ${REPLY_LINE#OK }"
	local rc=$?
	ctl ns -
	wait_baseline 10 || rc=1
	rmmod_ok 5 || rc=1
	return $rc
}
check "s2: rmmod fails while only TIME_WAIT socks remain" s2_tw
check "s2: after tw_timeout (2 s) slabs at baseline and rmmod succeeds (netns kept)" s2_expire
del_ns nu2a nu2b
check "s2: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s3: request sock
# The client SYNs from 192.0.2.3, whose SYN-ACKs A sends to a MAC nobody
# owns.  Once the request sock has retransmitted twice (next timer in
# ~4 s) the client and the listener are closed: only the request sock
# (holding the closed listener) is left.
s3_req() {
	mk_pair nu3a nu3b || return 1
	step ns nu3a && step sysctl synack_retries 3 && step listen L 192.0.2.1 5003 8 &&
		step ns nu3b && step connect_nb C 192.0.2.1 5003 192.0.2.3 &&
		step ns nu3a && step wait_retrans 15 03 2 && echo "nu3a: ${REPLY_LINE#OK }" &&
		step ns nu3b && step close C && step wait_states 5 '*==0' &&
		step ns nu3a && step close L && step wait_states 2 03==1 '*==1' &&
		echo "listener closed, nu3a: ${REPLY_LINE#OK }" || {
		ctl ns -
		return 1
	}
	rmmod_busy
	local rc=$?
	step table && echo "nu3a after rmmod: ${REPLY_LINE#OK }" && [[ $REPLY_LINE == *03:1* ]] ||
		{ echo "request sock already gone: the verdict does not count"; rc=1; }
	ctl ns -
	return $rc
}
s3_gone() {
	step ns nu3a && step wait_states 20 '*==0' && echo "request sock gone ${REPLY_LINE#OK }"
	local rc=$?
	ctl ns -
	wait_baseline 10 || rc=1
	return $rc
}
check "s3: rmmod fails while a request sock of a closed listener remains" s3_req
check "s3: the request sock goes, slabs and refcnt back to baseline" s3_gone
check "s3: rmmod succeeds once the request sock is gone, insmod again" rmmod_ok 10
del_ns nu3a nu3b
check "s3: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s4: every state, netns del
# populate A B: sockets in every state; the helper holds them all
populate() {
	local A=$1 B=$2 ns
	ctl_ensure || { echo "helper: $REPLY_LINE"; return 1; }
	for ns in "$A" "$B"; do
		step ns "$ns" && step sysctl fin_timeout 5 && step sysctl tw_timeout 30 &&
			step sysctl synack_retries 2 || return 1
	done
	step ns "$A" && step listen L1 192.0.2.1 6001 8 && step listen L2 192.0.2.1 6002 16 &&
		# unaccepted children of L1
		step ns "$B" && step connect U1 192.0.2.1 6001 && step connect U2 192.0.2.1 6001 &&
		# ESTABLISHED, accepted
		step pair E1 E1s L2 "$B" "$A" 192.0.2.1 6002 &&
		step pair E2 E2s L2 "$B" "$A" 192.0.2.1 6002 &&
		# TIME_WAIT in B (B closes first) and in A (A closes first)
		step pair T1 T1s L2 "$B" "$A" 192.0.2.1 6002 &&
		step pair T2 T2s L2 "$B" "$A" 192.0.2.1 6002 && step close T2s &&
		step ns "$B" && step close T1 && step eof T2 && step close T2 &&
		step ns "$A" && step eof T1s && step close T1s &&
		# FIN_WAIT_1 orphan behind a zero window (B never reads)
		step pair Z1 Z1s L2 "$B" "$A" 192.0.2.1 6002 && step fill Z1s &&
		echo "zero window after ${REPLY_LINE#OK } bytes" && step close Z1s &&
		# FIN_WAIT_1 orphan whose FIN is never acknowledged
		step pair G1 G1s L2 "$B" "$A" 192.0.2.1 6002 192.0.2.4 &&
		ip -n "$A" neigh replace 192.0.2.4 lladdr "$BOGUS_MAC" dev nu0 nud permanent &&
		step close G1s &&
		# FIN_WAIT_2 orphan (B stays in CLOSE_WAIT)
		step pair F1 F1s L2 "$B" "$A" 192.0.2.1 6002 && step close F1s &&
		# request socks: SYN-ACKs to 192.0.2.3 are lost
		step ns "$B" && step connect_nb R1 192.0.2.1 6001 192.0.2.3 &&
		step connect_nb R2 192.0.2.1 6001 192.0.2.3 &&
		step ns "$A" && step wait_states 10 0A==2 03==2 01==4 04==2 05==1 06==1 &&
		echo "$A: ${REPLY_LINE#OK }" &&
		step ns "$B" && step wait_states 10 02==2 01==6 08==1 06==1 &&
		echo "$B: ${REPLY_LINE#OK }" && step ns -
}

# teardown A B: short orphan_retries, kill the holder, delete both netns
teardown() {
	local A=$1 B=$2 rc=0
	step ns "$A" && step sysctl orphan_retries 1 &&
		step ns "$B" && step sysctl orphan_retries 1 && step ns - || rc=1
	ctl_kill
	del_ns "$A" "$B" || rc=1
	return $rc
}

s4_setup() { mk_pair nu4a nu4b && populate nu4a nu4b; }
if check "s4: sockets in every state (A: LISTEN, SYN_RECV, ESTABLISHED accepted and not, FIN_WAIT_1 x2, FIN_WAIT_2, TIME_WAIT; B: SYN_SENT, ESTABLISHED, CLOSE_WAIT, TIME_WAIT)" s4_setup; then
	check "s4: rmmod fails (in use) with sockets in every state" rmmod_busy
else
	not_ok "s4: rmmod fails (in use) with sockets in every state # not run"
fi
s4_gone() { teardown nu4a nu4b; wait_baseline "$NSWAIT" || return 1; }
check "s4: kill the process, ip netns del both: slabs and refcnt back to baseline (<= $NSWAIT s)" s4_gone
check "s4: rmmod succeeds afterwards, insmod again" rmmod_ok 10
check "s4: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s5: connect/close cycles
s5_cycles() {
	mk_ns nu5 || return 1
	ctl_ensure || { echo "helper: $REPLY_LINE"; return 1; }
	step ns nu5 && step sysctl tw_timeout 1 && step cycles "$CYCLES" 127.0.0.1 5005 &&
		echo "${REPLY_LINE#OK }"
}
s5_empty() {
	step ns nu5 && step wait_states 15 '*==0' && echo "/proc/net/mini_tcp: ${REPLY_LINE#OK }"
}
check "s5: $CYCLES connect/echo/close cycles (tw_timeout 1 s)" s5_cycles
check "s5: zero sockets left in /proc/net/mini_tcp" s5_empty
ctl ns -
check "s5: slabs and refcnt back to baseline (netns still alive)" wait_baseline 10
del_ns nu5
check "s5: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s6: repeated rounds
# spin_rmmod SECONDS: delete_module(2) every 20 ms until it works
spin_rmmod() {
	perl -e '
		use Time::HiRes qw(sleep time);
		my ($mod, $tmo) = @ARGV; my $t0 = time; my $n = 0;
		while (1) {
			$n++;
			if (syscall(176, $mod, 2048) == 0) {
				printf "delete_module(2) succeeded after %.1f s, %d attempts\n", time - $t0, $n;
				exit 0;
			}
			if (time - $t0 > $tmo) { print "delete_module(2) still failing: $!\n"; exit 1; }
			sleep 0.02;
		}' "$MOD" "$1"
}

s6_round() {
	local r=$1 A=nu6a$1 B=nu6b$1 rc=0
	mk_pair "$A" "$B" && populate "$A" "$B" || rc=1
	rmmod_busy || rc=1
	teardown "$A" "$B" || rc=1
	if [ $((r % 2)) = 1 ]; then
		# race the teardown
		if spin_rmmod "$NSWAIT"; then
			rmmod_done || rc=1
		else
			echo "refcnt $(refcnt); slabs $(slab_now)"
			rc=1
		fi
	else
		wait_baseline "$NSWAIT" || rc=1
		rmmod_ok 5 || rc=1
	fi
	# a round that could not unload leaves the module loaded: go on
	reload
	return $rc
}
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then how="delete_module(2) in a loop right after the netns deletion"
	else how="rmmod after the baseline"; fi
	check "s6 round $r: every state, rmmod fails, kill + netns del, $how, insmod" s6_round "$r"
done
check "s6: module works afterwards (fresh netns echo)" works

# ------------------------------------------------ s7: the link went first
# The link is cut (both ends of the veth down: no route either side), then
# the process holding the sockets is killed, so nothing either side sends
# arrives any more:
#   A: FIN_WAIT_2 orphan       -> must go after fin_timeout (3 s)
#   A: FIN_WAIT_1 orphan stuck behind B's zero window -> must go after
#      orphan_retries (1) unanswered probes (TCP: tcp_probe_timer)
#   B: CLOSE_WAIT closed with the link down: LAST_ACK orphan whose FIN never
#      left (no route) -> must go after orphan_retries (1) (TCP: probe0
#      timer, gone in ~1 s)
# Both namespaces are deleted afterwards; all must be back to baseline.
s7_setup() {
	mk_pair nu7a nu7b || return 1
	ctl_ensure || { echo "helper: $REPLY_LINE"; return 1; }
	# B answers every window probe (no invalid_ratelimit) and A tolerates
	# one unanswered probe (orphan_retries 2): while the link is up, A's
	# orphan behind the zero window stays; once it is cut, the unanswered
	# probes reap it.  With orphan_retries 1, a single probe whose answer
	# came late in a loaded VM reaped the orphan before the checks.
	step ns nu7b && step sysctl orphan_retries 1 && step sysctl invalid_ratelimit 0 &&
		step ns nu7a && step sysctl orphan_retries 2 && step sysctl fin_timeout 3 &&
		step listen L 192.0.2.1 7001 8 &&
		step pair Z Zs L nu7b nu7a 192.0.2.1 7001 && step fill Zs &&
		echo "zero window after ${REPLY_LINE#OK } bytes" && step close Zs &&
		step pair F Fs L nu7b nu7a 192.0.2.1 7001 && step close Fs && step close L &&
		step wait_states 5 04==1 05==1 '*==2' && echo "nu7a: ${REPLY_LINE#OK }" &&
		step ns nu7b && step wait_states 5 08==1 && echo "nu7b: ${REPLY_LINE#OK }" &&
		step ns - || return 1
	ip -n nu7a link set nu0 down && ip -n nu7b link set nu0 down || return 1
	ctl_kill
	ctl_start || { echo "helper: $REPLY_LINE"; return 1; }
	step ns nu7b && step table && echo "link down, process killed; nu7b: ${REPLY_LINE#OK }"
	ctl ns -
}
s7_reaped() {	# s7_reaped NETNS STATE SECONDS
	local rc
	step ns "$1" && step wait_states "$3" "$2==0" && echo "$1: ${REPLY_LINE#OK }"
	rc=$?
	ctl ns -
	[ $rc = 0 ] || echo "slabs: $(slab_now)refcnt=$(refcnt)"
	return $rc
}
s7_release() {
	local rc=0 left=
	ctl_ensure || { echo "helper: $REPLY_LINE"; return 1; }
	step ns nu7a && step table && left="nu7a: ${REPLY_LINE#OK } "
	step ns nu7b && step table && left+="nu7b: ${REPLY_LINE#OK }"
	if [[ $left != "nu7a: empty nu7b: empty" ]]; then
		# Not a fix: so that the rest of the run (and of the VM) can
		# unload the module, bring the link back; each side's stack
		# resets the other's orphans at their next (backed off) probe.
		echo "left: $left; bringing the link back up"
		ip -n nu7a link set nu0 up && ip -n nu7b link set nu0 up &&
			step ns nu7a && step wait_states 150 '*==0' && echo "nu7a: ${REPLY_LINE#OK }" &&
			step ns nu7b && step wait_states 30 '*==0' && echo "nu7b: ${REPLY_LINE#OK }"
	fi
	ctl ns -
	ctl_kill
	del_ns nu7a nu7b
	wait_baseline "$NSWAIT" || rc=1
	rmmod_ok 5 || rc=1
	return $rc
}
if check "s7: A has FIN_WAIT_1 (zero window) and FIN_WAIT_2 orphans, B a CLOSE_WAIT; link cut, process killed" s7_setup; then
	check "s7: A's FIN_WAIT_2 orphan is reaped after fin_timeout (3 s)" s7_reaped nu7a 05 10
	check "s7: A's FIN_WAIT_1 orphan behind a zero window is reaped (orphan_retries 2, as TCP)" s7_reaped nu7a 04 15
	check "s7: B's LAST_ACK orphan whose FIN could not be sent (no route) is reaped (orphan_retries 1, as TCP)" s7_reaped nu7b 09 15
else
	for d in "A's FIN_WAIT_2 orphan is reaped" "A's FIN_WAIT_1 orphan is reaped" "B's LAST_ACK orphan is reaped"; do
		not_ok "s7: $d # not run"
	done
fi
check "s7: once the orphans are gone (link restored if not), ip netns del both: slabs and refcnt back to baseline, rmmod succeeds, insmod again" s7_release
check "s7: module works afterwards (fresh netns echo)" works

ctl_kill
[ "$n" = "$PLAN" ] || echo "# plan $PLAN but $n results"
echo "# $( [ $failed = 0 ] && echo "all $n passed" || echo "some of $n failed")"
exit $failed
