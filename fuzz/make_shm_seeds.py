#!/usr/bin/env python3
"""Writes the seed corpus of the shm target (corpus/shm/): header and slot
images as corral writes them, and as a hostile worker could change them, in
the input layout shm_entry.cc reads. Rerun after a layout change."""
import os
import struct

MAGIC = 0x48534C4152524F43
VERSION = 1
SLOTS_OFFSET = 4096
SEC = 1_000_000_000


def header(slots=4, magic=MAGIC, version=VERSION, record=64, offset=SLOTS_OFFSET,
           pid=1234, beat=50 * SEC, reserved=0):
    return struct.pack('<QIIIIIIQQQQ', magic, version, slots, record, offset, pid, 0, beat,
                       reserved, 0, 0)


def slot(gen=3, pid=4321, drain=0, attached=3, state=2, reserved0=0, beat=49 * SEC,
         requests=1000, in_flight=5, reserved1=0):
    return struct.pack('<QIIQIIQQQQ', gen, pid, drain, attached, state, reserved0, beat,
                       requests, in_flight, reserved1)


def supervisor(flags=1, size_delta=0, seg_bytes=None, gen=None, pid=None, assigned_at=40 * SEC,
               requests_seen=900, after=None, now=50 * SEC):
    """flags: 1 size from the header (+delta), 2 unassigned, 4/8 book generation/pid
    given, 16 drain differs, 32 attached_generation changes between loads."""
    out = struct.pack('<Bh', flags, size_delta)
    if not flags & 1:
        out += struct.pack('<I', seg_bytes)
    if flags & 4:
        out += struct.pack('<Q', gen)
    if flags & 8:
        out += struct.pack('<I', pid)
    out += struct.pack('<QQ', assigned_at, requests_seen)
    if flags & 32:
        out += struct.pack('<Q', after)
    return out + struct.pack('<Q', now)


seeds = {
    'ok-ready': header() + slot() + supervisor(),
    'ok-draining-no-beat': header() + slot(state=3, beat=0, drain=1) + supervisor(flags=1 | 16),
    'not-attached': header() + slot(attached=0, state=1, beat=0, requests=0, in_flight=0)
    + supervisor(requests_seen=0),
    'attaching-between-loads': header() + slot(attached=0, state=1, beat=0, requests=0,
                                               in_flight=0) + supervisor(flags=1 | 32, after=3),
    'stale': header() + slot(attached=2) + supervisor(),
    'free': header() + slot() + supervisor(flags=1 | 2),
    'corrupt-state': header() + slot(state=9) + supervisor(),
    'corrupt-reserved': header() + slot(reserved1=7) + supervisor(),
    'corrupt-requests-backwards': header() + slot(requests=10) + supervisor(),
    'corrupt-requests-limit': header() + slot(requests=(1 << 50) + 1) + supervisor(),
    'corrupt-in-flight': header() + slot(in_flight=(1 << 32) + 1) + supervisor(),
    'corrupt-future-beat': header() + slot(beat=60 * SEC) + supervisor(),
    'corrupt-beat-before-assigned': header() + slot(beat=SEC) + supervisor(),
    'corrupt-generation': header() + slot(gen=99) + supervisor(flags=1 | 4, gen=3),
    'corrupt-pid': header() + slot(pid=1) + supervisor(flags=1 | 8, pid=4321),
    'corrupt-attached-ahead': header() + slot(attached=4) + supervisor(),
    'header-truncated-segment': header(slots=4) + slot() + supervisor(size_delta=-64),
    'header-wrong-magic': header(magic=0x4141414141414141) + slot() + supervisor(),
    'header-future-version': header(version=2) + slot() + supervisor(),
    'header-slot-count-huge': header(slots=0xFFFFFFFF) + slot() + supervisor(flags=0,
                                                                            seg_bytes=8192),
    'header-slot-count-zero': header(slots=0) + slot() + supervisor(),
    'header-record-size': header(record=128) + slot() + supervisor(),
    'short-input': header()[:20],
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'shm')
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), 'wb') as f:
        f.write(data)
