#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, secrets (issue "Hardening", 13): mini_tcp's initial sequence
numbers and SYN cookies are keyed with secrets of its own, not TCP's.

With TCP's secret (secure_tcp_seq(), __cookie_v4_init_sequence()) anyone
who completes a TCP handshake on a 4-tuple learns mini_tcp's ISN offset
for that 4-tuple (RFC 6528: the ISN is F(4-tuple, secret) plus a clock).
Each test listens on one port with a mini_tcp socket and a kernel TCP
socket, sends the same SYN (same peer 4-tuple, same sequence number and
MSS) to both (TCP's with IP protocol 6 and its checksum) and compares the
two SYN-ACKs' sequence numbers:
  - ordinary SYN-ACKs: with a shared secret they differ only by the clock
    (64 ns ticks, under 2^26 for 4 s); with own keys by a uniform value;
  - cookie SYN-ACKs (syncookies=2 for both): with a shared secret they
    are identical; with own keys equal with probability 2^-32.  And TCP's
    cookie returned to mini_tcp must open nothing (RST).

mini_tcp only (the comparison is mini_tcp's against TCP's; run with
--proto 6 every test is skipped).
Run as root: selftests/wire_secret.py [-v] [name-filter...]
"""

import random
import socket

from lib import wire
from lib.wire import ANY, IPPROTO_TCP, build_segment, check, diag, seq_add, \
    test

NOT_TCP = "compares mini_tcp's SYN-ACK with TCP's; nothing to compare for TCP"

TUPLES = 4                  # 4-tuples tried
CLOCK_BOUND = 1 << 26       # 64 ns ticks: 4.3 s


def tcp_listener(w, port):
    """A kernel TCP listener on the stack's address, same port number."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_TCP)
    w.socks.append(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((wire.STACK, port))
    s.listen(16)
    return s


def synack_pair(w, port, peer_port, isn, what):
    """The same SYN to mini_tcp and to TCP; -> (mini_tcp ISN, TCP ISN)."""
    opts = [("mss", 1460)]
    w.send(peer_port, port, isn, 0, "S", options=opts)
    w.send_l4(build_segment(peer_port, port, isn, 0, "S", options=opts,
                            csum_proto=IPPROTO_TCP), proto=IPPROTO_TCP)
    ours = w.expect("SA", seq=ANY, ack=seq_add(isn, 1), mss=ANY,
                    ports=(port, peer_port), what="mini_tcp " + what)
    tcps = w.expect_proto(IPPROTO_TCP, "SA", ports=(port, peer_port),
                          what="TCP " + what)
    check(tcps.ack == seq_add(isn, 1), "TCP %s acks %d, want %d" % (
        what, tcps.ack, seq_add(isn, 1)))
    # no connection wanted: reset both requests
    w.send(peer_port, port, seq_add(isn, 1), 0, "R")
    w.send_l4(build_segment(peer_port, port, seq_add(isn, 1), 0, "R",
                            csum_proto=IPPROTO_TCP), proto=IPPROTO_TCP)
    return ours.seq, tcps.seq


def distance(a, b):
    d = (a - b) & 0xffffffff
    return min(d, (1 << 32) - d)


@test("isn_not_tcps", tcp_ok=NOT_TCP)
def t_isn(w):
    # Not under flood: both answer with an ordinary SYN-ACK.
    w.sysctl("syncookies", 0)
    w.sysctl("net/ipv4/tcp_syncookies", 0)
    lst = w.listen()
    port = lst.getsockname()[1]
    tcp_listener(w, port)
    dists = []
    for i in range(TUPLES):
        peer_port = w.peer_port()
        ours, tcps = synack_pair(w, port, peer_port, random.getrandbits(32),
                                 "SYN-ACK %d" % (i + 1))
        dists.append(distance(ours, tcps))
        diag("port %d -> %d: mini_tcp ISN %d, TCP ISN %d, distance %d" % (
            peer_port, port, ours, tcps, dists[-1]))
    # Own keys: each distance is below 2^26 with probability 2^-5, all
    # four with 2^-20.  TCP's secret: all are (the clock's part only).
    check(any(d >= CLOCK_BOUND for d in dists),
          "mini_tcp's ISN is TCP's plus a clock: distances %s all < 2^26 "
          "(the ISN secret is TCP's)" % dists)


@test("cookie_not_tcps", tcp_ok=NOT_TCP)
def t_cookie(w):
    w.sysctl("syncookies", 2)
    w.sysctl("net/ipv4/tcp_syncookies", 2)
    lst = w.listen()
    port = lst.getsockname()[1]
    tcp_listener(w, port)
    same = []
    for i in range(TUPLES):
        peer_port = w.peer_port()
        isn = random.getrandbits(32)
        ours, tcps = synack_pair(w, port, peer_port, isn,
                                 "cookie SYN-ACK %d" % (i + 1))
        diag("port %d -> %d: mini_tcp cookie %d, TCP cookie %d" % (
            peer_port, port, ours, tcps))
        if ours == tcps:
            same.append(peer_port)
    # Own keys: equal with probability 2^-32 each.  TCP's key: all equal
    # (but across a minute boundary of the cookie clock).
    check(not same, "mini_tcp's cookie equals TCP's for the same SYN "
          "(peer ports %s): the cookie key is TCP's" % same)
    # The attack itself: TCP's cookie returned to mini_tcp opens nothing.
    w.send(peer_port, port, seq_add(isn, 1), seq_add(tcps, 1), "A")
    w.expect("R", seq=seq_add(tcps, 1), ack=ANY, ports=(port, peer_port),
             what="RST for an ACK carrying TCP's cookie")
    lst.setblocking(False)
    try:
        lst.accept()
        raise wire.Fail("accept() returned a connection opened with "
                        "TCP's cookie")
    except BlockingIOError:
        pass


if __name__ == "__main__":
    wire.run()
