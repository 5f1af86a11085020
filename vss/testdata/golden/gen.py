#!/usr/bin/env python3
"""Writes the golden hv_vss_opt_msg files used by vss/msg_test.go.

Independent of the Go code on purpose: the layout is struct
hv_vss_opt_msg in FreeBSD's sys/dev/hyperv/utilities/hv_snapshot.h: opt u32 @0, status u32
@4, msgid u64 @8, reserved[48] @16, little-endian, 64 bytes.
Run from this directory: python3 gen.py
"""
import struct


def msg(opt, status, msgid):
    b = bytearray(64)
    struct.pack_into("<IIQ", b, 0, opt, status, msgid)
    return bytes(b)


FILES = {
    "check_request.bin": msg(1, 0, 0x0102030405060708),
    "freeze_request.bin": msg(2, 0, 42),
    "thaw_request.bin": msg(3, 0, 0xFFFFFFFFFFFFFFFE),
    "freeze_reply_fail.bin": msg(2, 1, 42),
    # What IOCHVVSSREAD returns when the request timed out before the read:
    # sys_ioctl zero-fills the _IOR buffer and hv_vss_notified (FreeBSD
    # hv_snapshot.c) sets only status = VSS_FAIL; opt HV_VSS_NONE, msgid 0.
    "timed_out_request.bin": msg(0, 1, 0),
}

for name, data in FILES.items():
    with open(name, "wb") as f:
        f.write(data)
