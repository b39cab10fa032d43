#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, SYN cookies (issue 5): cookie SYN-ACKs allocate nothing, the
ACK of a valid cookie creates the connection (data on it delivered), forged
and wrong-4-tuple cookies are rejected with a RST and counted, the MSS is
the table value at or below the SYN's, and a full SYN queue answers with
cookies (syncookies=1) or drops (syncookies=0).

Run as root: selftests/wire_syncookie.py [--proto 253|6] [-v] [name-filter...]

Kernel TCP (protocol 6) is the oracle: the same segments are expected from
it, with net.ipv4.tcp_syncookies / tcp_max_syn_backlog and the TcpExt
counters standing in for net.mini_tcp.* and /proc/net/mini_tcp_stat.
"""

import errno
import os
import random
import re
import socket
import struct

from lib import wire
from lib.wire import ANY, IS_TCP, MSS_FOR_MTU, Conn, check, check_eq, diag, \
    seq_add, test

# The cookie's MSS table: TCP's (net/ipv4/syncookies.c, msstab), which
# mini_tcp's syncookie.c (mtcp_cookie_mss) repeats
MSSTAB = (536, 1300, 1440, 1460)

TCP_SYN_RECV = 0x03
TCP_ESTABLISHED = 0x01


def table_mss(mss):
    """The cookie's MSS: the largest table value <= mss (536 below)."""
    return max([m for m in MSSTAB if m <= mss] or [MSSTAB[0]])


def new_conn(w, port, peer_port=None):
    c = Conn(w, port, peer_port or w.peer_port())
    c.peer_isn = random.getrandbits(32)
    c.snd_nxt = c.peer_isn
    return c


def counters_now():
    return wire.counters()


def delta(before, names):
    return wire.counter_delta(before, wire.counters(), names)


def check_delta(before, want, what):
    """want: {counter: expected increment}."""
    d = delta(before, want.keys())
    for name, n in want.items():
        check(d[name] == n, "%s: %s increased by %d, want %d (deltas %s)" % (
            what, name, d[name], n, d))


# ------------------------------------------------------------ socket table

def _hexaddr(h):
    return socket.inet_ntoa(struct.pack("<I", int(h, 16)))


def sock_table():
    """Rows of /proc/net/mini_tcp (or /proc/net/tcp for protocol 6):
    dicts with local, remote ((addr, port)), state (int) and line."""
    path = "/proc/net/tcp" if IS_TCP else "/proc/net/mini_tcp"
    rows = []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        p = line.split()
        if len(p) < 4 or ":" not in p[1]:
            continue
        la, lp = p[1].split(":")
        ra, rp = p[2].split(":")
        rows.append({"local": (_hexaddr(la), int(lp, 16)),
                     "remote": (_hexaddr(ra), int(rp, 16)),
                     "state": int(p[3], 16), "line": line})
    return rows


def socks_for(c, src=wire.PEER):
    """Table rows for the connection c (the stack's port, the peer's port)."""
    return [r for r in sock_table()
            if r["local"] == (wire.STACK, c.sport) and
            r["remote"] == (src, c.dport)]


def check_no_sock(c, what, src=wire.PEER):
    rows = socks_for(c, src)
    check(not rows, "%s: the socket table has an entry for %s:%d -> %s:%d:\n  %s"
          % (what, src, c.dport, wire.STACK, c.sport,
             "\n  ".join(r["line"] for r in rows)))


def check_no_accept(lst, what):
    lst.setblocking(False)
    try:
        s, addr = lst.accept()
        s.close()
        raise wire.Fail("%s: accept() returned a connection from %s" % (what, addr))
    except BlockingIOError:
        pass
    finally:
        lst.setblocking(True)


# ------------------------------------------------------------ kernel log

