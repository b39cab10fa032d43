#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
interop_cmp: the captures of selftests/interop.sh in a normalized form, and
their comparison.

    interop_cmp.py show PCAP             the normal form (handshake, data
                                         totals, teardown), for the log
    interop_cmp.py no-rst PCAP           exit 1 if any segment has RST
    interop_cmp.py complete PCAP BYTES   exit 1 unless the capture holds the
                                         whole exchange (handshake, BYTES
                                         and the 65-byte answer, a FIN each
                                         way, the last one acked)
    interop_cmp.py same PART PCAP REF    exit 1 unless PART (handshake,
                                         teardown or data) of PCAP is REF's
                                         (teardowns: a pure ACK that the
                                         same side's next segment repeats,
                                         e.g. the FIN after a delayed ACK
                                         of the peer's FIN, is left out)

The connection is the last SYN's (a capture may hold earlier refused
attempts).  Its segments are split into the handshake (the first three: SYN,
SYN-ACK, ACK), the teardown (from the first FIN to the end) and the data
phase in between.  A segment's normal form is its direction (C>S, S>C),
flags, relative seq and ack (mtcp-ladder's numbering: the SYN is 0), payload
length and the kinds of its options (the MSS with its value: the same MTU
on both wires; the window scale without: it follows each kernel's receive
buffer sizes).  Windows and times are left out.  The data phase is compared
in totals, since segment boundaries and ACK timing vary from run to run:
bytes each way (highest sequence reached), the largest payload, the option
kinds seen; the segment counts and retransmissions are only shown.
"""
import importlib.machinery
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = int(os.environ.get("MTCP_PROTO", "253"))


def load_ladder():
    path = os.path.join(HERE, "..", "scripts", "mtcp-ladder")
    loader = importlib.machinery.SourceFileLoader("mtcp_ladder", path)
    spec = importlib.util.spec_from_loader("mtcp_ladder", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


LADDER = load_ladder()


def opt_kinds(opts):
    out = []
    for o in opts:
        w = o.split()
        out.append(o if w[0] == "mss" else w[0])
    return ",".join(out)


def norm(s, client):
    d = "C>S" if s.src == client else "S>C"
    f = "%s %s seq=%d" % (d, LADDER.flag_str(s.flags), s.rseq)
    if s.rack is not None:
        f += " ack=%d" % s.rack
    f += " len=%d" % s.len
    if s.opts:
        f += " <%s>" % opt_kinds(s.opts)
    return f


class Capture:
    def __init__(self, path):
        self.path = path
        self.all = LADDER.read_segments(path, PROTO)
        syns = [s for s in self.all if s.flags & 0x12 == 0x02]
        if not syns:
            raise LADDER.Error("%s: no SYN of protocol %d" % (path, PROTO))
        syn = syns[-1]
        self.client, self.server = syn.src, syn.dst
        i = self.all.index(syn)
        ends = {self.client, self.server}
        conn = [s for s in self.all[i:] if {s.src, s.dst} == ends]
        self.conn = conn
        self.handshake = conn[:3]
        fin = next((k for k, s in enumerate(conn) if s.flags & 0x01), len(conn))
        fin = max(fin, 3)
        self.data = conn[3:fin]
        self.teardown = conn[fin:]
        self.rsts = [s for s in self.all if s.flags & 0x04]

    def lines(self, part):
        return [norm(s, self.client) for s in getattr(self, part)]

    def teardown_merged(self):
        """The teardown without each pure ACK that the same side's next
        segment repeats (same seq and ack): whether the ACK of a FIN goes
        alone or rides on the answering FIN is the delayed ACK's 40 ms
        against the application's close(), timing and not protocol."""
        out = []
        for k, s in enumerate(self.teardown):
            if s.flags & 0x17 == 0x10 and not s.len:
                nxt = next((t for t in self.teardown[k + 1:] if t.src == s.src), None)
                if nxt is not None and nxt.flags & 0x10 and \
                        (nxt.seq, nxt.ack) == (s.seq, s.ack):
                    continue
            out.append(s)
        return [norm(s, self.client) for s in out]

    def totals(self):
        """{direction: (bytes, largest payload, option kinds)} of the data phase."""
        t = {}
        for d, src in (("C>S", self.client), ("S>C", self.server)):
            segs = [s for s in self.data if s.src == src]
            top = max([s.rseq + s.len - 1 for s in segs if s.len] or [0])
            biggest = max([s.len for s in segs] or [0])
            kinds = sorted({opt_kinds([o]) for s in segs for o in s.opts})
            t[d] = (top, biggest, kinds)
        return t

    def counts(self):
        c = {}
        for d, src in (("C>S", self.client), ("S>C", self.server)):
            segs = [s for s in self.data if s.src == src]
            seen = set()
            rexmit = 0
            for s in segs:
                if s.len:
                    if (s.rseq, s.len) in seen:
                        rexmit += 1
                    seen.add((s.rseq, s.len))
            c[d] = "%d segments, %d with data, %d retransmitted" % (
                len(segs), sum(1 for s in segs if s.len), rexmit)
        return c

    def problems(self, nbytes):
        """Why this is not the whole exchange of nbytes (empty: it is)."""
        why = []
        if [s.flags & 0x17 for s in self.handshake] != [0x02, 0x12, 0x10]:
            why.append("handshake is not SYN, SYN-ACK, ACK")
        t = self.totals()
        if t["C>S"][0] != nbytes or t["S>C"][0] != 65:
            why.append("data phase carries %d and %d bytes, not %d and 65" % (
                t["C>S"][0], t["S>C"][0], nbytes))
        fins = {}
        for s in self.teardown:
            if s.flags & 0x01:
                fins[s.src] = s.seq
        if set(fins) != {self.client, self.server}:
            why.append("no FIN from each side")
        else:
            last = self.teardown[-1]
            want = (fins[self.server] + 1) & 0xffffffff
            if last.src != self.client or not last.flags & 0x10 or last.ack != want:
                why.append("the last segment is not the client's ACK of the server's FIN")
        return why

    def wscales(self):
        return ["%s %s" % ("C>S" if s.src == self.client else "S>C", o)
                for s in self.handshake for o in s.opts if o.startswith("wscale")]


def totals_lines(cap):
    t = cap.totals()
    return ["%s data phase: %d bytes, largest payload %d, options <%s>" % (
        d, t[d][0], t[d][1], ",".join(t[d][2])) for d in ("C>S", "S>C")]


def show(cap):
    print("# %s: %s -> %s, %d segments of the connection, %d in the capture" % (
        os.path.basename(cap.path), cap.client, cap.server, len(cap.conn), len(cap.all)))
    for ln in cap.lines("handshake"):
        print("#   handshake  " + ln)
    for ln in totals_lines(cap):
        print("#   " + ln)
    for d, c in cap.counts().items():
        print("#   %s data phase: %s" % (d, c))
    for ln in cap.lines("teardown"):
        print("#   teardown   " + ln)
    if cap.wscales():
        print("#   window scale: %s" % ", ".join(cap.wscales()))


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 2 and a[0] == "show":
            show(Capture(a[1]))
            return 0
        if len(a) == 2 and a[0] == "no-rst":
            cap = Capture(a[1])
            for s in cap.rsts:
                print("# RST: %s > %s %s" % (s.src, s.dst, LADDER.label(s)))
            return 1 if cap.rsts else 0
        if len(a) == 3 and a[0] == "complete":
            why = Capture(a[1]).problems(int(a[2]))
            for w in why:
                print("# incomplete capture: " + w)
            return 1 if why else 0
        if len(a) == 4 and a[0] == "same" and a[1] in ("handshake", "teardown", "data"):
            cap, ref = Capture(a[2]), Capture(a[3])
            if a[1] == "data":
                got, want = totals_lines(cap), totals_lines(ref)
            elif a[1] == "teardown":
                got, want = cap.teardown_merged(), ref.teardown_merged()
            else:
                got, want = cap.lines(a[1]), ref.lines(a[1])
            if got == want and got:
                return 0
            if not got or not want:
                print("# %s: nothing to compare (an empty part)" % a[1])
            print("# %s differs: %s (got) vs %s (reference)" % (
                a[1], os.path.basename(a[2]), os.path.basename(a[3])))
            n = max(len(got), len(want))
            for k in range(n):
                g = got[k] if k < len(got) else "-"
                w = want[k] if k < len(want) else "-"
                print("# %s %-50s | %s" % (" " if g == w else "!", g, w))
            return 1
    except (LADDER.Error, OSError) as e:
        print("# interop_cmp: %s" % e)
        return 1
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
