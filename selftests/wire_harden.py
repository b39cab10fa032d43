#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, hardening (issue "Hardening"): what a blind attacker or a
confused peer can make the stack send or accept.

  - IP options on a connected socket shrink the segments (icsk_sync_mss)
  - RFC 5961 5.2: an ACK below SND.UNA - MAX.SND.WND draws a challenge ACK
    and its data is dropped
  - RFC 5961 7 / tcp_invalid_ratelimit: bursts of out-of-window segments,
    bad RSTs, SYNs, and segments on a TIME_WAIT draw at most a handful of
    ACKs; an ACK loop with a desynchronised peer is bounded
  - keepalive idleness is not reset by unacceptable segments
  - one-byte segments inside the window cannot take more receive memory
    than sk_rcvbuf (each skb's overhead would)
  - Karn: no RTT sample from an ACK that covers a retransmission
  - a cookie SYN-ACK announces the listener's TCP_MAXSEG
  - `ip rule ipproto N` routes connect()s of protocol N

Each test also runs against kernel TCP (the oracle).

Run as root: selftests/wire_harden.py [--proto 253|6] [-v] [name-filter...]
"""

import errno
import socket
import struct
import subprocess
import time

from lib import wire
from lib.wire import ANY, check, check_eq, diag, seq_add, test, S, T

IP_OPTIONS = 4
TCP_MAXSEG = 2
TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 4, 5, 6


def cname(name):
    """Counter name: TCP's TcpExt spells most of them with a TCP prefix."""
    if wire.IS_TCP and name in ("ChallengeACK", "ACKSkippedSeq",
                                "ACKSkippedChallenge", "ACKSkippedSynRecv",
                                "ACKSkippedTimeWait", "RcvCoalesce",
                                "RcvCollapsed"):
        return "TCP" + name
    return name


def delta(before, name):
    return wire.counters().get(cname(name), 0) - before.get(cname(name), 0)


def tcpi_rtt_us(s):
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 68)[0]     # tcpi_rtt


def count_acks(c, duration):
    return [s for s in c.segments(duration, strict=True) if s.flags == wire.ACK]


def check_burst_answers(c, what):
    """A burst of 30 bad segments was sent: within 0.4 s it may draw one
    ACK, or two (one per invalid_ratelimit), never one per segment."""
    acks = count_acks(c, S(0.4))
    diag("%d ACKs for %s" % (len(acks), what))
    check(1 <= len(acks) <= 2, "%d ACKs for %s (want 1 or 2)" % (len(acks), what))


@test("ip_options_shrink_segments")
def t_ip_options(w):
    """setsockopt(IP_OPTIONS) on a connected socket calls icsk_sync_mss:
    segments then carry the options and stay within the path MTU."""
    c = w.passive_open(mss=1460)
    opts = b"\x01" * 7 + b"\x00"             # 8 bytes: NOPs, EOL
    c.sock.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, opts)
    c.sock.sendall(b"o" * 3000)
    got = 0
    while got < 3000:
        seg = c.expect("A|PA", data=ANY, what="data with IP options")
        ihl = (seg.raw[0] & 0x0f) * 4
        check_eq(ihl, 28, "IP header length with 8 bytes of options")
        check(len(seg.raw) <= wire.TUN_MTU,
              "packet of %d bytes exceeds the MTU %d" % (len(seg.raw), wire.TUN_MTU))
        check(len(seg.payload) <= wire.TUN_MTU - 28 - 20,
              "payload %d > MTU - IP header with options - TCP header" % len(seg.payload))
        got += len(seg.payload)
        c.send("A")
    # and on a fresh socket (no path MTU known yet), then connect
    s = w.socket()
    s.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, opts)
    s.setsockopt(socket.IPPROTO_IP, IP_OPTIONS, b"")


@test("old_ack_challenged_and_data_dropped",
      tcp_ok="kernel TCP's header-prediction fast path queues the data "
             "before tcp_ack() rejects the old ACK (it does send the "
             "challenge ACK); the issue asks mini_tcp to drop the data")
