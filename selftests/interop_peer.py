#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
interop_peer: one end of selftests/interop.sh's exchange, run in a VM started
with scripts/vm-run --wire (MTCP_WIRE_IF is the NIC on the wire).

    interop_peer.py server ADDR/PLEN PORT BYTES
    interop_peer.py client ADDR/PLEN SERVER PORT BYTES

The client sends BYTES of deterministic pseudo-random data (DATA_SEED); the
server reads exactly BYTES, answers with their sha256 (64 hex digits and a
newline), then waits for the client's FIN (EOF) and closes.  The client
checks the answer against the hash of what it meant to send, shuts down its
sending side (FIN), reads to EOF and closes.  The server answers before the
client's FIN so that the teardown is the same four segments every run
(client FIN, ACK, server FIN, ACK), not mixed with the tail of the data.

Coordination without sleeps: the server captures the wire (tcpdump, into
/tmp, copied to $MTCP_OUT/wire.pcap at the end), listens, and only then
gives its NIC its address; the client pings the server's address until it
answers (bounded), so its one SYN meets a listener - no refused attempts,
no RST on the wire.  connect() is still retried, bounded, if refused.

Prints TAP (one line per check); exit status 0 when every check passed.
"""
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time

import interop_cmp

PROTO = int(os.environ.get("MTCP_PROTO", "253"))
DATA_SEED = 0x6d746370      # "mtcp"
IFACE = os.environ.get("MTCP_WIRE_IF", "")
OUT = os.environ.get("MTCP_OUT", "/run/mtcp")
WAIT_PEER = 240             # s: the other VM boots (TCG, two VMs at once)
WAIT_IO = 120               # s: no progress on the connection at all

results = []


def ok(cond, what, diag=None):
    results.append(bool(cond))
    print("%sok %d - %s" % ("" if cond else "not ", len(results), what), flush=True)
    if diag and not cond:
        for line in str(diag).splitlines():
            print("# " + line, flush=True)
    return cond


def note(msg):
    print("# " + msg, flush=True)


def finish():
    print("1..%d" % len(results), flush=True)
    sys.exit(0 if all(results) else 1)


def pattern(n):
    return random.Random(DATA_SEED).randbytes(n)


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True)


def table():
    """States (hex, as /proc/net/tcp) of the mini_tcp sockets."""
    path = "/proc/net/mini_tcp" if PROTO != 6 else "/proc/net/tcp"
    with open(path) as f:
        return [line.split()[3] for line in f.read().splitlines()[1:] if line.strip()]


def wait_table(good, what):
    """Poll the socket table until good(states) (bounded: WAIT_IO s)."""
    t0 = time.monotonic()
    while True:
        states = table()
        if good(states):
            return ok(True, "%s (%.1f s)" % (what, time.monotonic() - t0))
        if time.monotonic() - t0 > WAIT_IO:
            return ok(False, what, "states left: %s" % " ".join(states))
        time.sleep(0.05)


def start_capture():
    """tcpdump on the wire NIC; returns once it is capturing."""
    path = "/tmp/wire.pcap"
    # -p: not promiscuous, so the NIC's MAC filter drops the frames of the
    # other VMs' conversations (and our own, which the multicast wire echoes);
    # -s 128: headers are enough; -U: every packet written at once
    p = subprocess.Popen(["tcpdump", "-p", "-n", "-i", IFACE, "-s", "128", "-U",
                          "-w", path], stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    first = []
    while time.monotonic() - t0 < 60:
        line = p.stderr.readline()
        if not line:
            break
        first.append(line.rstrip())
        if "listening on" in line:
            return p, path
    ok(False, "tcpdump started on %s" % IFACE, "\n".join(first))
    p.kill()
    finish()


def drain_capture(path, nbytes):
    """Wait until tcpdump has written the whole exchange: on SIGINT it
    stops at once, and the packets still in its ring buffer are lost."""
    t0 = time.monotonic()
    why = ["no capture"]
    while time.monotonic() - t0 < WAIT_IO:
        try:
            why = interop_cmp.Capture(path).problems(nbytes)
        except (interop_cmp.LADDER.Error, OSError) as e:
            why = [str(e)]
        if not why:
            break
        time.sleep(0.2)
    ok(not why, "the capture holds the whole exchange (%.1f s)" % (time.monotonic() - t0),
       "\n".join(why))


def stop_capture(p, path):
    p.send_signal(signal.SIGINT)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    for line in err.splitlines():
        note("tcpdump: " + line)
    subprocess.run(["cp", path, os.path.join(OUT, "wire.pcap")], check=False)
    ok(p.returncode == 0 and os.path.getsize(path) > 24,
       "capture written to $MTCP_OUT/wire.pcap (%d bytes)" % os.path.getsize(path))


def server(addr, port, nbytes):
    cap, path = start_capture()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    # the address last: the client's ping is answered only now
    ip("addr", "add", addr, "dev", IFACE)
    ok(True, "up: server on %s %s, listening on port %d, capturing" % (IFACE, addr, port))
    ls.settimeout(WAIT_PEER)
    try:
        c, peer = ls.accept()
    except OSError as e:
        ok(False, "accepted a connection", e)
        stop_capture(cap, path)
        finish()
    ls.close()
    ok(True, "accepted a connection from %s:%d" % peer)
    c.settimeout(WAIT_IO)
    h = hashlib.sha256()
    got = 0
    eof_early = False
    try:
        while got < nbytes:
            b = c.recv(min(65536, nbytes - got))
            if not b:
                eof_early = True
                break
            h.update(b)
            got += len(b)
        ok(not eof_early, "received %d bytes (of %d) before EOF" % (got, nbytes))
        digest = h.hexdigest()
        note("server: sha256 of what arrived %s" % digest)
        ok(digest == hashlib.sha256(pattern(nbytes)).hexdigest(),
           "the bytes received are the pattern's")
        c.sendall((digest + "\n").encode())
        rest = c.recv(65536)
        ok(rest == b"", "saw EOF (the client's FIN) after the data",
           "%d more bytes instead" % len(rest))
    except OSError as e:
        ok(False, "exchange", e)
    c.close()
    # LAST_ACK until the client's ACK of our FIN: then the table is empty
    wait_table(lambda s: not s, "server's socket table empty after close (LAST_ACK done)")
    drain_capture(path, nbytes)
    stop_capture(cap, path)
    finish()


def client(addr, server_addr, port, nbytes):
    ip("addr", "add", addr, "dev", IFACE)
    t0 = time.monotonic()
    pings = 0
    while True:
        pings += 1
        r = subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", "1", server_addr],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            break
        if time.monotonic() - t0 > WAIT_PEER:
            ok(False, "up: the server %s answers pings" % server_addr,
               "%d pings in %.0f s" % (pings, time.monotonic() - t0))
            finish()
    ok(True, "up: client on %s %s; the server answered ping %d after %.1f s" % (
        IFACE, addr, pings, time.monotonic() - t0))
    data = pattern(nbytes)
    want = hashlib.sha256(data).hexdigest()
    attempts = 0
    while True:
        attempts += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, PROTO)
        s.settimeout(WAIT_IO)
        try:
            s.connect((server_addr, port))
            break
        except OSError as e:
            s.close()
            if attempts >= 20:
                ok(False, "connected to %s:%d" % (server_addr, port), e)
                finish()
            note("connect attempt %d: %s" % (attempts, e))
            time.sleep(0.5)
    ok(attempts == 1, "connected at the first attempt (attempts: %d)" % attempts)
    try:
        t1 = time.monotonic()
        s.sendall(data)
        answer = b""
        while not answer.endswith(b"\n") and len(answer) < 200:
            b = s.recv(200)
            if not b:
                break
            answer += b
        dt = time.monotonic() - t1
        note("client: sent %d bytes in %.2f s; expected sha256 %s" % (nbytes, dt, want))
        ok(answer.decode(errors="replace").strip() == want,
           "the server's sha256 of the %d bytes is ours (byte-exact)" % nbytes,
           "server said %r" % answer)
        s.shutdown(socket.SHUT_WR)
        rest = s.recv(65536)
        ok(rest == b"", "saw EOF (the server's FIN) after the answer",
           "%d more bytes instead" % len(rest))
    except OSError as e:
        ok(False, "exchange", e)
    s.close()
    # our ACK of the server's FIN is out once the socket is in TIME_WAIT (06)
    wait_table(lambda s: all(x == "06" for x in s), "client's socket in TIME_WAIT or gone after close")
    finish()


def main():
    a = sys.argv[1:]
    if not IFACE:
        print("interop_peer: no MTCP_WIRE_IF (run with scripts/vm-run --wire)", file=sys.stderr)
        sys.exit(2)
    if len(a) == 4 and a[0] == "server":
        server(a[1], int(a[2]), int(a[3]))
    elif len(a) == 5 and a[0] == "client":
        client(a[1], a[2], int(a[3]), int(a[4]))
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
