#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
sock_diag for mini_tcp: build/mtcp-ss against /proc/net/mini_tcp (TAP,
mini_tcp only).

Loads inet_diag and mini_tcp_diag.ko (next to $MTCP_KO) unless loaded, and
leaves them loaded (diag_unload.sh unloads).  In a network namespace A:

  L   a listener on 127.0.0.1:7001 (backlog 8) with an established pair,
      the client socket created as uid 1234, 5 bytes unread on the server
      side and 3 on the client side;
  T   a pair closed by the client first: one TIME_WAIT row;
  R   a listener on 192.0.2.1:7002 with one request sock (SYN_RECV): a SYN
      written into a tun device, whose SYN-ACK nobody answers;
  B   namespace B holds a listener and a pair on port 7003: never listed in A.

Then, each compared with /proc/net/mini_tcp of the same namespace
(addresses, ports, state, Recv-Q/Send-Q, uid, inode), and with exact row
counts: mtcp-ss -a; each state at its moment (listener, established,
syn-recv, time-wait) with its timer (-o); state filters (idiag_states);
port filters (bytecode: =, !=, >=, <, combined with a state); tcp_info (-i)
against getsockopt(TCP_INFO); the exact lookup (dump_one) of one
connection by its 4-tuple; a dump of 300 more pairs that spans many
netlink messages; namespace B's view; `ss -t` (kernel TCP's dump) lists
none of them; an unknown protocol number fails with ENOENT.
"""
import collections
import fcntl
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import craft, netns, tap  # noqa: E402

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
ROOT = os.environ.get("MTCP_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SS = os.path.join(ROOT, "build", "mtcp-ss")
NS_A, NS_B = "mtcp_diag_a", "mtcp_diag_b"
LPORT, RPORT, BPORT = 7001, 7002, 7003
TUN_ADDR, PEER_ADDR, SYN_PORT = "192.0.2.1", "192.0.2.2", 40000
UID = 1234
MANY = int(os.environ.get("MTCP_DIAG_PAIRS", "300"))
STATES = {1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1",
          5: "FIN-WAIT-2", 6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT",
          9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING"}

ok = tap.ok


def diag(msg):
    print("# " + msg, flush=True)


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def sysctl(name, value):
    path = "/proc/sys/net/mini_tcp/" + name
    with open(path, "w") as f:
        f.write("%s\n" % value)


# ------------------------------------------------------------ the tables

Row = collections.namedtuple("Row", "state rq wq local peer uid ino")


def proc_rows():
    """/proc/net/mini_tcp of the current netns as Rows."""
    rows = []
    with open("/proc/thread-self/net/mini_tcp") as f:
        for line in f.read().splitlines()[1:]:
            p = line.split()
            la, lp = p[1].split(":")
            ra, rp = p[2].split(":")
            tx, rx = p[4].split(":")

            def a(h):
                return socket.inet_ntoa(struct.pack("<I", int(h, 16)))
            state = STATES[int(p[3], 16)]
            peer = "%s:%s" % (a(ra), "*" if state == "LISTEN" else int(rp, 16))
            rows.append(Row(state, int(rx, 16), int(tx, 16),
                            "%s:%d" % (a(la), int(lp, 16)), peer,
                            int(p[7]), int(p[9])))
    return rows


def ss(*args, check=True):
    """Run mtcp-ss -H ARGS; -> (rows: list of (Row, extras dict, info dict),
    the CompletedProcess)."""
    r = subprocess.run([SS, "-H"] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("mtcp-ss %s: exit %d: %s" % (" ".join(args),
                                                         r.returncode, r.stderr))
    out = []
    for line in r.stdout.splitlines():
        if line.startswith("\t"):
            info = dict(kv.split(":", 1) for kv in line.split())
            out[-1][2].update(info)
            continue
        p = line.split()
        ext = {}
        for tok in p[5:]:
            k, v = tok.split(":", 1)
            ext[k] = v
        row = Row(p[0], int(p[1]), int(p[2]), p[3], p[4],
                  int(ext.get("uid", -1)), int(ext.get("ino", -1)))
        out.append((row, ext, {}))
    return out, r


def keys(rows):
    return collections.Counter(rows)


def port(addr):
    p = addr.rsplit(":", 1)[1]
    return 0 if p == "*" else int(p)


def compare(args, pred, desc, tries=3):
    """mtcp-ss -e ARGS must list exactly the /proc rows satisfying pred."""
    for i in range(tries):
        want = keys(r for r in proc_rows() if pred(r))
        got = keys(r for r, _, _ in ss("-e", *args)[0])
        if got == want:
            break
        time.sleep(0.3)
    return ok(got == want, "%s: %d rows, as /proc/net/mini_tcp" % (desc, sum(want.values())),
              ["missing: %s" % list(want - got)[:4], "extra: %s" % list(got - want)[:4]])


# ------------------------------------------------------------ sockets

def new_sock():
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)


def syn(sport, dport):
    """An IPv4 SYN from PEER_ADDR:sport to TUN_ADDR:dport, protocol PROTO."""
    return craft.syn(PEER_ADDR, TUN_ADDR, sport, dport, PROTO)


def wait_for(pred, what, timeout=20):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.1)


def pair(ls, keep, uid=None):
    """connect to listener ls (client created as uid), accept -> (c, s)."""
    if uid is not None:
        os.seteuid(uid)
    try:
        c = new_sock()
    finally:
        os.seteuid(0)
    c.connect(ls.getsockname())
    s, _ = ls.accept()
    keep += [c, s]
    return c, s


def name(s, peer=False):
    return "%s:%d" % (s.getpeername() if peer else s.getsockname())


# ------------------------------------------------------------ netlink

def dump_one(src, sport, dst, dport):
    """SOCK_DIAG_BY_FAMILY without NLM_F_DUMP, for one 4-tuple: the exact
    lookup (inet_diag_dump_one_icsk).  -> (state, inode) or -errno."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)
    try:
        sockid = (struct.pack("!HH", sport, dport) +
                  socket.inet_aton(src) + bytes(12) + socket.inet_aton(dst) + bytes(12) +
                  struct.pack("=III", 0, 0xffffffff, 0xffffffff))
        req = struct.pack("=BBBBI", socket.AF_INET, PROTO, 0, 0, 0xfff) + sockid
        msg = struct.pack("=IHHII", 16 + len(req), 20, 1, 7, 0) + req
        nl.send(msg)
        data = nl.recv(65536)
        length, typ = struct.unpack_from("=IH", data, 0)
        if typ == 2:        # NLMSG_ERROR
            return struct.unpack_from("=i", data, 16)[0]
        state = data[17]
        inode = struct.unpack_from("=I", data, 16 + 4 + 48 + 16)[0]
        return state, inode
    finally:
        nl.close()


