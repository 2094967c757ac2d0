// Validation of one slot record as a pure function of bytes already loaded,
// so tests feed it hostile values without any shared memory (the way Envoy's
// hot-restart tests replace mmap with a byte vector).
#pragma once

#include <cstdint>

#include "ipc/shm_layout.h"
#include "ipc/slot_snapshot.h"

namespace corral::ipc {

// A slot record as loaded: each field read exactly once.
struct RawSlot {
  uint64_t generation = 0;
  uint32_t pid = 0;
  uint32_t drain_requested = 0;
  uint64_t attached_generation = 0;
  uint32_t state = 0;
  uint32_t reserved0 = 0;
  uint64_t heartbeat_ns = 0;
  uint64_t requests_total = 0;
  uint64_t in_flight = 0;
  uint64_t reserved1 = 0;
  // attached_generation loaded again after the other fields: a worker that
  // attached between the two loads has legitimately written fields that the
  // first load says nobody may have written.
  uint64_t attached_generation_after = 0;
};

RawSlot load_slot(const SlotRecord& record);

// The supervisor's private record of a slot: what it wrote, kept in its own
// memory, against which the segment's copy is checked.
struct SlotBook {
  bool assigned = false;
  uint64_t generation = 0;
  uint32_t pid = 0;
  bool drain_requested = false;
  uint64_t assigned_at_ns = 0;  // a heartbeat cannot be older than this
  uint64_t requests_seen = 0;   // requests_total never goes backwards
};

// How far a worker's heartbeat may lie ahead of the supervisor's `now`: the
// two clock reads race, and the supervisor's `now` may be a loop iteration
// old. Beyond this, the heartbeat is not a time this machine has seen.
inline constexpr uint64_t kHeartbeatFutureToleranceNs = 1'000'000'000;

SlotSnapshot validate_slot(const RawSlot& raw, const SlotBook& book, uint64_t now_ns);

}  // namespace corral::ipc
