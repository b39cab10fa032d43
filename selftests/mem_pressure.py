#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Protocol memory limits and pressure (TAP), for mini_tcp and, with
MTCP_PROTO=6, kernel TCP as the oracle.

The limits (net.mini_tcp.mem, like net.ipv4.tcp_mem: pages for "no
pressure", "pressure", "hard limit") are module-wide and writable only in
the initial network namespace: these cases run there, over loopback, and
put every limit back as they found it.

  fill_past_mem2_then_drain  PAIRS connected pairs; the senders write a
                             known pattern without the receivers reading,
                             with mem set to a few hundred pages, until
                             every sender gets EAGAIN: usage passes mem[0],
                             mem[1] and mem[2] (the receive path then runs
                             the core's "under pressure" code, which reads
                             the protocol's rmem[0]/wmem[0]).  The pressure
                             counter must have moved; then everything is
                             read back byte-exact, the sockets are closed,
                             and the protocol's memory (/proc/net/protocols)
                             must fall back to what the per-CPU caches hide
                             at most; pressure must end once below mem[0].
  syn_and_fin_over_limit     usage held above a hard limit of 1 page: a
                             connect() still sends its SYN and completes,
                             a close() still sends its FIN and both ends
                             finish the teardown (TIME_WAIT / gone).

Run as root in the VM: selftests/mem_pressure.py (MTCP_PROTO: 253 or 6)
"""
import os
import select
import signal
import socket
import sys
import time
import traceback

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
IS_TCP = PROTO == 6
PNAME = "TCP" if IS_TCP else "MINI_TCP"
MEM = "/proc/sys/net/ipv4/tcp_mem" if IS_TCP else "/proc/sys/net/mini_tcp/mem"
PCPU_RSV = "/proc/sys/net/core/mem_pcpu_rsv"
# (entered, milliseconds in pressure) counters
PRESSURE = ("TCPMemoryPressures", "TCPMemoryPressuresChrono") if IS_TCP else \
    ("MemoryPressures", "MemoryPressuresChrono")
PROC_SOCKS = "/proc/net/tcp" if IS_TCP else "/proc/net/mini_tcp"

PAIRS = 200
CHUNK = 65536
PAGE = os.sysconf("SC_PAGE_SIZE")


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def diag(msg):
    for line in str(msg).rstrip().splitlines():
        print("# " + line, flush=True)


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write("%s\n" % value)


def proto_line():
    """This protocol's /proc/net/protocols line: (memory pages, pressure)."""
    for line in open("/proc/net/protocols"):
        f = line.split()
        if f and f[0] == PNAME:
            return int(f[3]), f[4]
    raise Fail("no %s line in /proc/net/protocols" % PNAME)


def memory_pages():
    return proto_line()[0]


def counters():
    out = {}
    path = "/proc/net/netstat" if IS_TCP else "/proc/net/mini_tcp_stat"
    lines = open(path).read().splitlines()
    for i in range(0, len(lines) - 1, 2):
        names = lines[i].split(":")[1].split()
        vals = lines[i + 1].split(":")[1].split()
        out.update(zip(names, (int(v) for v in vals)))
    return out


def pcpu_slack():
    """Pages the per-CPU caches may hold back from the global counter."""
    rsv = int(read(PCPU_RSV)) if os.path.exists(PCPU_RSV) else 256
    return os.cpu_count() * rsv


# The byte stream of pair i: a fixed random block, started at i * 977.
BLOCK = os.urandom(1 << 20) * 2


def pattern(i, off, n):
    start = (i * 977 + off) % (1 << 20)
    assert n <= (1 << 20)
    return BLOCK[start:start + n]


def pairs(n):
    L = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
    L.bind(("127.0.0.1", 0))
    L.listen(1024)
    out = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        c.settimeout(30)
        c.connect(L.getsockname())
        a, _ = L.accept()
        out.append((c, a))
    L.close()
    return out


def fill_past_mem2_then_drain():
    limits = (256, 384, 512)
    write(MEM, "%d %d %d" % limits)
    c0 = counters()
    P = pairs(PAIRS)
    diag("%d pairs connected; filling (limits %s pages)" % (PAIRS, limits))
    for c, a in P:
        c.setblocking(False)
        a.setblocking(False)
    sent = [0] * PAIRS
    peak = memory_pages()
    t0 = time.monotonic()
    idle = 0
    while idle < 3 and time.monotonic() - t0 < 60:
        progress = 0
        for i, (c, _) in enumerate(P):
            while True:
                try:
                    n = c.send(pattern(i, sent[i], CHUNK))
                except BlockingIOError:
                    break
                sent[i] += n
                progress += n
        peak = max(peak, memory_pages())
        idle = idle + 1 if not progress else 0
        time.sleep(0.2)
    c1 = counters()
    total = sum(sent)
    diag("filled %d pairs with %d KiB in %.1f s; peak %d pages, limits %s" %
         (PAIRS, total >> 10, time.monotonic() - t0, peak, limits))
    if peak <= limits[2]:
        raise Fail("usage never passed mem[2] (%d pages)" % limits[2])
    entered = c1[PRESSURE[0]] - c0[PRESSURE[0]]
    if entered < 1:
        raise Fail("%s did not move" % PRESSURE[0])

    # Read it all back, byte-exact, with the limits still low.
    got = [0] * PAIRS
    t1 = time.monotonic()
    rcv = {a.fileno(): i for i, (_, a) in enumerate(P)}
    pending = {i for i in range(PAIRS) if sent[i]}
    while pending and time.monotonic() - t1 < 90:
        r, _, _ = select.select([P[i][1] for i in pending], [], [], 1.0)
        for s in r:
            i = rcv[s.fileno()]
            while True:
                try:
                    data = s.recv(CHUNK)
                except BlockingIOError:
                    break
                if not data:
                    raise Fail("pair %d: EOF after %d of %d bytes" % (i, got[i], sent[i]))
                if data != pattern(i, got[i], len(data)):
                    raise Fail("pair %d: wrong bytes at offset %d" % (i, got[i]))
                got[i] += len(data)
            if got[i] > sent[i]:
                raise Fail("pair %d: more bytes than sent" % i)
            if got[i] == sent[i]:
                pending.discard(i)
    if pending:
        i = min(pending)
        raise Fail("%d pairs not drained after 90 s (pair %d: %d of %d bytes)" %
                   (len(pending), i, got[i], sent[i]))
    diag("read back %d KiB byte-exact in %.1f s" % (total >> 10, time.monotonic() - t1))

    for c, a in P:
        c.close()
        a.close()
    slack = pcpu_slack()
    t2 = time.monotonic()
    while memory_pages() > slack and time.monotonic() - t2 < 30:
        time.sleep(0.5)
    left = memory_pages()
    diag("after close: %d pages (per-CPU caches may hide up to %d)" % (left, slack))
    if left > slack:
        raise Fail("%d pages still charged after every socket closed" % left)

    # Pressure ends at the first allocation below mem[0].
    restore()
    c, a = pairs(1)[0]
    c.sendall(b"x" * 1000)
    a.recv(1000)
    c.close()
    a.close()
    c2 = counters()
    pressure = proto_line()[1]
    diag("%s +%d, %s +%d ms, pressure now %s" %
         (PRESSURE[0], entered, PRESSURE[1], c2[PRESSURE[1]] - c0[PRESSURE[1]], pressure))
    if pressure != "no":
        raise Fail("still under memory pressure: %s" % pressure)
    if c2[PRESSURE[1]] - c0[PRESSURE[1]] <= 0:
        raise Fail("%s did not move" % PRESSURE[1])


def sock_state(local, remote):
    """State (TCP_* number) of the socket local -> remote in the socket
    table, or None if there is none."""
    def hexaddr(a):
        return "%08X:%04X" % (int.from_bytes(socket.inet_aton(a[0]), "little"), a[1])
    lo, re = hexaddr(local), hexaddr(remote)
    for line in open(PROC_SOCKS).read().splitlines()[1:]:
        f = line.split()
        if len(f) > 3 and f[1] == lo and f[2] == re:
            return int(f[3], 16)
    return None


def wait_state(local, remote, want, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = sock_state(local, remote)
        if st in want:
            return st
        time.sleep(0.1)
    return sock_state(local, remote)


def syn_and_fin_over_limit():
    # Hold memory with unread data while the limits are the defaults, so
    # that the global counter (past the per-CPU caches) is well above 1.
    hold = pairs(60)
    for i, (c, _) in enumerate(hold):
        c.setblocking(False)
        try:
            while True:
                c.send(pattern(i, 0, CHUNK))
        except BlockingIOError:
            pass
    time.sleep(0.5)
    used = memory_pages()
    write(MEM, "1 1 1")
    try:
        if used <= 1:
            raise Fail("could not hold memory above 1 page (%d)" % used)
        diag("%d pages in use, hard limit 1 page" % used)
        c, a = pairs(1)[0]        # SYN over the limit
        local, remote = c.getsockname(), c.getpeername()
        c.close()                 # FIN over the limit
        a.settimeout(20)
        if a.recv(100) != b"":
            raise Fail("data instead of EOF")
        a.close()                 # the passive side's FIN over the limit
        st = wait_state(local, remote, (6,))        # TIME_WAIT
        if st != 6:
            raise Fail("active closer in state %s, not TIME_WAIT" % st)
        st = wait_state(remote, local, (None,))
        if st is not None:
            raise Fail("passive closer still in state %d" % st)
    finally:
        for c, a in hold:
            c.close()
            a.close()


CASES = [
    ("fill_past_mem2_then_drain", fill_past_mem2_then_drain, 240),
    ("syn_and_fin_over_limit", syn_and_fin_over_limit, 90),
]
SAVED = {}


def restore():
    for path, value in SAVED.items():
        write(path, value)


def alarm(signum, frame):
    raise Fail("took longer than its time limit")


def main():
    print("TAP version 13")
    print("# mem_pressure.py: protocol %d (%s)" % (PROTO, PNAME))
    print("1..%d" % len(CASES), flush=True)
    skip = None
    if os.geteuid() != 0:
        skip = "must be root"
    elif not os.path.exists(MEM):
        skip = "%s missing" % MEM
    else:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO).close()
        except OSError as e:
            skip = "socket(AF_INET, SOCK_STREAM, %d): %s" % (PROTO, e)
    if skip is None:
        SAVED[MEM] = read(MEM)
        os.system("ip link set lo up")
    failed = 0
    signal.signal(signal.SIGALRM, alarm)
    for i, (name, fn, limit) in enumerate(CASES, 1):
        if skip:
            print("ok %d %s # SKIP %s" % (i, name, skip), flush=True)
            continue
        ok = True
        try:
            signal.alarm(limit)
            try:
                fn()
            finally:
                signal.alarm(0)
                restore()
        except Fail as e:
            ok = False
            diag(e)
        except Exception:
            ok = False
            diag(traceback.format_exc())
        print("%s %d %s" % ("ok" if ok else "not ok", i, name), flush=True)
        failed |= not ok
    if skip:
        return 4
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
