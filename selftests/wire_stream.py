#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, the byte stream (issue "A TCP-grade byte stream"): what the
sender puts on the wire for a small window, after three duplicate ACKs,
after an RTO, and how its congestion window moves (TCP_INFO), and what
the receiver does with out-of-order segments.

Each test also runs against kernel TCP (the oracle).

Run as root: selftests/wire_stream.py [--proto 253|6] [-v] [name-filter...]
"""

import socket
import struct
import threading
import time

from lib import wire
from lib.wire import ANY, check, check_eq, diag, seq_add, test, T


def tcp_info(s):
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return {
        "ca_state": raw[1],
        "snd_ssthresh": struct.unpack_from("I", raw, 76)[0],
        "snd_cwnd": struct.unpack_from("I", raw, 80)[0],
        "total_retrans": struct.unpack_from("I", raw, 100)[0],
    }


def counter(name):
    if wire.IS_TCP:
        name = {"FastRetrans": "TCPFastRetrans",
                "RcvCoalesce": "TCPRcvCoalesce"}.get(name, name)
    return wire.counters().get(name, 0)


def read_data(c, n, what):
    """Segments from the stack until n payload bytes came; returns them."""
    segs, got = [], 0
    while got < n:
        seg = c.expect("A|PA", data=ANY, what=what)
        segs.append(seg)
        got += len(seg.payload)
    return segs


@test("segments_split_to_a_small_window")
def t_small_window(w):
    """A window smaller than one segment still moves data (tso_fragment)."""
    lst = w.listen()
    c = wire.Conn(w, lst.getsockname()[1], w.peer_port())
    c.peer_isn = c.snd_nxt = 1000
    c.send("S", seq=1000, options=[("mss", 1460)], win=1000)
    sa = c.expect("SA", seq=ANY, ack=1001, what="SYN-ACK")
    c.rcv_nxt = seq_add(sa.seq, 1)
    c.send("A", win=1000)
    s, _ = w.accept(lst)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"w" * 3000)
    got = 0
    while got < 3000:
        seg = c.expect("A|PA", data=ANY, what="data into a 1000-byte window")
        check(0 < len(seg.payload) <= 1000,
              "segment of %d bytes into a 1000-byte window" % len(seg.payload))
        check(not wire.seq_after(seg.end, seq_add(c.rcv_nxt, 1000)),
              "segment beyond the window")
        got += len(seg.payload)
        c.rcv_nxt = seg.end
        c.send("A", win=1000)


@test("one_write_into_an_open_window_leaves_as_full_segments")
def t_burst(w):
    """12000 bytes in one write into a 51200-byte window (MSS 1000, shift
    7): the first flight is the initial cwnd, 10 segments of exactly 1000
    bytes, contiguous; after their ACK the last 2000 bytes, PSH on the
    segment that ends the write.  mini_tcp puts PSH on no other segment;
    TCP also marks one whenever more than half the peer's largest window
    went out since the last (forced_push(), and the SYN's window, 400
    bytes unscaled, is its max_window here), so that part is ours.  For
    mini_tcp the flight leaves as GSO skbs (two segments each at this
    cwnd) that offload.c cuts for tun, which cannot take them whole; the
    wire library checks every segment's checksum."""
    c = w.passive_open(options=[("mss", 1000), ("nop",), ("wscale", 7)], win=400)
    check(wscale_of(c.synack) is not None, "no window scale in the SYN-ACK")
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"b" * 12000)
    base, got = c.rcv_nxt, []
    deadline = time.monotonic() + T(3)
    while len(got) < 10 and time.monotonic() < deadline:
        got += [x for x in c.segments(0.2) if x.payload]
    got += [x for x in c.segments(0.3) if x.payload]
    check_eq(len(got), 10, "segments in the first flight")
    for i, seg in enumerate(got):
        check_eq(seg.seq, seq_add(base, 1000 * i), "seq of segment %d" % i)
        check_eq(len(seg.payload), 1000, "length of segment %d" % i)
        check(wire.IS_TCP or not seg.flags & wire.PSH,
              "PSH on segment %d of 10, the write goes on" % i)
    c.send("A", ack=got[-1].end, win=400)
    rest = []
    deadline = time.monotonic() + T(3)
    while len(rest) < 2 and time.monotonic() < deadline:
        rest += [x for x in c.segments(0.2) if x.payload]
    check_eq([len(x.payload) for x in rest], [1000, 1000], "the rest")
    check_eq(rest[0].seq, got[-1].end, "seq after the flight")
    check(rest[-1].flags & wire.PSH, "no PSH on the segment that ends the write")
    check(wire.IS_TCP or not rest[0].flags & wire.PSH, "PSH before the end of the write")
    c.send("A", ack=rest[-1].end, win=400)


