#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
/proc/net/mini_tcp with thousands of sockets (TAP, mini_tcp only).

In a network namespace A: a listener on 127.0.0.1 with PAIRS established
connections to it (two rows each), TW connections closed into TIME_WAIT,
and REQ request socks (SYN_RECV) of a second listener, made by SYNs written
into a tun device that nobody answers.  In a namespace B: a smaller set of
sockets on 127.0.0.2 that A must never see.

The table of A is then read whole, and with read()s of 4096, 1000 and 100
bytes (the seq_file iterator resumes at its cursor on every read()).  Each
read must give the header once, then rows numbered 0, 1, 2, ... and exactly
the sockets the test made, each once, nothing from B.  B's own table must
hold B's sockets.

Run as root: selftests/proc_test.py  (MTCP_PROTO must be 253; 6 skips)
Environment: MTCP_PROC_PAIRS (default 3000).
"""
import collections
import fcntl
import os
import resource
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import craft, netns  # noqa: E402

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
PAIRS = int(os.environ.get("MTCP_PROC_PAIRS", "3000"))
TW = 200
REQ = 20
B_PAIRS, B_TW = 300, 50
NS_A, NS_B = "mtcp_proc_a", "mtcp_proc_b"
LPORT, RPORT, BPORT = 5000, 5001, 5002
TUN_ADDR, PEER_ADDR = "192.0.2.1", "192.0.2.2"
HEADER = ("  sl  local_address rem_address   st tx_queue rx_queue tr "
          "tm->when retrnsmt   uid  timeout inode")
READ_SIZES = (1 << 20, 4096, 1000, 100)
LIMIT = 64 << 20        # bytes: far more than the table can hold
ST_EST, ST_SYN_RECV, ST_TW, ST_LISTEN = 0x01, 0x03, 0x06, 0x0A

n = 0
failed = 0


def ok(cond, desc, why=()):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc))
    if not cond:
        failed += 1
        for line in why:
            print("# " + line)


def diag(msg):
    print("# " + msg)


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def sysctl(name, value=None):
    """Set a net.mini_tcp sysctl of the current netns; return the old value."""
    path = "/proc/sys/net/mini_tcp/" + name
    with open(path) as f:
        old = f.read().strip()
    if value is not None:
        with open(path, "w") as f:
            f.write("%s\n" % value)
    return old


def read_table(size):
    """The socket table of the current netns, read size bytes at a time:
    (text, read() calls, seconds).  An iterator that never reaches the end
    raises RuntimeError after LIMIT bytes."""
    fd = os.open("/proc/thread-self/net/mini_tcp", os.O_RDONLY)
    chunks, calls, total = [], 0, 0
    t0 = time.monotonic()
    try:
        while True:
            b = os.read(fd, size)
            calls += 1
            if not b:
                break
            chunks.append(b)
            total += len(b)
            if total > LIMIT:
                raise RuntimeError("read(%d): no end after %d bytes"
                                   % (size, total))
    finally:
        os.close(fd)
    return b"".join(chunks).decode(), calls, time.monotonic() - t0


def addr(h):
    return socket.inet_ntoa(struct.pack("<I", int(h, 16)))


def parse_row(line):
    """(sl, (laddr, lport, raddr, rport, state)) of a row, or None."""
    p = line.split()
    if len(p) != 10 or not p[0].endswith(":"):
        return None
    la, lp = p[1].split(":")
    ra, rp = p[2].split(":")
    return int(p[0][:-1]), (addr(la), int(lp, 16), addr(ra), int(rp, 16),
                            int(p[3], 16))


def wait_rows(pred, count, what, timeout=120):
    """Wait until count sockets of the current netns satisfy pred(key)
    (distinct keys: the checks, not this wait, judge repeated rows)."""
    end = time.monotonic() + timeout
    while True:
        text = read_table(1 << 20)[0]
        rows = [parse_row(line) for line in text.splitlines()[1:]]
        got = len({r[1] for r in rows if r and pred(r[1])})
        if got == count:
            return
        if time.monotonic() > end:
            raise RuntimeError("%s: %d rows, want %d" % (what, got, count))
        time.sleep(0.2)


def populate(host, port, pairs, tw, keep):
    """A listener on host:port, pairs connections to it and tw more closed
    into TIME_WAIT on the client side.  Sockets kept in keep; returns the
    Counter of the rows they make."""
    want = collections.Counter()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
    ls.bind((host, port))
    ls.listen(4096)
    keep.append(ls)
    want[(host, port, "0.0.0.0", 0, ST_LISTEN)] += 1
    for i in range(pairs + tw):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        c.bind((host, 0))
        c.connect((host, port))
        s, _ = ls.accept()
        cport = c.getsockname()[1]
        if i < pairs:
            keep += [c, s]
            want[(host, cport, host, port, ST_EST)] += 1
            want[(host, port, host, cport, ST_EST)] += 1
        else:
            c.close()       # active close: the client ends in TIME_WAIT
            s.recv(1)       # EOF: the FIN is in, s is in CLOSE_WAIT
            s.close()
            want[(host, cport, host, port, ST_TW)] += 1
    # the closing pairs settle: client TIME_WAIT, server side gone
    wait_rows(lambda k: k[0] == host and k[4] == ST_TW, tw, "TIME_WAIT rows")
    wait_rows(lambda k: k[0] == host and k[4] not in (ST_EST, ST_LISTEN, ST_TW),
              0, "closing rows")
    return want


def syn(sport, dport):
    """An IPv4 SYN from PEER_ADDR:sport to TUN_ADDR:dport, protocol PROTO."""
    return craft.syn(PEER_ADDR, TUN_ADDR, sport, dport, PROTO)


def request_socks(keep):
    """REQ request socks of a listener on TUN_ADDR:RPORT: SYNs from the tun
    device, whose SYN-ACKs nobody answers.  Returns the Counter of rows."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"mtp0", 0x0001 | 0x1000))
    keep.append(fd)
    sh("ip addr add %s/24 dev mtp0 && ip link set mtp0 up" % TUN_ADDR)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
    ls.bind((TUN_ADDR, RPORT))
    ls.listen(64)
    keep.append(ls)
    want = collections.Counter({(TUN_ADDR, RPORT, "0.0.0.0", 0, ST_LISTEN): 1})
    for i in range(REQ):
        os.write(fd, syn(40000 + i, RPORT))
        want[(TUN_ADDR, RPORT, PEER_ADDR, 40000 + i, ST_SYN_RECV)] += 1
    wait_rows(lambda k: k[4] == ST_SYN_RECV, REQ, "SYN_RECV rows")
    return want


