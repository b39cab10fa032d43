# SPDX-License-Identifier: GPL-2.0
"""
wire.py - packetdrill-style wire tests for mini_tcp (and, as the oracle, TCP).

A test script talks to the stack under test through a tun device: it writes
crafted IPv4 segments into the tun fd (they arrive at the stack as if sent by
a peer at PEER) and reads back, one by one, the segments the stack sends to
PEER.  There is no peer stack that could answer on its own.

Every test is protocol-parameterised: the IP protocol number comes from
--proto N or the environment variable MTCP_PROTO (default 253).  With 6 the
same script runs against the kernel's own TCP, which is the oracle: the
segment layout is TCP's, only the protocol number (in the IP header and in
the checksum's pseudo-header) differs.

Self-contained: run() unshares a fresh network namespace (CLONE_NEWNET) for
the process before anything else, so a test run as root in the VM's root
namespace touches nothing outside itself; the namespace disappears when the
process exits.  MTCP_WIRE_NETNS=current keeps the current namespace instead
(e.g. under `ip netns exec X` to watch the tun with tcpdump).

Addresses are RFC 5737 documentation addresses that exist only inside that
namespace: the stack is 192.0.2.1/24 on the tun device, the scripted peer is
192.0.2.2.

Output is TAP (kselftest style); exit status 0 = all passed, 1 = a test
failed, 4 = all skipped.

A test script:

    from lib import wire
    from lib.wire import ANY, seq_add, test

    @test("synack_acks_isn_plus_1")
    def t(w):                              # w: Wire
        c = w.passive_open()               # SYN / SYN-ACK / ACK + accept()
        c.sock.close()                     # stack side: ordinary sockets
        fin = c.expect("FA")               # seq=RCV.NXT, ack=SND.NXT checked
        c.send("A")                        # from the peer, seq/ack tracked
        c.expect_none()

    if __name__ == "__main__":
        wire.run()

Wire: send(), send_l4() (raw bytes), expect(flags, seq, ack, data, mss,
ports, timeout), expect_none(), segments(), expect_proto() (a segment of
another protocol, e.g. TCP's next to mini_tcp's); listen(), accept(),
connect_nb() + connect_result(), passive_open(), active_open() -> Conn;
sysctl(name, value) (restored after the test); counters().
Every segment the stack sends is checked: IPv4 header checksum, length,
data offset, option list, and the checksum over the pseudo-header with
protocol PROTO; a bad one fails the test.

Environment:
  MTCP_PROTO=N          protocol number (default 253); --proto N overrides
  MTCP_TIME_SCALE=F     multiply timeouts (default 1, 8 when QEMU is detected)
  MTCP_NONE_TIMEOUT=S   how long "no reply" is listened for (default
                        0.5 * sqrt(scale))
  MTCP_WIRE_NETNS=current   do not unshare a new network namespace
  MTCP_WIRE_PCAP=FILE   write every packet in and out to FILE (raw IPv4 pcap;
                        decode with: tshark -d ip.proto==253,tcp -r FILE)
  MTCP_WIRE_VERBOSE=1   print every segment as a TAP diagnostic (-v)
"""

import ctypes
import errno
import fcntl
import os
import random
import select
import signal
import socket
import struct
import sys
import time
import traceback

# ---------------------------------------------------------------- config

STACK = "192.0.2.1"      # the stack under test (address of the tun device)
PEER = "192.0.2.2"       # the scripted peer (reached through the tun device)
PREFIXLEN = 24
TUN_NAME = "mtw0"
TUN_MTU = 1500
MSS_FOR_MTU = TUN_MTU - 40   # what a stack should advertise on this route

IPPROTO_TCP = 6
IPPROTO_MINI_TCP = 253       # keep in sync with uapi/mini_tcp.h


def _proto_from_argv():
    proto = os.environ.get("MTCP_PROTO", str(IPPROTO_MINI_TCP))
    argv = sys.argv[1:]
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--proto" and i + 1 < len(argv):
            proto = argv[i + 1]
            i += 2
            continue
        if a.startswith("--proto="):
            proto = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    sys.argv[1:] = rest
    return int(proto)


PROTO = _proto_from_argv()
IS_TCP = PROTO == IPPROTO_TCP
PROTO_NAME = "tcp" if IS_TCP else "mini_tcp(%d)" % PROTO


def _detect_scale():
    env = os.environ.get("MTCP_TIME_SCALE")
    if env:
        return float(env)
    for path in ("/sys/class/dmi/id/sys_vendor", "/proc/cpuinfo"):
        try:
            with open(path) as f:
                if "QEMU" in f.read():
                    return 8.0
        except OSError:
            pass
    return 1.0


SCALE = _detect_scale()
VERBOSE = os.environ.get("MTCP_WIRE_VERBOSE", "") not in ("", "0")


# Timers run in real time even under emulation; only the processing
# between them is slower.  So: generous timeouts for what must come (paid
# only on failure), moderate slack for silence that must be waited out.
SLACK = max(1.0, SCALE ** 0.5)


def T(seconds):
    """A timeout for something that should happen (scaled fully)."""
    return seconds * SCALE


def S(seconds):
    """A margin that is always waited out (scaled moderately)."""
    return seconds * SLACK


# expect(): how long to wait for a segment that should come (only paid on
# failure), expect_none(): how long to listen for silence (always paid).
EXPECT_TIMEOUT = min(T(4.0), 60.0)
NONE_TIMEOUT = float(os.environ.get("MTCP_NONE_TIMEOUT", 0) or S(0.5))


