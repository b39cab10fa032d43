#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Regressions found in review (TAP).  Each case runs in a fresh network
namespace (unshare -n) under a time limit: a hang is a failure, and a kernel
complaint fails the VM run.

  ctl_sock_with_busy_listener  cookie SYN-ACKs answered with RSTs while the
                               listener's owner keeps its lock busy: once a
                               CPU deadlock on the control socket
  filter_trims_payload         a socket filter that trims segments: once an
                               endless loop in recvmsg()
  final_ack_race               the same final ACK on two CPUs at once: once
                               a destroyed child left behind (use after free)
  synack_to_listener_rst       a SYN+ACK to a listener: RST seq = SEG.ACK
  send_unconnected_no_autobind send() on a new socket: EPIPE, no port taken
  memcg_charge_returned        data that arrives before accept(): the
                               accepting cgroup's socket charge comes back

Run as root: selftests/regress.py  (MTCP_PROTO: 253 or 6)
"""
import os
import subprocess
import sys

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
IS_TCP = PROTO == 6
SYSCTL = "/proc/sys/net/ipv4/tcp_%s" if IS_TCP else "/proc/sys/net/mini_tcp/%s"

COMMON = r'''
import ctypes, errno, fcntl, os, select, socket, struct, subprocess, sys, threading, time
sys.path.insert(0, @HERE@)
from lib.craft import csum  # noqa: E402
P = @PROTO@
SYSCTL = @SYSCTL@


def sysctl(name, value):
    with open(SYSCTL % name, "w") as f:
        f.write("%s\n" % value)


def seg(src, dst, sport, dport, seq, ack, flags):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, P, len(h)) + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def ip(src, dst, l4):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, P, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def tun(name):
    """A tun device with 192.0.2.1/24: the stack; we play 192.0.2.2."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))
    subprocess.run("ip addr add 192.0.2.1/24 dev %s && ip link set %s up" % (name, name),
                   shell=True, check=True)
    return fd


def next_seg(fd, timeout=10):
    """The next segment of our protocol from the stack: (sport, dport, seq,
    ack, flags), or None after timeout seconds."""
    end = time.time() + timeout
    while time.time() < end:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        p = os.read(fd, 2000)
        if p[9] != P:
            continue
        ih = (p[0] & 15) * 4
        sp, dp, s, a, off, fl = struct.unpack("!HHIIBB", p[ih:ih + 14])
        return sp, dp, s, a, fl
    return None


subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
'''

CASES = {}


def case(name, timeout, tcp=True):
    """tcp=False: the case is about mini_tcp only (skipped for proto 6)."""
    def reg(code):
        CASES[name] = (code, timeout, tcp)
        return code
    return reg


case("ctl_sock_with_busy_listener", 120)(r'''
sysctl("syncookies", 2)
L = socket.socket(2, 1, P)
L.bind(("127.0.0.1", 5000))
L.listen(128)
stop = False


def hold():                     # lock_sock/release_sock on the listener
    while not stop:
        L.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)


threading.Thread(target=hold, daemon=True).start()
R = socket.socket(2, socket.SOCK_RAW, P)
t0, n = time.time(), 0
while time.time() - t0 < 5:     # SYNs from ports nobody owns: the cookie
    R.sendto(seg("127.0.0.1", "127.0.0.1", 20000 + n % 30000, 5000, n, 0, 0x02),
             ("127.0.0.1", 0))  # SYN-ACK comes back to them and draws a RST
    n += 1
stop = True
print("%d SYNs answered" % n)
''')

# Kernel TCP never delivers the trimmed bytes either way: mini_tcp only.
case("filter_trims_payload", 60, tcp=False)(r'''
L = socket.socket(2, 1, P)
L.bind(("127.0.0.1", 0))
L.listen(1)
c = socket.socket(2, 1, P)
c.connect(L.getsockname())
a, _ = L.accept()
ins = struct.pack("HBBI", 0x06, 0, 0, 30)           # BPF_RET|BPF_K 30
buf = ctypes.create_string_buffer(ins)
a.setsockopt(socket.SOL_SOCKET, socket.SO_ATTACH_FILTER if hasattr(socket, "SO_ATTACH_FILTER") else 26,
             struct.pack("HL", 1, ctypes.addressof(buf)))
c.send(b"A" * 100)
a.settimeout(20)
got = a.recv(100)
assert got == b"A" * len(got) and 0 < len(got) <= 100, got
print("recv returned %d bytes" % len(got))
''')

case("final_ack_race", 300)(r'''
fd = tun("rg0")
sysctl("syncookies", 0)
L = socket.socket(2, 1, P)
L.bind(("192.0.2.1", 5000))
L.listen(4096)
L.setblocking(False)


def synack(sport):
    while True:
        seg_ = next_seg(fd)
        if seg_ is None:
            return None
        sp, dp, s, a, fl = seg_
        if dp == sport and fl & 0x12 == 0x12:
            return s


