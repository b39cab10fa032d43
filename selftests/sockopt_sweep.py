#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Socket option sweep: mini_tcp against kernel TCP in one run (TAP).

For every option number 0..OPT_MAX at SOL_SOCKET, IPPROTO_IP and
IPPROTO_TCP, on a socket in each state

    fresh, bound, listening, client (connected), accepted, reset (the peer
    aborted with SO_LINGER {1, 0}: a RST was received)

it calls setsockopt() with odd values (optlen 0, 1 byte, int 0, 1, -1,
INT_MAX, a NULL pointer, 4 and 256 random bytes, 64 KiB of zeros), each
followed by getsockopt(optlen 4) and, on connected sockets, a one-byte
exchange both ways; getsockopt() with optlen 0, 1, 4, 256 and a NULL
buffer before and after the values; and at the end a connect/accept
through the socket (fresh, bound, listening) or one more exchange.

The same sequence runs on a TCP socket (protocol 6) and on a socket of the
protocol under test ($MTCP_PROTO, default 253), each (level, option,
state) on new sockets, and the results are compared:
  - SOL_SOCKET and IPPROTO_IP: errno and returned optlen must match TCP's,
    and so must the exchanges, wherever TCP's exchange worked (or after
    the reset);
  - IPPROTO_TCP: the options mini_tcp implements (IMPLEMENTED below) must
    match TCP's errno; for every other option setsockopt/getsockopt must
    fail with ENOPROTOOPT or match TCP.
Every mismatch is printed as a TAP diagnostic with the exact (level,
option, value, state, call, TCP's result, mini_tcp's result); there is one
TAP result per (level, state).  Differences that come from the core kernel
treating IPPROTO_TCP specially (sk_is_tcp() in net/core/sock.c) are listed
in CORE_TCP_ONLY and printed, not failed.

With MTCP_PROTO=6 both sides are TCP: a self-check of the sweep (every
result must be reproducible).  Runs in its own network namespace
(loopback), so no socket outlives it.

