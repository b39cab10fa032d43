#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
scripts/mtcp-ladder (TAP).

1. Crafted captures of a known exchange (handshake with options, data both
   ways, FIN from each end, a RST to a closed port, a retransmitted SYN and
   a 4-tuple reused with a new ISN), written as pcap with every link type
   mtcp-ladder reads (Ethernet with a VLAN tag, Linux SLL and SLL2, raw IP,
   BSD loopback), microsecond and nanosecond, both byte orders, and pcapng:
   each must print exactly the expected arrows (direction, flags, relative
   seq/ack, length, options, in order), also with --list; the SVG must
   parse with xml.etree and hold one arrow per segment.  A tracepoint log
   with an offset line puts the state rows between the right arrows.  A
   segment of another protocol is left out; --proto 6 picks it.
2. In the VM (root, with `ip`, tcpdump and the protocol present): a real
   connect / send 5 bytes / close between two namespaces over veth, captured
   with tcpdump, with the sock:inet_sock_set_state tracepoint on: the ladder
   must be exactly SYN, SYN-ACK, ACK, data, its ACK, FIN, ACK, FIN, ACK with
   their relative numbers, and the client's states CLOSE>SYN_SENT before the
   SYN and SYN_SENT>ESTABLISHED after the SYN-ACK.  Runs for MTCP_PROTO=6 too
   (kernel TCP: the same ladder).
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from lib import tap  # noqa: E402
from lib.craft import csum  # noqa: E402

LADDER = os.path.join(HERE, "..", "scripts", "mtcp-ladder")
PROTO = int(os.environ.get("MTCP_PROTO", "253"))

ok = tap.ok


# ---- crafting ----------------------------------------------------------------
def segment(src, dst, sport, dport, seq, ack, flags, data=b"", opts=b"", proto=253,
            win=65535):
    doff = (20 + len(opts)) // 4
    th = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto,
                                                                     len(th) + len(data))
    th = th[:16] + struct.pack("!H", csum(ph + th + data)) + th[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th) + len(data), 1, 0x4000, 64,
                     proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + th + data


A, B = "192.0.2.1", "192.0.2.2"
ISN_A, ISN_B, ISN_A2 = 4294967000, 123456, 777
MSS = b"\x02\x04\x05\xb4"
SYN_OPTS = MSS + b"\x04\x02\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x00\x01\x03\x03\x07"
F, S, R, P, AK = 1, 2, 4, 8, 16