def t_old_ack(w):
    """RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND: challenge ACK, drop."""
    c = w.passive_open()
    before = wire.counters()
    old = seq_add(c.rcv_nxt, -(65535 + 1000))
    c.send("PA", data=b"injected", ack=old, advance=False)
    c.expect("A", seq=c.rcv_nxt, ack=c.snd_nxt,
             what="challenge ACK for an ACK below SND.UNA - MAX.SND.WND")
    c.sock.setblocking(False)
    try:
        got = c.sock.recv(100)
        raise wire.Fail("data of an old-ACK segment was accepted: %r" % got)
    except BlockingIOError:
        pass
    c.sock.setblocking(True)
    check(delta(before, "ChallengeACK") >= 1, "ChallengeACK counted")
    # an ACK that is old but within MAX.SND.WND is fine: data accepted
    c.send("PA", data=b"good", ack=seq_add(c.rcv_nxt, -10))
    check_eq(c.sock.recv(100), b"good", "data with an old-but-valid ACK")
    c.expect("A", what="ACK of the good data")


@test("out_of_window_burst_rate_limited")
def t_oow_burst(w):
    c = w.passive_open()
    before = wire.counters()
    for i in range(30):
        c.send("A", seq=seq_add(c.snd_nxt, 1 << 30), advance=False)
    check_burst_answers(c, "a burst of 30 out-of-window segments")
    check(delta(before, "ACKSkippedSeq") >= 20, "ACKSkippedSeq counted")
    time.sleep(0.6)          # past invalid_ratelimit (500 ms)
    c.send("PA", data=b"still alive")
    check_eq(c.sock.recv(100), b"still alive", "data after the burst")
    c.expect("A", what="ACK of good data after the burst")


SO_MEMINFO = 55     # u32[]: SK_MEMINFO_RMEM_ALLOC, SK_MEMINFO_RCVBUF, ...


def rmem_rcvbuf(c):
    return struct.unpack_from("II", c.sock.getsockopt(
        socket.SOL_SOCKET, SO_MEMINFO, 9 * 4))


def read_queued(c):
    """What the receive queue holds, without waiting."""
    c.sock.setblocking(False)
    got = b""
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except BlockingIOError:
        pass
    c.sock.setblocking(True)
    return got


@test("tiny_in_window_segments_coalesce_within_rcvbuf")
def t_tiny_segments(w):
    """300 one-byte segments, in order and inside the offered window, to a
    receiver whose reader does not read (SO_RCVBUF 4096, so sk_rcvbuf
    8192).  Each arrives in an skb of about a kilobyte, so queued one by
    one they would take far more memory than the buffer; merged into the
    receive queue's last skb (tcp_try_coalesce(): its room takes the
    bytes) they cost their bytes.  All 300 are taken, read back as sent,
    RcvCoalesce (TCPRcvCoalesce) counts the merges, and the receive
    memory stays within sk_rcvbuf."""
    ls = w.listen()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c = w.passive_open(listener=ls)
    before = wire.counters()
    data = bytes(i % 251 for i in range(300))
    for i in range(len(data)):
        c.send("PA", data=data[i:i + 1])
    time.sleep(S(0.5))
    rmem, rcvbuf = rmem_rcvbuf(c)
    merged = delta(before, "RcvCoalesce")
    diag("rmem_alloc %d, sk_rcvbuf %d, %d merged" % (rmem, rcvbuf, merged))
    check(rmem <= rcvbuf, "receive memory %d over sk_rcvbuf %d" % (rmem, rcvbuf))
    check(merged >= 250, "only %d of 300 segments merged" % merged)
    got = read_queued(c)
    check_eq(got, data, "the 300 bytes, all taken")


