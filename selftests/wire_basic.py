#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, foundation (issue 2): malformed segments are dropped without a
reply and counted; a well-formed one to the same closed port gets a RST, so
"no reply" is meaningful.

Run as root: selftests/wire_basic.py [--proto 253|6] [-v] [name-filter...]
"""

import random

from lib import wire
from lib.wire import IS_TCP, check, diag, test


def closed_port(w):
    return w.stack_port()


def probe_rst(w, port, what):
    """A good SYN to the closed port is answered with RST|ACK."""
    pp = w.peer_port()
    isn = random.getrandbits(32)
    w.send(pp, port, isn, 0, "S", options=[("mss", 1460)])
    w.expect("RA", seq=0, ack=isn + 1, ports=(port, pp),
             what="sanity (%s): well-formed SYN to the closed port" % what)


def counters_or_none():
    try:
        return wire.counters()
    except OSError as e:
        if IS_TCP:
            return None
        raise wire.Fail("cannot read %s: %s" % (wire.MINI_TCP_STAT, e))


def check_counted(before, names, what, tcp_names=None):
    """Each counter in names went up by at least one.  For TCP only
    tcp_names are checked (TCP does not count every kind of drop)."""
    after = counters_or_none()
    if before is None or after is None:
        diag("%s: counters not readable, not checked" % what)
        return
    if IS_TCP:
        names = tcp_names if tcp_names is not None else names
        if not names:
            diag("%s: kernel TCP does not count this drop; counters not "
                 "checked" % what)
            return
    missing = [n for n in names if n not in after]
    check(not missing, "%s: counters %s missing (have: %s)" % (
        what, missing, " ".join(sorted(after))))
    d = wire.counter_delta(before, after, names)
    bad = {n: v for n, v in d.items() if v < 1}
    check(not bad, "%s: counters did not increase: %s" % (what, bad))


@test("rst_for_good_syn_to_closed_port")
def t_rst_sanity(w):
    port = closed_port(w)
    before = counters_or_none()
    pp = w.peer_port()
    isn = random.getrandbits(32)
    w.send(pp, port, isn, 0, "S", options=[("mss", 1460)])
    w.expect("RA", seq=0, ack=isn + 1, ports=(port, pp))
    check_counted(before, ["OutRsts"], "RST to closed port")


@test("bad_checksum_syn_to_closed_port_dropped")
def t_bad_csum_closed(w):
    port = closed_port(w)
    before = counters_or_none()
    pp = w.peer_port()
    w.send(pp, port, random.getrandbits(32), 0, "S", options=[("mss", 1460)],
           bad_csum=True)
    w.expect_none(ports=(port, None))
    check_counted(before, ["InErrs", "InCsumErrors"], "bad checksum")
    probe_rst(w, port, "bad checksum")


@test("bad_checksum_syn_to_listener_dropped")
def t_bad_csum_listener(w):
    lst = w.listen()
    port = lst.getsockname()[1]
    before = counters_or_none()
    pp = w.peer_port()
    isn = random.getrandbits(32)
    w.send(pp, port, isn, 0, "S", options=[("mss", 1460)], bad_csum=True)
    w.expect_none(ports=(port, None), what="SYN with bad checksum")
    check_counted(before, ["InErrs", "InCsumErrors"], "bad checksum")
    # the same SYN with a good checksum is answered
    w.send(pp, port, isn, 0, "S", options=[("mss", 1460)])
    w.expect("SA", ack=isn + 1, ports=(port, pp), what="sanity: good SYN")


@test("checksum_with_other_protocol_in_pseudo_header_dropped")
def t_wrong_pseudo_proto(w):
    """The pseudo-header must carry the real protocol number: a checksum
    computed with another protocol (6 for mini_tcp, 253 for TCP) is bad."""
    other = 253 if IS_TCP else 6
    port = closed_port(w)
    before = counters_or_none()
    pp = w.peer_port()
    w.send(pp, port, random.getrandbits(32), 0, "S", options=[("mss", 1460)],
           csum_proto=other)
    w.expect_none(ports=(port, None),
                  what="SYN with checksum over pseudo-header protocol %d" % other)
    check_counted(before, ["InErrs", "InCsumErrors"], "wrong pseudo-header")
    probe_rst(w, port, "wrong pseudo-header protocol")


@test("truncated_header_dropped")
def t_truncated(w):
    port = closed_port(w)
    for n in (0, 4, 12, 19):
        before = counters_or_none()
        pp = w.peer_port()
        full = wire.build_segment(pp, port, random.getrandbits(32), 0, "S")
        w.send_l4(full[:n])
        w.expect_none(ports=(port, None), what="%d-byte segment" % n)
        # TCP drops these before counting any error (pskb_may_pull fails)
        check_counted(before, ["InErrs"], "%d-byte header" % n, tcp_names=[])
    probe_rst(w, port, "truncated header")


@test("data_offset_beyond_segment_dropped")
def t_doff_beyond(w):
    port = closed_port(w)
    # (data offset in bytes, payload after the 20-byte header)
    for doff, data in ((24, b""), (28, b"abcd"), (60, b"abcd"), (60, b"x" * 39)):
        before = counters_or_none()
        pp = w.peer_port()
        seg = wire.build_segment(pp, port, random.getrandbits(32), 0, "S",
                                 data=data, doff=doff)
        assert len(seg) < doff
        w.send_l4(seg)
        w.expect_none(ports=(port, None),
                      what="data offset %d, segment %d bytes" % (doff, len(seg)))
        # TCP drops these before counting any error (pskb_may_pull fails)
        check_counted(before, ["InErrs"], "data offset beyond segment",
                      tcp_names=[])
    probe_rst(w, port, "data offset beyond segment")


@test("data_offset_below_20_dropped")
def t_doff_small(w):
    port = closed_port(w)
    for doff in (0, 16):
        before = counters_or_none()
        pp = w.peer_port()
        w.send(pp, port, random.getrandbits(32), 0, "S", doff=doff, data=b"xxxx")
        w.expect_none(ports=(port, None), what="data offset %d" % doff)
        check_counted(before, ["InErrs"], "data offset %d" % doff)
    probe_rst(w, port, "data offset below 20")


@test("bad_checksum_rst_to_closed_port_no_reply")
def t_bad_csum_ack(w):
    """An ACK segment (which would get a RST) with a bad checksum: nothing."""
    port = closed_port(w)
    pp = w.peer_port()
    w.send(pp, port, random.getrandbits(32), random.getrandbits(32), "PA",
           data=b"x" * 100, bad_csum=True)
    w.expect_none(ports=(port, None))
    ack = random.getrandbits(32)
    w.send(pp, port, random.getrandbits(32), ack, "PA", data=b"x" * 100)
    w.expect("R", seq=ack, ports=(port, pp),
             what="sanity: same segment with a good checksum")


if __name__ == "__main__":
    wire.run()