@test("three_duplicate_acks_fast_retransmit")
def t_fast_retransmit(w):
    c = w.passive_open(mss=1000)
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    before = counter("FastRetrans")
    s.sendall(b"f" * 8000)
    segs = read_data(c, 8000, "initial window")
    check(len(segs) >= 6, "%d segments for 8000 bytes with MSS 1000" % len(segs))
    cwnd0 = tcp_info(s)["snd_cwnd"]
    lost = segs[1]
    c.send("A", ack=segs[0].end)             # the first arrived
    for i in range(3):                        # the second did not
        c.send("A", ack=segs[0].end)
    rtx = c.expect("A|PA", seq=lost.seq, data=ANY, strict=True,
                   timeout=T(0.15) if not wire.IS_TCP else None,
                   what="fast retransmit of the lost segment")
    diag("retransmitted %d bytes at seq %d; cwnd before %d" %
         (len(rtx.payload), rtx.seq, cwnd0))
    check(counter("FastRetrans") > before, "FastRetrans counted")
    c.send("A", ack=segs[-1].end)             # everything now
    time.sleep(0.2)
    info = tcp_info(s)
    diag("after recovery: cwnd %d, ssthresh %d" % (info["snd_cwnd"],
                                                    info["snd_ssthresh"]))
    # NewReno halves the flight (RFC 5681 (4)); TCP's CUBIC takes 0.7 cwnd
    check(info["snd_ssthresh"] < cwnd0,
          "ssthresh %d after a fast retransmit from cwnd %d" %
          (info["snd_ssthresh"], cwnd0))
    check(info["snd_cwnd"] < cwnd0, "cwnd %d not below %d after the loss" %
          (info["snd_cwnd"], cwnd0))
    check(info["total_retrans"] >= 1, "tcpi_total_retrans")


@test("cwnd_grows_in_slow_start")
def t_slow_start(w):
    c = w.passive_open(mss=1000)
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cwnd0 = tcp_info(s)["snd_cwnd"]
    check_eq(cwnd0, 10, "initial cwnd (RFC 6928)")
    # A blocking writer (its buffer grows with cwnd), as a bulk sender is.
    threading.Thread(target=s.sendall, args=(b"g" * 40000,),
                     daemon=True).start()
    acked = 0
    for i in range(25):
        seg = c.expect("A|PA", data=ANY, what="data segment %d" % i)
        c.send("A", ack=seg.end)
        acked += 1
    cwnd = tcp_info(s)["snd_cwnd"]
    diag("cwnd %d after %d ACKs" % (cwnd, acked))
    check(cwnd >= 20, "cwnd %d after %d ACKs in slow start" % (cwnd, acked))


@test("out_of_order_segments_delivered_when_the_hole_fills")
def t_ooo(w):
    c = w.passive_open()
    base = c.snd_nxt
    c.send("PA", data=b"B" * 500, seq=seq_add(base, 500), advance=False)
    c.expect("A", ack=base, what="duplicate ACK for out-of-order data")
    c.send("PA", data=b"C" * 500, seq=seq_add(base, 1000), advance=False)
    c.expect("A", ack=base, what="duplicate ACK for more out-of-order data")
    c.send("PA", data=b"A" * 500, seq=base, advance=False)
    c.expect("A", ack=seq_add(base, 1500), what="ACK of everything once the hole fills")
    c.snd_nxt = seq_add(base, 1500)
    got = b""
    while len(got) < 1500:
        got += c.sock.recv(4000)
    check_eq(got, b"A" * 500 + b"B" * 500 + b"C" * 500, "bytes in order")


@test("out_of_order_fin_taken_when_the_hole_fills")
def t_ooo_fin(w):
    c = w.passive_open()
    base = c.snd_nxt
    c.send("FPA", data=b"Z" * 300, seq=seq_add(base, 300), advance=False)
    c.expect("A", ack=base, what="duplicate ACK for out-of-order data+FIN")
    c.send("PA", data=b"Y" * 300, seq=base, advance=False)
    c.expect("A", ack=seq_add(base, 601), what="ACK of the data and the FIN")
    got = b""
    while True:
        b = c.sock.recv(4000)
        if not b:
            break
        got += b
    check_eq(got, b"Y" * 300 + b"Z" * 300, "bytes, then EOF")


