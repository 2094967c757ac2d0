"""A hostile corral worker for tests/integration/shm_test.cc: it opens corral's
shared-memory segment (CORRAL_SHM) read-write with the standard library alone
and writes what no well-behaved worker would. corral must survive all of it,
never signal a process it did not start, and at most replace this worker.

    hostile_worker.py scribble STATE_DIR FOREIGN_PID SECONDS
        Until SECONDS after the first instance started (a deadline kept in
        STATE_DIR, shared by the replacements), fills the whole segment with
        random bytes over and over; every other fill also writes FOREIGN_PID
        into every slot's pid and the header's supervisor_pid. Then idles.
    hostile_worker.py slot STATE_DIR FOREIGN_PID
        Each instance (numbered through STATE_DIR) claims its own slot like
        the library would, then writes one impossible value into it (a
        foreign pid, pid 1, a state that does not exist, counters above the
        limits, a heartbeat from the future, a generation, a reserved field)
        and idles until corral replaces it. Once every trick was played, an
        instance leaves the slot alone and idles.
    hostile_worker.py header STATE_DIR FOREIGN_PID
        Writes, one at a time, a future layout version and other wrong
        header fields (FOREIGN_PID as supervisor_pid), each time waiting until
        corral has put the field back; then idles. The header carries nothing
        that identifies the writer, so corral must repair it without blaming
        anyone.

It prints one line per action ("hostile: ...") so that the test can follow
it in corral's log.
"""
import mmap
import os
import struct
import sys
import time

# ipc/shm_layout.h (docs/shm-layout.md)
SLOTS_OFFSET = 4096
RECORD_SIZE = 64
H_MAGIC, H_VERSION, H_SLOT_COUNT, H_RECORD_SIZE, H_SLOTS_OFFSET, H_SUPERVISOR_PID = 0, 8, 12, 16, 20, 24
H_RESERVED2 = 48
S_GENERATION, S_PID, S_DRAIN, S_ATTACHED, S_STATE, S_RESERVED0 = 0, 8, 12, 16, 24, 28
S_HEARTBEAT, S_REQUESTS, S_IN_FLIGHT, S_RESERVED1 = 32, 40, 48, 56
STATE_STARTING = 1


def say(text):
    print("hostile: " + text, flush=True)


def idle():
    while True:
        time.sleep(3600)


def open_segment():
    name = os.environ["CORRAL_SHM"]
    fd = os.open("/dev/shm/" + name.lstrip("/"), os.O_RDWR)
    size = os.fstat(fd).st_size
    return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE), size


# Native formats: CPython packs them with one memcpy of the field's size (a
# single store), while "<I" would write byte by byte and let corral read a
# torn value, unlike the one the test expects.
def u32(m, off, value=None):
    if value is None:
        return struct.unpack_from("@I", m, off)[0]
    struct.pack_into("@I", m, off, value)


def u64(m, off, value=None):
    if value is None:
        return struct.unpack_from("@Q", m, off)[0]
    struct.pack_into("@Q", m, off, value)


def next_number(state_dir, name):
    """A counter shared by this worker and its replacements."""
    path = os.path.join(state_dir, name)
    try:
        with open(path) as f:
            n = int(f.read())
    except FileNotFoundError:
        n = 0
    with open(path + ".tmp", "w") as f:
        f.write(str(n + 1))
    os.rename(path + ".tmp", path)
    return n


def scribble(m, size, state_dir, foreign_pid, seconds):
    path = os.path.join(state_dir, "deadline")
    try:
        with open(path) as f:
            deadline = float(f.read())
    except FileNotFoundError:
        deadline = time.monotonic() + seconds
        with open(path, "w") as f:
            f.write(repr(deadline))
    slots = (size - SLOTS_OFFSET) // RECORD_SIZE
    fills = 0
    while time.monotonic() < deadline:
        m[0:size] = os.urandom(size)
        if fills % 2:
            u32(m, H_SUPERVISOR_PID, foreign_pid)
            for i in range(slots):
                u32(m, SLOTS_OFFSET + i * RECORD_SIZE + S_PID, foreign_pid)
        fills += 1
        if fills == 1:
            say("scribbling over the whole segment")
        time.sleep(0.005)
    say("scribbling done after %d fills" % fills)


def slot_trick(m, state_dir, foreign_pid):
    slot = SLOTS_OFFSET + int(os.environ["CORRAL_SLOT"]) * RECORD_SIZE
    generation = u64(m, slot + S_GENERATION)
    tricks = [
        ("pid", lambda: u32(m, slot + S_PID, foreign_pid)),
        ("pid", lambda: u32(m, slot + S_PID, 1)),
        ("state", lambda: u32(m, slot + S_STATE, 77)),
        ("requests_total", lambda: u64(m, slot + S_REQUESTS, 1 << 60)),
        ("in_flight", lambda: u64(m, slot + S_IN_FLIGHT, 1 << 40)),
        ("heartbeat_ns", lambda: u64(m, slot + S_HEARTBEAT, time.monotonic_ns() + 3600 * 10**9)),
        ("generation", lambda: u64(m, slot + S_GENERATION, generation + 1000)),
        ("drain_requested", lambda: u32(m, slot + S_DRAIN, 0xFFFFFFFF)),
        ("reserved0", lambda: u32(m, slot + S_RESERVED0, 1)),
    ]
    # corral stores the slot's pid after the fork: a pid written before that
    # would be overwritten, and the trick go unseen.
    deadline = time.monotonic() + 10
    while u32(m, slot + S_PID) != os.getpid():
        if time.monotonic() > deadline:
            say("corral never stored our pid in the slot")
            sys.exit(3)
        time.sleep(0.005)
    n = next_number(state_dir, "slot_tricks")
    if n >= len(tricks):
        say("no tricks left: behaving")
        return
    # Claim the slot as the library does (attached_generation = generation,
    # state starting), so the values below are judged as a worker's own.
    u64(m, slot + S_ATTACHED, generation)
    u32(m, slot + S_STATE, STATE_STARTING)
    field, write = tricks[n]
    write()
    say("trick %d of %d: impossible %s written" % (n + 1, len(tricks), field))


def header_tricks(m, foreign_pid):
    tricks = [
        ("layout_version", H_VERSION, u32, u32(m, H_VERSION) + 1),  # a future layout
        ("magic", H_MAGIC, u64, 0x4F4F50534E495254),
        ("slot_count", H_SLOT_COUNT, u32, 0xFFFFFFFF),
        ("record_size", H_RECORD_SIZE, u32, 4096),
        ("slots_offset", H_SLOTS_OFFSET, u32, 0),
        ("supervisor_pid", H_SUPERVISOR_PID, u32, foreign_pid),
        ("reserved2", H_RESERVED2, u64, 1 << 63),
    ]
    for field, offset, access, value in tricks:
        original = access(m, offset)
        access(m, offset, value)
        say("header %s: wrote %d over %d" % (field, value, original))
        deadline = time.monotonic() + 10
        while access(m, offset) != original:
            if time.monotonic() > deadline:
                say("header %s: never repaired" % field)
                sys.exit(3)
            time.sleep(0.01)
        say("header %s: repaired" % field)
    say("header tricks done")


def main():
    mode, state_dir, foreign_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    m, size = open_segment()
    if mode == "scribble":
        scribble(m, size, state_dir, foreign_pid, float(sys.argv[4]))
    elif mode == "slot":
        slot_trick(m, state_dir, foreign_pid)
    elif mode == "header":
        header_tricks(m, foreign_pid)
    else:
        sys.exit("unknown mode " + mode)
    idle()


if __name__ == "__main__":
    main()
