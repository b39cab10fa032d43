#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
Wire tests, ICMP errors and namespaces (issue 3, items 6 and 7).

An ICMP destination unreachable that quotes our SYN ends the connection
attempt, as TCP does (tcp_v4_err, with icmp_err_convert's errnos): port
unreachable gives ECONNREFUSED, protocol unreachable ENOPROTOOPT, host
unreachable EHOSTUNREACH.  An ICMP quoting a sequence
number that is not in flight is ignored.  On an established connection an
ICMP error is soft: the connection stays up.  A socket in one network
namespace never sees another namespace's segments.

Run as root: selftests/wire_icmp.py [--proto 253|6] [-v] [name-filter...]
"""

import errno
import socket
import struct
import subprocess
import sys
import time

from lib import wire
from lib.wire import ANY, PEER, STACK, Conn, check, check_eq, seq_add, test, S


def icmp_unreach(code, quoted, mtu=0):
    """ICMP type 3 from the peer quoting @quoted (an IPv4 packet the stack
    sent): its IP header and the first 8 bytes of its payload."""
    ihl = (quoted[0] & 0x0f) * 4
    body = struct.pack("!BBHHH", 3, code, 0, 0, mtu) + quoted[:ihl + 8]
    body = body[:2] + struct.pack("!H", wire.inet_csum(body)) + body[4:]
    return wire.build_ipv4(body, src=PEER, dst=STACK, proto=socket.IPPROTO_ICMP)


def syn_then_icmp(w, code, want):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    w.send_ip(icmp_unreach(code, syn.raw))
    check_eq(w.connect_result(s), want, "connect() error after ICMP code %d" % code)
    c.expect_none(timeout=max(1.5, wire.NONE_TIMEOUT), strict=True,
                  what="after the ICMP error (no SYN retransmission)")
    s.close()


@test("icmp_protocol_unreachable_in_syn_sent_enoprotoopt")
def t_proto_unreach(w):
    syn_then_icmp(w, 2, errno.ENOPROTOOPT)


@test("icmp_port_unreachable_in_syn_sent_econnrefused")
def t_port_unreach(w):
    syn_then_icmp(w, 3, errno.ECONNREFUSED)


@test("icmp_host_unreachable_in_syn_sent_ehostunreach")
def t_host_unreach(w):
    syn_then_icmp(w, 1, errno.EHOSTUNREACH)


@test("icmp_quoting_a_sequence_not_in_flight_ignored")
def t_icmp_bad_seq(w):
    pp = w.peer_port()
    s = w.connect_nb(pp)
    c = Conn(w, s.getsockname()[1], pp)
    syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY)
    forged = bytearray(syn.raw)
    ihl = (forged[0] & 0x0f) * 4
    forged[ihl + 4:ihl + 8] = struct.pack("!I", seq_add(syn.seq, 12345))
    w.send_ip(icmp_unreach(2, bytes(forged)))
    check(w.connect_result(s, timeout=S(0.5)) is None,
          "an ICMP error for a sequence number never sent ended the connect")
    # The attempt goes on: the SYN-ACK completes it.
    c.peer_isn = 777
    c.snd_nxt = c.peer_isn
    c.send("SA", seq=c.peer_isn, ack=seq_add(syn.seq, 1), options=[("mss", 1460)])
    c.rcv_nxt = seq_add(syn.seq, 1)
    c.expect("A", what="final ACK")
    check_eq(w.connect_result(s), 0, "connect() result")
    s.close()


@test("icmp_frag_needed_shrinks_segments_df_set")
def t_pmtu(w):
    """RFC 1191: segments go out with DF; "fragmentation needed" with a
    next-hop MTU of 1000 makes the stack resend at MSS 960 (and send
    everything after at that size), and IP_MTU reports the path MTU."""
    c = w.passive_open(mss=1460)
    s = c.sock
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"m" * 4000)
    first = c.expect("A|PA", data=ANY, what="first full-size segment")
    check_eq(len(first.payload), 1460, "first segment size")
    check(first.raw[6] & 0x40, "DF set on data segments")
    w.send_ip(icmp_unreach(4, first.raw, mtu=1000))
    got = 0
    deadline = time.monotonic() + S(10)
    while got < 4000 and time.monotonic() < deadline:
        seg = c.expect("A|PA", seq=ANY, ack=ANY, data=ANY, strict=True,
                       what="data after the ICMP")
        if seg.seq != seq_add(first.seq, got):
            continue            # the rest of the first flight, old size
        check(len(seg.payload) <= 960, "segment of %d bytes after a path "
              "MTU of 1000" % len(seg.payload))
        got += len(seg.payload)
        c.send("A", ack=seg.end)
    check_eq(got, 4000, "bytes delivered at the new size")
    check_eq(s.getsockopt(socket.IPPROTO_IP, 14), 1000, "IP_MTU")   # IP_MTU


@test("icmp_error_on_established_connection_is_soft")
def t_icmp_established(w):
    c = w.passive_open()
    c.sock.sendall(b"x" * 10)
    seg = c.expect("PA", data=b"x" * 10, what="data from the stack (PSH ends the write)")
    w.send_ip(icmp_unreach(3, seg.raw))
    c.send("A")                          # ACK the data
    time.sleep(S(0.2))
    c.sock.sendall(b"y" * 5)             # still connected, sending works
    c.expect("PA", data=b"y" * 5, what="data after the ICMP error")
    c.send("A", data=b"z")
    c.expect("A", what="ACK of our data")
    check_eq(c.sock.recv(10), b"z", "data received after the ICMP error")
    info = c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    check_eq(info[0], 1, "tcpi_state (ESTABLISHED)")


@test("namespaces_do_not_share_sockets")
def t_netns(w):
    """A listener on the same port in another namespace: bind succeeds
    there, and a SYN through our tun gets our answer (RST), not its
    SYN-ACK."""
    port = w.stack_port()
    prog = ("import socket, sys, time\n"
            "s = socket.socket(2, 1, %d)\n"
            "s.bind(('0.0.0.0', %d)); s.listen(4)\n"
            "print('listening', flush=True); time.sleep(30)\n") % (wire.PROTO, port)
    p = subprocess.Popen(["unshare", "-n", sys.executable, "-c", prog],
                         stdout=subprocess.PIPE, text=True)
    try:
        check_eq(p.stdout.readline().strip(), "listening",
                 "listener on port %d in another namespace" % port)
        c = Conn(w, port, w.peer_port())
        c.send("S", seq=4242, options=[("mss", 1460)])
        c.expect("RA", seq=0, ack=4243,
                 what="RST from our namespace (the other one's listener is not ours)")
        # Our own listener on the same port works alongside.
        lst = w.listen(port)
        c2 = Conn(w, port, w.peer_port())
        c2.send("S", seq=5000, options=[("mss", 1460)])
        c2.expect("SA", seq=ANY, ack=5001, mss=ANY, what="SYN-ACK from our listener")
        lst.close()
    finally:
        p.kill()
        p.wait()


if __name__ == "__main__":
    wire.run()
