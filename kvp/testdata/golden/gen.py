#!/usr/bin/env python3
"""Writes the golden hv_kvp_msg files used by kvp/msg_test.go.

Independent of the Go code on purpose: every offset below is taken from
struct hv_kvp_msg in FreeBSD's sys/dev/hyperv/utilities/hv_kvp.h, so a wrong constant
in msg.go fails the test instead of being copied into the fixture.
Run from this directory: python3 gen.py
"""
import struct

SIZE = 7430


def msg():
    return bytearray(SIZE)


def put(b, off, field_size, s):
    raw = s.encode("utf-8")
    assert len(raw) < field_size
    b[off:off + len(raw)] = raw


def kv(b, base, vtype, key, value):
    # value_type, key_size, value_size (UTF-8 length with NUL), key[512], value[2048]
    struct.pack_into("<III", b, base, vtype, len(key.encode()) + 1, len(value.encode()) + 1)
    put(b, base + 12, 512, key)
    put(b, base + 12 + 512, 2048, value)


def write(name, b):
    assert len(b) == SIZE
    with open(name, "wb") as f:
        f.write(b)


# Requests as the kernel hands them to the daemon.
b = msg(); b[0] = 1; b[1] = 3; kv(b, 4, 1, "VirtualMachineName", "vm-01 ünïcode")
write("set_request.bin", b)

b = msg(); b[0] = 0; b[1] = 0; kv(b, 4, 1, "BackupWindow", "")
write("get_request.bin", b)

b = msg(); b[0] = 3; b[1] = 2; struct.pack_into("<I", b, 4, 7); kv(b, 8, 1, "", "")
write("enumerate_request.bin", b)

b = msg(); b[0] = 2; b[1] = 1
struct.pack_into("<I", b, 4, len("CLOUD_INIT|1") + 1); put(b, 8, 512, "CLOUD_INIT|1")
write("delete_request.bin", b)

b = msg(); b[0] = 4; b[1] = 0; put(b, 4, 256, "00:15:5D:01:02:03")
write("get_ip_info_request.bin", b)

b = msg(); b[0] = 5; b[1] = 0
put(b, 4, 256, "hn0")
b[260] = 3  # IPv4 | IPv6
b[261] = 0  # static
put(b, 262, 2048, "192.0.2.10;2001:db8::10")
put(b, 2310, 2048, "255.255.255.0;/64")
put(b, 4358, 1024, "192.0.2.1;2001:db8::1")
put(b, 5382, 2048, "192.0.2.53")
write("set_ip_info_request.bin", b)

# Replies as the daemon writes them: the status overwrites op/pool/pad.
b = msg(); struct.pack_into("<I", b, 0, 0); struct.pack_into("<I", b, 4, 7)
kv(b, 8, 1, "OSMinorVersion", "2")
write("enumerate_reply.bin", b)

b = msg(); struct.pack_into("<I", b, 0, 0x80070103)
write("get_reply_cont.bin", b)

# REGISTER, the daemon's first write.
b = msg(); b[0] = 4; put(b, 4, 512, "0.1.0")
write("register.bin", b)