# (segment, expected "FLAGS seq=.. [ack=..] len=..", direction ">" a->b / "<", options)
EXCHANGE = [
    (segment(A, B, 40000, 7007, ISN_A, 0, S, opts=SYN_OPTS),
     "SYN seq=0 len=0", ">", "<mss 1460,sackOK,TS val 7 ecr 0,nop,wscale 7>"),
    (segment(A, B, 40000, 7007, ISN_A, 0, S, opts=SYN_OPTS),
     "SYN seq=0 len=0", ">", "<mss 1460,sackOK,TS val 7 ecr 0,nop,wscale 7>"),
    (segment(B, A, 7007, 40000, ISN_B, ISN_A + 1, S | AK, opts=MSS),
     "SYN,ACK seq=0 ack=1 len=0", "<", "<mss 1460>"),
    (segment(A, B, 40000, 7007, ISN_A + 1, ISN_B + 1, AK),
     "ACK seq=1 ack=1 len=0", ">", ""),
    # seq wraps past 2^32 here: relative numbers must not
    (segment(A, B, 40000, 7007, ISN_A + 1, ISN_B + 1, P | AK, b"x" * 300),
     "PSH,ACK seq=1 ack=1 len=300", ">", ""),
    (segment(B, A, 7007, 40000, ISN_B + 1, (ISN_A + 301) & 0xffffffff, AK, win=1000),
     "ACK seq=1 ack=301 len=0", "<", ""),
    (segment(B, A, 7007, 40000, ISN_B + 1, (ISN_A + 301) & 0xffffffff, P | AK, b"y" * 7,
             opts=b"\x01\x01\x05\x0a\x00\x00\x00\x01\x00\x00\x00\x02"),
     "PSH,ACK seq=1 ack=301 len=7", "<", "<nop,nop,sack 1:2>"),
    (segment(A, B, 40000, 7007, (ISN_A + 301) & 0xffffffff, ISN_B + 8, F | AK),
     "FIN,ACK seq=301 ack=8 len=0", ">", ""),
    (segment(B, A, 7007, 40000, ISN_B + 8, (ISN_A + 302) & 0xffffffff, F | AK),
     "FIN,ACK seq=8 ack=302 len=0", "<", ""),
    (segment(A, B, 40000, 7007, (ISN_A + 302) & 0xffffffff, ISN_B + 9, AK),
     "ACK seq=302 ack=9 len=0", ">", ""),
    # the same 4-tuple again, new ISN: numbers restart at 0
    (segment(A, B, 40000, 7007, ISN_A2, 0, S, opts=MSS),
     "SYN seq=0 len=0", ">", "<mss 1460>"),
    (segment(B, A, 7007, 40000, 0, ISN_A2 + 1, R | AK),
     "RST,ACK seq=1 ack=1 len=0", "<", ""),
    # another port: RST from nobody
    (segment(A, B, 40001, 9, 5, 0, S), "SYN seq=0 len=0", ">>", ""),
    (segment(B, A, 9, 40001, 0, 6, R | AK), "RST,ACK seq=1 ack=1 len=0", "<<", ""),
]
OTHER = segment(A, B, 40000, 7007, 1, 0, S, proto=6)   # TCP: left out by default


def frame(linktype, ip):
    if linktype == 1:       # Ethernet with an 802.1Q tag
        return b"\x02" * 6 + b"\x04" * 6 + b"\x81\x00\x00\x05\x08\x00" + ip
    if linktype == 113:     # SLL
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", 0x0800) + ip
    if linktype == 276:     # SLL2
        return struct.pack("!HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\x02" * 6 + b"\0\0") + ip
    if linktype == 0:       # BSD loopback, host order AF_INET
        return struct.pack("<I", 2) + ip
    return ip               # 101 raw


def pcap(path, linktype, packets, endian="<", nano=False):
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for i, ip in enumerate(packets):
        fr = frame(linktype, ip)
        frac = i * 1000 * (1000 if nano else 1)
        out += struct.pack(endian + "IIII", 1700000000, frac, len(fr), len(fr)) + fr
    with open(path, "wb") as f:
        f.write(out)


def pcapng(path, linktype, packets):
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    out = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack("<HHI", linktype, 0, 65535))
    for i, ip in enumerate(packets):
        fr = frame(linktype, ip)
        ts = 1700000000 * 1000000 + i * 1000
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, len(fr), len(fr)) + fr)
    with open(path, "wb") as f:
        f.write(out)


def run(*args):
    return subprocess.run([LADDER] + list(args), capture_output=True, text=True)


ARROW_RE = re.compile(r"^(\d+\.\d+)\s+(.*?)\s\s(win=.*)?$")


def arrows(text, cols):
    """[(from column, to column, label, rest)] of an ASCII ladder."""
    lines = text.splitlines()
    # the columns: every "|" of the arrow lines
    bars = sorted({m.start() for ln in lines[1:] if re.match(r"^\d+\.\d+ ", ln)
                   for m in re.finditer(r"\|", ln)})
    out = []
    for line in lines[1:]:
        if not re.match(r"^\d+\.\d+ ", line):
            continue
        m = re.search(r"\|(<?-+) (.*?) (-+>?)\|", line)
        if not m:
            out.append(None)
            continue
        left = bars.index(m.start()) if m.start() in bars else -1
        right = bars.index(m.end() - 1) if m.end() - 1 in bars else -1
        rest = line[line.rindex("|") + 1:].strip()      # "win=W [<options>]"
        if m.group(1).startswith("<"):
            out.append((right, left, m.group(2).strip(), rest))
        else:
            out.append((left, right, m.group(2).strip(), rest))
    return out


