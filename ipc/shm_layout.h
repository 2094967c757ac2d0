// The shared-memory segment between corral and its workers: one header, then
// one 64-byte record per slot. Byte-level description, writers and the
// versioning rule: docs/shm-layout.md.
//
// Everything here is a fixed-width integer inside a std::atomic: no pointers
// (each process maps the segment at its own address), no cross-process locks
// (a lock held by a worker that dies would wedge the supervisor). Each field
// has exactly one writer while a worker lives; the comments say which. The
// supervisor (re)initialises a whole slot record only while the slot is
// vacant: before it forks the slot's next worker.
//
// Every field is atomic, including the ones written once, so that whoever
// reads shared memory reads each field exactly once, with one load, into a
// local it can then validate: a plain field could legally be re-read by the
// compiler after the range check (a double fetch), and a hostile worker
// could change it in between.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace corral::ipc {

// "CORRALSH" in memory order on a little-endian machine.
inline constexpr uint64_t kMagic = 0x48534C4152524F43ULL;

// Bump kLayoutVersion for ANY change that makes a reader built from the old
// header misread the segment: a field added, removed, moved, resized or given
// a new meaning; a new state value; a changed constant below (offsets,
// limits, the supervisor heartbeat period). Attach refuses any other version,
// so a worker linked against an old library fails loudly instead of writing
// to the wrong bytes. A change to comments or code alone does not bump it.
inline constexpr uint32_t kLayoutVersion = 1;

// Slots start on their own page (on 4 KiB-page machines), so a worker maps
// the header read-only and only its slot's page writable.
inline constexpr uint32_t kSlotsOffset = 4096;
inline constexpr uint32_t kMaxSlots = 4096;

// Limits the supervisor enforces on what workers publish. They keep sums over
// every slot inside 64 bits and each value exact as a double (JSON,
// Prometheus). 2^50 requests is 35 years at a million a second.
inline constexpr uint64_t kMaxRequestsTotal = uint64_t{1} << 50;
inline constexpr uint64_t kMaxInFlight = uint64_t{1} << 32;

// The supervisor stores its heartbeat at least every period; a worker calls
// its supervisor gone once the heartbeat is older than kSupervisorStaleNs.
inline constexpr uint64_t kSupervisorHeartbeatPeriodNs = 1'000'000'000;
inline constexpr uint64_t kSupervisorStaleNs = 5'000'000'000;

// What a worker says it is doing. 0 is not a state: a cleared field that a
// worker never set, or garbage.
enum class WorkerState : uint32_t {
  kStarting = 1,  // set by the supervisor when it prepares the slot
  kReady = 2,     // serving
  kDraining = 3,  // stopped accepting, finishing what it has
  kStopped = 4,   // done serving, about to exit
};
inline constexpr uint32_t kFirstState = 1;
inline constexpr uint32_t kLastState = 4;

// At offset 0. Written by the supervisor only.
struct alignas(64) SegmentHeader {
  std::atomic<uint64_t> magic;                    // kMagic, stored last at creation
  std::atomic<uint32_t> layout_version;           // kLayoutVersion
  std::atomic<uint32_t> slot_count;               // 1..kMaxSlots
  std::atomic<uint32_t> record_size;              // sizeof(SlotRecord)
  std::atomic<uint32_t> slots_offset;             // kSlotsOffset
  std::atomic<uint32_t> supervisor_pid;           // for workers' liveness check only
  std::atomic<uint32_t> reserved0;                // 0
  std::atomic<uint64_t> supervisor_heartbeat_ns;  // CLOCK_MONOTONIC
  std::atomic<uint64_t> reserved1;                // 0
  std::atomic<uint64_t> reserved2;                // 0
  std::atomic<uint64_t> reserved3;                // 0
};

// At kSlotsOffset + slot * sizeof(SlotRecord); one cache line, so workers
// heartbeating in neighbouring slots never share a line.
struct alignas(64) SlotRecord {
  // --- written by the supervisor ---
  std::atomic<uint64_t> generation;       // bumped for each new worker; 0 = never used
  std::atomic<uint32_t> pid;              // informational: the supervisor trusts its own copy
  std::atomic<uint32_t> drain_requested;  // 0 or 1
  // --- written by the worker (cleared by the supervisor while vacant) ---
  std::atomic<uint64_t> attached_generation;  // 0 until the worker attaches, then `generation`
  std::atomic<uint32_t> state;                // a WorkerState
  std::atomic<uint32_t> reserved0;            // 0
  std::atomic<uint64_t> heartbeat_ns;         // CLOCK_MONOTONIC; 0 = never
  std::atomic<uint64_t> requests_total;       // <= kMaxRequestsTotal
  std::atomic<uint64_t> in_flight;            // <= kMaxInFlight
  std::atomic<uint64_t> reserved1;            // 0
};

// Total size of a segment with `slots` slots.
constexpr std::size_t segment_size(uint32_t slots) {
  return kSlotsOffset + std::size_t{slots} * sizeof(SlotRecord);
}

// Lock-free atomics are plain loads and stores on the mapped bytes; a locking
// fallback would keep its lock in this process, invisible to the other one.
// (Loads of lock-free 4- and 8-byte atomics are also safe on the worker's
// read-only mapping of the header.)
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint64_t>) == 8 && alignof(std::atomic<uint64_t>) == 8);
static_assert(sizeof(std::atomic<uint32_t>) == 4 && alignof(std::atomic<uint32_t>) == 4);

static_assert(sizeof(SegmentHeader) == 64 && alignof(SegmentHeader) == 64);
static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, slot_count) == 12);
static_assert(offsetof(SegmentHeader, record_size) == 16);
static_assert(offsetof(SegmentHeader, slots_offset) == 20);
static_assert(offsetof(SegmentHeader, supervisor_pid) == 24);
static_assert(offsetof(SegmentHeader, reserved0) == 28);
static_assert(offsetof(SegmentHeader, supervisor_heartbeat_ns) == 32);
static_assert(offsetof(SegmentHeader, reserved1) == 40);
static_assert(offsetof(SegmentHeader, reserved2) == 48);
static_assert(offsetof(SegmentHeader, reserved3) == 56);

static_assert(sizeof(SlotRecord) == 64 && alignof(SlotRecord) == 64);
static_assert(offsetof(SlotRecord, generation) == 0);
static_assert(offsetof(SlotRecord, pid) == 8);
static_assert(offsetof(SlotRecord, drain_requested) == 12);
static_assert(offsetof(SlotRecord, attached_generation) == 16);
static_assert(offsetof(SlotRecord, state) == 24);
static_assert(offsetof(SlotRecord, reserved0) == 28);
static_assert(offsetof(SlotRecord, heartbeat_ns) == 32);
static_assert(offsetof(SlotRecord, requests_total) == 40);
static_assert(offsetof(SlotRecord, in_flight) == 48);
static_assert(offsetof(SlotRecord, reserved1) == 56);

static_assert(kSlotsOffset % 64 == 0 && kSlotsOffset >= sizeof(SegmentHeader));
static_assert(segment_size(kMaxSlots) == 4096 + 4096 * 64);
static_assert(kMaxRequestsTotal <= UINT64_MAX / kMaxSlots);
static_assert(kMaxInFlight <= UINT64_MAX / kMaxSlots);

}  // namespace corral::ipc