def burst(c, n, seg=1000):
    """n full segments back to back from the peer; the ACKs within 1 s."""
    for i in range(n):
        c.send("PA", data=b"d" * seg)
    t_last = time.monotonic()
    acks = [a for a in c.segments(1.0 * wire.SCALE ** 0.5, strict=True)
            if a.flags == wire.ACK]
    return acks, t_last


@test("delayed_ack_one_ack_for_two_full_segments")
def t_delack_pairs(w):
    """After the quick ACKs of a connection's start (16), in-order full
    segments are ACKed every second one."""
    c = w.passive_open(mss=1000)
    acks, _ = burst(c, 40)
    diag("%d ACKs for 40 segments" % len(acks))
    check(acks and acks[-1].ack == c.snd_nxt, "the last ACK covers everything")
    check(len(acks) <= 16 + 12 + 4, "%d ACKs for 40 back-to-back segments: "
          "not one per two" % len(acks))


@test("delayed_ack_lone_segment_acked_after_a_delay")
def t_delack_lone(w):
    """With quick ACKs off (TCP_QUICKACK 0: the interactive mode that
    waits for a reply to carry the ACK), a lone small segment is ACKed by
    the delayed-ACK timer, about 40 ms later.  That the timer sent it is
    what DelayedACKs counts (TcpExt's for TCP).  The time is only
    printed: under emulation the guest's jiffies can lag its clock, and a
    CI run once failed this test when it checked the time (>= 30 ms)."""
    c = w.passive_open(mss=1000)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    before = wire.delayed_acks()
    t0 = time.monotonic()
    c.send("PA", data=b"l" * 500)
    a = c.expect("A", ack=c.snd_nxt, what="the delayed ACK of a lone segment")
    sent = wire.delayed_acks() - before
    diag("lone segment ACKed after %.0f ms; DelayedACKs +%d" %
         ((a.t - t0) * 1000, sent))
    check(sent >= 1, "the ACK was not the delayed-ACK timer's "
          "(DelayedACKs did not move): not delayed")


@test("nagle_holds_a_small_segment_nodelay_releases_it")
def t_nagle(w):
    c = w.passive_open(mss=1000)
    s = c.sock
    s.send(b"1" * 100)
    first = c.expect("PA", data=b"1" * 100, what="first small write, sent at once")
    s.send(b"2" * 100)
    # (an RTO may resend the first meanwhile: only new data counts)
    new = [x for x in c.segments(0.3, strict=True) if x.seq != first.seq]
    check(not new, "second small write sent while the first is unACKed "
          "(Nagle): %s" % (new[0] if new else ""))
    c.send("A", ack=first.end)
    c.expect("PA", data=b"2" * 100, what="the held write, once the first is ACKed")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.send(b"3" * 100)
    c.expect("PA", data=b"3" * 100, what="small write with TCP_NODELAY")


@test("cork_holds_partial_segments_until_uncorked")
def t_cork(w):
    c = w.passive_open(mss=1000)
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.send(b"c" * 300)
    s.send(b"c" * 300)
    c.expect_none(timeout=0.1, what="partial data while corked")
    s.send(b"c" * 600)
    seg = c.expect("A|PA", data=1000, what="a full segment while corked")
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
    c.expect("PA", data=200, what="the rest when the cork comes off")


@test("user_timeout_gives_up_on_unacknowledged_data")
def t_user_timeout(w):
    """TCP_USER_TIMEOUT (RFC 5482): data unacknowledged for that long ends
    the connection with ETIMEDOUT, long before retries2 would."""
    c = w.passive_open()
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, 18, 1500)         # TCP_USER_TIMEOUT
    t0 = time.monotonic()
    s.send(b"u" * 100)
    s.settimeout(T(10))
    try:
        s.recv(10)
        raise wire.Fail("recv() returned instead of failing")
    except OSError as e:
        dt = time.monotonic() - t0
        diag("recv() failed with %s after %.1f s" % (e, dt))
        check_eq(e.errno, 110, "errno (ETIMEDOUT)")
        check(dt < 1.5 + T(1.5), "gave up after %.1f s, user timeout 1.5 s" % dt)


# ------------------------------------------------------- window scaling

WS = 3      # the option kind (RFC 7323 §2.2)


def wscale_of(seg):
    v = seg.opt(WS)
    return None if v is None else v[0]