def expected_arrows():
    exp = []
    for _, lab, d, opts in EXCHANGE:
        a, b = {">": (0, 1), "<": (1, 0), ">>": (2, 3), "<<": (3, 2)}[d]
        exp.append((a, b, lab, opts))
    return exp


def check_ladder(path, what):
    r = run(path)
    got = arrows(r.stdout, 4)
    exp = expected_arrows()
    # compare the options, not the window
    got_cmp = [(g[0], g[1], g[2], g[3].split(" ", 1)[1] if " " in g[3] else "")
               if g else None for g in got]
    ok(r.returncode == 0 and got_cmp == exp, "%s: the ladder's arrows" % what,
       ["exit %d %s" % (r.returncode, r.stderr.strip())] +
       ["got  %s" % (g,) for g in got_cmp] + ["want %s" % (e,) for e in exp] +
       r.stdout.splitlines())
    head = r.stdout.splitlines()[0].split() if r.stdout else []
    ok(head == ["192.0.2.1:40000", "192.0.2.2:7007", "192.0.2.1:40001", "192.0.2.2:9"],
       "%s: one column per endpoint, in order of appearance" % what, [head])


def crafted(tmp):
    pkts = [e[0] for e in EXCHANGE]
    with_other = pkts[:3] + [OTHER] + pkts[3:]
    cases = [("ethernet+vlan usec LE", 1, "<", False, False),
             ("linux sll nsec BE", 113, ">", True, False),
             ("linux sll2", 276, "<", False, False),
             ("raw ip BE", 101, ">", False, False),
             ("bsd loopback", 0, "<", True, False),
             ("pcapng ethernet", 1, "<", False, True)]
    for what, lt, e, nano, ng in cases:
        p = os.path.join(tmp, "c%d.pcap" % lt)
        if ng:
            pcapng(p, lt, with_other)
        else:
            pcap(p, lt, with_other, e, nano)
        check_ladder(p, what)

    p = os.path.join(tmp, "eth.pcap")
    pcap(p, 1, with_other)
    r = run("--list", p)
    lines = r.stdout.splitlines()
    want0 = "0.000000 192.0.2.1:40000 > 192.0.2.2:7007 SYN seq=0 len=0 win=65535 " \
            "<mss 1460,sackOK,TS val 7 ecr 0,nop,wscale 7>"
    ok(len(lines) == len(EXCHANGE) and lines[0] == want0 and
       all(" %s " % e[1] in ln + " " or (" %s win=" % e[1]) in ln
           for e, ln in zip(EXCHANGE, lines)),
       "--list: one line per segment, exact", lines)
    ok(lines[3:4] == ["0.004000 192.0.2.1:40000 > 192.0.2.2:7007 ACK seq=1 ack=1 len=0 "
                      "win=65535"],
       "--list: times are relative to the first segment (the TCP one left out)", lines[3:4])
    r = run("--list", "--abs", p)
    ok(" seq=%d ack=%d " % (ISN_B, ISN_A + 1) in r.stdout.splitlines()[2],
       "--abs: absolute numbers", r.stdout.splitlines()[2:3])
    r = run("--list", "--proto", "6", p)
    ok(r.stdout.split("\n")[0].endswith("SYN seq=0 len=0 win=65535") and
       len(r.stdout.splitlines()) == 1, "--proto 6: only the TCP segment", [r.stdout])

    svg = os.path.join(tmp, "l.svg")
    r = run("--no-ascii", "-o", svg, p)
    try:
        root = ET.parse(svg).getroot()
        ns = "{http://www.w3.org/2000/svg}"
        segs = [g for g in root.iter(ns + "g") if g.get("class") == "segment"]
        texts = [t.text for g in segs for t in g.iter(ns + "text")]
        good = root.tag == ns + "svg" and len(segs) == len(EXCHANGE) and \
            all(any(t == e[1] for t in texts) for e in EXCHANGE)
        why = ["%d segment groups" % len(segs)]
    except (ET.ParseError, OSError) as e:
        good, why = False, [str(e)]
    ok(r.returncode == 0 and r.stdout == "" and good,
       "SVG parses (xml.etree), one arrow per segment with its label", why + [r.stderr])

    # states: an offset line ties the trace clock to the capture's
    tr = os.path.join(tmp, "trace")
    t0 = 1700000000.0
    with open(tr, "w") as f:
        f.write("# mtcp-ladder: offset=%.6f\n" % (t0 - 100.0))
        for dt, sport, dport, saddr, daddr, old, new in (
                (-0.0005, 0, 7007, A, B, "CLOSE", "SYN_SENT"),
                (0.0025, 40000, 7007, A, B, "SYN_SENT", "ESTABLISHED"),
                (0.0045, 7007, 40000, B, A, "SYN_RECV", "ESTABLISHED")):
            f.write("  python3-1 [000] ..... %.6f: inet_sock_set_state: family=AF_INET "
                    "protocol=0xfd sport=%d dport=%d saddr=%s daddr=%s oldstate=TCP_%s "
                    "newstate=TCP_%s\n" % (100.0 + dt, sport, dport, saddr, daddr, old, new))
        f.write("  python3-1 [000] ..... 100.0001: inet_sock_set_state: family=AF_INET "
                "protocol=IPPROTO_TCP sport=1 dport=2 saddr=%s daddr=%s "
                "oldstate=TCP_CLOSE newstate=TCP_SYN_SENT\n" % (A, B))
    r = run("--states", tr, p)
    lines = r.stdout.splitlines()
    idx = {}
    for i, ln in enumerate(lines):
        for key in ("[CLOSE>SYN_SENT]", "[SYN_SENT>ESTABLISHED]", "[SYN_RECV>ESTABLISHED]",
                    "SYN seq=0", "SYN,ACK seq=0", "ACK seq=1 ack=1 len=0", "len=300"):
            if key in ln and key not in idx:
                idx[key] = i
    order = sorted(idx, key=idx.get)
    ok(order == ["[CLOSE>SYN_SENT]", "SYN seq=0", "SYN,ACK seq=0", "[SYN_SENT>ESTABLISHED]",
                 "ACK seq=1 ack=1 len=0", "[SYN_RECV>ESTABLISHED]", "len=300"],
       "--states: state rows between the right arrows", lines[:10])
    bars = sorted({m.start() for ln in lines[1:] if re.match(r"^\d+\.\d+ ", ln)
                   for m in re.finditer(r"\|", ln)})
    col_of = {}
    for key in ("[CLOSE>SYN_SENT]", "[SYN_RECV>ESTABLISHED]"):
        ln = lines[idx.get(key, 0)]
        mid = ln.find(key) + len(key) // 2
        col_of[key] = min(range(len(bars)), key=lambda c: abs(bars[c] - mid)) if bars else -1
    ok(col_of == {"[CLOSE>SYN_SENT]": 0, "[SYN_RECV>ESTABLISHED]": 1} and
       "SYN_SENT]" not in r.stdout.replace("[CLOSE>SYN_SENT]", "").replace(
           "[SYN_SENT>ESTABLISHED]", ""),
       "--states: each state under its endpoint (port-less connect resolved; TCP's left out)",
       [col_of])
    svg2 = os.path.join(tmp, "s.svg")
    r = run("--no-ascii", "--states", tr, "-o", svg2, p)
    try:
        root = ET.parse(svg2).getroot()
        st = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "state"]
        good, why = len(st) == 3, ["%d state groups" % len(st)]
    except (ET.ParseError, OSError) as e:
        good, why = False, [str(e)]
    ok(good, "--states: the SVG parses and has the 3 state boxes", why)

    # tshark: -d ip.proto==253,tcp decodes; scripts/mini_tcp_checksum.lua
    # checks the checksums with 253 in the pseudo-header (one made wrong)
    if shutil.which("tshark"):
        pk = [e[0] for e in EXCHANGE]
        broken = bytearray(pk[3])
        broken[36] ^= 0x5a
        pk[3] = bytes(broken)
        tp = os.path.join(tmp, "tshark.pcap")
        pcap(tp, 1, pk)
        lua = os.path.join(HERE, "..", "scripts", "mini_tcp_checksum.lua")
        r = subprocess.run(["tshark", "-n", "-X", "lua_script:" + lua, "-d",
                            "ip.proto==253,tcp", "-r", tp, "-T", "fields",
                            "-e", "tcp.seq", "-e", "tcp.len", "-e", "mini_tcp.checksum.status"],
                           capture_output=True, text=True, timeout=300)
        got = [ln.split("\t") for ln in r.stdout.splitlines()]
        want = [[str(int(e[1].split("seq=")[1].split()[0])), e[1].split("len=")[1],
                 "bad" if i == 3 else "good"] for i, e in enumerate(EXCHANGE)]
        ok(got == want, "tshark -d ip.proto==253,tcp: relative seq and length as ours; "
           "mini_tcp_checksum.lua: checksums good, the broken one bad",
           ["got %s" % got, "want %s" % want, r.stderr])
    else:
        tap.skip("tshark", "not installed")

    bad = os.path.join(tmp, "bad.pcap")
    with open(bad, "wb") as f:
        f.write(b"not a capture at all")
    r = run(bad)
    ok(r.returncode == 1 and "not a pcap" in r.stderr, "a non-pcap file: exit 1 with a reason",
       [r.returncode, r.stderr])


