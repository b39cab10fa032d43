# SPDX-License-Identifier: GPL-2.0
"""Enter a named network namespace from one thread (Python 3.11 has no
os.setns; setns(2) with CLONE_NEWNET changes only the calling thread)."""
import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns(%s): %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)