@test("small_segments_past_rcvbuf_collapsed_within_it")
def t_small_segments(w):
    """40 segments of 100 bytes inside the offered window to the same
    receiver: a tail skb's room takes few of them, each next one brings
    its own skb of about a kilobyte, and the window's 4000 bytes would take
    several times the buffer.  mini_tcp collapses its receive queue
    (tcp_collapse(): the bytes copied into page-sized skbs, RcvCollapsed
    counts the skbs) and drops none.  For both: all 4000 bytes are taken
    and read back as sent, and the receive memory stays within sk_rcvbuf
    plus one small skb (both measure before they charge).  (Kernel TCP
    gets there without a collapse here: its TCPRcvCollapsed stays 0.)"""
    ls = w.listen()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c = w.passive_open(listener=ls)
    before = wire.counters()
    data = bytes(i % 251 for i in range(4000))
    for i in range(0, len(data), 100):
        c.send("PA", data=data[i:i + 100])
    time.sleep(S(0.5))
    rmem, rcvbuf = rmem_rcvbuf(c)
    collapsed = delta(before, "RcvCollapsed")
    dropped = delta(before, "RcvQDrop") + delta(before, "OFODrop")
    diag("rmem_alloc %d, sk_rcvbuf %d, %d skbs collapsed, %d dropped" %
         (rmem, rcvbuf, collapsed, dropped))
    check(rmem <= rcvbuf + 2048,
          "receive memory %d over sk_rcvbuf %d" % (rmem, rcvbuf))
    if not wire.IS_TCP:
        check(collapsed > 0, "no skb collapsed")
        check_eq(dropped, 0, "segments dropped (RcvQDrop + OFODrop)")
    check_eq(read_queued(c), data, "the 4000 bytes, all taken")


@test("bad_rst_and_syn_bursts_draw_few_challenge_acks")
def t_challenge_burst(w):
    c = w.passive_open()
    before = wire.counters()
    for i in range(30):     # in window, not exact: challenge (RFC 5961 3.2)
        c.send("R", seq=seq_add(c.snd_nxt, 100 + i), advance=False)
    check_burst_answers(c, "30 bad RSTs")
    time.sleep(0.6)
    for i in range(30):     # SYN on a synchronized connection (RFC 5961 4.2)
        c.send("S", seq=seq_add(c.snd_nxt, 50), advance=False,
               options=[("mss", 1460)])
    check_burst_answers(c, "30 SYNs")
    check(delta(before, "ACKSkippedChallenge") >= 40, "ACKSkippedChallenge counted")
    time.sleep(0.6)
    c.send("PA", data=b"alive")
    check_eq(c.sock.recv(100), b"alive", "connection survives")


@test("challenge_ack_limit_per_namespace")
def t_challenge_limit(w):
    """challenge_ack_limit (tcp_challenge_ack_limit): a per-namespace quota
    per second over all connections.  With 2, ten connections each hit by
    one bad RST draw at most 2..3 challenge ACKs (the quota is randomised
    between limit/2 and 1.5 limit)."""
    w.sysctl("challenge_ack_limit", 2)
    conns = [w.passive_open() for _ in range(10)]
    for c in conns:
        c.send("R", seq=seq_add(c.snd_nxt, 100), advance=False)
    acks = [s for s in w.segments(duration=S(0.4), strict=True) if s.flags == wire.ACK]
    diag("%d challenge ACKs for 10 connections" % len(acks))
    check(1 <= len(acks) <= 3, "%d challenge ACKs with a limit of 2/s" % len(acks))


@test("time_wait_acks_rate_limited")
def t_tw_burst(w):
    c = w.passive_open()
    c.sock.close()
    c.expect("FA", what="FIN")
    c.send("FA")
    c.expect("A", what="ACK of the peer's FIN (TIME_WAIT)")
    time.sleep(0.6)
    for i in range(30):
        c.send("A", seq=seq_add(c.snd_nxt, 1 << 30), advance=False)
    check_burst_answers(c, "30 out-of-window segments on a TIME_WAIT")


@test("ack_loop_with_desynchronised_peer_is_bounded")
def t_ack_loop(w):
    """A peer that answers every ACK with an out-of-window ACK (two ends
    that disagree about the sequence space) must not make an ACK storm:
    over 2 s, at most one ACK per invalid_ratelimit."""
    c = w.passive_open()
    c.send("A", seq=seq_add(c.snd_nxt, 1 << 30), advance=False)
    n = 0
    deadline = time.monotonic() + S(2.0)
    while time.monotonic() < deadline:
        for seg in c.segments(0.05, strict=True):
            if seg.flags == wire.ACK:
                n += 1
                c.send("A", seq=seq_add(c.snd_nxt, 1 << 30), advance=False)
    diag("%d ACKs in the loop" % n)
    check(1 <= n <= 2 * S(2.0) + 1, "%d ACKs in %.1f s of an ACK loop" % (n, S(2.0)))


