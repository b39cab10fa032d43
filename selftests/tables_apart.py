#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
mini_tcp's connection tables and TCP's are apart (TAP; one run, not per
protocol: MTCP_PROTO is the protocol under test, 253 by default).

In a fresh network namespace, with only sockets of the protocol under test:
a listener on 0.0.0.0:P, an established pair to it over loopback and a
TIME_WAIT socket (a client that closed first), then:

  - `ss -tan` and /proc/net/tcp list none of them (TCP's listening,
    established and TIME_WAIT tables, read through inet_diag and through
    the seq_file of tcp_hashinfo);
  - /proc/net/mini_tcp lists exactly them;
  - TCP binds and listens on 0.0.0.0:P while that listener exists;
  - a TCP connect to P is accepted by the TCP listener only, a mini_tcp
    connect by the mini_tcp listener only;
  - TCP binds the exact local address of the mini_tcp client and of the
    TIME_WAIT socket and connects from there to P: the same 4-tuples as
    the mini_tcp connections;
  - then, with TCP's sockets there too, /proc/net/mini_tcp still lists
    exactly the mini_tcp sockets and /proc/net/tcp exactly TCP's; and the
    other way round, mini_tcp binds and listens on a port TCP listens on
    (0.0.0.0:Q) and connects to it over mini_tcp from the local address of
    a TCP connection.

