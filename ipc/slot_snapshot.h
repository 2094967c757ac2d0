// What the supervisor learns from one slot: either validated figures, or why
// there are none. Never a pid: the supervisor signals only the pids it
// forked, from its own table, whatever the segment says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/shm_layout.h"

namespace corral::ipc {

enum class SlotStatus {
  kFree,         // no worker assigned to the slot
  kNotAttached,  // a worker is assigned but has not attached (yet, or ever:
                 // it may not link the library); judge it by other means
  kStale,        // the worker fields belong to an earlier generation of the
                 // slot; ignore them, as for kNotAttached
  kOk,           // attached and every field in range
  kCorrupt,      // something in the slot is impossible; see `problem`
};

struct SlotSnapshot {
  SlotStatus status = SlotStatus::kFree;
  uint64_t generation = 0;  // the supervisor's own, not read from the segment
  std::string problem;      // kCorrupt: "FIELD: what was wrong", for the log

  // Meaningful for kOk only.
  WorkerState state = WorkerState::kStarting;
  std::optional<uint64_t> heartbeat_ns;  // CLOCK_MONOTONIC; nullopt = never beat
  uint64_t requests_total = 0;
  uint64_t in_flight = 0;
};

const char* to_string(SlotStatus status);
const char* to_string(WorkerState state);

}  // namespace corral::ipc
