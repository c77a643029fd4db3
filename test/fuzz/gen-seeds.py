#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the seed corpora of test/fuzz/corpus/ (committed; run this again
after changing a harness's input format):
    test/fuzz/gen-seeds.py
Each seed is a small valid scenario in the harness's own encoding (see the
decoders in the harness sources): whole-buffer and stream requests, ring
errors and a full CQ for fuzz-zip-sqe; copies in and out of the SS for
fuzz-dummy-ring; queue lifecycles for fuzz-core-ioctl; configurations for
fuzz-config.  Files named regress-* are crashes found by fuzzing (kept
as they were found) and are never rewritten here."""
import gzip
import os
import struct
import zlib

top = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(top, "corpus")


def put(harness, name, data):
    d = os.path.join(corpus, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


u8 = lambda v: struct.pack("<B", v & 0xFF)
u16 = lambda v: struct.pack("<H", v & 0xFFFF)
u32 = lambda v: struct.pack("<I", v & 0xFFFFFFFF)
u64 = lambda v: struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)

# --- fuzz-config -------------------------------------------------------------
with open(os.path.join(top, "..", "..", "etc", "uacced.json"), "rb") as f:
    put("fuzz-config", "etc-uacced.json", f.read())
put("fuzz-config", "quotas.json", b"""{
  "nodes": { "group": "uacce", "mode": "0660", "owner": "root" },
  "devices": [ { "name": "dummy", "api": "dummy_v1", "queues": 4 },
               { "name": "zip", "backend": "soft", "api": "uacce_zip_v1", "sva": true,
                 "queues": 16, "workers": 2 } ],
  "quotas": {
    "default": { "max_queues": 2, "max_queues_per_device": 1,
                 "max_region_bytes": "16M", "devices": [ "dummy", "uacce-zip-*" ] },
    "groups": { "root": { "max_queues": 8, "devices": [] } },
    "users": { "root": { "max_region_bytes": "1G" }, "1207": { "max_queues": 0 },
               "123456": { "max_queues_per_device": "unlimited" } }
  },
  "control": { "admin_group": "root" }
}
""")
put("fuzz-config", "vfio.json", b"""{ "devices": [
  { "name": "edu", "backend": "vfio", "api": "dummy_v1", "pci": "0000:00:03.0", "queues": 2 }
] }
""")
put("fuzz-config", "dropin-like.json",
    b'{ "quotas": { "default": { "max_queues": 1 }, "users": { "root": null } },'
    b' "devices": [ { "name": "d", "api": "dummy_v2", "sva": true } ] } // end')

# --- fuzz-zip-sqe --------------------------------------------------------------
# commands: 0 submit, 3 run, 4 garbage sq_tail, 5 resync, 6 consume CQ,
# 7 data into SS (u16 offset, u16 length), 8 pattern, 9 raw page bytes,
# 10 SS unmap/map, 11 poll
OP_C, OP_D = 1, 2
DEFL, ZLIB, GZIP = 1, 2, 3
F_START, F_END, F_FLUSH = 1, 2, 4


def inside(off, ln):	# addr_of mode 0: inside the SS
    return u8(0) + u32(off) + u32(ln)


def sqe(op, alg, src, dst, level=0, stream=0, flags=0, tracked_epoch=True, raw=0):
    return (u8(0) + u8(flags) + u8(1 if tracked_epoch else 0) + u8(raw) + u8(op) + u8(alg) +
            u8(level) + u8(stream) + src + dst)


def run(n):
    return u8(3) + u8(n - 1)


def ss_data(off, data):
    out = b""
    while data:
        chunk, data = data[:4000], data[4000:]
        out += u8(7) + u16(off) + u16(len(chunk)) + chunk
        off += len(chunk)
    return out


def pattern(off, ln, b, varied=True):
    return u8(8 | (0x80 if varied else 0)) + u16(off) + u16(ln) + u8(b)


SS = 16384
hdr = u16(SS - 1)
text = bytes((i * 7 + i // 13) % 251 for i in range(1500))
# whole buffer: compress a pattern, then decompress the result
put("fuzz-zip-sqe", "whole-roundtrip",
    hdr + pattern(0, 4000, ord("a")) +
    sqe(OP_C, ZLIB, inside(0, 4000), inside(8192, 4096)) + run(1) +
    sqe(OP_D, ZLIB, inside(8192, 36), inside(4096, 4096)) + run(1) + u8(6))
for alg, name, comp in ((DEFL, "deflate", lambda b: zlib.compress(b)[2:-4]),
                        (ZLIB, "zlib", zlib.compress),
                        (GZIP, "gzip", lambda b: gzip.compress(b, mtime=0))):
    c = comp(text)
    put("fuzz-zip-sqe", "decompress-" + name,
        hdr + ss_data(0, c) + sqe(OP_D, alg, inside(0, len(c)), inside(4096, 4096)) + run(1) +
        sqe(OP_D, alg, inside(0, len(c) - 3), inside(4096, 4096)) + run(1) +
        sqe(OP_D, alg, inside(0, len(c)), inside(4096, 100)) + run(1))
# streams: compress in pieces, flush, end; then inflate it back in pieces
put("fuzz-zip-sqe", "stream-compress",
    hdr + ss_data(0, text) +
    sqe(OP_C, GZIP, inside(0, 500), inside(8192, 4096), level=9, stream=1, flags=F_START) +
    run(1) + sqe(OP_C, GZIP, inside(500, 500), inside(8192, 4096), stream=1, flags=F_FLUSH) +
    run(1) + sqe(OP_C, GZIP, inside(1000, 500), inside(8192, 16), stream=1, flags=F_END) +
    run(1) + sqe(OP_C, GZIP, inside(1500, 0), inside(8192, 4096), stream=1, flags=F_END) +
    run(1))
g = gzip.compress(text, mtime=0) + gzip.compress(b"second member", mtime=0)
put("fuzz-zip-sqe", "stream-decompress-gzip-members",
    hdr + ss_data(0, g) +
    sqe(OP_D, GZIP, inside(0, 40), inside(8192, 4096), stream=2, flags=F_START) + run(1) +
    sqe(OP_D, GZIP, inside(40, len(g) - 40), inside(8192, 4096), stream=2, flags=F_END) +
    run(1))
z = zlib.compress(text)
put("fuzz-zip-sqe", "stream-decompress-small-out",
    hdr + ss_data(0, z) +
    sqe(OP_D, ZLIB, inside(0, len(z)), inside(8192, 64), stream=3, flags=F_START) + run(1) +
    sqe(OP_D, ZLIB, inside(131, len(z) - 131), inside(8192, 64), stream=3) + run(1) +
    sqe(OP_D, ZLIB, inside(0, len(z)), inside(8192, 4096), stream=3, tracked_epoch=False) +
    run(1))
# invalid SQEs: bad op/alg/level, reserved bits, overlap, outside the SS
put("fuzz-zip-sqe", "invalid-sqes",
    hdr + sqe(0, DEFL, inside(0, 10), inside(100, 10)) +
    sqe(OP_C, 4, inside(0, 10), inside(100, 10)) +
    sqe(OP_C, DEFL, inside(0, 10), inside(100, 10), level=11) +
    sqe(OP_C, DEFL, inside(0, 10), inside(100, 10), raw=3) +
    sqe(OP_C, DEFL, inside(0, 100), inside(50, 100)) +
    sqe(OP_C, DEFL, u8(1) + u32(-4096) + u32(100), inside(100, 10)) +
    sqe(OP_C, DEFL, inside(0, 10), u8(2) + u32(10) + u32(100)) +
    sqe(OP_C, DEFL, u8(3) + u32(0x1000) + u32(10), inside(100, 10)) + run(8))
# ring errors: a garbage sq_tail, then back in step; a full CQ
put("fuzz-zip-sqe", "ring-garbage-tail",
    hdr + sqe(OP_C, DEFL, inside(0, 10), inside(100, 100)) + u8(4) + u32(1000) + run(2) +
    u8(5) + sqe(OP_C, DEFL, inside(0, 10), inside(100, 100)) + run(2))
full = hdr
for i in range(130):
    full += sqe(OP_C, DEFL, inside(0, 1), inside(100, 100))
    if i % 16 == 15:
        full += run(16)
put("fuzz-zip-sqe", "cq-full", full + run(16) + u8(6) + run(16) + u8(6 | 0x80) + u32(7) + run(4))
put("fuzz-zip-sqe", "ss-unmapped",
    hdr + u8(10) + sqe(OP_C, DEFL, inside(0, 10), inside(100, 100)) + run(1) + u8(10) +
    sqe(OP_C, DEFL, inside(0, 10), inside(100, 100)) + run(1) + u8(11))

# --- fuzz-dummy-ring -----------------------------------------------------------
# commands: 0 BD, 2 head (op & 0x80: u32), 3 FLUSH, 4 SS data, 5 raw register
# bytes, 6 SS unmap/map, 7 poll


def bd(slot, src, dst, size):
    return u8(0) + u8(slot) + src + dst + size + u16(slot + 1)


def din(off):
    return u8(0) + u32(off)


def dsize(n):
    return u8(0) + u32(n)


def head(h, raw=False):
    return (u8(2 | 0x80) + u32(h)) if raw else (u8(2) + u8(h))


FL = u8(3)
dhdr = u16(8191)
put("fuzz-dummy-ring", "copy-one",
    dhdr + u8(4) + u16(0) + u8(32) + bytes(range(32)) + bd(0, din(0), din(4096), dsize(32)) +
    head(1) + FL + u8(7))
put("fuzz-dummy-ring", "copy-ring-wrap",
    dhdr + b"".join(bd(i, din(i * 100), din(4096 + i * 100), dsize(100)) for i in range(16)) +
    head(15) + FL + head(3) + FL)
put("fuzz-dummy-ring", "copy-errors",
    dhdr + bd(0, u8(2) + u32(-64), din(0), dsize(100)) +
    bd(1, din(0), u8(3) + u32(0x1000), dsize(10)) +
    bd(2, din(0), din(100), u8(3 | (40 << 2)) + u32(1)) +
    bd(3, din(8000), din(0), u8(2) + u32(1000)) + head(4) + FL)
put("fuzz-dummy-ring", "garbage-head",
    dhdr + bd(0, din(0), din(100), dsize(10)) + head(0x10000, raw=True) + FL + head(1) +
    u8(5) + u16(656) + u8(4) + u32(7) + FL)
put("fuzz-dummy-ring", "ss-unmapped",
    dhdr + u8(6) + bd(0, din(0), din(100), dsize(10)) + head(1) + FL + u8(6) +
    bd(1, din(0), din(100), dsize(10)) + head(2) + FL)

# --- fuzz-core-ioctl -----------------------------------------------------------
# first byte: queues per device (devices: 0 dummy_v1 non-SVA, 1 dummy_v2 SVA,
# 2 dummy_v2 non-SVA of the mainline profile); steps: 0 open, 2 ioctl, 5 map,
# 6 mmap (by offset), 7 mapped,
# 8 unmap, 9 poll, 10 release, 11 owner died, 12 share, 13 attach/getfd,
# 14 snapshots (0x80: lookup), 15 | 0x80 remove device
ME, OTHER = 0, 2
MMIO, DKO, DUS, SSR = 1, 2, 3, 4	# qtype byte: type + 1


def c_open(slot, dev, who=ME):
    return u8(0) + u8(slot) + u8(dev) + u8(who)


def c_ioctl(slot, kind, who=ME):
    return u8(2) + u8(slot) + u8(who) + u8(kind) + u8(0) + u8(0)


START, PUTQ, FLUSH = 0, 1, 2


def c_map(slot, qt, sizesel=0, extra=b""):
    return u8(5) + u8(slot) + u8(qt) + u8(0) + u8(sizesel) + extra


def c_mmap_pg(slot, pgoff, sizesel=0, extra=b""):
    return u8(6) + u8(slot) + u8(0) + u8(0) + u8(pgoff) + u8(sizesel) + extra


def c_mapped(slot, qt):
    return u8(7) + u8(slot) + u8(qt) + u8(0) + u8(0)


chdr = u8(0xff)
put("fuzz-core-ioctl", "lifecycle-nonsva",
    chdr + c_open(0, 0) + c_map(0, MMIO) + c_mapped(0, MMIO) + c_ioctl(0, START) +
    c_map(0, SSR, 2, u16(4)) + c_mapped(0, SSR) + c_ioctl(0, FLUSH) + u8(9) + u8(0) + u8(0) +
    u8(14) + c_ioctl(0, PUTQ) + u8(8) + u8(0) + u8(SSR) + u8(0) + u8(10) + u8(0))
put("fuzz-core-ioctl", "share-svas",
    chdr + c_open(0, 0) + c_ioctl(0, START) + c_map(0, SSR, 2, u16(2)) + c_mapped(0, SSR) +
    c_open(1, 0) + c_ioctl(1, START) + u8(12) + u8(1) + u8(0) + u8(0) + u8(14) +
    u8(11) + u8(0) + u8(12) + u8(1) + u8(0) + u8(0))
put("fuzz-core-ioctl", "sva-and-stranger",
    chdr + c_open(0, 1) + c_map(0, DUS) + c_ioctl(0, START, OTHER) + c_ioctl(0, START) +
    c_open(1, 0, OTHER) + c_open(2, 0) + c_map(1, MMIO) + u8(13) + u8(1) + u8(OTHER) + u8(3) +
    u8(14 | 0x80) + u8(0) + u8(0) + u8(14))
put("fuzz-core-ioctl", "remove-device",
    u8(0) + c_open(0, 0) + c_open(1, 0) + c_ioctl(0, START) + u8(15 | 0x80) + u8(0) +
    c_open(2, 0) + c_ioctl(0, START) + u8(14) + u8(10) + u8(0))
SHARE_OR_START_Q = 3	# 'W' 0: v4 SHARE_SVAS, mainline START_Q ('W' 1, START's kind, is PUT_Q)
put("fuzz-core-ioctl", "mainline",
    chdr + c_open(0, 2) + c_mmap_pg(0, 0) + c_mmap_pg(0, 1) + c_mmap_pg(0, 1) +
    c_mmap_pg(0, 2) + c_mapped(0, MMIO) + c_mapped(0, DUS) + c_ioctl(0, SHARE_OR_START_Q) +
    c_ioctl(0, START) + c_ioctl(0, START) + c_ioctl(0, SHARE_OR_START_Q) + c_ioctl(0, PUTQ) +
    u8(8) + u8(0) + u8(DUS) + u8(0) + c_mmap_pg(0, 1) + u8(14) + u8(10) + u8(0))
put("fuzz-core-ioctl", "unknown-ioctls",
    chdr + c_open(0, 1) + c_ioctl(0, START) +
    u8(2) + u8(0) + u8(0) + u8(5) + u8(0) + u32(0xC0086401) + u8(0) + bytes(8) +
    u8(2) + u8(0) + u8(0) + u8(4) + u8(1) + u8(0) + u16(3) + b"abc" +
    u8(2) + u8(0) + u8(0) + u8(3) + u8(2) + u8(0))

# --- fuzz-control --------------------------------------------------------------
# set-up byte: bits 0-1 peer (0 root, 1 admin gid, 2 stranger, 3 root uid +
# stranger gid), bit 2 admin group set, bit 3 reload fails, bits 4-5 reading
# ended (0 EOF, 1 too large, 2 out of time), bits 6-7 entries waiting; then
# the request
ROOT, ADMIN, STRANGER, ADMIN_SET, RELOAD_FAILS = 0, 1, 2, 4, 8
for cmd in ("list", "queues", "usage", "reload"):
    put("fuzz-control", "root-" + cmd, u8(ROOT) + b'{"command":"%s"}\n' % cmd.encode())
put("fuzz-control", "root-list-waiting", u8(ROOT | 0xC0) + b'{"command": "list"}')
put("fuzz-control", "reload-fails", u8(ROOT | RELOAD_FAILS) + b'{"command":"reload"}')
put("fuzz-control", "admin-usage", u8(ADMIN | ADMIN_SET) + b'{"command":"usage"}')
put("fuzz-control", "admin-no-group", u8(ADMIN) + b'{"command":"list"}')
put("fuzz-control", "stranger-reload", u8(STRANGER | ADMIN_SET) + b'{"command":"reload"}')
put("fuzz-control", "too-large", u8(ROOT | 0x10) + b'{"command":"list"}')
put("fuzz-control", "incomplete", u8(ROOT | 0x20) + b'{"command":"li')
put("fuzz-control", "garbage", u8(ROOT) + b'{"command":["list"],"x":{"y":[1,2.5e308,null]}}')
put("fuzz-control", "lenient", u8(ROOT) + b'{"command":"list",} trailing\n{"command":"reload"}')
put("fuzz-control", "unknown", u8(ROOT) + b'{"command":"li\\u0000st"}')
# beyond CONTROL_MAX_REQUEST (4096): cut there and "too large"; also lifts
# libFuzzer's default max_len above the limit
put("fuzz-control", "huge", u8(ROOT) + b'{"command":"' + b"x" * 5000 + b'"}')
