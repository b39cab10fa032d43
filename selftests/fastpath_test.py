#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
The fast path's byte stream: data in page fragments, sent as clones,
checksummed by the device where it can (CHECKSUM_PARTIAL seeded with the
pseudo-header of our own protocol number) and in software where it
cannot.  Each transfer is byte-exact and the receivers count no checksum
error:
  - over veth with the transmit checksum offload switched off (ethtool
    tx-checksum-ip-generic off): mini_tcp must checksum in software;
  - through a router namespace whose egress devices cannot checksum: the
    partial checksum leaves the sender, and skb_checksum_help() finishes
    it on the router's way out - with our seed, or the receiver drops
    every segment; the second hop has a smaller MTU (path MTU discovery);
  - with every ACK dropped for a while and the receiver not reading yet:
    retransmissions of segments whose clones still sit in the receiver's
    queue (a copy of the head takes the new header);
  - GSO: over veth, one skb carries several segments (the sender's veth
    counts fewer packets than the protocol counts segments), byte-exact;
    for mini_tcp also with net.mini_tcp.gso=0, where every skb is one
    segment.  (The router run above has them cut by offload.c on a device
    without checksum offload, after PMTU discovery shrank them; the tun
    wire tests check every segment offload.c makes: wire_stream.py.)
  - a 32 MiB stream over veth, where nothing is lost: the receiver drops
    nothing while its reader holds the socket (the backlog), and
    mini_tcp's sender retransmits nothing.

Runs for MTCP_PROTO (253, or 6: kernel TCP as the oracle).  TAP output.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stream_test as st  # noqa: E402

NS_A, NS_R, NS_B = "mfp_a", "mfp_r", "mfp_b"
NAMESPACES = (NS_A, NS_R, NS_B)


def sh(*cmd):
    subprocess.run(cmd, check=True)


def teardown():
    for ns in NAMESPACES:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def veth(ns1, dev1, addr1, ns2, dev2, addr2, mtu=1500):
    sh("ip", "link", "add", dev1, "netns", ns1, "mtu", str(mtu), "type", "veth",
       "peer", dev2, "netns", ns2, "mtu", str(mtu))
    for ns, dev, addr in ((ns1, dev1, addr1), (ns2, dev2, addr2)):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")


def tx_csum(ns, dev, on):
    subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-K", dev,
                    "tx-checksum-ip-generic", "on" if on else "off"],
                   check=True, stdout=subprocess.DEVNULL)


