#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, keepalive (SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT), as TCP:
after KEEPIDLE seconds without a segment from the peer the stack sends a
probe, an ACK with seq = SND.UNA - 1 that the peer must answer; an answer
keeps the connection; KEEPCNT unanswered probes end it with a RST at
SND.NXT and ETIMEDOUT for the owner.

Run as root: selftests/wire_keepalive.py [--proto 253|6] [-v] [name-filter...]
"""

import errno
import socket

from lib import wire
from lib.wire import ANY, check, check_eq, diag, seq_add, test, S, T


def keepalive(sock, idle=1, intvl=1, cnt=2):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, intvl)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, cnt)


def expect_probe(c, what):
    return c.expect("A", seq=seq_add(c.rcv_nxt, -1), ack=c.snd_nxt, data=b"",
                    strict=True, timeout=T(3) + 3, what=what)


@test("keepalive_options_read_back")
def t_options(w):
    s = w.socket()
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 7200, "default KEEPIDLE")
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), 75, "default KEEPINTVL")
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), 9, "default KEEPCNT")
    keepalive(s, 30, 5, 3)
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), 30, "KEEPIDLE")
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL), 5, "KEEPINTVL")
    check_eq(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT), 3, "KEEPCNT")
    check_eq(s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), 1, "SO_KEEPALIVE")
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 0)
        raise wire.Fail("TCP_KEEPIDLE 0 was accepted")
    except OSError as e:
        check_eq(e.errno, errno.EINVAL, "TCP_KEEPIDLE 0")
    s.close()


@test("keepalive_probe_answered_keeps_connection")
def t_answered(w):
    c = w.passive_open()
    keepalive(c.sock)
    p1 = expect_probe(c, "keepalive probe, seq = SND.UNA - 1")
    c.send("A")                                  # the answer
    p2 = expect_probe(c, "next probe, one idle period after the answer")
    diag("probe after the answer: %.2f s later" % (p2.t - p1.t))
    check(p2.t - p1.t >= 0.8, "second probe %.2f s after the first, want >= KEEPIDLE"
          % (p2.t - p1.t))
    c.send("A")
    c.sock.sendall(b"still here")
    c.expect("A|PA", data=b"still here", what="data after answered probes")


@test("keepalive_unanswered_rst_and_etimedout")
def t_unanswered(w):
    c = w.passive_open()
    keepalive(c.sock, idle=1, intvl=1, cnt=2)
    expect_probe(c, "probe 1")
    expect_probe(c, "probe 2")
    c.expect("RA", seq=c.rcv_nxt, ack=c.snd_nxt, strict=True, timeout=T(3) + 3,
             what="RST after KEEPCNT unanswered probes")
    c.sock.settimeout(S(2))
    try:
        c.sock.recv(10)
        raise wire.Fail("recv() worked on a connection keepalive gave up on")
    except OSError as e:
        check_eq(e.errno, errno.ETIMEDOUT, "recv() error")
    c.expect_none(what="after the RST")


@test("keepalive_off_sends_nothing")
def t_off(w):
    c = w.passive_open()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)
    c.expect_none(timeout=max(S(2.5), 2.5), strict=True,
                  what="without SO_KEEPALIVE, an idle connection")


if __name__ == "__main__":
    wire.run()
