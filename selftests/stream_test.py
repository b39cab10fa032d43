#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
The byte stream under load: byte-exact transfers one way and both ways at
once, over veth between two namespaces (clean, and impaired with netem)
and over loopback (MSS 65495), to a receiver with a 2 KiB buffer, and a
blocking write that must queue everything.  Each transfer has a generous
time bound (QEMU TCG is slow); the counters show which mechanism did the
work (fast retransmits, not only timeouts).

Runs for MTCP_PROTO (253, or 6: kernel TCP as the oracle).  TAP output.
"""

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import netns  # noqa: E402

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
IS_TCP = PROTO == 6
NS_A, NS_B = "mst_a", "mst_b"
ADDR_A, ADDR_B = "10.77.0.1", "10.77.0.2"   # inside the test namespaces only

results = []


def sh(*cmd):
    subprocess.run(cmd, check=True)


def setup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "msta", "netns", NS_A, "type", "veth", "peer",
       "mstb", "netns", NS_B)
    sh("ip", "-n", NS_A, "addr", "add", ADDR_A + "/24", "dev", "msta")
    sh("ip", "-n", NS_B, "addr", "add", ADDR_B + "/24", "dev", "mstb")
    sh("ip", "-n", NS_A, "link", "set", "msta", "up")
    sh("ip", "-n", NS_B, "link", "set", "mstb", "up")


def teardown():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def netem(spec):
    for ns, dev in ((NS_A, "msta"), (NS_B, "mstb")):
        subprocess.run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"],
                       stderr=subprocess.DEVNULL)
        if spec:
            sh("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "netem",
               *spec.split())


def counters(ns):
    """mini_tcp's counters (or TCP's) as seen from namespace ns."""
    out = {}

    def read():
        netns.enter(ns)
        path = ("/proc/thread-self/net/netstat" if IS_TCP else
                "/proc/thread-self/net/mini_tcp_stat")
        with open(path) as f:
            lines = f.read().splitlines()
        for i in range(0, len(lines) - 1, 2):
            names, vals = lines[i].split(":")[1].split(), lines[i + 1].split(":")[1].split()
            out.update(zip(names, map(int, vals)))
    t = threading.Thread(target=read)
    t.start()
    t.join()
    return out


def pattern(n, seed):
    """n deterministic bytes (cheap to make, so that corruption shows)."""
    block = hashlib.sha256(b"%d" % seed).digest() * 2048     # 64 KiB
    reps = n // len(block) + 1
    return (block * reps)[:n]


class Peer(threading.Thread):
    """Runs fn() in namespace ns, keeping its result or exception."""

    def __init__(self, ns, fn):
        super().__init__(daemon=True)
        self.ns, self.fn, self.result, self.error = ns, fn, None, None

    def run(self):
        try:
            if self.ns:
                netns.enter(self.ns)
            self.result = self.fn()
        except Exception as e:       # reported by the test
            self.error = e


def recv_all(s, n):
    h = hashlib.sha256()
    got = 0
    while got < n:
        b = s.recv(min(1 << 20, n - got))
        if not b:
            break
        h.update(b)
        got += len(b)
    return got, h.hexdigest()


def transfer(ns_srv, ns_cli, addr, nbytes, both=False, rcvbuf=None,
             port=7300, timeout=240, slow_reader=0):
    """Client sends nbytes to the server (and, with both, the server sends
    nbytes back at the same time); the server starts reading slow_reader
    seconds after the accept.  Returns (ok, detail)."""
    data_c = pattern(nbytes, 1)
    data_s = pattern(nbytes, 2)
    ready = threading.Event()

    def server():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        ls.bind((addr, port))
        ls.listen(4)
        ls.settimeout(timeout)
        ready.set()
        c, _ = ls.accept()
        c.settimeout(timeout)
        sender = None
        if both:
            sender = threading.Thread(target=c.sendall, args=(data_s,), daemon=True)
            sender.start()
        time.sleep(slow_reader)
        r = recv_all(c, nbytes)
        if sender:
            sender.join(timeout)
        c.close()
        ls.close()
        return r

    srv = Peer(ns_srv, server)
    srv.start()
    if not ready.wait(30):
        return False, "server not listening"

    def client():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        s.settimeout(timeout)
        s.connect((addr, port))
        r = None
        if both:
            box = {}
            rt = threading.Thread(target=lambda: box.update(r=recv_all(s, nbytes)),
                                  daemon=True)
            rt.start()
        s.sendall(data_c)
        if both:
            rt.join(timeout)
            r = box.get("r")
        s.shutdown(socket.SHUT_WR)
        s.close()
        return r

    t0 = time.monotonic()
    cli = Peer(ns_cli, client)
    cli.start()
    cli.join(timeout + 10)
    srv.join(timeout + 10)
    dt = time.monotonic() - t0
    if cli.is_alive() or srv.is_alive():
        return False, "did not finish within %d s" % timeout
    if cli.error or srv.error:
        return False, "client: %r, server: %r" % (cli.error, srv.error)
    want_c = hashlib.sha256(data_c).hexdigest()
    got, digest = srv.result
    if (got, digest) != (nbytes, want_c):
        return False, "server got %d bytes (want %d), digest %s" % (
            got, nbytes, "ok" if digest == want_c else "WRONG")
    if both:
        want_s = hashlib.sha256(data_s).hexdigest()
        if cli.result != (nbytes, want_s):
            return False, "client got %r of the reverse stream" % (cli.result,)
    return True, "%d bytes%s in %.1f s" % (nbytes, " each way" if both else "", dt)


def report(name, ok, detail, skip=None):
    results.append(ok or skip is not None)
    print("# %s: %s" % (name, detail))
    if skip is not None:
        print("ok %d %s # SKIP %s" % (len(results), name, skip))
    else:
        print("%s %d %s" % ("ok" if ok else "not ok", len(results), name))
    sys.stdout.flush()


def t_veth_clean():
    report("veth_16MiB_one_way", *transfer(NS_B, NS_A, ADDR_B, 16 << 20))
    report("veth_4MiB_both_ways", *transfer(NS_B, NS_A, ADDR_B, 4 << 20,
                                            both=True, port=7301))


def t_loopback():
    report("loopback_8MiB_one_way", *transfer(NS_A, NS_A, "127.0.0.1", 8 << 20,
                                              port=7302))
    report("loopback_rcvbuf_2KiB_1MiB", *transfer(NS_A, NS_A, "127.0.0.1",
                                                  1 << 20, rcvbuf=2048,
                                                  port=7303))


def t_impaired():
    before = counters(NS_A)
    netem("loss 5% duplicate 1% delay 10ms reorder 25% 50%")
    ok, detail = transfer(NS_B, NS_A, ADDR_B, 4 << 20, port=7304)
    netem(None)
    after = counters(NS_A)
    if not IS_TCP:
        fr = after.get("FastRetrans", 0) - before.get("FastRetrans", 0)
        to = after.get("Timeouts", 0) - before.get("Timeouts", 0)
        rt = after.get("RetransSegs", 0) - before.get("RetransSegs", 0)
        detail += "; FastRetrans %d, Timeouts %d, RetransSegs %d" % (fr, to, rt)
        if ok and fr == 0:
            ok, detail = False, detail + ": no fast retransmit under 5% loss"
    report("netem_loss5_dup1_reorder25_4MiB", ok, detail)

    netem("loss 20%")
    ok, detail = transfer(NS_B, NS_A, ADDR_B, 256 << 10, port=7305)
    netem(None)
    # The oracle is not what this case tests: under 20% loss both ways
    # kernel TCP has gone quiet for longer than the 240 s budget in two
    # runs (once on 6.1, once on 6.12), while mini_tcp finished in about a
    # minute.  A TCP timeout is reported, not failed; mini_tcp's must pass.
    skip = None
    if IS_TCP and not ok and "timed out" in detail:
        skip = "kernel TCP did not finish within 240 s under 20% loss both ways"
    report("netem_loss20_256KiB", ok, detail, skip)


def t_blocking_write():
    """A blocking write() queues everything before it returns (no short
    count without a signal, timeout or error), even to a slow reader."""
    ready = threading.Event()
    n = 3 << 20

    def server():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((ADDR_B, 7306))
        ls.listen(1)
        ready.set()
        c, _ = ls.accept()
        time.sleep(1)                 # let the writer fill everything up
        got = recv_all(c, n)
        c.close()
        ls.close()
        return got[0]

    srv = Peer(NS_B, server)
    srv.start()
    ready.wait(30)

    def client():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        s.connect((ADDR_B, 7306))
        r = s.send(b"w" * n)          # one write(); sendall would hide it
        s.close()
        return r

    cli = Peer(NS_A, client)
    cli.start()
    cli.join(240)
    srv.join(240)
    ok = cli.result == n and srv.result == n
    report("blocking_write_queues_everything", ok,
           "write() returned %r of %d, reader got %r" % (cli.result, n, srv.result))


def t_socat():
    """Unmodified socat moves a 64 MiB file over loopback with
    so-protocol=<ours>, byte-exact (socat sets the protocol argument of
    socket() from it)."""
    n = 64 << 20
    src, dst = "/tmp/socat_in", "/tmp/socat_out"
    with open(src, "wb") as f:
        for i in range(n >> 20):
            f.write(pattern(1 << 20, i))
    port = 7307
    proto = "so-protocol=%d" % PROTO
    t0 = time.monotonic()
    srv = subprocess.Popen(["ip", "netns", "exec", NS_A, "socat", "-u",
                            "TCP4-LISTEN:%d,reuseaddr,%s" % (port, proto),
                            "OPEN:%s,creat,trunc" % dst])
    rc_cli = None
    for _ in range(100):       # until the listener is up
        cli = subprocess.run(["ip", "netns", "exec", NS_A, "socat", "-u",
                              "OPEN:%s" % src,
                              "TCP4:127.0.0.1:%d,%s" % (port, proto)],
                             stderr=subprocess.PIPE, timeout=300)
        rc_cli = cli.returncode
        if rc_cli == 0 or b"refused" not in cli.stderr:
            break
        time.sleep(0.1)
    try:
        rc_srv = srv.wait(timeout=300)
    except subprocess.TimeoutExpired:
        srv.kill()
        rc_srv = "timeout"
    dt = time.monotonic() - t0

    def digest(path):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest(), os.path.getsize(path)

    got = digest(dst) if os.path.exists(dst) else (None, 0)
    want = digest(src)
    for p in (src, dst):
        if os.path.exists(p):
            os.unlink(p)
    ok = rc_cli == 0 and rc_srv == 0 and got == want
    report("socat_64MiB_loopback", ok,
           "socat client rc %r, server rc %r, %d of %d bytes, %s, %.1f s" %
           (rc_cli, rc_srv, got[1], n,
            "byte-exact" if got == want else "CONTENT DIFFERS", dt))


def main():
    tests = [t_veth_clean, t_loopback, t_impaired, t_blocking_write, t_socat]
    print("TAP version 13")
    print("1..8")
    print("# stream_test.py: protocol %d" % PROTO)
    try:
        setup()
        for t in tests:
            try:
                t()
            except Exception as e:
                report(t.__name__, False, "exception %r" % e)
    finally:
        teardown()
    sys.exit(0 if all(results) and len(results) == 8 else 1)


if __name__ == "__main__":
    main()
