#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""
scripts/mtcp-stat (TAP).

1. Against a counters file of our own ($MTCP_STAT_FILE): the first call
   prints absolute values, the next ones the changes, -z the zeros, -a the
   absolute values, -n nothing (but the history moves), -s keeps the
   history, -r starts again, a counter that went down (module reloaded)
   shows its value, patterns filter, a history owned by another user is
   ignored, a missing file is exit 1.
2. With mini_tcp loaded (in the VM, root): in a fresh network namespace,
   after `mtcp-stat -n`, N connections over loopback must show exactly
   ActiveOpens +N and PassiveOpens +N (and nothing of a second namespace's
   M connections, whose own history is separate); -a equals
   /proc/net/mini_tcp_stat; -z lists every counter.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from lib import tap  # noqa: E402

STAT = os.path.join(HERE, "..", "scripts", "mtcp-stat")
PROTO = int(os.environ.get("MTCP_PROTO", "253"))

ok = tap.ok


def stat(env, *args, ns=None):
    cmd = ([] if ns is None else ["ip", "netns", "exec", ns]) + [STAT] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return r


def rows(out):
    """{name: value} of the text output (header line skipped)."""
    d = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, v = line.split()
        d[k] = int(v)
    return d


def fake(tmp):
    f = os.path.join(tmp, "stat")
    env = dict(os.environ, MTCP_STAT_FILE=f, MTCP_STAT_HISTORY=os.path.join(tmp, "hist"))

    def put(vals):
        with open(f, "w") as fh:
            fh.write("MiniTcp: InSegs ActiveOpens ListenDrops\n")
            fh.write("MiniTcp: %d %d %d\n" % vals)

    put((10, 2, 0))
    r = stat(env)
    ok(r.returncode == 0 and rows(r.stdout) == {"InSegs": 10, "ActiveOpens": 2} and
       "absolute" in r.stdout.splitlines()[0],
       "first call: absolute values, zeros left out", [r.stdout, r.stderr])
    put((15, 2, 3))
    r = stat(env)
    ok(rows(r.stdout) == {"InSegs": 5, "ListenDrops": 3}, "second call: the changes",
       [r.stdout])
    r = stat(env)
    ok(rows(r.stdout) == {}, "third call, nothing changed: nothing shown", [r.stdout])
    r = stat(env, "-z")
    ok(rows(r.stdout) == {"InSegs": 0, "ActiveOpens": 0, "ListenDrops": 0},
       "-z: the zeros too", [r.stdout])
    r = stat(env, "-a")
    ok(rows(r.stdout) == {"InSegs": 15, "ActiveOpens": 2, "ListenDrops": 3},
       "-a: absolute values", [r.stdout])
    put((20, 2, 3))
    r = stat(env, "-n")
    ok(r.stdout == "", "-n: prints nothing", [r.stdout])
    r = stat(env, "-s")
    ok(rows(r.stdout) == {}, "-n moved the history", [r.stdout])
    put((21, 2, 3))
    stat(env, "-s")
    r = stat(env, "-j")
    ok(json.loads(r.stdout or "null") == {"InSegs": 1}, "-s kept the history; -j is JSON",
       [r.stdout])
    r = stat(env, "-r")
    ok(rows(r.stdout) == {"InSegs": 21, "ActiveOpens": 2, "ListenDrops": 3},
       "-r: history forgotten, absolute values", [r.stdout])
    put((4, 2, 3))
    r = stat(env, "-z", "insegs", "Listen*")
    ok(rows(r.stdout) == {"InSegs": 4, "ListenDrops": 0},
       "a counter that went down shows its value; patterns filter", [r.stdout])
    if os.geteuid() == 0:
        os.chown(env["MTCP_STAT_HISTORY"], 65534, 65534)
        put((5, 2, 3))
        r = stat(env)
        ok(rows(r.stdout) == {"InSegs": 5, "ActiveOpens": 2, "ListenDrops": 3} and
           "owned by uid 65534" in r.stderr,
           "a history file owned by another user is ignored", [r.stdout, r.stderr])
    os.unlink(f)
    r = stat(env)
    ok(r.returncode == 1 and "cannot read" in r.stderr, "no counters: exit 1 with a reason",
       [r.returncode, r.stderr])


def connections(ns, count, port):
    """count connect/accept/close cycles over loopback inside ns."""
    code = r"""
import socket, sys
P, N, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, P)
ls.bind(("127.0.0.1", port)); ls.listen(N)
for i in range(N):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, P)
    c.connect(("127.0.0.1", port))
    a, _ = ls.accept()
    c.sendall(b"x"); assert a.recv(1) == b"x"
    a.close(); c.close()
ls.close()
"""
    return subprocess.run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code,
                           str(PROTO), str(count), str(port)],
                          capture_output=True, text=True, timeout=120)


def live(tmp):
    if PROTO == 6 or os.geteuid() != 0 or not shutil.which("ip") or \
            not os.environ.get("MTCP_OUT"):
        tap.skip("live counters", "needs mini_tcp loaded, root and ip, in the VM")
        return
    env = dict(os.environ, MTCP_STAT_HISTORY=os.path.join(tmp, "live-hist"))
    env.pop("MTCP_STAT_FILE", None)
    nss = ("mtcp_stat_a", "mtcp_stat_b")
    for ns in nss:
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
    try:
        for ns in nss:
            stat(env, "-n", ns=ns)
        N, M = 7, 3
        ra = connections(nss[0], N, 6000)
        rb = connections(nss[1], M, 6000)
        ok(ra.returncode == 0 and rb.returncode == 0, "connections made",
           [ra.stderr, rb.stderr])
        d = json.loads(stat(env, "-j", "-s", ns=nss[0]).stdout or "{}")
        ok(d.get("ActiveOpens") == N and d.get("PassiveOpens") == N,
           "namespace A: ActiveOpens +%d, PassiveOpens +%d after %d connections" %
           (d.get("ActiveOpens"), d.get("PassiveOpens"), N), [d])
        d = json.loads(stat(env, "-j", ns=nss[1]).stdout or "{}")
        ok(d.get("ActiveOpens") == M and d.get("PassiveOpens") == M,
           "namespace B (own history): +%s, +%s after %d connections" %
           (d.get("ActiveOpens"), d.get("PassiveOpens"), M), [d])
        r = stat(env, "-j", ns=nss[1])
        d = json.loads(r.stdout or "null")
        ok(d == {}, "namespace B again: nothing changed", [r.stdout])
        proc = subprocess.run(["ip", "netns", "exec", nss[0], "cat", "/proc/net/mini_tcp_stat"],
                              capture_output=True, text=True).stdout.split("\n")
        names, vals = proc[0].split()[1:], [int(v) for v in proc[1].split()[1:]]
        r = stat(env, "-a", "-z", ns=nss[0])
        ok(rows(r.stdout) == dict(zip(names, vals)),
           "-a -z: every counter of /proc/net/mini_tcp_stat, its value", [r.stdout])
        r = stat(env, "-z", ns=nss[0])
        got = rows(r.stdout)
        ok(list(got) == names and got.get("ActiveOpens") == 0,
           "-z after -a: every counter, zero changes", [r.stdout])
    finally:
        for ns in nss:
            subprocess.run(["ip", "netns", "del", ns])


def main():
    print("TAP version 13")
    tmp = tempfile.mkdtemp(prefix="stat-test.")
    try:
        fake(tmp)
        live(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