class _Any:
    def __repr__(self):
        return "*"


ANY = _Any()          # "don't check this field"


class Fail(Exception):
    """A test assertion failed; the message is printed as TAP diagnostics."""


class Skip(Exception):
    """The test cannot run here; reported as ok ... # SKIP reason."""


# ---------------------------------------------------------------- TAP

def diag(msg):
    """A '# ' line in the TAP output."""
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def check_eq(got, want, what):
    if got != want:
        raise Fail("%s: want %r, got %r" % (what, want, got))


# ---------------------------------------------------------------- sequence space

def seq_add(a, n):
    return (a + n) & 0xffffffff


def seq_diff(a, b):
    """a - b as a signed 32-bit number."""
    d = (a - b) & 0xffffffff
    return d - (1 << 32) if d & 0x80000000 else d


def seq_after(a, b):
    return seq_diff(a, b) > 0


# ---------------------------------------------------------------- flags

FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08,
             "A": 0x10, "U": 0x20, "E": 0x40, "C": 0x80}
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = (0x01, 0x02, 0x04, 0x08,
                                          0x10, 0x20, 0x40, 0x80)


def flags_to_int(flags):
    if isinstance(flags, int):
        return flags
    v = 0
    for ch in flags.replace(".", "A"):
        if ch not in FLAG_BITS:
            raise ValueError("bad flag letter %r in %r" % (ch, flags))
        v |= FLAG_BITS[ch]
    return v


def flags_to_str(v):
    s = "".join(ch for ch in "SFRPUECA" if v & FLAG_BITS[ch])
    return s or "-"


def _flag_alternatives(spec):
    """'R|RA' or ('R', 'RA') or 'SA' -> set of ints."""
    if spec is None or spec is ANY:
        return None
    if isinstance(spec, (int, str)):
        spec = str(spec).split("|") if isinstance(spec, str) else [spec]
    return {flags_to_int(s) for s in spec}


# ---------------------------------------------------------------- checksums

def _sum16(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def inet_csum(data):
    return (~_sum16(data)) & 0xffff


def l4_checksum(src, dst, proto, segment):
    """TCP-style checksum over the IPv4 pseudo-header with protocol `proto`."""
    ph = (socket.inet_aton(src) + socket.inet_aton(dst) +
          struct.pack("!BBH", 0, proto, len(segment)))
    return inet_csum(ph + segment)


def l4_checksum_ok(src, dst, proto, segment):
    ph = (socket.inet_aton(src) + socket.inet_aton(dst) +
          struct.pack("!BBH", 0, proto, len(segment)))
    return _sum16(ph + segment) == 0xffff


# ---------------------------------------------------------------- options

def build_options(opts):
    """opts: list of ('mss', n) | ('nop',) | ('eol',) | ('wscale', n) |
    ('sackok',) | ('ts', val, ecr) | (kind:int, payload:bytes) |
    ('raw', bytes).  Padded with EOL (zero) bytes to a multiple of 4."""
    out = b""
    for o in opts or []:
        name = o[0]
        if name == "mss":
            out += struct.pack("!BBH", 2, 4, o[1])
        elif name == "nop":
            out += b"\x01"
        elif name == "eol":
            out += b"\x00"
        elif name == "wscale":
            out += struct.pack("!BBB", 3, 3, o[1])
        elif name == "sackok":
            out += b"\x04\x02"
        elif name == "ts":
            out += struct.pack("!BBII", 8, 10, o[1], o[2])
        elif name == "raw":
            out += o[1]
        elif isinstance(name, int):
            out += struct.pack("!BB", name, 2 + len(o[1])) + o[1]
        else:
            raise ValueError("unknown option %r" % (o,))
    if len(out) % 4:
        out += b"\0" * (4 - len(out) % 4)
    return out


OPT_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackok",
             5: "sack", 8: "ts"}


def parse_options(raw):
    """-> (list of (kind, bytes), error string or None)."""
    opts = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            opts.append((0, b""))
            break
        if kind == 1:
            opts.append((1, b""))
            i += 1
            continue
        if i + 1 >= len(raw):
            return opts, "option kind %d without length at offset %d" % (kind, i)
        ln = raw[i + 1]
        if ln < 2 or i + ln > len(raw):
            return opts, "option kind %d bad length %d at offset %d" % (kind, ln, i)
        opts.append((kind, bytes(raw[i + 2:i + ln])))
        i += ln
    return opts, None


# ---------------------------------------------------------------- segments

