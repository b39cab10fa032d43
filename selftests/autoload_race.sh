#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module autoload racing rmmod (TAP), in a VM booted without the module
# (group nomod), set up as autoload.sh does: a private depmod'ed module tree
# with mini_tcp.ko and the kernel's modprobe helper pointed at it.
#
# MTCP_AR_ROUNDS rounds (default 12): with the module unloaded, MTCP_AR_PROCS
# processes (default 6) released at once each do socket(AF_INET,
# SOCK_STREAM, 253) (the first ones make the kernel autoload the module),
# bind to 127.0.0.1:0, listen, and close, a few times, while another process
# calls delete_module(2) in a loop.  Rounds take turns: the unloader starts
# before the sockets (it races the load itself), just after them, or once the
# first socket listens (it races close() and the next autoload), so that the
# later rounds make sockets however the load's timing falls.  Every call must
# succeed or fail with a
# sane errno (socket: EPROTONOSUPPORT when the module went away between the
# load and the lookup); at least one socket must have been made over all
# rounds; after each round rmmod succeeds once the processes are gone.
# (socket() may also fail with ENOMEM: the core kernel's answer when the
# protocol is found but its module is already going.)
# The kernel log must stay clean (run_group and vm-run check).
set -u

PY=/usr/bin/python3
# vm-run --no-module: the module built for the kernel booted (MTCP_KERNEL)
KO=$(cd "$(dirname "$0")/.." && pwd)/mini_tcp.ko
[ "${MTCP_KERNEL:-6.1}" = 6.1 ] || KO=${KO%/*}/build/$MTCP_KERNEL/src/mini_tcp.ko
KO=${MTCP_KO:-$KO}
KVER=$(uname -r)
ROUNDS=${MTCP_AR_ROUNDS:-12}
PROCS=${MTCP_AR_PROCS:-6}
TMP=$(mktemp -d)
OLD_HELPER=$(cat /proc/sys/kernel/modprobe)

cleanup() {
	echo "$OLD_HELPER" >/proc/sys/kernel/modprobe
	grep -q "^mini_tcp " /proc/modules && rmmod mini_tcp
	rm -rf "$TMP"
}
trap cleanup EXIT

if [ ! -f "$KO" ] || ! command -v depmod >/dev/null; then
	echo "1..1"
	echo "not ok 1 mini_tcp.ko and depmod are there (make)"
	exit 1
fi
if grep -q "^mini_tcp " /proc/modules; then
	echo "1..0 # SKIP needs a VM booted without the module (vm-run --no-module)"
	exit 4
fi

# shellcheck source=lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"

module_tree() {
	mkdir -p "$TMP/mods/lib/modules/$KVER/extra" &&
	cp "$KO" "$TMP/mods/lib/modules/$KVER/extra/" &&
	depmod -b "$TMP/mods" "$KVER" &&
	grep -q "net-pf-2-proto-253-type-1 mini_tcp" "$TMP/mods/lib/modules/$KVER/modules.alias" &&
	cat >"$TMP/modprobe" <<EOF &&
#!/bin/sh
exec /sbin/modprobe -d $TMP/mods "\$@"
EOF
	chmod +x "$TMP/modprobe" &&
	echo "$TMP/modprobe" >/proc/sys/kernel/modprobe
}

cat >"$TMP/race.py" <<'EOF'
import ctypes, errno, os, select, socket, sys, time

ROUNDS, PROCS = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
# EPROTONOSUPPORT: the module went away between its load and the lookup;
# ENOMEM: the lookup found the protocol but the module was already going
# (inet_create -> sk_alloc -> try_module_get(prot->owner) fails): the core
# kernel's answer for any protocol module being removed.
SANE = {errno.EPROTONOSUPPORT, errno.ENOMEM}


def loaded():
    with open("/proc/modules") as f:
        return any(l.startswith("mini_tcp ") for l in f)


def delete_module():
    r = libc.syscall(176, b"mini_tcp", os.O_NONBLOCK)
    return 0 if r == 0 else ctypes.get_errno()


def worker(go, out, listening):
    os.read(go, 1)                          # released all at once
    res = []
    for _ in range(3):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 253)
        except OSError as e:
            res.append("socket:" + errno.errorcode.get(e.errno, str(e.errno)))
            continue
        try:
            s.bind(("127.0.0.1", 0))
            s.listen(4)
            res.append("ok")
            os.write(listening, b"l")
        except OSError as e:
            res.append("bind/listen:" + errno.errorcode.get(e.errno, str(e.errno)))
        s.close()
    os.write(out, (" ".join(res) + "\n").encode())
    os._exit(0)


def spinner(stop, pause, wait_for=None):
    n = ok = 0
    if wait_for is not None:                # start once a socket listens
        select.select([wait_for], [], [], 10)
    os.set_blocking(stop, False)
    while True:
        try:
            if os.read(stop, 1) is not None:
                break
        except BlockingIOError:
            pass
        n += 1
        if delete_module() == 0:
            ok += 1
        time.sleep(pause)
    print("#   delete_module(2): %d calls, %d unloads" % (n, ok), flush=True)
    os._exit(0)


bad = made = 0
for rnd in range(ROUNDS):
    if loaded():
        print("# round %d: module loaded at the start" % rnd)
        bad += 1
        break
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    st_r, st_w = os.pipe()
    li_r, li_w = os.pipe()
    kids = []
    for _ in range(PROCS):
        pid = os.fork()
        if pid == 0:
            worker(go_r, res_w, li_w)
        kids.append(pid)
    # the spinner starts before the sockets, just after them, or once the
    # first one listens, by round
    mode = rnd % 3
    if mode:
        os.write(go_w, b"g" * PROCS)
    sp = os.fork()
    if sp == 0:
        spinner(st_r, 0.02 if mode == 1 else 0.001,
                li_r if mode == 2 else None)
    if not mode:
        os.write(go_w, b"g" * PROCS)
    for pid in kids:
        os.waitpid(pid, 0)
    os.write(st_w, b"s")
    os.waitpid(sp, 0)
    os.close(res_w)
    lines = os.read(res_r, 65536).decode().split("\n")
    for fd in (go_r, go_w, res_r, st_r, st_w, li_r, li_w):
        os.close(fd)
    outcomes = {}
    for l in lines:
        for w in l.split():
            outcomes[w] = outcomes.get(w, 0) + 1
            if w == "ok":
                made += 1
            elif not (w.startswith("socket:") and errno.__dict__.get(w[7:]) in SANE):
                bad += 1
    # everything is closed: the module must go
    t0 = time.monotonic()
    err = None
    while loaded():
        err = delete_module()
        if not loaded():
            break
        if time.monotonic() - t0 > 5:
            print("# round %d: rmmod still fails after 5 s: %s" %
                  (rnd, errno.errorcode.get(err, err)))
            bad += 1
            break
        time.sleep(0.05)
    print("# round %d: %s" % (rnd, " ".join("%s:%d" % kv for kv in sorted(outcomes.items()))),
          flush=True)
print("# %d sockets listened, %d unexpected outcomes" % (made, bad))
sys.exit(1 if bad or not made else 0)
EOF

echo "1..3"
check "a module tree with mini_tcp.ko, depmod'ed, modprobe helper" module_tree
race() {
	$PY "$TMP/race.py" "$ROUNDS" "$PROCS"
}
n=$((n + 1))
if race >"$TMP/race.out" 2>&1; then
	echo "ok $n $ROUNDS rounds: $PROCS processes socket()+bind+listen during autoload, delete_module(2) in a loop: success, EPROTONOSUPPORT or ENOMEM; rmmod works after each"
else
	failed=1
	echo "not ok $n $ROUNDS rounds: $PROCS processes socket()+bind+listen during autoload, delete_module(2) in a loop: success, EPROTONOSUPPORT or ENOMEM; rmmod works after each"
fi
sed 's/^#* */# /' "$TMP/race.out"
not_loaded() { ! grep -q "^mini_tcp " /proc/modules; }
after() {
	$PY -c "import socket; socket.socket(2, 1, 253).close()" && rmmod mini_tcp && not_loaded
}
check "afterwards: autoload works once more, and rmmod" after
exit $failed