Options: --levels sol,ip,tcp  --states fresh,bound,...  --opts 0-100
--skip LEVEL:OPT[,...] (also $MTCP_SWEEP_SKIP; e.g. 0:4 is IP_OPTIONS)
-v (print every call).  A watchdog prints the call in progress and exits
if one takes more than 60 s.
"""
import argparse
import ctypes
import errno
import os
import random
import re
import select
import socket
import struct
import sys
import threading
import time

TCP = 6
MINI = int(os.environ.get("MTCP_PROTO") or 253)
OPT_MAX = 100
SOL_SOCKET, SOL_IP, SOL_TCP = socket.SOL_SOCKET, socket.IPPROTO_IP, socket.IPPROTO_TCP
LEVELS = {"sol": SOL_SOCKET, "ip": SOL_IP, "tcp": SOL_TCP}
LEVEL_NAME = {SOL_SOCKET: "SOL_SOCKET", SOL_IP: "IPPROTO_IP", SOL_TCP: "IPPROTO_TCP"}
STATES = ["fresh", "bound", "listening", "client", "accepted", "reset"]
CONNECTED = ("client", "accepted")

# TCP-level options mini_tcp implements (uapi/linux/tcp.h numbers)
IMPLEMENTED = {
    1: "TCP_NODELAY", 2: "TCP_MAXSEG", 3: "TCP_CORK", 4: "TCP_KEEPIDLE",
    5: "TCP_KEEPINTVL", 6: "TCP_KEEPCNT", 7: "TCP_SYNCNT", 8: "TCP_LINGER2",
    9: "TCP_DEFER_ACCEPT", 11: "TCP_INFO", 12: "TCP_QUICKACK",
    18: "TCP_USER_TIMEOUT",
}

# (level, opt) -> why: the core kernel (net/core/sock.c) checks
# sk_is_tcp() here, so protocol 253 legitimately differs from TCP.
CORE_TCP_ONLY = {
    (SOL_SOCKET, 60): "SO_ZEROCOPY: sock_setsockopt accepts it for TCP and UDP only (EOPNOTSUPP otherwise)",
    (SOL_SOCKET, 37): "SO_TIMESTAMPING_OLD: OPT_ID needs a synchronized state for TCP only (sock_set_timestamping)",
    (SOL_SOCKET, 65): "SO_TIMESTAMPING_NEW: as SO_TIMESTAMPING_OLD",
    (SOL_SOCKET, 80): "SO_DEVMEM_DONTNEED (6.12): sock_devmem_dontneed answers EBADF "
                      "for anything but TCP (sk_is_tcp)",
    (SOL_SOCKET, 74): "SO_TXREHASH (7.x): the core answers EOPNOTSUPP for anything but "
                      "TCP, getting and setting (6.1 and 6.12 take it for every protocol)",
}

INT_MAX = 0x7FFFFFFF
NAMES = {}
for _lvl, _hdr, _re in ((SOL_SOCKET, "asm-generic/socket.h", r"SO_\w+"),
                        (SOL_IP, "linux/in.h", r"(?:IP|MCAST)_\w+"),
                        (SOL_TCP, "linux/tcp.h", r"TCP_\w+")):
    try:
        with open("/usr/include/" + _hdr) as _f:
            for _m in re.finditer(r"^#define\s+(%s)\s+(\d+)\b" % _re, _f.read(), re.M):
                NAMES.setdefault((_lvl, int(_m.group(2))), _m.group(1))
    except OSError:
        pass
NAMES.update({(SOL_TCP, k): v for k, v in IMPLEMENTED.items()})


def optname(level, opt):
    return "%s(%d)" % (NAMES.get((level, opt), "?"), opt)


libc = ctypes.CDLL(None, use_errno=True)
libc.setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                            ctypes.c_void_p, ctypes.c_uint]
libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                            ctypes.c_void_p, ctypes.c_void_p]
CLONE_NEWNET = 0x40000000


def ename(e):
    return errno.errorcode.get(e, str(e))


def values(level, opt):
    """The setsockopt values: (label, bytes or None for NULL, optlen)."""
    rnd = random.Random("%d:%d" % (level, opt))
    r4 = bytes(rnd.getrandbits(8) for _ in range(4))
    r256 = bytes(rnd.getrandbits(8) for _ in range(256))
    return [
        ("empty", b"", 0),
        ("byte1", b"\x01", 1),
        ("int0", struct.pack("i", 0), 4),
        ("int1", struct.pack("i", 1), 4),
        ("int-1", struct.pack("i", -1), 4),
        ("INT_MAX", struct.pack("i", INT_MAX), 4),
        ("null4", None, 4),
        ("rand4=" + r4.hex(), r4, 4),
        ("rand256", r256, 256),
        ("zero64k", bytes(65536), 65536),
    ]


GET_LENS = [("len0", 0), ("len1", 1), ("len4", 4), ("len256", 256), ("null4", None)]


class Watchdog:
    def __init__(self, limit=60):
        self.what = "start"
        self.t = time.monotonic()
        self.limit = limit
        threading.Thread(target=self.run, daemon=True).start()

    def at(self, what):
        self.what = what
        self.t = time.monotonic()

    def run(self):
        while True:
            time.sleep(2)
            if time.monotonic() - self.t > self.limit:
                print("# WATCHDOG: stuck for %d s in: %s" % (self.limit, self.what), flush=True)
                print("Bail out! stuck in %s" % self.what, flush=True)
                os._exit(1)


WD = None


def do_set(fd, level, opt, data, optlen):
    if data is None:
        buf = None
    else:
        buf = ctypes.create_string_buffer(data, max(len(data), 1))
    ctypes.set_errno(0)
    r = libc.setsockopt(fd, level, opt, buf, optlen)
    return "0" if r == 0 else ename(ctypes.get_errno())


def do_get(fd, level, opt, length):
    """getsockopt: '0/len=N' or the errno name."""
    if length is None:
        buf = None
        ln = ctypes.c_uint(4)
    else:
        buf = ctypes.create_string_buffer(max(length, 1))
        ln = ctypes.c_uint(length)
    ctypes.set_errno(0)
    r = libc.getsockopt(fd, level, opt, buf, ctypes.byref(ln))
    if r != 0:
        return ename(ctypes.get_errno())
    return "0/len=%d" % ln.value


def oserr(e):
    return ename(e.errno) if e.errno else type(e).__name__


def readable(s, tmo):
    try:
        r, _, _ = select.select([s], [], [], tmo)
    except (OSError, ValueError):
        return False
    return bool(r)


def xfer(a, b):
    """One byte a -> b: 'ok', or what went wrong."""
    try:
        n = a.send(b"x", socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
    except OSError as e:
        return "send:" + oserr(e)
    if n != 1:
        return "send:%d" % n
    if b is None:
        return "sent"
    # not select(): SO_RCVLOWAT keeps TCP's poll quiet, recv() is not
    t0 = time.monotonic()
    while True:
        try:
            d = b.recv(16, socket.MSG_DONTWAIT)
        except BlockingIOError:
            if time.monotonic() - t0 > 0.5:
                return "recv:timeout"
            time.sleep(0.002)
            continue
        except OSError as e:
            return "recv:" + oserr(e)
        return "ok" if d == b"x" else "recv:%r" % d


def exchange(st):
    main, peer = st["main"], st.get("peer")
    r1 = xfer(main, peer)
    r2 = xfer(peer, main) if peer is not None else "-"
    if peer is None:        # reset state: what does a read say?
        try:
            d = main.recv(16, socket.MSG_DONTWAIT)
            r2 = "recv:%r" % d
        except OSError as e:
            r2 = "recv:" + oserr(e)
    return "%s,%s" % (r1, r2)


class Env:
    """Per protocol: a listener that clients of 'client'/'accepted' use."""

    def __init__(self, proto):
        self.proto = proto
        self.l = self.sock()
        self.l.bind(("127.0.0.1", 0))
        self.l.listen(64)
        self.l.setblocking(False)
        self.port = self.l.getsockname()[1]

    def sock(self):
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM, self.proto)

    def accept(self, l=None, tmo=2.0):
        l = l or self.l
        if not readable(l, tmo):
            raise TimeoutError("accept: nothing to accept")
        a, _ = l.accept()
        a.setblocking(True)     # no timeout: MSG_DONTWAIT calls go
        return a                # straight to the kernel, no poll()

    def make(self, state):
        st = {}
        if state in ("fresh", "bound", "listening"):
            s = self.sock()
            if state != "fresh":
                s.bind(("127.0.0.1", 0))
            if state == "listening":
                s.listen(8)
            st["main"] = s
            return st
        c = self.sock()
        c.settimeout(5)
        c.connect(("127.0.0.1", self.port))
        c.setblocking(True)
        a = self.accept()
        if state == "client":
            st["main"], st["peer"] = c, a
        elif state == "accepted":
            st["main"], st["peer"] = a, c
        else:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            a.close()
            # the RST arrives: c becomes readable (ECONNRESET)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                p = select.poll()
                p.register(c, select.POLLIN | select.POLLERR | select.POLLHUP)
                if p.poll(100):
                    break
            st["main"] = c
        return st

    def final(self, state, st):
        """After the sweep of one option: does the socket still work?"""
        s = st["main"]
        if state in CONNECTED or state == "reset":
            return exchange(st)
        if state == "listening":
            c = self.sock()
            try:
                c.setblocking(False)
                r = c.connect_ex(s.getsockname())
                if r not in (0, errno.EINPROGRESS):
                    return "connect:" + ename(r)
                try:
                    a = self.accept(s, 2.0)
                except (TimeoutError, OSError) as e:
                    return "accept:" + (oserr(e) if isinstance(e, OSError) and e.errno else "timeout")
                a.close()
                return "accepted"
            finally:
                c.close()
        # fresh, bound: connect through it
        try:
            s.setblocking(False)
            r = s.connect_ex(("127.0.0.1", self.port))
            if r == errno.EINPROGRESS:
                p = select.poll()
                p.register(s, select.POLLOUT)
                p.poll(2000)
                r = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if r:
                return "connect:" + ename(r)
            try:
                a = self.accept(None, 2.0)
            except TimeoutError:
                return "connected,accept:timeout"
            st["peer"] = a
            return "connected," + exchange(st)
        except OSError as e:
            return "final:" + oserr(e)

    @staticmethod
    def close(st):
        for k in ("main", "peer"):
            s = st.get(k)
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def sweep_one(env, level, opt, state, log):
    """Every call on one socket of env.proto in state: list of (key, result)."""
    res = []
    fd_state = env.make(state)
    fd = fd_state["main"].fileno()
    on = optname(level, opt)

    def rec(key, val):
        res.append((key, val))
        if log:
            print("#   [%d] %s %s %s: %s" % (env.proto, state, on, key, val))

    try:
        for ln_label, ln in GET_LENS:
            WD.at("proto %d %s %s getsockopt %s (before)" % (env.proto, state, on, ln_label))
            rec("get " + ln_label, do_get(fd, level, opt, ln))
        for label, data, optlen in values(level, opt):
            WD.at("proto %d %s %s setsockopt %s" % (env.proto, state, on, label))
            rec("set " + label, do_set(fd, level, opt, data, optlen))
            WD.at("proto %d %s %s getsockopt len4 after set %s" % (env.proto, state, on, label))
            rec("get len4 after set " + label, do_get(fd, level, opt, 4))
            if state in CONNECTED:
                WD.at("proto %d %s %s exchange after set %s" % (env.proto, state, on, label))
                rec("exchange after set " + label, "X:" + exchange(fd_state))
        for ln_label, ln in GET_LENS:
            WD.at("proto %d %s %s getsockopt %s (after)" % (env.proto, state, on, ln_label))
            rec("get %s (after)" % ln_label, do_get(fd, level, opt, ln))
        WD.at("proto %d %s %s: socket still works?" % (env.proto, state, on))
        rec("final", "X:" + env.final(state, fd_state))
    finally:
        WD.at("proto %d %s %s: close" % (env.proto, state, on))
        Env.close(fd_state)
    return res


def fine(outcome):
    """An exchange / end-of-sweep check where everything worked."""
    return all(w in ("ok", "sent", "-", "accepted", "connected")
               for w in outcome[2:].split(","))


def judge(level, opt, state, key, rt, rm):
    """None if mini's result rm is acceptable against TCP's rt, else why."""
    if rt == rm:
        return None
    if rt.startswith("X:"):                 # an exchange / end-of-sweep check
        if level == SOL_TCP and opt not in IMPLEMENTED:
            return None                     # TCP's option changed TCP only
        if state != "reset" and not fine(rt):
            # TCP's connection broke or stalled (pacing, TCP_TX_DELAY, bound
            # to a missing device...): how and when the other one breaks
            # depends on timers (delayed ACKs), not on the option.
            return None
        return "differs"
    if level == SOL_TCP and opt not in IMPLEMENTED:
        if rm == "ENOPROTOOPT":
            return None
        return "want ENOPROTOOPT or TCP's result"
    if level == SOL_TCP and key.startswith("get") and rt.startswith("0/") and rm.startswith("0/"):
        return None                         # lengths of TCP_INFO etc. may differ
    return "differs"


def main():
    global WD
    ap = argparse.ArgumentParser()
    ap.add_argument("--levels", default="sol,ip,tcp")
    ap.add_argument("--states", default=",".join(STATES))
    ap.add_argument("--opts", default="0-%d" % OPT_MAX)
    ap.add_argument("--skip", default=os.environ.get("MTCP_SWEEP_SKIP", ""))
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    levels = [LEVELS[x] for x in a.levels.split(",")]
    states = a.states.split(",")
    lo, _, hi = a.opts.partition("-")
    opts = range(int(lo), int(hi or lo) + 1)
    skip = set()
    for w in a.skip.replace(" ", ",").split(","):
        if w:
            lv, op = w.split(":")
            skip.add((int(lv), int(op)))

    if libc.unshare(CLONE_NEWNET) != 0:
        print("1..0 # SKIP unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno()))
        return 4
    # lo up: SIOCSIFFLAGS
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = struct.pack("16sh14x", b"lo", 0)
    flags = struct.unpack("16sh14x", fcntl.ioctl(s, 0x8913, ifr))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sh14x", b"lo", flags | 1))
    s.close()

    try:
        envs = (Env(TCP), Env(MINI))
    except OSError as e:
        print("1..0 # SKIP socket(AF_INET, SOCK_STREAM, %d): %s" % (MINI, e))
        return 4
    WD = Watchdog()
    print("1..%d" % (len(levels) * len(states)))
    print("# TCP (6) against protocol %d; options %d..%d%s" %
          (MINI, opts[0], opts[-1], "; skipping " + a.skip if skip else ""))
    n = failed = 0
    t00 = time.monotonic()
    for level in levels:
        for state in states:
            t0 = time.monotonic()
            bad = notes = calls = 0
            for opt in opts:
                if (level, opt) in skip:
                    continue
                rt = sweep_one(envs[0], level, opt, state, a.v)
                rm = sweep_one(envs[1], level, opt, state, a.v)
                calls += len(rt)
                for (key, vt), (_, vm) in zip(rt, rm):
                    why = judge(level, opt, state, key, vt, vm)
                    if why is None:
                        continue
                    line = "(%s, %s, %s, %s) TCP: %s, proto %d: %s" % (
                        LEVEL_NAME[level], optname(level, opt), key, state, vt, MINI, vm)
                    if (level, opt) in CORE_TCP_ONLY:
                        notes += 1
                        print("# note: %s [core: %s]" % (line, CORE_TCP_ONLY[(level, opt)]))
                    else:
                        bad += 1
                        print("# MISMATCH %s (%s)" % (line, why))
            n += 1
            desc = "%s, %s: %d calls per protocol, %d mismatches%s (%.1f s)" % (
                LEVEL_NAME[level], state, calls, bad,
                ", %d known core differences" % notes if notes else "",
                time.monotonic() - t0)
            if bad:
                failed += 1
                print("not ok %d %s" % (n, desc), flush=True)
            else:
                print("ok %d %s" % (n, desc), flush=True)
    print("# %.1f s" % (time.monotonic() - t00))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