How this fails if mini_tcp's sockets land in TCP's tables (with
proto.h.hashinfo unset, or pointing at tcp_hashinfo, inet_hash() and
inet_csk_get_port() use TCP's): they show up in ss and /proc/net/tcp; the
TCP bind on P finds the mini_tcp listener in TCP's bind bucket for P and
fails with EADDRINUSE (no SO_REUSEADDR anywhere, 0.0.0.0 overlaps every
address); the TCP bind to the mini_tcp client's port and TIME_WAIT port
fails with EADDRINUSE; and a TCP SYN to P could be delivered to the
mini_tcp listener (the TCP listener would then not see it).  Without
CONFIG_IP_DCCP, inet_hashtables.c ignores proto.h.hashinfo and uses
tcp_hashinfo: that is the case this test stands for.
"""
import ctypes
import os
import select
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import tap  # noqa: E402

TCP = 6
MINI = int(os.environ.get("MTCP_PROTO") or 253)
P, Q = 7601, 7602
LO = "127.0.0.1"
CLONE_NEWNET = 0x40000000
ST_EST, ST_TW, ST_LISTEN = 0x01, 0x06, 0x0A
SS_STATE = {"ESTAB": ST_EST, "TIME-WAIT": ST_TW, "LISTEN": ST_LISTEN}
_libc = ctypes.CDLL(None, use_errno=True)


def rows(table):
    """{(laddr, lport, raddr, rport, state)} of /proc/self/net/TABLE"""
    out = set()
    with open("/proc/self/net/" + table) as f:
        for line in f.readlines()[1:]:
            p = line.split()
            (la, lp), (ra, rp) = p[1].split(":"), p[2].split(":")
            out.add((socket.inet_ntoa(int(la, 16).to_bytes(4, "little")), int(lp, 16),
                     socket.inet_ntoa(int(ra, 16).to_bytes(4, "little")), int(rp, 16),
                     int(p[3], 16)))
    return out


def ss_tan():
    """{(laddr, lport, raddr, rport, state)} from `ss -tanH` (TCP sockets in
    every state, numeric, through inet_diag)"""
    r = subprocess.run(["ss", "-tanH"], capture_output=True, text=True, check=True)
    out = set()
    for line in r.stdout.splitlines():
        p = line.split()
        if len(p) < 5:
            continue
        (la, lp), (ra, rp) = p[3].rsplit(":", 1), p[4].rsplit(":", 1)
        out.add((la.replace("*", "0.0.0.0"), int(lp), ra.replace("*", "0.0.0.0"),
                 0 if rp == "*" else int(rp), SS_STATE.get(p[0], p[0])))
    return out


def sk(proto):
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)


def key(s, state):
    la, lp = s.getsockname()
    ra, rp = s.getpeername() if state != ST_LISTEN else ("0.0.0.0", 0)
    return (la, lp, ra, rp, state)


def pair(proto, lsock, port, local=None):
    """a connection to lsock (listening on port): (client, accepted)"""
    c = sk(proto)
    if local:
        c.bind(local)
    c.settimeout(10)
    c.connect((LO, port))
    lsock.settimeout(10)
    a, _ = lsock.accept()
    return c, a


def pending(lsock):
    return bool(select.select([lsock], [], [], 0.5)[0])


def wait_state(table, port, state, secs=5):
    """wait until a row of TABLE has local port PORT in STATE"""
    for _ in range(int(secs / 0.01)):
        if any(r[1] == port and r[4] == state for r in rows(table)):
            return True
        select.select([], [], [], 0.01)
    return False


def attempt(desc, fn, *args):
    """tap.ok for fn(*args) returning (cond, why...), an OSError a failure"""
    try:
        cond, why = fn(*args)
    except OSError as e:
        cond, why = False, ["%s: %s" % (type(e).__name__, e)]
    return tap.ok(cond, desc, why)


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (a network namespace)")
        return 4
    if MINI == TCP:
        print("1..0 # SKIP compares mini_tcp's tables with TCP's (MTCP_PROTO=6)")
        return 4
    if _libc.unshare(CLONE_NEWNET) != 0:
        print("1..0 # SKIP unshare(CLONE_NEWNET): %s" % os.strerror(ctypes.get_errno()))
        return 4
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

    # mini_tcp: listener on 0.0.0.0:P, an established pair, a TIME_WAIT
    ml = sk(MINI)
    ml.bind(("0.0.0.0", P))
    ml.listen(16)
    mc, ma = pair(MINI, ml, P)
    tc, ta = pair(MINI, ml, P)
    tw_port = tc.getsockname()[1]
    tc.close()                          # the client closes first: TIME_WAIT
    ta.close()
    mini = {key(ml, ST_LISTEN), key(mc, ST_EST), key(ma, ST_EST),
            (LO, tw_port, LO, P, ST_TW)}
    print("# protocol %d: listener 0.0.0.0:%d, client port %d, TIME_WAIT port %d"
          % (MINI, P, mc.getsockname()[1], tw_port))
    tap.ok(wait_state("mini_tcp", tw_port, ST_TW),
           "the closed client is in TIME_WAIT in /proc/net/mini_tcp", sorted(rows("mini_tcp")))

    got = ss_tan()
    tap.ok(not got, "ss -tan lists no socket (the namespace has mini_tcp sockets only)",
           sorted(got))
    got = rows("tcp")
    tap.ok(not got, "/proc/net/tcp lists no socket", sorted(got))
    got = rows("mini_tcp")
    tap.ok(got == mini, "/proc/net/mini_tcp lists the listener, the pair and the TIME_WAIT",
           ["want %s" % sorted(mini), "got  %s" % sorted(got)])

    # TCP on the same port: its own bind bucket, its own listener
    tl = sk(TCP)

    def tcp_listen():
        tl.bind(("0.0.0.0", P))
        tl.listen(16)
        return True, []
    if not attempt("TCP binds and listens on 0.0.0.0:%d beside the mini_tcp listener" % P,
                   tcp_listen):
        print("# (EADDRINUSE here: the mini_tcp listener is in TCP's bind table)")
        return tap.done()

    def reaches(proto, mine, other, expect):
        c, a = pair(proto, mine, P)
        stray = pending(other)
        ok = a.getpeername() == c.getsockname() and not stray
        why = ["accepted peer %s, client %s" % (a.getpeername(), c.getsockname()),
               "the other protocol's listener has a connection waiting: %s" % stray]
        cport = c.getsockname()[1]
        c.close()                       # TIME_WAIT on the client's port
        a.close()
        expect.add((LO, cport, LO, P, ST_TW))
        wait_state("tcp" if proto == TCP else "mini_tcp", cport, ST_TW)
        return ok, why
    tcp_socks = {key(tl, ST_LISTEN)}
    attempt("a TCP connect to %d reaches the TCP listener, not the mini_tcp one" % P,
            reaches, TCP, tl, ml, tcp_socks)
    attempt("a mini_tcp connect to %d reaches the mini_tcp listener, not the TCP one" % P,
            reaches, MINI, ml, tl, mini)

    # TCP on the exact 4-tuples of the mini_tcp connection and TIME_WAIT
    keep = []

    def same_tuple(local):
        c, a = pair(TCP, tl, P, local)
        keep.extend((c, a))
        tcp_socks.update((key(c, ST_EST), key(a, ST_EST)))
        return c.getsockname() == local and c.getpeername() == (LO, P), \
            ["TCP connection %s -> %s" % (c.getsockname(), c.getpeername())]
    attempt("TCP connects from %s:%d, the mini_tcp client's address, to %d"
            % (LO, mc.getsockname()[1], P), same_tuple, mc.getsockname())
    attempt("TCP connects from %s:%d, the mini_tcp TIME_WAIT's address, to %d"
            % (LO, tw_port, P), same_tuple, (LO, tw_port))

    # the other way round: mini_tcp beside a TCP listener and connection
    tq = sk(TCP)
    tq.bind(("0.0.0.0", Q))
    tq.listen(16)
    tqc, tqa = pair(TCP, tq, Q)
    tcp_socks.update((key(tq, ST_LISTEN), key(tqc, ST_EST), key(tqa, ST_EST)))
    mq = sk(MINI)
    mqc = None

    def mini_beside_tcp():
        nonlocal mqc
        mq.bind(("0.0.0.0", Q))
        mq.listen(16)
        mqc, mqa = pair(MINI, mq, Q, tqc.getsockname())
        stray = pending(tq)
        mini.update((key(mq, ST_LISTEN), key(mqc, ST_EST), key(mqa, ST_EST)))
        keep.append(mqa)
        return mqc.getsockname() == tqc.getsockname() and not stray, \
            ["mini_tcp connection %s -> %s" % (mqc.getsockname(), mqc.getpeername()),
             "the TCP listener has a connection waiting: %s" % stray]
    attempt("mini_tcp listens on 0.0.0.0:%d beside TCP's listener and connects from %s, "
            "a TCP connection's address" % (Q, tqc.getsockname()), mini_beside_tcp)

    got = rows("mini_tcp")
    tap.ok(got == mini, "/proc/net/mini_tcp lists the mini_tcp sockets and no TCP socket",
           ["want %s" % sorted(mini), "got  %s" % sorted(got)])
    got = rows("tcp")
    tap.ok(got == tcp_socks, "/proc/net/tcp lists the TCP sockets and no mini_tcp socket",
           ["want %s" % sorted(tcp_socks), "got  %s" % sorted(got)])
    got = ss_tan()
    tap.ok(got == tcp_socks, "ss -tan lists the TCP sockets and no mini_tcp socket",
           ["want %s" % sorted(tcp_socks), "got  %s" % sorted(got)])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
