#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, connection establishment (issue 3): the three-way handshake in
both directions, simultaneous open, SYN / SYN-ACK retransmission, RSTs for
segments nobody owns (RFC 9293 3.10.7.1), RST in SYN-SENT, ISN randomness.

Run as root: selftests/wire_handshake.py [--proto 253|6] [-v] [name-filter...]
Environment: MTCP_ISN_COUNT (default 1000) connections for the ISN test.
"""

import errno
import os
import random
import socket

from lib import wire
from lib.wire import ANY, IS_TCP, MSS_FOR_MTU, Conn, check, check_eq, diag, \
    seq_add, seq_diff, test, S, T


def new_conn(w, port):
    c = Conn(w, port, w.peer_port())
    c.peer_isn = random.getrandbits(32)
    c.snd_nxt = c.peer_isn
    return c


# ------------------------------------------------------------ passive open

@test("synack_acks_isn_plus_1_with_mss")
def t_synack(w):
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=MSS_FOR_MTU,
                  what="SYN-ACK")
    check(sa.win > 0, "SYN-ACK window is 0")
    c.stack_isn = sa.seq
    c.rcv_nxt = seq_add(sa.seq, 1)
    c.send("A")
    s, addr = w.accept(lst)
    check_eq(addr, (wire.PEER, c.dport), "accept() peer address")
    check_eq(s.getsockname(), (wire.STACK, c.sport), "accepted getsockname()")
    c.expect_none(what="after the handshake")


@test("data_on_third_segment_delivered_and_acked")
def t_data_third(w):
    msg = b"hello from the third segment"
    c = w.passive_open(data=msg)
    got = c.sock.recv(1000)
    check_eq(got, msg, "recv() on the accepted socket")
    c.expect("A", seq=seq_add(c.stack_isn, 1), ack=seq_add(c.peer_isn, 1 + len(msg)),
             what="ACK of the data")


@test("peer_mss_honoured_unknown_options_skipped")
def t_peer_mss(w):
    # unknown option kinds 99 (4 bytes) and 253 (2 bytes) before the MSS
    opts = [(99, b"\xab\xcd"), (253, b""), ("nop",), ("mss", 1000)]
    c = w.passive_open(options=opts)
    c.sock.sendall(b"m" * 3000)
    total = 0
    first = True
    while total < 3000:
        seg = c.expect("A|PA", data=ANY, what="data segment")
        n = len(seg.payload)
        if first:
            check_eq(n, 1000, "first data segment length (peer MSS 1000)")
            first = False
        check(0 < n <= 1000, "data segment of %d bytes exceeds peer MSS 1000" % n)
        total += n
        c.send("A")
    check_eq(total, 3000, "bytes sent")


@test("malformed_option_list_ignored_as_tcp")
def t_malformed_opts(w):
    """DESIGN.md 2: a malformed option list ends the parsing, the segment
    is processed (tcp_parse_options); an MSS option whose length is not 4
    is ignored.  The SYN is answered, and what we send after it honours
    only the options read before the malformed part."""
    lst = w.listen()
    port = lst.getsockname()[1]
    bad_lists = [
        # MSS 1000, then kind 99 claims 10 bytes with 4 left: MSS 1000 stands
        (b"\x02\x04\x03\xe8\x63\x0a\x00\x00", 1000),
        (b"\x63\x01\x00\x00", 536),                 # length 1 < 2
        (b"\x02\x00\x05\xb4", 536),                 # MSS with length 0
        (b"\x02\x06\x03\xe8\x00\x00\x00\x00", 536),  # MSS with length 6
        (b"\x01\x01\x01\x63", 536),                 # kind without a length byte
    ]
    for raw, mss in bad_lists:
        c = new_conn(w, port)
        c.send("S", seq=c.peer_isn, options=[("raw", raw)])
        sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1),
                      what="SYN-ACK to a SYN with options %s" % raw.hex())
        c.rcv_nxt = seq_add(sa.seq, 1)
        c.snd_nxt = seq_add(c.peer_isn, 1)
        c.send("A")
        s, _ = w.accept(lst)
        s.sendall(b"x" * 1200)
        seg = c.expect("A|PA", data=ANY, what="first data segment")
        check_eq(len(seg.payload), min(mss, 1200),
                 "segment size after options %s" % raw.hex())
        s.close()


@test("syn_fin_to_listener_dropped")
def t_syn_fin_listener(w):
    """SYN+FIN makes no sense; TCP drops it silently (tcp_rcv_state_process)."""
    lst = w.listen()
    port = lst.getsockname()[1]
    c = new_conn(w, port)
    c.send("SF", seq=c.peer_isn, options=[("mss", 1460)], advance=False)
    c.expect_none(what="answer to SYN+FIN")
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect("SA", seq=ANY, what="sanity: the plain SYN is answered")


@test("bad_checksum_data_on_established_dropped")
def t_bad_csum_estab(w):
    c = w.passive_open()
    data = bytes(range(200))
    c.send("PA", data=data, bad_csum=True, advance=False)
    c.expect_none(strict=True, what="data with a bad checksum")
    c.sock.setblocking(False)
    try:
        got = c.sock.recv(1000)
        raise wire.Fail("recv() returned %r after a bad-checksum segment" % got)
    except BlockingIOError:
        pass
    c.sock.setblocking(True)
    c.send("PA", data=data)
    check_eq(c.sock.recv(1000), data, "recv() of the good segment")
    c.expect("A", what="ACK of the good segment")


@test("rst_in_syn_received_drops_request_quietly")
def t_rst_syn_received(w):
    """RFC 9293 3.10.7.4: a RST in a passive SYN-RECEIVED returns to LISTEN,
    dropping just the request, without an answer.  A RST far outside the
    window is ignored (the request still completes)."""
    lst = w.listen()
    port = lst.getsockname()[1]
    keep = new_conn(w, port)
    keep.send("S", seq=keep.peer_isn, options=[("mss", 1460)])
    sa = keep.expect("SA", seq=ANY, ack=seq_add(keep.peer_isn, 1), what="SYN-ACK")
    keep.rcv_nxt = seq_add(sa.seq, 1)
    keep.send("R", seq=seq_add(keep.peer_isn, 1 << 30), advance=False)
    keep.expect_none(what="after an out-of-window RST")
    keep.send("A")
    a, _ = w.accept(lst)
    a.close()

    gone = new_conn(w, port)
    gone.send("S", seq=gone.peer_isn, options=[("mss", 1460)])
    sa = gone.expect("SA", seq=ANY, ack=seq_add(gone.peer_isn, 1), what="SYN-ACK")
    gone.rcv_nxt = seq_add(sa.seq, 1)
    gone.send("R")                       # seq = RCV.NXT of the request
    gone.expect_none(timeout=max(S(2.5), 2.5), strict=True,
                     what="after the RST: no answer, no SYN-ACK retransmission")
    gone.send("A")
    gone.expect("R", seq=gone.rcv_nxt, what="ACK for the dropped request: RST seq=SEG.ACK")
    lst.setblocking(False)
    try:
        lst.accept()
        raise wire.Fail("accept() returned the reset request")
    except BlockingIOError:
        pass


@test("tcp_maxseg_on_listener_bounds_synack_mss")
def t_maxseg(w):
    """TCP_MAXSEG set before listen() is what the SYN-ACK announces."""
    lst = w.socket()
    lst.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1000)
    lst.bind((wire.STACK, w.stack_port()))
    lst.listen(4)
    c = new_conn(w, lst.getsockname()[1])
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), mss=1000,
             what="SYN-ACK announcing the TCP_MAXSEG value")
    lst.close()


@test("synack_retransmission_backoff")
def t_synack_rtx(w):
    w.sysctl("synack_retries", 2)
    w.sysctl("syncookies", 1)      # 2 would answer with (never retransmitted) cookies
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    times = []
    isn = None
    for i in range(3):
        sa = c.expect("SA", seq=ANY if isn is None else isn,
                      ack=seq_add(c.peer_isn, 1), strict=True,
                      timeout=T(10) + 8, what="SYN-ACK #%d" % (i + 1))
        isn = sa.seq
        times.append(sa.t)
    d1, d2 = times[1] - times[0], times[2] - times[1]
    diag("SYN-ACK retransmission intervals: %.2f s, %.2f s (ratio %.2f)" % (
        d1, d2, d2 / d1))
    check(0.3 <= d1 <= 5, "first SYN-ACK retransmission after %.2f s" % d1)
    check(1.5 <= d2 / d1 <= 2.7, "interval ratio %.2f, want about 2" % (d2 / d1))
    # synack_retries = 2: no fourth SYN-ACK; the request is dropped after
    # the last timeout (about 2 * d2 later)
    c.expect_none(timeout=2 * d2 + S(1.5), strict=True,
                  what="after synack_retries retransmissions")
    c.rcv_nxt = seq_add(isn, 1)
    c.send("A")
    c.expect("R", seq=c.rcv_nxt, what="ACK after the request was dropped (LISTEN "
             "answers an ACK with RST seq=SEG.ACK)")
    lst.setblocking(False)
    try:
        lst.accept()
        raise wire.Fail("accept() returned a connection for a dropped request")
    except BlockingIOError:
        pass


# ------------------------------------------------------------ active open

@test("connect_syn_carries_mss")
def t_connect_syn(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    syn = w.expect("S", seq=ANY, ack=ANY, mss=MSS_FOR_MTU,
                   ports=(s.getsockname()[1], pp), what="SYN from connect()")
    check(syn.win > 0, "SYN window is 0")
    check_eq(syn.src, wire.STACK, "SYN source address")


@test("final_ack_after_synack")
def t_final_ack(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    c.stack_isn = syn.seq
    c.rcv_nxt = seq_add(syn.seq, 1)
    c.peer_isn = random.getrandbits(32)
    c.snd_nxt = c.peer_isn
    c.send("SA", seq=c.peer_isn, ack=seq_add(syn.seq, 1), options=[("mss", 1460)])
    c.expect("A", seq=seq_add(syn.seq, 1), ack=seq_add(c.peer_isn, 1),
             what="final ACK")
    check_eq(w.connect_result(s), 0, "connect() result")
    check_eq(s.getpeername(), (wire.PEER, pp), "getpeername()")
    c.expect_none(what="after the final ACK")
    s.setblocking(True)
    s.sendall(b"ping")
    c.expect("A|PA", data=b"ping", what="first data segment")


@test("rst_to_syn_gives_econnrefused")
def t_refused(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    c.send("RA", seq=0, ack=seq_add(syn.seq, 1))
    check_eq(w.connect_result(s), errno.ECONNREFUSED, "connect() error")
    c.expect_none(timeout=max(1.5, wire.NONE_TIMEOUT), strict=True,
                  what="after the RST (no SYN retransmission)")


@test("syn_sent_bad_ack_gets_rst_bad_rsts_ignored")
def t_synsent_bad(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    isn = syn.seq
    c.peer_isn = random.getrandbits(32)
    bad_ack = seq_add(isn, 1000)
    # SYN-ACK acking something never sent: <SEQ=SEG.ACK><CTL=RST>
    c.send("SA", seq=c.peer_isn, ack=bad_ack, options=[("mss", 1460)],
           advance=False)
    c.expect("R", seq=bad_ack, ack=ANY,
             what="RST for a SYN-ACK with an unacceptable ACK")
    # RST with an unacceptable ACK, and a RST without ACK: both dropped
    c.send("RA", seq=0, ack=bad_ack)
    c.send("R", seq=c.peer_isn)
    c.expect_none(what="RSTs with bad / no ACK in SYN-SENT")
    check(w.connect_result(s, timeout=0) is None,
          "connect() finished after an unacceptable RST")
    # the connection still completes
    c.snd_nxt = c.peer_isn
    c.send("SA", seq=c.peer_isn, ack=seq_add(isn, 1), options=[("mss", 1460)])
    c.rcv_nxt = seq_add(isn, 1)
    c.expect("A", what="final ACK")
    check_eq(w.connect_result(s), 0, "connect() result")


@test("simultaneous_open")
def t_simopen(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    c.stack_isn = syn.seq
    c.rcv_nxt = seq_add(syn.seq, 1)
    c.peer_isn = random.getrandbits(32)
    c.snd_nxt = c.peer_isn
    # the peer's own SYN crosses ours: SYN-SENT -> SYN-RECEIVED,
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect("SA", seq=syn.seq, ack=seq_add(c.peer_isn, 1),
             what="SYN-ACK after the crossing SYN")
    check(w.connect_result(s, timeout=0) is None,
          "connect() finished before our SYN was ACKed")
    # the peer, also in SYN-RECEIVED, sends its SYN-ACK (RFC 9293 Figure 8)
    c.send("SA", seq=c.peer_isn, ack=seq_add(syn.seq, 1), options=[("mss", 1460)])
    check_eq(w.connect_result(s), 0, "connect() result")
    # an ACK of the (duplicate) SYN-ACK is allowed, nothing else
    rest = c.segments(wire.NONE_TIMEOUT)
    for seg in rest:
        check(seg.flags == wire.ACK and seg.seq == c.rcv_nxt and
              seg.ack == c.snd_nxt and not seg.payload,
              "unexpected segment after the peer's SYN-ACK: %s" % seg)
    if rest:
        diag("stack ACKed the peer's SYN-ACK (%d segment(s))" % len(rest))
    # ESTABLISHED both ways
    c.send("PA", data=b"ping")
    c.expect("A", what="ACK of peer data")
    s.setblocking(True)
    s.settimeout(wire.EXPECT_TIMEOUT)
    check_eq(s.recv(100), b"ping", "recv()")
    s.sendall(b"pong")
    c.expect("A|PA", data=b"pong", what="stack data")


@test("syn_retransmission_backoff_then_etimedout")
def t_syn_rtx(w):
    retries = 3
    w.sysctl("syn_retries", retries)
    if IS_TCP:
        # Linux >= 6.5 retransmits the first SYNs at a linear interval
        # (default 4); not in 6.1 and not what the RFC describes
        w.sysctl("net/ipv4/tcp_syn_linear_timeouts", 0, required=False)
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    times = [syn.t]
    for i in range(retries):
        seg = c.expect("S", seq=syn.seq, ack=ANY, mss=ANY, strict=True,
                       timeout=T(4) + 2 ** (i + 2),
                       what="SYN retransmission #%d" % (i + 1))
        times.append(seg.t)
    d = [b - a for a, b in zip(times, times[1:])]
    diag("SYN retransmission intervals: %s s" % ", ".join("%.2f" % x for x in d))
    check(0.3 <= d[0] <= 5, "first SYN retransmission after %.2f s" % d[0])
    for a, b in zip(d, d[1:]):
        check(1.5 <= b / a <= 2.7,
              "intervals %.2f s -> %.2f s: ratio %.2f, want about 2" % (a, b, b / a))
    # after the last retransmission's timeout (about 2 * d[-1]) connect fails
    err = w.connect_result(s, timeout=2 * d[-1] + T(4) + 2)
    check_eq(err and errno.errorcode.get(err, err), "ETIMEDOUT",
             "connect() error after syn_retries = %d" % retries)
    c.expect_none(strict=True, what="after ETIMEDOUT")


# ------------------------------------------------------------ RST for nobody

@test("rst_for_syn_to_closed_port")
def t_rst_syn(w):
    port = w.stack_port()
    c = new_conn(w, port)
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect("RA", seq=0, ack=seq_add(c.peer_isn, 1))
    # a SYN carrying data: ack = SEG.SEQ + SEG.LEN (SYN counts one)
    c = new_conn(w, port)
    c.send("S", seq=c.peer_isn, data=b"12345")
    c.expect("RA", seq=0, ack=seq_add(c.peer_isn, 6), what="SYN with 5 bytes")


@test("rst_for_ack_segment_to_closed_port")
def t_rst_ack(w):
    port = w.stack_port()
    for flags, data in (("A", b""), ("PA", b"data"), ("FA", b""), ("FPA", b"xy")):
        c = new_conn(w, port)
        ack = random.getrandbits(32)
        c.send(flags, seq=c.peer_isn, ack=ack, data=data)
        c.expect("R", seq=ack, ack=ANY, what="[%s] segment" % flags)


@test("rst_for_data_fin_without_ack_to_closed_port")
def t_rst_fin(w):
    port = w.stack_port()
    for flags, data in (("FP", b"0123456789"), ("F", b""), ("P", b"abc")):
        c = new_conn(w, port)
        c.send(flags, seq=c.peer_isn, ack=0, data=data)
        fin = 1 if "F" in flags else 0
        c.expect("RA", seq=0, ack=seq_add(c.peer_isn, len(data) + fin),
                 what="[%s] segment with %d bytes" % (flags, len(data)))


@test("no_rst_in_reply_to_rst")
def t_no_rst_rst(w):
    port = w.stack_port()
    c = new_conn(w, port)
    c.send("R", seq=c.peer_isn)
    c.send("RA", seq=c.peer_isn, ack=random.getrandbits(32))
    c.send("RA", seq=c.peer_isn, ack=random.getrandbits(32), data=b"rst-data")
    c.expect_none(what="RSTs to a closed port")
    # nor from a listener
    lst = w.listen()
    c = new_conn(w, lst.getsockname()[1])
    c.send("R", seq=c.peer_isn)
    c.send("RA", seq=c.peer_isn, ack=random.getrandbits(32))
    c.expect_none(what="RSTs to a listener")
    # sanity: the listener is alive and a closed port answers
    c.send("S", seq=c.peer_isn, options=[("mss", 1460)])
    c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), what="sanity: SYN")
    c2 = new_conn(w, port)
    c2.send("A", seq=c2.peer_isn, ack=12345)
    c2.expect("R", seq=12345, ack=ANY, what="sanity: ACK to the closed port")


# ------------------------------------------------------------ ISNs

@test("server_isns_unpredictable")
def t_isn(w):
    n = int(os.environ.get("MTCP_ISN_COUNT", "1000"))
    lst = w.listen(backlog=128)
    port = lst.getsockname()[1]
    isns = []
    base = 20000
    for i in range(n):
        pp = base + i
        cisn = random.getrandbits(32)
        w.send(pp, port, cisn, 0, "S", options=[("mss", 1460)])
        sa = w.expect("SA", seq=ANY, ack=seq_add(cisn, 1), ports=(port, pp),
                      what="SYN-ACK #%d" % i)
        isns.append(sa.seq)
        # RST the request away so the SYN queue never fills (no cookies)
        w.send(pp, port, seq_add(cisn, 1), 0, "R")
        if len(w.seen) > 64:
            del w.seen[:-8]
    w.expect_none(ports=(port, None), what="after RSTing the requests")
    lst.setblocking(False)
    try:
        lst.accept()
        raise wire.Fail("a RST request produced a connection")
    except BlockingIOError:
        pass
    # distinct
    dups = n - len(set(isns))
    check(dups <= 1, "%d duplicate ISNs among %d" % (dups, n))
    # consecutive differences neither constant nor small
    diffs = [seq_diff(b, a) for a, b in zip(isns, isns[1:])]
    ndist = len(set(diffs))
    check(ndist >= 0.9 * len(diffs),
          "only %d distinct ISN increments among %d" % (ndist, len(diffs)))
    small = sum(1 for d in diffs if abs(d) < 1 << 20)
    check(small <= 2 + n // 100,
          "%d of %d consecutive ISN increments are below 2^20" % (small, len(diffs)))
    # spread over the whole 32-bit space
    buckets = [0] * 16
    for x in isns:
        buckets[x >> 28] += 1
    if n >= 160:
        check(min(buckets) >= n / 16 / 3,
              "ISNs unevenly spread over 32 bits: top-nibble buckets %s" % buckets)
    sigma = 0.5 / n ** 0.5
    tol = max(5 * sigma, 0.08)
    for bit in range(32):
        frac = sum((x >> bit) & 1 for x in isns) / n
        check(abs(frac - 0.5) <= tol,
              "ISN bit %d set in %.0f%% of %d ISNs" % (bit, 100 * frac, n))
    diag("%d ISNs: %d distinct increments, %d small, buckets %s" % (
        n, ndist, small, buckets))


if __name__ == "__main__":
    wire.run()