class Seg:
    """One segment (the stack's or ours), parsed from an IPv4 packet."""

    def __init__(self, pkt, t=None):
        self.raw = bytes(pkt)
        self.t = t if t is not None else time.monotonic()
        ihl = (pkt[0] & 0x0f) * 4
        self.ip_len = struct.unpack("!H", pkt[2:4])[0]
        self.proto = pkt[9]
        self.src = socket.inet_ntoa(pkt[12:16])
        self.dst = socket.inet_ntoa(pkt[16:20])
        self.ip_csum_ok = inet_csum(pkt[:ihl]) == 0
        l4 = pkt[ihl:self.ip_len]
        self.l4 = l4
        self.error = None
        if len(l4) < 20:
            self.error = "segment shorter than 20 bytes (%d)" % len(l4)
            self.sport = self.dport = self.seq = self.ack = 0
            self.flags = self.win = self.csum = self.urp = 0
            self.doff = 0
            self.options, self.payload = [], b""
            self.csum_ok = False
            return
        (self.sport, self.dport, self.seq, self.ack, off, self.flags,
         self.win, self.csum, self.urp) = struct.unpack("!HHIIBBHHH", l4[:20])
        self.doff = (off >> 4) * 4
        if self.doff < 20 or self.doff > len(l4):
            self.error = "bad data offset %d (segment %d bytes)" % (self.doff, len(l4))
            self.options, self.payload = [], b""
        else:
            self.options, err = parse_options(l4[20:self.doff])
            if err:
                self.error = err
            self.payload = bytes(l4[self.doff:])
        self.csum_ok = l4_checksum_ok(self.src, self.dst, self.proto, l4)

    @property
    def end(self):
        """seq + length in sequence space (SYN and FIN count one)."""
        return seq_add(self.seq, len(self.payload) + bool(self.flags & SYN) +
                       bool(self.flags & FIN))

    def opt(self, kind):
        for k, v in self.options:
            if k == kind:
                return v
        return None

    @property
    def mss(self):
        v = self.opt(2)
        if v is None or len(v) != 2:
            return None
        return struct.unpack("!H", v)[0]

    def key(self):
        return (self.sport, self.dport, self.seq, self.ack, self.flags,
                self.payload)

    def __str__(self):
        opts = []
        for k, v in self.options:
            name = OPT_NAMES.get(k, "opt%d" % k)
            if k == 2 and len(v) == 2:
                opts.append("mss %d" % struct.unpack("!H", v)[0])
            elif k == 3 and len(v) == 1:
                opts.append("wscale %d" % v[0])
            elif k == 8 and len(v) == 8:
                opts.append("ts %d %d" % struct.unpack("!II", v))
            elif v:
                opts.append("%s %s" % (name, v.hex()))
            else:
                opts.append(name)
        if len(self.l4) < 20:
            return "%s > %s short segment (%d bytes): %s" % (
                self.src, self.dst, len(self.l4), self.l4.hex())
        s = "%s:%d > %s:%d [%s] seq=%d ack=%d win=%d len=%d" % (
            self.src, self.sport, self.dst, self.dport, flags_to_str(self.flags),
            self.seq, self.ack, self.win, len(self.payload))
        if opts:
            s += " <%s>" % ", ".join(opts)
        if self.payload:
            p = self.payload[:16]
            s += " data=%r%s" % (p, "..." if len(self.payload) > 16 else "")
        if self.error:
            s += " !! " + self.error
        if not self.csum_ok:
            s += " !! BAD CHECKSUM 0x%04x" % self.csum
        return s


def build_segment(sport, dport, seq, ack, flags, win=65535, data=b"",
                  options=None, urp=0, doff=None, csum=None, bad_csum=False,
                  src=PEER, dst=STACK, csum_proto=None):
    """The L4 bytes of a TCP-layout segment with a correct checksum for
    PROTO (or csum_proto), unless csum / bad_csum says otherwise."""
    fl = flags_to_int(flags)
    opt = build_options(options) if not isinstance(options, bytes) else options
    if doff is None:
        doff = 20 + len(opt)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff,
                      ack & 0xffffffff, (doff // 4) << 4, fl, win, 0, urp)
    seg = hdr + opt + data
    if csum is None:
        csum = l4_checksum(src, dst, PROTO if csum_proto is None else csum_proto,
                           seg)
        if bad_csum:
            csum = (csum + 0x1234) & 0xffff
    return seg[:16] + struct.pack("!H", csum) + seg[18:]


def build_ipv4(l4, src=PEER, dst=STACK, proto=None, ttl=64, ident=None):
    if ident is None:
        ident = random.getrandbits(16)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000,
                      ttl, PROTO if proto is None else proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", inet_csum(hdr)) + hdr[12:]
    return hdr + l4


def scapy_show(pkt):
    """Scapy's dissection of a packet (protocol PROTO decoded as TCP)."""
    try:
        from scapy.layers.inet import IP, TCP
        from scapy.packet import bind_layers
        if not IS_TCP:
            bind_layers(IP, TCP, proto=PROTO)
        return IP(pkt).show(dump=True)
    except Exception as e:   # scapy missing or broken: not fatal
        return "(scapy unavailable: %s)" % e


# ---------------------------------------------------------------- pcap

class _Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))

    def write(self, pkt):
        t = time.time()
        self.f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6),
                                 len(pkt), len(pkt)) + pkt)
        self.f.flush()


# ---------------------------------------------------------------- netns + tun

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891c
SIOCSIFMTU = 0x8922
IFF_UP = 0x1


def _write_proc(path, value):
    try:
        with open(path, "w") as f:
            f.write(str(value))
        return True
    except OSError:
        return False


def enter_new_netns():
    if os.environ.get("MTCP_WIRE_NETNS", "") == "current":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare(CLONE_NEWNET): " + os.strerror(e))
    return True


def _ifreq_flags(sk, name, set_flags):
    ifr = struct.pack("16sh14x", name.encode(), 0)
    res = fcntl.ioctl(sk, SIOCGIFFLAGS, ifr)
    flags = struct.unpack("16sh14x", res)[1]
    fcntl.ioctl(sk, SIOCSIFFLAGS, struct.pack("16sh14x", name.encode(),
                                              flags | set_flags))