# ---- a real exchange in the VM ---------------------------------------------
def live(tmp):
    why = None
    if not os.environ.get("MTCP_OUT"):
        why = "outside the VM (scripts/vm-run sets MTCP_OUT)"
    elif os.geteuid() != 0 or not shutil.which("tcpdump") or not shutil.which("ip"):
        why = "needs root, ip and tcpdump"
    else:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO).close()
        except OSError as e:
            why = "protocol %d: %s" % (PROTO, e)
    if why:
        tap.skip("live capture", why)
        return
    from lib import netns
    for ns in ("lad_cli", "lad_srv"):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "link", "add", "lcli", "netns", "lad_cli", "type", "veth", "peer",
                    "name", "lsrv", "netns", "lad_srv"], check=True)
    for ns, dev, addr in (("lad_cli", "lcli", A), ("lad_srv", "lsrv", B)):
        subprocess.run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    trace = "/sys/kernel/tracing"
    if not os.path.isdir(trace + "/events"):
        subprocess.run(["mount", "-t", "tracefs", "nodev", trace])
    ev = trace + "/events/sock/inet_sock_set_state"
    traced = os.path.isdir(ev)
    if traced:
        open(ev + "/filter", "w").write("protocol == %d" % PROTO)
        # left as found: vm-run switches it on at boot (see there why)
        was_on = open(ev + "/enable").read().strip() == "1"
        if not was_on:
            open(ev + "/enable", "w").write("1")
        # as scripts/demo: the tai clock is realtime + whole seconds
        tai = "tai" in re.split(r"[\s\[\]]+", open(trace + "/trace_clock").read())
        if tai:
            open(trace + "/trace_clock", "w").write("tai")
        open(trace + "/trace", "w").write("")
        with open(trace + "/trace_marker", "w") as f:
            f.write("mtcp-ladder-sync realtime=%.6f%s\n" % (time.time(),
                                                            " clock=tai" if tai else ""))
    pc = os.path.join(tmp, "live.pcap")
    log = os.path.join(tmp, "tcpdump.log")
    cap = subprocess.Popen(["ip", "netns", "exec", "lad_srv", "tcpdump", "-Z", "root", "-i",
                            "lsrv", "-U", "--immediate-mode", "-w", pc, "ip proto %d" % PROTO],
                           stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    for _ in range(100):
        if "listening on" in open(log).read() or cap.poll() is not None:
            break
        time.sleep(0.1)
    ready = threading.Event()
    got = {}

    def server():
        netns.enter("lad_srv")
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        ls.bind((B, 7007))
        ls.listen(1)
        ready.set()
        c, _ = ls.accept()
        got["data"] = c.recv(100)
        got["eof"] = c.recv(100)
        time.sleep(0.5)     # the FIN's ACK (even a delayed one) goes first
        c.close()
        ls.close()

    def client():
        netns.enter("lad_cli")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        s.connect((B, 7007))
        got["port"] = s.getsockname()[1]
        s.sendall(b"hello")
        time.sleep(0.5)     # the data's ACK (even a delayed one) goes first
        s.close()
        time.sleep(1.0)

    ts = threading.Thread(target=server, daemon=True)
    ts.start()
    ready.wait(10)
    tc = threading.Thread(target=client, daemon=True)
    tc.start()
    tc.join(30)
    ts.join(10)
    time.sleep(1)
    cap.send_signal(2)
    cap.wait(10)
    tr = os.path.join(tmp, "live.trace")
    if traced:
        open(ev + "/filter" if was_on else ev + "/enable", "w").write("0")
        shutil.copy(trace + "/trace", tr)
        open(trace + "/trace_clock", "w").write("local")
    for ns in ("lad_cli", "lad_srv"):
        subprocess.run(["ip", "netns", "del", ns])

    r = run("--proto", str(PROTO), *(["--states", tr] if traced else []), pc)
    got_arrows = arrows(r.stdout, 2)
    exp = [(0, 1, "SYN seq=0 len=0"), (1, 0, "SYN,ACK seq=0 ack=1 len=0"),
           (0, 1, "ACK seq=1 ack=1 len=0"), (0, 1, "PSH,ACK seq=1 ack=1 len=5"),
           (1, 0, "ACK seq=1 ack=6 len=0"), (0, 1, "FIN,ACK seq=6 ack=1 len=0"),
           (1, 0, "ACK seq=1 ack=7 len=0"), (1, 0, "FIN,ACK seq=1 ack=7 len=0"),
           (0, 1, "ACK seq=7 ack=2 len=0")]
    g3 = [g[:3] if g else None for g in got_arrows]
    ok(got.get("data") == b"hello" and g3 == exp,
       "live (proto %d): tcpdump's capture draws SYN, SYN-ACK, ACK, data, ACK, FIN, ACK, "
       "FIN, ACK exactly" % PROTO,
       ["got  %s" % (x,) for x in g3] + r.stdout.splitlines() + [r.stderr])
    head = r.stdout.splitlines()[0].split() if r.stdout else []
    ok(head == ["%s:%s" % (A, got.get("port")), "%s:7007" % B],
       "live: the columns are the client and the server", [head])
    syn = next((g for g in got_arrows if g and g[2].startswith("SYN seq")), None)
    ok(syn is not None and "<mss " in syn[3], "live: the SYN's MSS option is shown",
       [syn])
    if traced:
        lines = r.stdout.splitlines()

        def first(key):
            return next((i for i, ln in enumerate(lines) if key in ln), -1)
        a, b = first("[CLOSE>SYN_SENT]"), first("SYN seq=0")
        c, d = first("SYN,ACK seq=0"), first("[SYN_SENT>ESTABLISHED]")
        ok(-1 not in (a, b, c, d) and a < b < c < d,
           "live: --states puts CLOSE>SYN_SENT before the SYN, SYN_SENT>ESTABLISHED after "
           "the SYN-ACK", lines)


def main():
    print("TAP version 13")
    tmp = tempfile.mkdtemp(prefix="ladder-test.")
    try:
        crafted(tmp)
        live(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
