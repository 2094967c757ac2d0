// The supervisor's side of the segment: it creates the segment at start,
// prepares a slot for each worker it forks, asks workers to drain, beats its
// own heartbeat, and reads what workers wrote — never trusting it. The
// segment is removed when this object is destroyed; a segment left behind by
// a supervisor that was killed is removed by cleanup_stale() at the next
// start.
//
// Used from the supervisor's loop thread only (not thread-safe). Slot
// numbers passed in are the supervisor's own, so an out-of-range one is a
// programming error and aborts.
//
// A slot (CORRAL_SLOT) is not a worker id (CORRAL_WORKER_ID): during a
// rolling reload the new worker with an id runs beside the old one, so each
// needs its own slot. Size the segment for the most workers that can live
// at once (e.g. max workers + reload batch).
//
// Per worker:  assign_slot (before fork) -> set_slot_pid (after fork) ->
// read_slot / request_drain while it lives -> release_slot once reaped.
#pragma once

#include <sys/types.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ipc/header_check.h"
#include "ipc/monotonic_clock.h"
#include "ipc/shm_layout.h"
#include "ipc/slot_snapshot.h"
#include "ipc/slot_validation.h"

namespace corral::ipc {

class ShmSegment {
 public:
  // Creates /corral-NAME-PID (PID = this process) with `slots` slots, mode
  // 0600. NAME: letters, digits, '.', '_', '-'. A leftover of the same name
  // (a dead process that had our pid) is replaced.
  static Result<ShmSegment> create(std::string_view name, int slots);

  // Removes segments /corral-NAME-PID whose PID is no longer alive; returns
  // the names removed. Segments of live processes and of other users stay.
  static Result<std::vector<std::string>> cleanup_stale(std::string_view name);

  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&& other) noexcept;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment();  // unmaps and removes the segment

  // The value of CORRAL_SHM for workers ("/corral-web-1234").
  const std::string& name() const { return name_; }
  int slot_count() const { return static_cast<int>(capacity_); }

  // Prepares `slot` for a new worker; call BEFORE forking it (the worker
  // reads the generation when it attaches), and only once the slot's
  // previous worker was reaped (this rewrites the worker's fields too). Bumps the generation, clears the
  // whole record (state starting, no heartbeat, counters 0, no drain
  // request). Returns the new generation.
  uint64_t assign_slot(int slot, uint64_t now_ns = monotonic_now_ns());
  // Records the forked worker's pid (informational in the segment).
  void set_slot_pid(int slot, pid_t pid);
  // After the slot's worker was reaped: the slot reads as kFree until the
  // next assign_slot.
  void release_slot(int slot);

  void request_drain(int slot, bool requested = true);

  // Store at least every kSupervisorHeartbeatPeriodNs: workers call a
  // supervisor whose heartbeat is kSupervisorStaleNs old gone.
  void heartbeat(uint64_t now_ns = monotonic_now_ns());

  // A validated copy of what the slot's worker published. Never crashes, on
  // any bytes; reports what was wrong as kCorrupt.
  SlotSnapshot read_slot(int slot, uint64_t now_ns = monotonic_now_ns());

  // Checks the header (and the segment's size) against what the supervisor
  // wrote; if anything differs, rewrites it and says what was wrong. A
  // header a worker overwrote cannot be blamed on one slot, but without the
  // repair the next workers would refuse to attach. Call it on each tick,
  // before reading slots.
  std::optional<std::string> check_and_repair_header();

  // Makes the segment usable by workers that drop privileges to uid/gid
  // (the supervisor, as root, keeps its access). Still mode 0600.
  Status give_to(uid_t uid, gid_t gid);

 private:
  ShmSegment() = default;
  SlotBook& book(int slot);
  SlotRecord& record(int slot);
  SegmentHeader& header();
  bool size_intact();
  // Before a write: whether the mapping may be touched. A segment someone
  // truncated would fault (SIGBUS) on the lost pages, so its size is
  // restored first (the lost bytes come back as zeros) and the problem kept
  // for check_and_repair_header(); false if it cannot be restored.
  bool writable();
  void write_header();
  void remove();

  std::string name_;
  boost::interprocess::shared_memory_object shm_;  // kept open: fstat, ftruncate, fchown
  boost::interprocess::mapped_region region_;
  uint32_t capacity_ = 0;
  std::vector<SlotBook> books_;  // the truth about each slot used so far, in our own memory
  uint64_t last_heartbeat_ns_ = 0;
  std::optional<std::string> size_problem_;  // found by writable(), not yet reported
};

}  // namespace corral::ipc