def drain():                     # accept and close what is queued
    got = 0
    try:
        while True:
            L.accept()[0].close()
            got += 1
    except BlockingIOError:
        return got


def kmsg_count(word):
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return out.count(word)


before = kmsg_count("Attempt to release")
go = [threading.Event(), threading.Event()]
done = threading.Barrier(3)
pkt = [None]


def worker(i):
    os.sched_setaffinity(0, {i % os.cpu_count()})
    while True:
        go[i].wait()
        go[i].clear()
        if pkt[0] is None:
            return
        os.write(fd, pkt[0])
        done.wait()


for i in (0, 1):
    threading.Thread(target=worker, args=(i,), daemon=True).start()
N, acc = 150, 0
for n in range(N):
    sport = 30000 + n
    os.write(fd, ip("192.0.2.2", "192.0.2.1", seg("192.0.2.2", "192.0.2.1", sport, 5000, 1000, 0, 0x02)))
    iss = synack(sport)
    assert iss is not None, "no SYN-ACK for %d" % n
    pkt[0] = ip("192.0.2.2", "192.0.2.1",
                seg("192.0.2.2", "192.0.2.1", sport, 5000, 1001, (iss + 1) & 0xffffffff, 0x10))
    go[0].set()
    go[1].set()
    done.wait()
    acc += drain()
time.sleep(1)
acc += drain()
zombies = kmsg_count("Attempt to release") - before
print("accepted %d of %d, %d destroyed children left behind" % (acc, N, zombies))
assert acc == N and zombies == 0
''')

case("synack_to_listener_rst", 60)(r'''
fd = tun("rg1")
L = socket.socket(2, 1, P)
L.bind(("192.0.2.1", 5001))
L.listen(8)
os.write(fd, ip("192.0.2.2", "192.0.2.1", seg("192.0.2.2", "192.0.2.1", 4000, 5001, 777, 123456, 0x12)))
seg_ = next_seg(fd)
if seg_ is None:
    raise SystemExit("no RST for a SYN+ACK to a listener")
sp, dp, s, a, fl = seg_
assert fl & 0x04 and s == 123456, "got flags %#x seq %d" % (fl, s)
print("RST seq=%d for a SYN+ACK with ack 123456" % s)
''')

case("send_unconnected_no_autobind", 30)(r'''
s = socket.socket(2, 1, P)
try:
    s.send(b"x", socket.MSG_NOSIGNAL)
    raise SystemExit("send() on an unconnected socket worked")
except OSError as e:
    assert e.errno == errno.EPIPE, e
port = s.getsockname()[1]
assert port == 0, "send() bound port %d" % port
print("EPIPE, port still 0")
''')


case("memcg_charge_returned", 120)(r'''
cg = "/run/mtcp_regress_cg"
os.makedirs(cg, exist_ok=True)
if not os.path.exists(cg + "/cgroup.procs"):
    subprocess.run(["mount", "-t", "cgroup2", "none", cg], check=True)
with open(cg + "/cgroup.subtree_control", "w") as f:
    f.write("+memory")
os.makedirs(cg + "/a", exist_ok=True)
with open(cg + "/a/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))


def sock_bytes():
    for line in open(cg + "/a/memory.stat"):
        if line.startswith("sock "):
            return int(line.split()[1])


before = sock_bytes()
L = socket.socket(2, 1, P)
L.bind(("127.0.0.1", 0))
L.listen(64)
for i in range(100):             # data arrives before accept(), which charges it
    c = socket.socket(2, 1, P)
    c.connect(L.getsockname())
    c.send(b"x" * 1000)
    time.sleep(0.01)
    a, _ = L.accept()
    a.recv(2000)
    a.close()
    c.close()
L.close()
time.sleep(1)
after = sock_bytes()
with open(cg + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
os.rmdir(cg + "/a")
print("cgroup socket memory: %d bytes before, %d after 100 accepts" % (before, after))
assert after <= before, "the cgroup's socket charge leaked"
''')


def main():
    names = list(CASES)
    print("TAP version 13")
    print("1..%d" % len(names))
    failed = 0
    for i, name in enumerate(names, 1):
        code, timeout, tcp = CASES[name]
        if IS_TCP and not tcp:
            print("ok %d %s # SKIP mini_tcp only" % (i, name))
            continue
        src = COMMON.replace("@PROTO@", str(PROTO)).replace("@SYSCTL@", repr(SYSCTL)) \
            .replace("@HERE@", repr(os.path.dirname(os.path.abspath(__file__)))) + code
        try:
            r = subprocess.run(["unshare", "-n", sys.executable, "-c", src],
                               capture_output=True, text=True, timeout=timeout)
            ok, out = r.returncode == 0, r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            ok = False
            out = "hung for %d s\n%s" % (timeout, (e.stdout or b"").decode(errors="replace"))
        for line in out.strip().splitlines()[-8:]:
            print("# " + line)
        print("%s %d %s" % ("ok" if ok else "not ok", i, name))
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