def _ifreq_addr(name, addr):
    return struct.pack("16sH2s4s8x", name.encode(), socket.AF_INET, b"\0\0",
                       socket.inet_aton(addr))


def setup_tun():
    """Create the tun device, address it, bring it and lo up. -> fd."""
    for p in ("all", "default"):
        _write_proc("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % p, 1)
        _write_proc("/proc/sys/net/ipv4/conf/%s/rp_filter" % p, 0)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", TUN_NAME.encode(),
                                           IFF_TUN | IFF_NO_PI))
    _write_proc("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % TUN_NAME, 1)
    _write_proc("/proc/sys/net/ipv4/conf/%s/rp_filter" % TUN_NAME, 0)
    sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        _ifreq_flags(sk, "lo", IFF_UP)
        fcntl.ioctl(sk, SIOCSIFMTU, struct.pack("16si12x", TUN_NAME.encode(),
                                                TUN_MTU))
        fcntl.ioctl(sk, SIOCSIFADDR, _ifreq_addr(TUN_NAME, STACK))
        mask = socket.inet_ntoa(struct.pack("!I", (0xffffffff << (32 - PREFIXLEN))
                                            & 0xffffffff))
        fcntl.ioctl(sk, SIOCSIFNETMASK, _ifreq_addr(TUN_NAME, mask))
        _ifreq_flags(sk, TUN_NAME, IFF_UP)
    finally:
        sk.close()
    return fd


# ---------------------------------------------------------------- sysctls

# generic name -> (mini_tcp path, tcp path) under /proc/sys/
SYSCTLS = {
    "syn_retries": ("net/mini_tcp/syn_retries", "net/ipv4/tcp_syn_retries"),
    "synack_retries": ("net/mini_tcp/synack_retries", "net/ipv4/tcp_synack_retries"),
    "syncookies": ("net/mini_tcp/syncookies", "net/ipv4/tcp_syncookies"),
    "max_syn_backlog": ("net/mini_tcp/max_syn_backlog", "net/ipv4/tcp_max_syn_backlog"),
    "fin_timeout": ("net/mini_tcp/fin_timeout", "net/ipv4/tcp_fin_timeout"),
    "tw_timeout": ("net/mini_tcp/tw_timeout", None),   # TCP: fixed 60 s
    "orphan_retries": ("net/mini_tcp/orphan_retries", "net/ipv4/tcp_orphan_retries"),
    "invalid_ratelimit": ("net/mini_tcp/invalid_ratelimit",
                          "net/ipv4/tcp_invalid_ratelimit"),
    "challenge_ack_limit": ("net/mini_tcp/challenge_ack_limit",
                            "net/ipv4/tcp_challenge_ack_limit"),
    "window_scaling": ("net/mini_tcp/window_scaling",
                       "net/ipv4/tcp_window_scaling"),
    "moderate_rcvbuf": ("net/mini_tcp/moderate_rcvbuf",
                        "net/ipv4/tcp_moderate_rcvbuf"),
}


def sysctl_path(name):
    if "/" in name:
        return "/proc/sys/" + name
    pair = SYSCTLS[name]
    p = pair[1] if IS_TCP else pair[0]
    return None if p is None else "/proc/sys/" + p


def sysctl_get(name):
    p = sysctl_path(name)
    if p is None:
        return None
    try:
        with open(p) as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------- counters

def _parse_netstat_format(path):
    """Files shaped like /proc/net/netstat: pairs of 'Prefix: names' and
    'Prefix: values' lines. -> {prefix: {name: int}}."""
    with open(path) as f:
        lines = f.read().splitlines()
    out = {}
    for i in range(0, len(lines) - 1, 2):
        hn, _, names = lines[i].partition(":")
        vn, _, vals = lines[i + 1].partition(":")
        if hn != vn:
            continue
        out.setdefault(hn.strip(), {}).update(
            zip(names.split(), (int(v) for v in vals.split())))
    return out


MINI_TCP_STAT = "/proc/net/mini_tcp_stat"


def counters():
    """Protocol counters by their TCP names (InSegs, InErrs, InCsumErrors,
    OutRsts, ActiveOpens, PassiveOpens, AttemptFails, EstabResets,
    ListenOverflows, ListenDrops, Syncookies*...).  For TCP from
    /proc/net/snmp (Tcp) + /proc/net/netstat (TcpExt); for mini_tcp from
    /proc/net/mini_tcp_stat (one 'MiniTcp:' pair of lines)."""
    if IS_TCP:
        d = dict(_parse_netstat_format("/proc/net/snmp").get("Tcp", {}))
        d.update(_parse_netstat_format("/proc/net/netstat").get("TcpExt", {}))
        return d
    d = {}
    for v in _parse_netstat_format(MINI_TCP_STAT).values():
        d.update(v)
    return d


def delayed_acks():
    """ACKs sent by the delayed-ACK timer (DelayedACKs, TcpExt's for TCP):
    what shows an ACK was delayed.  Its time alone does not, under
    emulation, where the guest's jiffies can lag its clock."""
    return counters().get("DelayedACKs", 0)


def counter_delta(before, after, names):
    return {n: after.get(n, 0) - before.get(n, 0) for n in names}


# ---------------------------------------------------------------- the wire

class Wire:
    """The tun device plus the scripted peer's view of it."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = []        # stack segments read but not yet consumed
        self.seen = []           # stack segments consumed in this test
        self.other = []          # non-PROTO packets from the stack (diag)
        self.foreign = []        # their raw bytes, for expect_proto()
        self.sent = []           # our segments in this test
        self.undo = []           # cleanup actions for this test
        self.socks = []
        self.pcap = None
        path = os.environ.get("MTCP_WIRE_PCAP")
        if path:
            self.pcap = _Pcap(path)
        self._stack_port = 5000
        self._peer_port = 40000

    # ---- per test bookkeeping
    def begin_test(self):
        self.drain()
        self.pending = []
        self.seen = []
        self.other = []
        self.foreign = []
        self.sent = []

    def end_test(self):
        for s in self.socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self.socks = []
        errs = []
        while self.undo:
            fn = self.undo.pop()
            try:
                fn()
            except Exception as e:
                errs.append(str(e))
        if errs:
            raise Fail("cleanup failed: " + "; ".join(errs))

    def stack_port(self):
        self._stack_port += 1
        return self._stack_port

    def peer_port(self):
        self._peer_port += 1
        return self._peer_port

    # ---- sysctls (restored at the end of the test)
    def sysctl(self, name, value, required=True):
        p = sysctl_path(name)
        if p is None:
            raise Skip("%s has no sysctl for %s" % (PROTO_NAME, name))
        if not os.path.exists(p):
            if not required:
                return False
            if not IS_TCP and name in SYSCTLS:
                # DESIGN.md 6: per-netns net.mini_tcp.* sysctls
                raise Fail("sysctl %s missing in this network namespace" % p)
            raise Skip("sysctl %s not available" % p)
        with open(p) as f:
            old = f.read().strip()
        with open(p, "w") as f:
            f.write(str(value))

        def restore():
            if not _write_proc(p, old):
                raise OSError("cannot restore %s to %s" % (p, old))
        self.undo.append(restore)
        if VERBOSE:
            diag("sysctl %s = %s (was %s)" % (p, value, old))
        return True

    # ---- raw I/O
    def _log(self, prefix, pkt):
        if self.pcap:
            self.pcap.write(pkt)
        if VERBOSE:
            try:
                diag("%s %s" % (prefix, Seg(pkt) if pkt[9] == PROTO else
                                "proto %d %d bytes" % (pkt[9], len(pkt))))
            except Exception:
                diag("%s %d bytes" % (prefix, len(pkt)))

    def send_ip(self, pkt):
        self._log(">>", pkt)
        os.write(self.fd, pkt)

    def send(self, sport, dport, seq, ack=0, flags="A", data=b"", win=65535,
             options=None, src=PEER, dst=STACK, **kw):
        """Send one segment from the peer to the stack."""
        l4 = build_segment(sport, dport, seq, ack, flags, win=win, data=data,
                           options=options, src=src, dst=dst, **kw)
        pkt = build_ipv4(l4, src=src, dst=dst)
        self.sent.append(Seg(pkt))
        self.send_ip(pkt)
        return pkt

    def send_l4(self, l4, src=PEER, dst=STACK, proto=None):
        """Send arbitrary L4 bytes (e.g. a truncated header)."""
        pkt = build_ipv4(l4, src=src, dst=dst, proto=proto)
        self.send_ip(pkt)
        return pkt

    def _read_available(self, timeout):
        """Read packets for up to `timeout` s (0 = only what is queued).
        Returns True if something was read."""
        got = False
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        while r:
            try:
                pkt = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            got = True
            now = time.monotonic()
            self._log("<<", pkt)
            self._classify(pkt, now)
            r, _, _ = select.select([self.fd], [], [], 0)
        return got

    def _classify(self, pkt, now):
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            self.other.append((now, "non-IPv4 packet, %d bytes" % len(pkt)))
            return
        proto = pkt[9]
        if proto != PROTO:
            desc = "IPv4 proto %d %s > %s, %d bytes" % (
                proto, socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20]),
                len(pkt))
            if proto == 1 and len(pkt) >= 22:
                ihl = (pkt[0] & 15) * 4
                desc += " (ICMP type %d code %d)" % (pkt[ihl], pkt[ihl + 1])
            self.other.append((now, desc))
            self.foreign.append(pkt)
            return
        seg = Seg(pkt, now)
        # Anything the stack sends must be well formed with a correct
        # checksum computed over the pseudo-header with protocol PROTO.
        problems = []
        if not seg.ip_csum_ok:
            problems.append("bad IPv4 header checksum")
        if seg.ip_len != len(pkt):
            problems.append("IP total length %d != packet %d" % (seg.ip_len, len(pkt)))
        if seg.error:
            problems.append(seg.error)
        if not seg.csum_ok:
            want = l4_checksum(seg.src, seg.dst, PROTO,
                               seg.l4[:16] + b"\0\0" + seg.l4[18:])
            msg = "bad checksum 0x%04x (want 0x%04x with pseudo-header " \
                  "protocol %d)" % (seg.csum, want, PROTO)
            for other in (IPPROTO_TCP, IPPROTO_MINI_TCP):
                if other != PROTO and l4_checksum_ok(seg.src, seg.dst, other, seg.l4):
                    msg += " - it is right for protocol %d" % other
            problems.append(msg)
        if problems:
            raise Fail("stack sent a malformed segment: %s\n  %s\n%s" % (
                "; ".join(problems), seg, scapy_show(pkt)))
        self.pending.append(seg)

    def drain(self):
        while self._read_available(0):
            pass

    def _take(self, ports, deadline):
        """Next pending stack segment matching ports (stack_port, peer_port),
        waiting until deadline."""
        while True:
            for i, seg in enumerate(self.pending):
                if _port_match(seg, ports):
                    del self.pending[i]
                    return seg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read_available(left)

    def _is_rtx(self, seg):
        """A retransmission of a segment already seen in this test: same
        ports, seq, flags and payload (the ack may have moved on)."""
        if not (seg.payload or seg.flags & (SYN | FIN)):
            return False        # pure ACKs and RSTs are never retransmitted
        k = seg.key()[:3] + seg.key()[4:]
        return any(s.key()[:3] + s.key()[4:] == k for s in self.seen)

    def history(self):
        lines = []
        for s in self.sent[-6:]:
            lines.append("   sent: %s" % s)
        for s in self.seen[-6:]:
            lines.append("   recv: %s" % s)
        for t, d in self.other[-4:]:
            lines.append("  other: %s" % d)
        return "\n".join(lines)

    # ---- expectations
    def expect(self, flags=None, seq=ANY, ack=ANY, data=b"", win=ANY, mss=ANY,
               ports=None, timeout=None, strict=False, what=None):
        """Wait for the next segment from the stack (matching ports =
        (stack_port, peer_port), None = any) and check it.

        flags: 'SA', 'R|RA', ('R', 'RA') - exact flag set(s).
        seq, ack, win: exact values or ANY (ack is checked when the segment
               carries ACK; a missing ACK flag is a flags mismatch).
        data:  exact payload bytes, an int length, or ANY.  Default b"".
        mss:   ANY, None (no MSS option), int, or a callable(mss)->bool.
        strict: if False, an exact retransmission of a segment seen earlier
               in this test is skipped (the emulated VM is slow enough for
               RTO-driven retransmissions to interleave).
        Returns the Seg; raises Fail with a readable diff otherwise."""
        timeout = EXPECT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        want_flags = _flag_alternatives(flags)
        desc = _describe(flags, seq, ack, data, win, mss)
        while True:
            seg = self._take(ports, deadline)
            if seg is None:
                raise Fail("%sexpected %s\n  but nothing arrived within %.1f s"
                           "%s\n%s" % (what + ": " if what else "", desc, timeout,
                                       _ports_desc(ports), self.history()))
            diffs = []
            if want_flags is not None and seg.flags not in want_flags:
                diffs.append("flags: want %s, got %s" % (
                    "|".join(sorted(flags_to_str(f) for f in want_flags)),
                    flags_to_str(seg.flags)))
            if seq is not ANY and seg.seq != (seq & 0xffffffff):
                diffs.append("seq: want %d, got %d (%+d)" % (
                    seq & 0xffffffff, seg.seq, seq_diff(seg.seq, seq)))
            if ack is not ANY and seg.flags & ACK and seg.ack != (ack & 0xffffffff):
                diffs.append("ack: want %d, got %d (%+d)" % (
                    ack & 0xffffffff, seg.ack, seq_diff(seg.ack, ack)))
            if data is not ANY:
                if isinstance(data, int):
                    if len(seg.payload) != data:
                        diffs.append("payload length: want %d, got %d" % (
                            data, len(seg.payload)))
                elif seg.payload != data:
                    diffs.append("payload: want %r, got %r" % (data[:40],
                                                               seg.payload[:40]))
            if win is not ANY and seg.win != win:
                diffs.append("window: want %d, got %d" % (win, seg.win))
            if mss is not ANY:
                got = seg.mss
                if mss is None:
                    if got is not None:
                        diffs.append("MSS option: want none, got %d" % got)
                elif callable(mss):
                    if got is None or not mss(got):
                        diffs.append("MSS option: got %r, not acceptable" % got)
                elif got != mss:
                    diffs.append("MSS option: want %d, got %r" % (mss, got))
            if not diffs:
                self.seen.append(seg)
                return seg
            if not strict and self._is_rtx(seg):
                diag("(skipping retransmission: %s)" % seg)
                continue
            self.seen.append(seg)
            raise Fail("%sexpected %s\n       got %s\n  %s\n%s" % (
                what + ": " if what else "", desc, seg, "\n  ".join(diffs),
                self.history()))

    def expect_proto(self, proto, flags, ports, timeout=None, what=None):
        """The next segment of another IP protocol (not PROTO: e.g. kernel
        TCP's answer to a segment sent with send_l4(..., proto=6)) from the
        ports (stack_port, peer_port), with the flag set `flags`; -> Seg.
        Its checksum must be right for `proto`."""
        timeout = EXPECT_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        want = _flag_alternatives(flags)
        while True:
            for i, pkt in enumerate(self.foreign):
                if pkt[9] != proto:
                    continue
                seg = Seg(pkt)
                if _port_match(seg, ports) and seg.flags in want:
                    del self.foreign[i]
                    check(seg.csum_ok and not seg.error,
                          "malformed protocol %d segment: %s" % (proto, seg))
                    return seg
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("%sexpected a protocol %d [%s] segment%s within "
                           "%.1f s\n%s" % (what + ": " if what else "", proto,
                                           flags, _ports_desc(ports), timeout,
                                           self.history()))
            self._read_available(left)

    def expect_none(self, timeout=None, ports=None, strict=False, what=None):
        """No segment (matching ports) from the stack within timeout."""
        timeout = NONE_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            seg = self._take(ports, deadline)
            if seg is None:
                return
            if not strict and self._is_rtx(seg):
                diag("(skipping retransmission: %s)" % seg)
                continue
            self.seen.append(seg)
            raise Fail("%sexpected no segment%s within %.1f s\n       got %s\n%s" % (
                what + ": " if what else "", _ports_desc(ports), timeout, seg,
                self.history()))

    def segments(self, ports=None, duration=1.0, strict=False):
        """All segments (matching ports) arriving within duration
        (retransmissions of earlier ones left out unless strict)."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            seg = self._take(ports, deadline)
            if seg is None:
                return out
            if not strict and self._is_rtx(seg):
                diag("(skipping retransmission: %s)" % seg)
                continue
            self.seen.append(seg)
            out.append(seg)

    # ---- stack side
    def socket(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        except OSError as e:
            if e.errno in (errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT):
                raise Skip("socket(AF_INET, SOCK_STREAM, %d): %s" % (PROTO, e))
            raise
        self.socks.append(s)
        return s

    def listen(self, port=None, backlog=16):
        port = port or self.stack_port()
        s = self.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((STACK, port))
        s.listen(backlog)
        return s

    def accept(self, listener, timeout=None):
        timeout = EXPECT_TIMEOUT if timeout is None else timeout
        r, _, _ = select.select([listener], [], [], timeout)
        if not r:
            raise Fail("accept(): no connection within %.1f s\n%s" % (
                timeout, self.history()))
        c, addr = listener.accept()
        self.socks.append(c)
        c.setblocking(True)
        c.settimeout(timeout)
        return c, addr

    def connect_nb(self, peer_port, sport=None):
        """connect() a stack socket to PEER:peer_port without blocking."""
        s = self.socket()
        if sport:
            s.bind((STACK, sport))
        s.setblocking(False)
        rc = s.connect_ex((PEER, peer_port))
        if rc not in (errno.EINPROGRESS, 0):
            raise Fail("connect(): %s" % os.strerror(rc))
        return s

    def connect_result(self, s, timeout=None):
        """Wait for a non-blocking connect to finish -> errno (0 = ok),
        or None if still in progress after timeout."""
        timeout = EXPECT_TIMEOUT if timeout is None else timeout
        _, w, _ = select.select([], [s], [], timeout)
        if not w:
            return None
        return s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    def passive_open(self, port=None, peer_port=None, data=b"", mss=1460,
                     options=None, isn=None, listener=None, win=65535):
        """Handshake with a listener on the stack, offering window win;
        returns an established Conn whose .sock is the accept()ed socket
        and .synack the stack's SYN-ACK."""
        listener = listener or self.listen(port)
        port = listener.getsockname()[1]
        c = Conn(self, port, peer_port or self.peer_port())
        c.listener = listener
        c.peer_isn = random.getrandbits(32) if isn is None else isn
        c.snd_nxt = c.peer_isn
        opts = options if options is not None else [("mss", mss)]
        c.send("S", seq=c.peer_isn, ack=0, options=opts, win=win)
        sa = c.expect("SA", seq=ANY, ack=seq_add(c.peer_isn, 1), what="SYN-ACK")
        c.synack = sa
        c.stack_isn = sa.seq
        c.rcv_nxt = seq_add(sa.seq, 1)
        c.send("PA" if data else "A", data=data, win=win)
        c.sock, _ = self.accept(listener)
        return c

    def active_open(self, peer_port=None, mss=1460, isn=None):
        """The stack connect()s to the peer; returns an established Conn."""
        peer_port = peer_port or self.peer_port()
        s = self.connect_nb(peer_port)
        c = Conn(self, s.getsockname()[1], peer_port)
        c.sock = s
        syn = c.expect("S", seq=ANY, ack=ANY, mss=ANY, what="SYN")
        c.stack_isn = syn.seq
        c.rcv_nxt = seq_add(syn.seq, 1)
        c.peer_isn = random.getrandbits(32) if isn is None else isn
        c.snd_nxt = c.peer_isn
        c.send("SA", seq=c.peer_isn, options=[("mss", mss)])
        c.expect("A", what="final ACK of the handshake")
        err = self.connect_result(s)
        if err != 0:
            raise Fail("connect(): %s" % ("still in progress" if err is None
                                         else os.strerror(err)))
        s.setblocking(True)
        s.settimeout(EXPECT_TIMEOUT)
        return c


def _port_match(seg, ports):
    if ports is None:
        return True
    sp, dp = ports
    return (sp is None or seg.sport == sp) and (dp is None or seg.dport == dp)


def _ports_desc(ports):
    if ports is None:
        return ""
    return " (from port %s to port %s)" % (ports[0] or "*", ports[1] or "*")


def _describe(flags, seq, ack, data, win, mss):
    parts = []
    if flags is not None and flags is not ANY:
        parts.append("[%s]" % (flags if isinstance(flags, str) else "|".join(flags)))
    if seq is not ANY:
        parts.append("seq=%d" % (seq & 0xffffffff))
    if ack is not ANY:
        parts.append("ack=%d" % (ack & 0xffffffff))
    if data is not ANY:
        parts.append("len=%d" % (data if isinstance(data, int) else len(data)))
    if win is not ANY:
        parts.append("win=%d" % win)
    if mss is not ANY:
        parts.append("mss=%s" % ("none" if mss is None else
                                 "ok?" if callable(mss) else mss))
    return " ".join(parts) or "any segment"


class Conn:
    """One connection seen from the scripted peer.

    sport: the stack's port, dport: the peer's port.
    snd_nxt: the peer's next sequence number; rcv_nxt: the next sequence
    number the peer expects from the stack (what it ACKs)."""

    def __init__(self, w, stack_port, peer_port):
        self.w = w
        self.sport = stack_port
        self.dport = peer_port
        self.ports = (stack_port, peer_port)
        self.peer_isn = self.stack_isn = 0
        self.snd_nxt = self.rcv_nxt = 0
        self.sock = None
        self.listener = None
        self.synack = None

    def send(self, flags="A", data=b"", seq=None, ack=None, win=65535,
             advance=True, **kw):
        """Send from the peer; seq defaults to snd_nxt, ack to rcv_nxt (when
        ACK is set).  Advances snd_nxt unless advance=False or RST."""
        fl = flags_to_int(flags)
        if seq is None:
            seq = self.snd_nxt
        if ack is None:
            ack = self.rcv_nxt if fl & ACK else 0
        self.w.send(self.dport, self.sport, seq, ack, fl, data=data, win=win, **kw)
        if advance and not fl & RST:
            end = seq_add(seq, len(data) + bool(fl & SYN) + bool(fl & FIN))
            if seq_after(end, self.snd_nxt):
                self.snd_nxt = end
        return seq

    def expect(self, flags, seq=None, ack=None, data=b"", **kw):
        """Like Wire.expect for this connection; seq defaults to rcv_nxt and
        ack to snd_nxt.  Advances rcv_nxt past the segment."""
        seg = self.w.expect(flags, seq=self.rcv_nxt if seq is None else seq,
                            ack=self.snd_nxt if ack is None else ack,
                            data=data, ports=self.ports, **kw)
        if not seg.flags & RST and seq_after(seg.end, self.rcv_nxt):
            self.rcv_nxt = seg.end
        return seg

    def expect_none(self, timeout=None, **kw):
        return self.w.expect_none(timeout, ports=self.ports, **kw)

    def segments(self, duration, strict=False):
        return self.w.segments(ports=self.ports, duration=duration, strict=strict)


# ---------------------------------------------------------------- runner

_TESTS = []


def test(name=None, tcp_ok=True, mini_ok=True):
    """Register a test function f(w).  tcp_ok/mini_ok=False (or a string
    giving the reason) skips it for that protocol."""
    def deco(fn):
        _TESTS.append((name or fn.__name__, fn, tcp_ok, mini_ok))
        return fn
    return deco


def _alarm(signum, frame):
    raise Fail("test took longer than its time limit")


def run(test_limit=90):
    """Run the registered tests (or those whose name contains one of the
    command-line words); print TAP; exit 0 all passed, 1 any failed, 4 all
    skipped.  Each test is bounded by test_limit seconds (scaled by SLACK)."""
    args = [a for a in sys.argv[1:]]
    global VERBOSE
    if "-v" in args:
        VERBOSE = True
        args.remove("-v")
    if "--list" in args:
        for name, _, _, _ in _TESTS:
            print(name)
        sys.exit(0)
    selected = [t for t in _TESTS if not args or any(a in t[0] for a in args)]
    prog = os.path.basename(sys.argv[0])
    print("TAP version 13", flush=True)
    print("# %s: protocol %d (%s), time scale %g" % (prog, PROTO, PROTO_NAME,
                                                    SCALE), flush=True)
    print("1..%d" % len(selected), flush=True)

    skip_all = None
    w = None
    if os.geteuid() != 0:
        skip_all = "must be root"
    else:
        try:
            enter_new_netns()
            fd = setup_tun()
            w = Wire(fd)
        except OSError as e:
            skip_all = "cannot set up netns/tun: %s" % e
    if w is not None and skip_all is None:
        try:
            socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO).close()
        except OSError as e:
            skip_all = "socket(AF_INET, SOCK_STREAM, %d): %s" % (PROTO, e)

    npass = nfail = nskip = 0
    signal.signal(signal.SIGALRM, _alarm)
    for i, (name, fn, tcp_ok, mini_ok) in enumerate(selected, 1):
        allowed = tcp_ok if IS_TCP else mini_ok
        if skip_all or allowed is not True:
            reason = skip_all or (allowed if isinstance(allowed, str) else
                                  "not applicable to %s" % PROTO_NAME)
            print("ok %d %s # SKIP %s" % (i, name, reason), flush=True)
            nskip += 1
            continue
        t0 = time.monotonic()
        result, msg = "ok", None
        try:
            w.begin_test()
            signal.alarm(int(test_limit * SLACK) + 1)
            try:
                fn(w)
            finally:
                signal.alarm(0)
                w.end_test()
        except Skip as e:
            result, msg = "skip", str(e)
        except Fail as e:
            result, msg = "fail", str(e)
        except Exception:
            result, msg = "fail", traceback.format_exc()
        dt = time.monotonic() - t0
        if result == "ok":
            npass += 1
            print("ok %d %s" % (i, name), flush=True)
        elif result == "skip":
            nskip += 1
            print("ok %d %s # SKIP %s" % (i, name, msg), flush=True)
        else:
            nfail += 1
            diag(msg)
            print("not ok %d %s" % (i, name), flush=True)
        if VERBOSE:
            diag("%s: %.2f s" % (name, dt))
    print("# %s: %d passed, %d failed, %d skipped" % (prog, npass, nfail, nskip),
          flush=True)
    if nfail:
        sys.exit(1)
    if selected and nskip == len(selected):
        sys.exit(4)
    sys.exit(0)