@test("window_scale_option_in_syn_and_synack")
def t_wscale_options(w):
    """Our SYN offers a window scale after the MSS (MSS, NOP, WS); a
    SYN-ACK carries one only if the SYN did; SYN windows are unscaled."""
    s = w.connect_nb(w.peer_port())
    syn = w.expect("S", mss=ANY, what="SYN")
    shift = wscale_of(syn)
    check(shift is not None, "no window scale option in our SYN")
    check(shift <= 14, "shift %d > 14" % shift)
    kinds = [k for k, _ in syn.options]
    if wire.IS_TCP:
        # TCP's SYN also has SACK-permitted and timestamps (not ours).
        check(kinds[0] == 2 and kinds[kinds.index(WS) - 1] == 1,
              "options %r: MSS first, NOP before WS" % kinds)
    else:
        check_eq(kinds, [2, 1, WS], "options (MSS, NOP, WS)")
    s.close()
    w.drain()

    lst = w.listen()
    for opts, want in (([("mss", 1460), ("nop",), ("wscale", 7)], True),
                       ([("mss", 1460)], False)):
        c = wire.Conn(w, lst.getsockname()[1], w.peer_port())
        c.send("S", seq=5000, options=opts)
        sa = c.expect("SA", seq=ANY, ack=5001, what="SYN-ACK")
        check_eq(wscale_of(sa) is not None, want,
                 "SYN-ACK has a window scale option (SYN had one: %s)" % want)
        c.send("R", seq=5001)


@test("window_scaling_off_by_sysctl")
def t_wscale_sysctl(w):
    w.sysctl("window_scaling", 0)
    s = w.connect_nb(w.peer_port())
    syn = w.expect("S", mss=ANY, what="SYN")
    check(wscale_of(syn) is None, "window scale option although disabled")
    s.close()
    w.drain()
    lst = w.listen()
    c = wire.Conn(w, lst.getsockname()[1], w.peer_port())
    c.send("S", seq=7000, options=[("mss", 1460), ("nop",), ("wscale", 7)])
    sa = c.expect("SA", seq=ANY, ack=7001, what="SYN-ACK")
    check(wscale_of(sa) is None, "SYN-ACK scales although disabled")


def sent_into(c, win_bytes, what, mss=1460):
    """What the stack sends into a window of win_bytes from c.rcv_nxt0:
    collected until the window is as full as silly window avoidance lets
    it be (or 0.5 s of silence), then a moment more to catch an overrun.
    Returns the bytes sent."""
    got, extra = 0, 2
    deadline = time.monotonic() + T(3)
    while extra and time.monotonic() < deadline:
        data = [x for x in c.segments(0.1) if x.payload]
        for seg in data:
            check(not wire.seq_after(seg.end, seq_add(c.rcv_nxt0, win_bytes)),
                  "%s: segment ends %d bytes beyond the window" %
                  (what, wire.seq_diff(seg.end, seq_add(c.rcv_nxt0, win_bytes))))
            got = max(got, wire.seq_diff(seg.end, c.rcv_nxt0))
        if got > win_bytes - mss:
            extra -= 1
    return got


@test("peer_window_scaled_by_its_shift")
def t_wscale_peer(w):
    """The peer announced shift 4: its window field 500 means 8000 bytes
    (RFC 7323 §2.3) - the sender fills 8000, not 500, and no more.  (Less
    than a segment may stay unsent: mini_tcp avoids a silly window as RFC
    9293 §3.8.6.2.1 asks; Linux TCP with TCP_NODELAY sends it.)"""
    opts = [("mss", 1460), ("nop",), ("wscale", 4)]
    c = w.passive_open(options=opts, isn=9000, win=500)
    check(wscale_of(c.synack) is not None, "no window scale in the SYN-ACK")
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"s" * 20000)
    c.rcv_nxt0 = c.rcv_nxt
    got = sent_into(c, 8000, "window 500 << 4")
    check(8000 - 1460 < got <= 8000, "%d bytes sent into 8000" % got)
    # Then ACK as segments come, same field: the window slides, 8000 wide.
    acked, peak = got, 0
    c.send("A", ack=seq_add(c.rcv_nxt0, acked), win=500)
    deadline = time.monotonic() + T(10)
    while acked < 20000 and time.monotonic() < deadline:
        data = [x for x in c.segments(0.05) if x.payload]
        for seg in data:
            end = wire.seq_diff(seg.end, c.rcv_nxt0)
            check(end <= acked + 8000, "segment ends %d beyond the window" %
                  (end - acked - 8000))
            peak = max(peak, end - acked)
        if data:
            acked = max(acked, max(wire.seq_diff(x.end, c.rcv_nxt0)
                                   for x in data))
            c.send("A", ack=seq_add(c.rcv_nxt0, acked), win=500)
    check_eq(acked, 20000, "bytes delivered")
    # Unscaled, the field would allow 500 bytes in flight.
    check(peak > 2 * 1460, "at most %d bytes in flight into 8000" % peak)


