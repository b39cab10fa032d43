# SPDX-License-Identifier: GPL-2.0
"""Hand-made IPv4 segments for tests that only need a few (a SYN into a
tun device); selftests/lib/wire.py is the full wire-test library."""

import random
import socket
import struct


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn(src_addr, dst_addr, sport, dport, proto):
    """An IPv4 SYN from src_addr:sport to dst_addr:dport, IP protocol
    proto, random ISN, checksummed with proto in the pseudo-header."""
    src, dst = socket.inet_aton(src_addr), socket.inet_aton(dst_addr)
    th = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0,
                     5 << 4, 0x02, 65535, 0, 0)
    c = csum(src + dst + struct.pack("!BBH", 0, proto, len(th)) + th)
    th = th[:16] + struct.pack("!H", c) + th[18:]
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 1, 0, 64, proto,
                     0, src, dst)
    return ih[:10] + struct.pack("!H", csum(ih)) + ih[12:] + th