def check_read(size, want, label):
    desc = ("%s: read(%d): header once, sl 0..n-1, each of %d sockets once"
            % (label, size, sum(want.values())))
    try:
        text, calls, secs = read_table(size)
    except RuntimeError as e:
        ok(False, desc, [str(e)])
        return collections.Counter()
    lines = text.split("\n")
    diag("%s: read(%d): %d bytes in %d read()s, %.2f s"
         % (label, size, len(text), calls, secs))
    why = []
    if lines[-1] != "":
        why.append("does not end with a newline")
    lines = lines[:-1]
    if not lines or lines[0] != HEADER:
        why.append("first line is not the header: %r" % lines[:1])
    nhdr = sum(1 for line in lines if "local_address" in line)
    if nhdr != 1:
        why.append("%d header lines" % nhdr)
    rows = []
    for line in lines[1:]:
        r = parse_row(line)
        if r is None:
            why.append("bad row: %r" % line)
        else:
            rows.append(r)
    sls = [sl for sl, _ in rows]
    if sls != list(range(len(rows))):
        bad = next(i for i, sl in enumerate(sls) if sl != i)
        why.append("sl not 0..%d: row %d has sl %d" % (len(rows) - 1, bad,
                                                        sls[bad]))
    got = collections.Counter(k for _, k in rows)
    missing = want - got
    extra = got - want
    dups = [k for k, c in got.items() if c > 1]
    for what, keys in (("missing", missing), ("unexpected", extra),
                       ("more than once", dups)):
        if keys:
            why.append("%d rows %s, e.g. %s" % (sum(collections.Counter(keys).values()),
                                               what, list(keys)[:3]))
    ok(not why, desc, why[:10])
    return got


def main():
    print("TAP version 13")
    if PROTO != 253:
        print("1..0 # SKIP /proc/net/mini_tcp is mini_tcp's (MTCP_PROTO=%d)"
              % PROTO)
        return 4
    print("1..%d" % (len(READ_SIZES) + 2))
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    for ns in (NS_A, NS_B):
        sh("ip netns add %s && ip -n %s link set lo up" % (ns, ns))
    keep, saved = [], []
    try:
        netns.enter(NS_B)
        saved.append((NS_B, "tw_timeout", sysctl("tw_timeout", 600)))
        want_b = populate("127.0.0.2", BPORT, B_PAIRS, B_TW, keep)

        netns.enter(NS_A)
        saved.append((NS_A, "tw_timeout", sysctl("tw_timeout", 600)))
        saved.append((NS_A, "synack_retries", sysctl("synack_retries", 10)))
        t0 = time.monotonic()
        want = populate("127.0.0.1", LPORT, PAIRS, TW, keep)
        want += request_socks(keep)
        diag("namespace A: %d sockets (%d pairs, %d TIME_WAIT, %d SYN_RECV, "
             "2 listeners) in %.1f s" % (sum(want.values()), PAIRS, TW, REQ,
                                         time.monotonic() - t0))

        seen = collections.Counter()
        for size in READ_SIZES:
            seen += check_read(size, want, "A")
        leaked = [k for k in seen if k[0] == "127.0.0.2" or k[2] == "127.0.0.2"
                  or BPORT in (k[1], k[3])]
        ok(not leaked, "A: none of B's %d sockets in any read"
           % sum(want_b.values()), ["e.g. %s" % (leaked[:3],)])

        netns.enter(NS_B)
        check_read(100, want_b, "B")
    finally:
        for ns, name, val in saved:
            netns.enter(ns)
            sysctl(name, val)
        for s in keep:
            if isinstance(s, socket.socket):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
                s.close()
            else:
                os.close(s)
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
