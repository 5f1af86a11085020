#!/usr/bin/env python3
"""Generate the pool-file fixtures in this directory.

The files are written the way the other writers of Hyper-V KVP pool files
write them, independently of hvagent's Go code:

  cloudinit.pool  cloud-init's HyperVKvpReportingHandler: records packed with
                  struct.pack("512s2048s"), zero-filled, only ever appended.
  cdaemon.pool    FreeBSD's hv_kvp_daemon: an array of struct kvp_record
                  {char key[512]; char value[2048];} kept in memory and
                  written whole. A modify copies the new value with its NUL
                  over the old one (bytes of a longer old value stay behind
                  the NUL), a delete shifts the later records up, an add
                  fills a slot of realloc()ed memory that was not zeroed.
  lenient.pool    what a careless writer might leave: fields without any NUL,
                  a key stored twice, and a partial record at the end.

expected.json holds the records a reader must see in each file, in order.
Run it from this directory: python3 gen.py. The output is deterministic.
"""

import json
import struct

KEY_SIZE = 512
VALUE_SIZE = 2048
RECORD_SIZE = KEY_SIZE + VALUE_SIZE


def cloudinit_record(key, value):
    return struct.pack("%ds%ds" % (KEY_SIZE, VALUE_SIZE),
                       key.encode("utf-8"), value.encode("utf-8"))


class CDaemon:
    """The record array of hv_kvp_daemon.c for one pool."""

    def __init__(self):
        self.records = []  # bytearray(RECORD_SIZE) each
        self.garbage = 0

    def _find(self, key):
        k = key.encode("utf-8") + b"\0"
        for i, r in enumerate(self.records):
            if r[:len(k)] == k:  # memcmp over key_size, NUL included
                return i
        return -1

    def set(self, key, value):
        k = key.encode("utf-8") + b"\0"
        v = value.encode("utf-8") + b"\0"
        i = self._find(key)
        if i >= 0:
            self.records[i][KEY_SIZE:KEY_SIZE + len(v)] = v
            return
        # Fresh realloc()ed memory: not zeroed. Use a recognizable pattern.
        self.garbage += 1
        r = bytearray(bytes([0x40 + self.garbage % 26]) * RECORD_SIZE)
        r[:len(k)] = k
        r[KEY_SIZE:KEY_SIZE + len(v)] = v
        self.records.append(r)

    def delete(self, key):
        i = self._find(key)
        if i >= 0:
            del self.records[i]

    def data(self):
        return b"".join(bytes(r) for r in self.records)


def main():
    expected = {}

    # cloud-init
    events = [
        ("CLOUD_INIT|init-local|start|3d0b6c7a-7e08-4e4a-9c1d-3f2b5d9e8a01",
         '{"name": "init-local", "type": "start", "ts": "2024-05-01T10:00:00.000Z"}'),
        ("CLOUD_INIT|init-local|finish|3d0b6c7a-7e08-4e4a-9c1d-3f2b5d9e8a02",
         '{"name": "init-local", "result": "SUCCESS", "msg": "ok"}'),
        ("CLOUD_INIT|diagnostic|5c1e0e2c-93b2-4b1f-8d0e-6a6f1e2d3c04",
         "x" * 1022),
        ("PROVISIONING_REPORT", "provisioning=done|agent=cloud-init 24.1"),
    ]
    with open("cloudinit.pool", "wb") as f:
        for k, v in events:
            f.write(cloudinit_record(k, v))
    expected["cloudinit.pool"] = [{"key": k, "value": v} for k, v in events]

    # FreeBSD hv_kvp_daemon
    d = CDaemon()
    d.set("HostName", "guest-long-hostname.example.internal")
    d.set("VirtualMachineId", "4c9a7e5e-1b2c-4d3e-8f90-a1b2c3d4e5f6")
    d.set("k" * (KEY_SIZE - 1), "longest key")
    d.set("ключ", "значение ✓")
    d.set("HostName", "h")  # shorter value: old bytes stay after the NUL
    d.delete("VirtualMachineId")  # later records shift up
    d.set("Long", "v" * (VALUE_SIZE - 1))
    d.set("Empty", "")
    d.set("ReplaceMe", "a rather long value that will be replaced")
    d.set("ReplaceMe", "short")
    with open("cdaemon.pool", "wb") as f:
        f.write(d.data())
    expected["cdaemon.pool"] = [
        {"key": "HostName", "value": "h"},
        {"key": "k" * (KEY_SIZE - 1), "value": "longest key"},
        {"key": "ключ", "value": "значение ✓"},
        {"key": "Long", "value": "v" * (VALUE_SIZE - 1)},
        {"key": "Empty", "value": ""},
        {"key": "ReplaceMe", "value": "short"},
    ]

    # A careless writer.
    recs = [
        b"K" * KEY_SIZE + b"no NUL in the key\0".ljust(VALUE_SIZE, b"\0"),
        b"novaluenul\0".ljust(KEY_SIZE, b"\0") + b"V" * VALUE_SIZE,
        cloudinit_record("dup", "first"),
        cloudinit_record("other", "value"),
        cloudinit_record("dup", "second"),
    ]
    with open("lenient.pool", "wb") as f:
        f.write(b"".join(recs))
        f.write(cloudinit_record("partial", "cut off")[:1000])
    expected["lenient.pool"] = [
        {"key": "K" * KEY_SIZE, "value": "no NUL in the key"},
        {"key": "novaluenul", "value": "V" * VALUE_SIZE},
        {"key": "dup", "value": "first"},
        {"key": "other", "value": "value"},
        {"key": "dup", "value": "second"},
    ]

    with open("expected.json", "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