class Kmsg:
    """New kernel log records since construction (via /dev/kmsg)."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def read(self):
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:      # overwritten records: go on
                    continue
                raise
            if not rec:
                break
            text = rec.decode(errors="replace").split(";", 1)[-1]
            out.append(text.splitlines()[0] if text else "")
        return out

    def close(self):
        os.close(self.fd)


# ------------------------------------------------------------ helpers

def cookie_syn(w, c, mss=1460, what="cookie SYN-ACK"):
    """Send a SYN on c and expect the (cookie) SYN-ACK; sets c.stack_isn
    and c.rcv_nxt; returns the SYN-ACK."""
    c.send("S", seq=c.peer_isn, options=[("mss", mss)])
    sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=ANY, what=what)
    c.stack_isn = sa.seq
    c.rcv_nxt = seq_add(sa.seq, 1)
    return sa


# ------------------------------------------------------------ syncookies=2

@test("always_cookies_synack_allocates_nothing")
def t_mode2_synack(w):
    w.sysctl("syncookies", 2)
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    before = counters_now()
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=MSS_FOR_MTU,
                  what="cookie SYN-ACK")
    check(sa.win > 0, "cookie SYN-ACK window is 0")
    check_delta(before, {"SyncookiesSent": 1}, "after one SYN")
    check_no_sock(c, "after a cookie SYN-ACK (no request sock may exist)")
    # nothing to retransmit either: no timer, no state (initial RTO is 1 s)
    c.expect_none(timeout=max(wire.NONE_TIMEOUT, 2.5), strict=True,
                  what="after the cookie SYN-ACK (nothing to retransmit)")
    check_no_sock(c, "2.5 s after the cookie SYN-ACK")
    check_no_accept(lst, "without the third segment")


@test("cookie_ack_creates_connection_data_delivered")
def t_mode2_ack(w):
    w.sysctl("syncookies", 2)
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    cookie_syn(w, c)
    check_no_sock(c, "before the ACK")
    before = counters_now()
    msg = b"data riding on the cookie ACK"
    c.send("PA", data=msg)          # seq = ISN+1, ack = cookie+1
    s, addr = w.accept(lst)
    check_eq(addr, (wire.PEER, c.dport), "accept() peer address")
    check_eq(s.getsockname(), (wire.STACK, c.sport), "accepted getsockname()")
    c.expect("A", seq=seq_add(c.stack_isn, 1),
             ack=seq_add(c.peer_isn, 1 + len(msg)), what="ACK of the data")
    check_eq(s.recv(1000), msg, "recv() on the accepted socket")
    check_delta(before, {"SyncookiesRecv": 1, "SyncookiesFailed": 0},
                "after the cookie ACK")
    rows = socks_for(c)
    check(len(rows) == 1 and rows[0]["state"] == TCP_ESTABLISHED,
          "socket table after the cookie ACK: want one ESTABLISHED entry, got "
          "%s" % [r["line"] for r in rows])
    # both directions work
    s.sendall(b"pong")
    c.expect("A|PA", data=b"pong", what="data from the accepted socket")
    c.send("A")
    c.expect_none(what="after ACKing the stack's data")


@test("forged_cookie_rejected_with_rst")
def t_forged(w):
    w.sysctl("syncookies", 2)
    lst = w.listen()
    port = lst.getsockname()[1]
    c = new_conn(w, port)
    cookie_syn(w, c)
    good = c.rcv_nxt
    forged = [("cookie+1 xor 0x1000", good ^ 0x1000),
              ("cookie+1 xor 0x80000000", good ^ 0x80000000),
              ("random", random.getrandbits(32))]
    for what, ack in forged:
        if ack == good:
            continue
        before = counters_now()
        c.send("A", ack=ack, advance=False)
        c.expect("R", seq=ack, ack=ANY,
                 what="RST for an ACK with a forged cookie (%s)" % what)
        check_delta(before, {"SyncookiesFailed": 1, "SyncookiesRecv": 0},
                    "forged cookie (%s)" % what)
        check_no_accept(lst, "forged cookie (%s)" % what)
        check_no_sock(c, "forged cookie (%s)" % what)
    # the same with data on it: nothing delivered, still a RST
    ack = good ^ 0x1000
    before = counters_now()
    c.send("PA", data=b"forged", ack=ack, advance=False)
    c.expect("R", seq=ack, ack=ANY, what="RST for a forged cookie with data")
    check_delta(before, {"SyncookiesFailed": 1}, "forged cookie with data")
    check_no_accept(lst, "forged cookie with data")
    # the genuine cookie still works afterwards
    c.send("A")
    s, _ = w.accept(lst)
    c.expect_none(what="after the genuine cookie ACK")
    check_eq(s.getpeername(), (wire.PEER, c.dport), "getpeername()")


@test("cookie_synack_advertises_own_mss")
def t_synack_mss(w):
    # The MSS option announces what the sender of the SYN-ACK can receive
    # (RFC 9293 3.7.1): the route's MSS, as on a normal SYN-ACK, whatever
    # the peer's MSS and its cookie encoding (TCP: tcp_make_synack()).
    w.sysctl("syncookies", 2)
    lst = w.listen()
    port = lst.getsockname()[1]
    for syn_mss in (1400, 536, 9000):
        c = new_conn(w, port)
        c.send("S", seq=c.peer_isn, options=[("mss", syn_mss)])
        c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=MSS_FOR_MTU,
                 what="cookie SYN-ACK for a SYN with MSS %d" % syn_mss)


@test("cookie_mss_rounded_down_to_table")
def t_mss(w):
    w.sysctl("syncookies", 2)
    lst = w.listen()
    port = lst.getsockname()[1]
    for syn_mss in (1400, 1445):
        want = table_mss(syn_mss)
        c = new_conn(w, port)
        cookie_syn(w, c, mss=syn_mss)
        c.send("A")
        s, _ = w.accept(lst)
        total, first, sizes = 0, True, []
        s.sendall(b"m" * 4000)
        while total < 4000:
            seg = c.expect("A|PA", data=ANY, what="data segment (SYN MSS %d)" %
                           syn_mss)
            n = len(seg.payload)
            sizes.append(n)
            check(0 < n <= want, "data segment of %d bytes exceeds the cookie "
                  "MSS %d (SYN MSS %d); sizes so far %s" % (n, want, syn_mss, sizes))
            if first:
                check_eq(n, want, "first data segment length (SYN MSS %d -> "
                         "table %d)" % (syn_mss, want))
                first = False
            total += n
            c.send("A")
        check_eq(total, 4000, "bytes received")
        diag("SYN MSS %d: segments %s" % (syn_mss, sizes))


@test("cookie_wrong_4tuple_rejected")
def t_4tuple(w):
    w.sysctl("syncookies", 2)
    lst = w.listen()
    port = lst.getsockname()[1]
    c = new_conn(w, port)
    cookie_syn(w, c)
    ack = c.rcv_nxt
    # the valid ACK replayed from another source port
    other = Conn(w, port, w.peer_port())
    before = counters_now()
    other.send("A", seq=seq_add(c.peer_isn, 1), ack=ack, advance=False)
    other.expect("R", seq=ack, ack=ANY, what="RST for the cookie ACK from "
                 "another source port")
    check_delta(before, {"SyncookiesFailed": 1, "SyncookiesRecv": 0},
                "cookie ACK from another source port")
    check_no_accept(lst, "cookie ACK from another source port")
    check_no_sock(other, "cookie ACK from another source port")
    # ... and from another source address
    src = "192.0.2.3"
    before = counters_now()
    c.send("A", seq=seq_add(c.peer_isn, 1), ack=ack, advance=False, src=src)
    seg = w.expect("R", seq=ack, ack=ANY, ports=c.ports,
                   what="RST for the cookie ACK from another source address")
    check_eq(seg.dst, src, "RST destination address")
    check_delta(before, {"SyncookiesFailed": 1, "SyncookiesRecv": 0},
                "cookie ACK from another source address")
    check_no_accept(lst, "cookie ACK from another source address")
    check_no_sock(c, "cookie ACK from another source address", src=src)
    # the original still works
    before = counters_now()
    c.send("A")
    s, addr = w.accept(lst)
    check_eq(addr, (wire.PEER, c.dport), "accept() peer address")
    check_delta(before, {"SyncookiesRecv": 1}, "the original cookie ACK")
    c.expect_none(what="after the original cookie ACK")


# ------------------------------------------------------------ syncookies=1

def syn_queue_capacity(backlog, max_syn_backlog):
    """How many requests fit in the SYN queue before it counts as full.
    mini_tcp: min(backlog, max_syn_backlog).  TCP (6.1): cookies/drops
    start when inet_csk_reqsk_queue_len() > sk_max_ack_backlog, i.e. one
    request more than the backlog; tcp_max_syn_backlog does not bound it
    (with syncookies=0 it only cuts in at qlen >= 3/4 of it, 2 for 1)."""
    if IS_TCP:
        return backlog + 1
    return max(min(backlog, max_syn_backlog), 1)


def fill_syn_queue(w, port, n):
    return [half_open(w, port, "SYN-ACK for request %d of %d (queue not full)"
                      % (i + 1, n)) for i in range(n)]


def half_open(w, port, what):
    """A normal (non-cookie) request left half-open; returns its Conn."""
    c = new_conn(w, port)
    before = counters_now()
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=MSS_FOR_MTU,
                  what=what)
    c.stack_isn = sa.seq
    c.rcv_nxt = seq_add(sa.seq, 1)
    check_delta(before, {"SyncookiesSent": 0}, what)
    rows = socks_for(c)
    check(len(rows) == 1 and rows[0]["state"] == TCP_SYN_RECV,
          "%s: want one SYN_RECV entry, got %s" % (what, [r["line"] for r in rows]))
    return c


@test("full_syn_queue_sends_cookies_once_logged")
def t_mode1_full(w):
    w.sysctl("syncookies", 1)
    w.sysctl("max_syn_backlog", 1)
    kmsg = Kmsg()
    try:
        lst = w.listen(backlog=1)
        port = lst.getsockname()[1]
        c1 = fill_syn_queue(w, port, syn_queue_capacity(1, 1))[0]
        # the queue is full: the next SYN gets a cookie
        c2 = new_conn(w, port)
        before = counters_now()
        cookie_syn(w, c2, what="cookie SYN-ACK with the SYN queue full")
        check_delta(before, {"SyncookiesSent": 1}, "SYN with the queue full")
        check_no_sock(c2, "cookie SYN-ACK with the queue full")
        # a third one: a cookie too, and no second log line
        c3 = new_conn(w, port)
        cookie_syn(w, c3, what="second cookie SYN-ACK")
        # the cookie ACK completes with data
        before = counters_now()
        c2.send("PA", data=b"cookie")
        s, addr = w.accept(lst)
        check_eq(addr, (wire.PEER, c2.dport), "accept() peer address")
        c2.expect("A", seq=seq_add(c2.stack_isn, 1),
                  ack=seq_add(c2.peer_isn, 7), what="ACK of the cookie ACK's data")
        check_eq(s.recv(100), b"cookie", "recv() on the cookie connection")
        check_delta(before, {"SyncookiesRecv": 1, "SyncookiesFailed": 0},
                    "cookie ACK")
        # the half-open request is still there
        rows = socks_for(c1)
        check(len(rows) == 1 and rows[0]["state"] == TCP_SYN_RECV,
              "half-open request after the cookie connection: %s" %
              [r["line"] for r in rows])
        lines = [ln for ln in kmsg.read() if "Possible SYN flooding on port" in ln]
        # mini_tcp: "... on port 192.0.2.1:N. Sending cookies."
        # TCP 6.1:  "TCP: request_sock_TCP: ... on port N. Sending cookies. ..."
        mine = [ln for ln in lines
                if re.search(r"on port (?:\S+:)?%d\." % port, ln)]
        for ln in lines:
            diag("kernel: %s" % ln)
        if IS_TCP:
            diag("(informational) TCP logged %d 'Possible SYN flooding' "
                 "line(s) for port %d" % (len(mine), port))
        else:
            check(len(mine) == 1, "'Possible SYN flooding on port ...:%d' logged "
                  "%d times, want once" % (port, len(mine)))
            check("Sending cookies" in mine[0], "log line does not say "
                  "'Sending cookies': %r" % mine[0])
    finally:
        kmsg.close()


@test("max_syn_backlog_bounds_syn_queue",
      tcp_ok="TCP bounds the SYN queue by the listen backlog only; "
             "tcp_max_syn_backlog matters only with syncookies=0")
def t_max_syn_backlog(w):
    w.sysctl("syncookies", 1)
    w.sysctl("max_syn_backlog", 1)
    lst = w.listen(backlog=16)      # min(16, 1) = 1
    port = lst.getsockname()[1]
    fill_syn_queue(w, port, syn_queue_capacity(16, 1))
    c = new_conn(w, port)
    before = counters_now()
    cookie_syn(w, c, what="cookie SYN-ACK (max_syn_backlog 1 reached)")
    check_delta(before, {"SyncookiesSent": 1}, "second SYN")
    check_no_sock(c, "second SYN")
    c.send("A")
    w.accept(lst)


@test("no_cookie_check_without_overflow")
def t_no_overflow(w):
    # syncookies=1 and the listener never overflowed: an ACK for no
    # request sock is not checked as a cookie (not counted), just reset
    if IS_TCP:
        # 6.1's tcp_synq_no_recent_overflow() sees a never-overflowed
        # listener (last overflow 0) as recent while the 32-bit jiffies
        # are within 2 min past their wrap, 5 min after boot
        with open("/proc/uptime") as f:
            up = float(f.read().split()[0])
        if 290 < up < 430:
            raise wire.Skip("uptime %.0f s: TCP's jiffies-wrap window for "
                            "'recent overflow'" % up)
    w.sysctl("syncookies", 1)
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    ack = random.getrandbits(32)
    before = counters_now()
    c.send("A", seq=seq_add(c.peer_isn, 1), ack=ack, advance=False)
    c.expect("R", seq=ack, ack=ANY, what="RST for an ACK to a listener")
    check_delta(before, {"SyncookiesFailed": 0, "SyncookiesRecv": 0},
                "ACK without a recent overflow")
    check_no_accept(lst, "ACK without a recent overflow")


# ------------------------------------------------------------ syncookies=0

@test("full_syn_queue_without_cookies_drops")
def t_mode0_full(w):
    w.sysctl("syncookies", 0)
    w.sysctl("max_syn_backlog", 1)
    lst = w.listen(backlog=1)
    port = lst.getsockname()[1]
    fill_syn_queue(w, port, syn_queue_capacity(1, 1))
    c = new_conn(w, port)
    before = counters_now()
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect_none(what="SYN with the SYN queue full and syncookies=0")
    check_delta(before, {"ListenDrops": 1, "SyncookiesSent": 0},
                "SYN dropped with the queue full")
    check_no_sock(c, "dropped SYN")
    # an ACK guessing at a cookie is not checked (cookies are off)
    ack = random.getrandbits(32)
    before = counters_now()
    c.send("A", seq=seq_add(c.peer_isn, 1), ack=ack, advance=False)
    c.expect("R", seq=ack, ack=ANY, what="RST for an ACK with cookies off")
    check_delta(before, {"SyncookiesFailed": 0, "SyncookiesRecv": 0},
                "ACK with cookies off")
    check_no_accept(lst, "after the dropped SYN")


if __name__ == "__main__":
    wire.run()