@test("keepalive_not_fed_by_unacceptable_segments")
def t_keepalive(w):
    """Only acceptable segments count as the peer being heard from: blind
    out-of-window segments must not postpone the keepalive probe."""
    c = w.passive_open()
    s = c.sock
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPIDLE, 2)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, 5)
    t0 = time.monotonic()
    probe = None
    while time.monotonic() - t0 < 2 + T(3):
        c.send("A", seq=seq_add(c.snd_nxt, 1 << 30), advance=False)
        for seg in c.segments(0.3, strict=True):
            if seg.seq == seq_add(c.rcv_nxt, -1):
                probe = seg
        if probe:
            break
    check(probe is not None, "no keepalive probe while blind segments arrived")
    diag("probe after %.1f s" % (probe.t - t0))


@test("karn_no_rtt_sample_from_ack_of_retransmission")
def t_karn(w):
    c = w.passive_open()
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no Nagle
    rtt0 = tcpi_rtt_us(s)
    s.sendall(b"a" * 100)
    first = c.expect("PA", data=100, what="first data")
    time.sleep(0.05)
    s.sendall(b"b" * 100)
    c.expect("PA", data=100, what="second data")
    # let the first be retransmitted (RTO; TCP may collapse both into one),
    # then wait, then ACK both
    rtx = c.expect("A|PA", seq=first.seq, data=ANY, timeout=T(5), strict=True,
                   what="retransmission of the first segment")
    time.sleep(1.5)
    c.send("A", ack=seq_add(first.seq, 200))
    time.sleep(0.2)
    rtt = tcpi_rtt_us(s)
    diag("tcpi_rtt before %d us, after %d us (retransmitted after %.2f s)" %
         (rtt0, rtt, rtx.t - first.t))
    check(rtt < 1000000, "tcpi_rtt %d us: an RTT sample was taken from an ACK "
          "covering a retransmission (Karn)" % rtt)


@test("cookie_synack_honours_listener_maxseg")
def t_cookie_mss(w):
    w.sysctl("syncookies", 2)
    lst = w.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.setsockopt(socket.IPPROTO_TCP, TCP_MAXSEG, 1000)
    lst.bind((wire.STACK, w.stack_port()))
    lst.listen(16)
    c = wire.Conn(w, lst.getsockname()[1], w.peer_port())
    c.send("S", seq=12345, options=[("mss", 1460)])
    c.expect("SA", seq=ANY, ack=12346, mss=1000,
             what="cookie SYN-ACK with the listener's TCP_MAXSEG")


@test("ip_rule_ipproto_routes_connect")
def t_ip_rule(w):
    """connect() routes with the socket's protocol: a policy rule for this
    protocol number applies (and one for another protocol does not)."""
    dst = "198.51.100.7"

    def try_connect():
        s = w.socket()
        s.setblocking(False)
        rc = s.connect_ex((dst, 9))
        s.close()
        return rc

    check_eq(try_connect(), errno.ENETUNREACH, "connect() without a route")
    subprocess.run(["ip", "route", "add", "198.51.100.0/24", "dev",
                    wire.TUN_NAME, "table", "100"], check=True)
    other = 17 if wire.PROTO != 17 else 6
    subprocess.run(["ip", "rule", "add", "ipproto", str(other), "lookup",
                    "100"], check=True)
    check_eq(try_connect(), errno.ENETUNREACH,
             "connect() with a rule for protocol %d only" % other)
    subprocess.run(["ip", "rule", "add", "ipproto", str(wire.PROTO), "lookup",
                    "100"], check=True)
    check_eq(try_connect(), errno.EINPROGRESS,
             "connect() with a rule for protocol %d" % wire.PROTO)


if __name__ == "__main__":
    wire.run()