@test("receiver_scaled_window_beyond_64k")
def t_wscale_receiver(w):
    """With a 1 MiB receive buffer and scaling, a receiver that does not
    read takes far more than 64 KiB: the window field times 2^shift.
    Without scaling it could never offer more than 65535 bytes."""
    lst = w.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    lst.bind((wire.STACK, w.stack_port()))
    lst.listen(4)
    c = wire.Conn(w, lst.getsockname()[1], w.peer_port())
    c.peer_isn = c.snd_nxt = 11000
    c.send("S", seq=11000, options=[("mss", 1460), ("nop",), ("wscale", 0)])
    sa = c.expect("SA", seq=ANY, ack=11001, what="SYN-ACK")
    shift = wscale_of(sa)
    check(shift is not None and shift > 0,
          "SYN-ACK shift %r for a 1 MiB buffer" % shift)
    c.rcv_nxt = seq_add(sa.seq, 1)
    c.send("A")
    s, _ = w.accept(lst)
    acked, edge, idle = 0, 65535, 0
    chunk = b"r" * 1460
    while acked < 200000 and idle < 3:
        n = 0
        while wire.seq_diff(seq_add(c.peer_isn, 1 + edge), c.snd_nxt) >= 1460 and n < 16:
            c.send("A", data=chunk)
            n += 1
        segs = c.segments(0.3)
        acks = [x for x in segs if x.flags & 0x10 and not x.payload]
        if not acks:
            idle += 1
            continue
        last = acks[-1]
        new = wire.seq_diff(last.ack, seq_add(c.peer_isn, 1))
        idle = 0 if new > acked or n else idle + 1
        acked = new
        edge = acked + (last.win << shift)
    diag("accepted %d bytes unread; last window %d << %d" %
         (acked, last.win, shift))
    check(acked > 150000, "only %d bytes taken with a 1 MiB buffer" % acked)
    s.close()


@test("cookie_synack_without_window_scale")
def t_wscale_cookie(w):
    """A cookie cannot remember a window scale: the SYN-ACK carries none
    and the connection runs unscaled, as TCP's without timestamps."""
    w.sysctl("syncookies", 2)
    c = w.passive_open(options=[("mss", 1460), ("nop",), ("wscale", 4)],
                       isn=13000, win=500)
    check(wscale_of(c.synack) is None, "cookie SYN-ACK carries a window scale")
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"k" * 4000)
    c.rcv_nxt0 = c.rcv_nxt
    check_eq(sent_into(c, 500, "unscaled window 500"), 500,
             "bytes sent into an unscaled window of 500")


@test("peek_waitall_sees_bytes_merged_into_the_skb_it_waits_on")
def t_peek_merge(w):
    """A reader peeks with MSG_WAITALL for 10 bytes, has seen the 5 that
    are queued, and sleeps on that skb as the queue's last.  The next 5
    bytes are merged into it (RcvCoalesce moves): the queue's last skb
    stays the same, so the reader must wake on the arrival, not on a new
    last skb.  The peek returns all 10 (SO_RCVTIMEO 3 s bounds a missed
    wakeup: it would return 5) and a read then takes the same 10."""
    c = w.passive_open()
    s = c.sock
    s.settimeout(None)      # a blocking recv(), bounded by SO_RCVTIMEO
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                 struct.pack("ll", int(T(3)), 0))
    c.send("PA", data=b"01234")
    c.expect("A", what="ACK of the first 5 bytes")
    got = {}

    def reader():
        t0 = time.monotonic()
        try:
            got["peek"] = s.recv(10, socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError as e:
            got["peek"] = e
        got["secs"] = time.monotonic() - t0

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(T(0.3))
    merged = counter("RcvCoalesce")
    c.send("PA", data=b"56789")
    t.join(T(10))
    merged = counter("RcvCoalesce") - merged
    diag("merged %d; the peek returned %r after %.1f s" %
         (merged, got.get("peek"), got.get("secs", -1)))
    check(merged >= 1, "the 5 bytes were not merged into the queued skb")
    check_eq(got.get("peek"), b"0123456789", "MSG_PEEK | MSG_WAITALL")
    check_eq(s.recv(100), b"0123456789", "the read after the peek")


if __name__ == "__main__":
    wire.run()