def setup():
    teardown()
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    # A - R - B, the second hop with a smaller MTU.
    veth(NS_A, "fpa0", "10.78.1.1", NS_R, "fpr0", "10.78.1.2")
    veth(NS_R, "fpr1", "10.78.2.1", NS_B, "fpb0", "10.78.2.2", mtu=1280)
    sh("ip", "-n", NS_A, "route", "add", "default", "via", "10.78.1.2")
    sh("ip", "-n", NS_B, "route", "add", "default", "via", "10.78.2.1")
    sh("ip", "netns", "exec", NS_R, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # A direct pair A - B as well, for the offload-less and ACK-loss runs.
    veth(NS_A, "fpa9", "10.78.9.1", NS_B, "fpb9", "10.78.9.2")


def snmp_tcp(ns):
    """Kernel TCP's Tcp: counters (/proc/net/snmp) in ns."""
    out = {}

    def read():
        st.netns.enter(ns)
        with open("/proc/thread-self/net/snmp") as f:
            lines = [ln for ln in f.read().splitlines() if ln.startswith("Tcp:")]
        out.update(zip(lines[0].split()[1:], map(int, lines[1].split()[1:])))
    t = st.threading.Thread(target=read)
    t.start()
    t.join()
    return out


def counter(ns, name):
    """A counter of the protocol under test in ns (InCsumErrors,
    RetransSegs: in /proc/net/snmp for TCP, mini_tcp_stat for us)."""
    return (snmp_tcp(ns) if st.IS_TCP else st.counters(ns)).get(name, 0)


def csum_errors(ns):
    return counter(ns, "InCsumErrors")


def run(name, fn):
    try:
        ok, detail = fn()
    except Exception as e:              # reported, not raised
        ok, detail = False, "exception %r" % e
    st.report(name, ok, detail)


def checked_transfer(ns_srv, ns_cli, addr, nbytes, port, **kw):
    before = {ns: csum_errors(ns) for ns in (ns_srv, ns_cli)}
    ok, detail = st.transfer(ns_srv, ns_cli, addr, nbytes, port=port, **kw)
    errs = {ns: csum_errors(ns) - before[ns] for ns in (ns_srv, ns_cli)}
    detail += "; checksum errors %s" % errs
    if any(errs.values()):
        ok = False
    return ok, detail


def t_no_hw_csum():
    """No checksum offload on either end: software checksums."""
    for ns, dev in ((NS_A, "fpa9"), (NS_B, "fpb9")):
        tx_csum(ns, dev, False)
    try:
        return checked_transfer(NS_B, NS_A, "10.78.9.2", 4 << 20, 7401,
                                both=True)
    finally:
        for ns, dev in ((NS_A, "fpa9"), (NS_B, "fpb9")):
            tx_csum(ns, dev, True)


def t_partial_through_router():
    """Partial from the sender, finished in software by the router's
    egress (skb_checksum_help) with our pseudo-header seed."""
    for dev in ("fpr0", "fpr1"):
        tx_csum(NS_R, dev, False)
    try:
        return checked_transfer(NS_B, NS_A, "10.78.2.2", 4 << 20, 7402,
                                both=True)
    finally:
        for dev in ("fpr0", "fpr1"):
            tx_csum(NS_R, dev, True)


def t_rtx_while_cloned():
    """The receiver's ACKs are dropped (nftables: everything it sends but
    SYNs, for the first 1.5 s) while it does not read for 2.5 s: the
    sender's RTO resends segments whose clones are still in the
    receiver's queue, and after the drop ends all is delivered."""
    nft = ["ip", "netns", "exec", NS_B, "nft"]
    rule = ("table ip mfp {\n chain out {\n"
            "  type filter hook output priority 0;\n"
            "  ip protocol %d @th,104,8 & 0x02 == 0 drop\n }\n}\n" % st.PROTO)

    def ack_blackout():
        time.sleep(1.5)
        subprocess.run(nft + ["delete", "table", "ip", "mfp"])

    key = "RetransSegs"
    before = counter(NS_A, key)
    subprocess.run(nft + ["-f", "-"], input=rule.encode(), check=True)
    t = st.threading.Thread(target=ack_blackout)
    t.start()
    try:
        ok, detail = checked_transfer(NS_B, NS_A, "10.78.9.2", 2 << 20, 7403,
                                      slow_reader=2.5)
    finally:
        t.join()
        subprocess.run(nft + ["delete", "table", "ip", "mfp"],
                       stderr=subprocess.DEVNULL)
    rtx = counter(NS_A, key) - before
    detail += "; %s %d" % (key, rtx)
    if ok and rtx == 0:
        ok, detail = False, detail + ": nothing was retransmitted"
    return ok, detail


def tx_packets(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]["tx"]["packets"]


def t_gso_over_veth():
    """4 MiB A to B over veth: segments the sender's protocol counted
    (OutSegs: data and ACKs) against packets its veth sent (skbs)."""
    res, ok_all = [], True
    for gso in ((1,) if st.IS_TCP else (1, 0)):
        if not st.IS_TCP:
            sh("ip", "netns", "exec", NS_A, "sysctl", "-qw", "net.mini_tcp.gso=%d" % gso)
        pk0, seg0 = tx_packets(NS_A, "fpa9"), counter(NS_A, "OutSegs")
        try:
            ok, detail = checked_transfer(NS_B, NS_A, "10.78.9.2", 4 << 20, 7404 + gso)
        finally:
            if not st.IS_TCP:
                sh("ip", "netns", "exec", NS_A, "sysctl", "-qw", "net.mini_tcp.gso=1")
        pk, seg = tx_packets(NS_A, "fpa9") - pk0, counter(NS_A, "OutSegs") - seg0
        res.append("gso=%d: %s; %d segments in %d packets" % (gso, detail, seg, pk))
        if gso:
            ok = ok and seg >= 2 * pk
        else:
            ok = ok and seg <= pk + pk // 50
        ok_all = ok_all and ok
    return ok_all, " | ".join(res)


def t_bulk_veth_lossless():
    """32 MiB A to B over veth with build/streambench (a reader that copies
    256 KiB at a time, so the receiver's owner holds the socket while GSO
    skbs arrive): veth loses nothing, so the receiver must drop nothing
    (BacklogDrop, TCP's TCPBacklogDrop) and mini_tcp's sender must
    retransmit nothing (an skb dropped there cost a retransmission
    timeout).  Kernel TCP's RetransSegs is not checked: its tail loss
    probes may fire on a virtual link whose ACKs are late."""
    bench = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "build", "streambench")
    drop = "TCPBacklogDrop" if st.IS_TCP else "BacklogDrop"
    ready = "/tmp/mfp_stream.ready"
    if os.path.exists(ready):
        os.unlink(ready)
    drops0 = st.counters(NS_B).get(drop, 0)
    rtx0 = counter(NS_A, "RetransSegs")
    srv = subprocess.Popen(["ip", "netns", "exec", NS_B, bench, "-s", "-p", str(st.PROTO),
                            "-a", "10.78.9.2", "-P", "7410", "-t", "120", "-w", ready],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(200):
            if os.path.exists(ready) and os.path.getsize(ready):
                break
            time.sleep(0.05)
        cli = subprocess.run(["ip", "netns", "exec", NS_A, bench, "-p", str(st.PROTO),
                              "-a", "10.78.9.2", "-P", "7410", "-b", str(32 << 20),
                              "-t", "100"], capture_output=True, text=True, timeout=150)
        out, _ = srv.communicate(timeout=60)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    drops = st.counters(NS_B).get(drop, 0) - drops0
    rtx = counter(NS_A, "RetransSegs") - rtx0
    detail = "%s | %s; receiver %s %d, sender RetransSegs %d" % (
        cli.stdout.strip(), out.strip(), drop, drops, rtx)
    ok = (cli.returncode == 0 and srv.returncode == 0 and
          "bytes=%d" % (32 << 20) in out and drops == 0 and
          (st.IS_TCP or rtx == 0))
    return ok, detail


def main():
    tests = [("veth_without_checksum_offload_4MiB_both_ways", t_no_hw_csum),
             ("gso_skbs_cross_veth_whole_4MiB", t_gso_over_veth),
             ("partial_checksum_finished_by_router_4MiB_both_ways",
              t_partial_through_router),
             ("retransmit_while_clone_queued_2MiB", t_rtx_while_cloned),
             ("bulk_over_veth_drops_and_retransmits_nothing_32MiB",
              t_bulk_veth_lossless)]
    print("TAP version 13")
    print("1..%d" % len(tests))
    print("# fastpath_test.py: protocol %d" % st.PROTO)
    try:
        setup()
        for name, fn in tests:
            run(name, fn)
    finally:
        teardown()
    sys.exit(0 if all(st.results) and len(st.results) == len(tests) else 1)


if __name__ == "__main__":
    main()
