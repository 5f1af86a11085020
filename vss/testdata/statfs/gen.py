#!/usr/bin/env python3
"""Writes freebsd.bin: the getfsstat(2) output of a typical FreeBSD 14 guest
on Hyper-V, as an array of struct statfs (sys/sys/mount.h since FreeBSD 12,
2344 bytes each). Independent of the Go code: offsets from mount.h.
Run from this directory: python3 gen.py
"""
import struct

SIZE = 2344
MNT_RDONLY, MNT_LOCAL = 0x1, 0x1000

MOUNTS = [
    # (type, from, on, flags, fsid)
    ("ufs", "/dev/gpt/rootfs", "/", MNT_LOCAL, (0x5F8A1B2C, 0x35)),
    ("devfs", "devfs", "/dev", MNT_LOCAL, (0x00000071, 0x71)),
    ("tmpfs", "tmpfs", "/tmp", MNT_LOCAL, (0x00000087, 0x87)),
    ("zfs", "zroot", "/zroot", MNT_LOCAL, (0x1B5C8E01, 0xDE)),
    ("zfs", "zroot/data", "/data", MNT_LOCAL, (0x1B5C8E02, 0xDE)),
    ("ufs", "/dev/da1p1", "/backup", MNT_LOCAL | MNT_RDONLY, (0x5F8A1B2D, 0x35)),
    ("nullfs", "/usr", "/jail/www/usr", MNT_LOCAL, (0x00000090, 0x90)),
    ("ufs", "/dev/da2p1", "/home", MNT_LOCAL, (0x5F8A1B2E, 0x35)),
    ("zfs", "tank/vm", "/tank/vm", MNT_LOCAL, (0x1B5C8E03, 0xDE)),
    ("zfs", "zroot/ROOT@snap", "/snap", MNT_LOCAL | MNT_RDONLY, (0x1B5C8E04, 0xDE)),
    ("procfs", "procfs", "/proc", MNT_LOCAL, (0x00000095, 0x95)),
    ("nfs", "server:/export", "/net/export", 0, (0x0000AA01, 0x3A)),
]


def statfs(fstype, frm, on, flags, fsid):
    b = bytearray(SIZE)
    struct.pack_into("<II", b, 0, 0x20140518, 0)  # f_version, f_type
    struct.pack_into("<Q", b, 8, flags)            # f_flags
    struct.pack_into("<Q", b, 16, 4096)            # f_bsize
    struct.pack_into("<I", b, 184, 255)            # f_namemax
    struct.pack_into("<ii", b, 192, *[v if v < 2**31 else v - 2**32 for v in fsid])
    b[280:280 + len(fstype)] = fstype.encode()     # f_fstypename[16]
    b[296:296 + len(frm)] = frm.encode()           # f_mntfromname[1024]
    b[1320:1320 + len(on)] = on.encode()           # f_mntonname[1024]
    return bytes(b)


with open("freebsd.bin", "wb") as f:
    for m in MOUNTS:
        f.write(statfs(*m))