def tcp_info(s):
    b = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    v = struct.unpack("=8B24I", b[:104])
    f = v[8:]
    return {"rto": f[0], "snd_mss": f[2], "rcv_mss": f[3], "rtt": f[15],
            "rttvar": f[16], "cwnd": f[18], "advmss": f[19],
            "rcv_space": f[22], "total_retrans": f[23]}


# ------------------------------------------------------------ modules

def loaded(mod):
    with open("/proc/modules") as f:
        return any(line.split()[0] == mod for line in f)


def load_diag():
    subprocess.run(["modprobe", "inet_diag"], capture_output=True)
    if loaded("mini_tcp_diag"):
        return None
    ko = os.path.join(os.path.dirname(os.environ.get("MTCP_KO") or
                                      os.path.join(ROOT, "mini_tcp.ko")),
                      "mini_tcp_diag.ko")
    r = subprocess.run(["insmod", ko], capture_output=True, text=True)
    if r.returncode:
        return "insmod %s: %s" % (ko, r.stderr.strip())
    return None


# ------------------------------------------------------------ main

def main():
    print("TAP version 13", flush=True)
    if PROTO == 6:
        print("1..0 # SKIP sock_diag of mini_tcp (MTCP_PROTO=6)")
        return 4
    if not os.access(SS, os.X_OK):
        print("1..0 # SKIP %s not built (make tools)" % SS)
        return 4
    err = load_diag()
    if err:
        print("1..1\nnot ok 1 - load mini_tcp_diag.ko\n# " + err)
        return 1
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        sh("ip netns add %s && ip -n %s link set lo up" % (ns, ns))
    keep, fds = [], []
    try:
        run(keep, fds)
    except Exception as e:      # a setup step failed: report, not crash
        ok(False, "aborted: %s: %s" % (type(e).__name__, e))
    finally:
        for s in keep:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        for fd in fds:
            os.close(fd)
        for ns in (NS_A, NS_B):
            subprocess.run(["ip", "netns", "del", ns])
    return tap.done()


