# SPDX-License-Identifier: GPL-2.0
"""TAP for the python tests that print their plan last: ok() counts and
prints one result (with "# " lines of why it failed), skip() one skipped
result, done() the plan and the exit status."""

n = 0
failed = 0


def ok(cond, desc, why=()):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc), flush=True)
    if not cond:
        failed += 1
        for line in why:
            print("# " + str(line))
    return cond


def skip(desc, reason):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, desc, reason), flush=True)


def done():
    print("1..%d" % n, flush=True)
    return 1 if failed else 0