def run(keep, fds):
    # ---- B: a listener and a pair on port BPORT
    netns.enter(NS_B)
    bl = new_sock()
    bl.bind(("127.0.0.1", BPORT))
    bl.listen(8)
    keep.append(bl)
    pair(bl, keep)

    netns.enter(NS_A)
    sysctl("tw_timeout", 600)
    sysctl("synack_retries", 10)

    # ---- the listener
    ls = new_sock()
    ls.bind(("127.0.0.1", LPORT))
    ls.listen(8)
    keep.append(ls)
    rows, _ = ss("-l", "-e", "-o")
    want = Row("LISTEN", 0, 8, "127.0.0.1:%d" % LPORT, "0.0.0.0:*", 0,
               os.fstat(ls.fileno()).st_ino)
    ok([r for r, _, _ in rows] == [want], "-l: exactly the listener (queues 0/8, uid 0, its inode)",
       ["got %s" % rows, "want %s" % (want,)])
    compare(["-l"], lambda r: r.state == "LISTEN", "-l")

    # ---- an established pair, client as uid 1234, data unread both ways
    c, s = pair(ls, keep, uid=UID)
    c.sendall(b"hello")
    s.sendall(b"abc")
    wait_for(lambda: sorted((r.rq, r.wq) for r in proc_rows() if r.state == "ESTAB")
             == [(3, 0), (5, 0)], "data to arrive and be ACKed")
    rows, _ = ss("-e")
    got = sorted(r for r, _, _ in rows)
    want = sorted([Row("ESTAB", 3, 0, name(c), name(c, True), UID, os.fstat(c.fileno()).st_ino),
                   Row("ESTAB", 5, 0, name(s), name(s, True), 0, os.fstat(s.fileno()).st_ino)])
    ok(got == want, "default: exactly the two ESTAB rows (Recv-Q 3 and 5, uid %d and 0, inodes)" % UID,
       ["got %s" % got, "want %s" % want])
    compare([], lambda r: r.state == "ESTAB", "default (connected, not syn-recv/time-wait)")

    # tcp_info (-i) against getsockopt(TCP_INFO)
    for sk, who in ((c, "client"), (s, "server")):
        for _ in range(3):      # an ACK in between may move rtt: retry
            ti = tcp_info(sk)
            rows, _ = ss("-i", "state", "established")
            info = {r.local: i for r, _, i in rows}.get(name(sk), {})
            want = {"rto": "%g" % (ti["rto"] / 1000), "mss": str(ti["snd_mss"]),
                    "rcvmss": str(ti["rcv_mss"]), "advmss": str(ti["advmss"]),
                    "cwnd": str(ti["cwnd"]), "rcv_space": str(ti["rcv_space"]),
                    "rtt": "%g/%g" % (ti["rtt"] / 1000, ti["rttvar"] / 1000),
                    "retrans": "0/%d" % ti["total_retrans"]}
            got = {k: info.get(k) for k in want}
            if got == want:
                break
            time.sleep(0.2)
        ok(got == want and ti["snd_mss"] > 0 and ti["rto"] > 0,
           "-i %s: rto, rtt, mss, rcvmss, advmss, cwnd, rcv_space, retrans as TCP_INFO" % who,
           ["got %s" % got, "want %s" % want])

    # the exact lookup of one socket by its 4-tuple (dump_one)
    cs, cp = c.getsockname()
    r = dump_one(cs, cp, "127.0.0.1", LPORT)
    ok(r == (1, os.fstat(c.fileno()).st_ino), "dump_one: the client's 4-tuple gives ESTABLISHED and its inode",
       ["got %s" % (r,)])
    r = dump_one(cs, cp + 1 if cp < 65535 else cp - 1, "127.0.0.1", LPORT)
    ok(r == -2, "dump_one: a 4-tuple nobody has gives ENOENT", ["got %s" % (r,)])

    # ---- a request sock (SYN_RECV): a SYN from the tun device
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fds.append(fd)
    fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"mtd0", 0x0001 | 0x1000))
    sh("ip addr add %s/24 dev mtd0 && ip link set mtd0 up" % TUN_ADDR)
    rl = new_sock()
    rl.bind((TUN_ADDR, RPORT))
    rl.listen(8)
    keep.append(rl)
    os.write(fd, syn(SYN_PORT, RPORT))
    wait_for(lambda: any(r.state == "SYN-RECV" for r in proc_rows()), "the request sock")
    rows, _ = ss("-e", "-o", "state", "syn-recv")
    want = Row("SYN-RECV", 0, 0, "%s:%d" % (TUN_ADDR, RPORT), "%s:%d" % (PEER_ADDR, SYN_PORT), 0, 0)
    ok([r for r, _, _ in rows] == [want] and
       re.fullmatch(r"\(on,[0-9.]+(ms|sec),\d+\)", rows[0][1].get("timer", "")),
       "state syn-recv: exactly the request sock, timer:(on,...)", ["got %s" % rows])
    compare(["state", "syn-recv"], lambda r: r.state == "SYN-RECV", "state syn-recv")

    # ---- TIME_WAIT: the client closes first
    tc, ts = pair(ls, keep)
    keep.remove(tc)
    keep.remove(ts)
    tport = tc.getsockname()[1]
    tc.close()
    ts.recv(1)
    ts.close()
    wait_for(lambda: [r.state for r in proc_rows() if port(r.local) == tport
                      or (port(r.peer) == tport and r.state != "LISTEN")] == ["TIME-WAIT"],
             "the TIME_WAIT row")
    rows, _ = ss("-e", "-o", "state", "time-wait")
    want = Row("TIME-WAIT", 0, 0, "127.0.0.1:%d" % tport, "127.0.0.1:%d" % LPORT, 0, 0)
    ok([r for r, _, _ in rows] == [want] and
       re.fullmatch(r"\(timewait,[0-9.]+(sec|min\d+sec),0\)", rows[0][1].get("timer", "")),
       "state time-wait: exactly the TIME_WAIT sock, timer:(timewait,...)", ["got %s" % rows])

    # ---- everything, and the filters
    table = proc_rows()
    counts = collections.Counter(r.state for r in table)
    ok(counts == {"LISTEN": 2, "ESTAB": 2, "SYN-RECV": 1, "TIME-WAIT": 1},
       "/proc/net/mini_tcp of A: 2 LISTEN, 2 ESTAB, 1 SYN-RECV, 1 TIME-WAIT", ["%s" % counts])
    compare(["-a"], lambda r: True, "-a")
    for st, args in (("LISTEN", ["state", "listening"]), ("ESTAB", ["state", "established"]),
                     ("TIME-WAIT", ["state", "time-wait"]), ("SYN-RECV", ["state", "syn-recv"])):
        compare(args, lambda r, st=st: r.state == st, " ".join(args))
    compare(["state", "established", "state", "time-wait"],
            lambda r: r.state in ("ESTAB", "TIME-WAIT"), "state established state time-wait")
    compare(["state", "bucket"], lambda r: r.state in ("SYN-RECV", "TIME-WAIT"), "state bucket")
    compare(["state", "connected"], lambda r: r.state != "LISTEN", "state connected")
    compare(["-a", "exclude", "established"], lambda r: r.state != "ESTAB", "-a exclude established")
    compare(["-a", "sport", "=", ":%d" % LPORT], lambda r: port(r.local) == LPORT,
            "-a sport = :%d" % LPORT)
    compare(["-a", "dport", "=", ":%d" % LPORT], lambda r: port(r.peer) == LPORT,
            "-a dport = :%d" % LPORT)
    compare(["-a", "sport", "!=", ":%d" % LPORT], lambda r: port(r.local) != LPORT,
            "-a sport != :%d" % LPORT)
    compare(["-a", "sport", ">=", ":%d" % RPORT], lambda r: port(r.local) >= RPORT,
            "-a sport >= :%d" % RPORT)
    compare(["-a", "sport", "<", ":%d" % RPORT], lambda r: port(r.local) < RPORT,
            "-a sport < :%d" % RPORT)
    compare(["-a", "dport", "!=", ":%d" % LPORT, "sport", "!=", ":%d" % LPORT],
            lambda r: port(r.peer) != LPORT and port(r.local) != LPORT,
            "-a dport != :%d sport != :%d" % (LPORT, LPORT))
    compare(["state", "established", "dport", "=", ":%d" % LPORT],
            lambda r: r.state == "ESTAB" and port(r.peer) == LPORT,
            "state established dport = :%d" % LPORT)
    compare(["state", "listening", "sport", "=", ":%d" % RPORT],
            lambda r: r.state == "LISTEN" and port(r.local) == RPORT,
            "state listening sport = :%d" % RPORT)
    rows, _ = ss("-a", "sport", "=", ":%d" % BPORT)
    ok(rows == [], "A: -a sport = :%d (B's port) lists nothing" % BPORT, ["got %s" % rows])
    rows, _ = ss("-a")
    ok(len(rows) == 6, "A: -a lists exactly 6 rows", ["got %d: %s" % (len(rows), rows)])

    # ---- kernel TCP's dump lists none of them
    if shutil.which("ss"):
        r = subprocess.run(["ss", "-H", "-t", "-a", "-n"], capture_output=True, text=True)
        ok(r.returncode == 0 and r.stdout.strip() == "",
           "ss -t -a (kernel TCP's sock_diag) lists no mini_tcp socket", [r.stdout, r.stderr])
    else:
        ok(True, "ss -t -a lists no mini_tcp socket # SKIP no ss")

    # ---- a dump of many sockets, over many netlink messages
    t0 = time.monotonic()
    for _ in range(MANY):
        pair(ls, keep)
    diag("%d more pairs in %.1f s" % (MANY, time.monotonic() - t0))
    compare(["-a"], lambda r: True, "-a with %d more pairs (many netlink messages)" % MANY)
    rows, _ = ss("-a", "-i", "-e", "-o")
    ok(len(rows) == 6 + 2 * MANY and
       sum(1 for _, _, info in rows if "rto" in info) == 2 + 2 * MANY,
       "-a -i -e -o: %d rows, tcp_info for each connection" % (6 + 2 * MANY),
       ["got %d rows" % len(rows)])
    compare(["state", "established", "sport", "=", ":%d" % LPORT],
            lambda r: r.state == "ESTAB" and port(r.local) == LPORT,
            "state established sport = :%d, %d more pairs" % (LPORT, MANY))

    # ---- B's view
    netns.enter(NS_B)
    rows, _ = ss("-a", "-e")
    got = keys(r for r, _, _ in rows)
    ok(got == keys(proc_rows()) and sum(got.values()) == 3 and
       all(BPORT in (port(r.local), port(r.peer)) for r in got),
       "B: -a lists exactly B's listener and pair, as B's /proc/net/mini_tcp",
       ["got %s" % list(got)])
    netns.enter(NS_A)

    # ---- errors
    rows, r = ss("-P", "252", check=False)
    ok(r.returncode == 1 and "No such file" in r.stderr and rows == [],
       "-P 252 (no handler): exit 1, ENOENT", [r.returncode, r.stderr])
    rows, r = ss("bogus", check=False)
    ok(r.returncode == 2, "an unknown filter word: exit 2", [r.returncode, r.stderr])
    rows, r = ss("-a", "sport", ">", ":65535", check=False)
    ok(r.returncode == 2, "sport > :65535: exit 2 (matches nothing)", [r.returncode, r.stderr])

    # ---- state changes show at once: close the pair (the client first:
    # its TIME_WAIT), then the listener
    c.recv(3)
    s.recv(5)
    keep.remove(c)
    keep.remove(s)
    c.close()
    s.recv(1)
    s.close()
    wait_for(lambda: not any(r.state not in ("LISTEN", "ESTAB", "TIME-WAIT", "SYN-RECV")
                             for r in proc_rows()), "the pair to settle")
    compare(["state", "time-wait"], lambda r: r.state == "TIME-WAIT",
            "state time-wait after the first pair closed")
    rows, _ = ss("state", "time-wait")
    ok(len(rows) == 2, "state time-wait: 2 rows now", ["got %s" % rows])
    ls.close()
    keep.remove(ls)
    compare(["-l"], lambda r: r.state == "LISTEN", "-l after the listener closed")
    rows, _ = ss("-l")
    ok([r.local for r, _, _ in rows] == ["%s:%d" % (TUN_ADDR, RPORT)],
       "-l: only the tun listener is left", ["got %s" % rows])


if __name__ == "__main__":
    sys.exit(main())
