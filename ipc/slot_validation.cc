#include "ipc/slot_validation.h"

#include "ipc/monotonic_clock.h"

#include <fmt/format.h>

namespace corral::ipc {
namespace {

SlotSnapshot corrupt(const SlotBook& book, std::string problem) {
  SlotSnapshot s;
  s.status = SlotStatus::kCorrupt;
  s.generation = book.generation;
  s.problem = std::move(problem);
  return s;
}

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

const char* to_string(SlotStatus status) {
  switch (status) {
    case SlotStatus::kFree:
      return "free";
    case SlotStatus::kNotAttached:
      return "not attached";
    case SlotStatus::kStale:
      return "stale";
    case SlotStatus::kOk:
      return "ok";
    case SlotStatus::kCorrupt:
      return "corrupt";
  }
  return "?";
}

const char* to_string(WorkerState state) {
  switch (state) {
    case WorkerState::kStarting:
      return "starting";
    case WorkerState::kReady:
      return "ready";
    case WorkerState::kDraining:
      return "draining";
    case WorkerState::kStopped:
      return "stopped";
  }
  return "?";
}

RawSlot load_slot(const SlotRecord& r) {
  // attached_generation first, with acquire: it pairs with the worker's
  // claim, so what the worker stored after attaching is seen with it.
  RawSlot s;
  s.attached_generation = r.attached_generation.load(std::memory_order_acquire);
  s.generation = r.generation.load(std::memory_order_relaxed);
  s.pid = r.pid.load(std::memory_order_relaxed);
  s.drain_requested = r.drain_requested.load(std::memory_order_relaxed);
  s.state = r.state.load(std::memory_order_relaxed);
  s.reserved0 = r.reserved0.load(std::memory_order_relaxed);
  s.heartbeat_ns = r.heartbeat_ns.load(std::memory_order_relaxed);
  s.requests_total = r.requests_total.load(std::memory_order_relaxed);
  s.in_flight = r.in_flight.load(std::memory_order_relaxed);
  s.reserved1 = r.reserved1.load(std::memory_order_relaxed);
  s.attached_generation_after = r.attached_generation.load(std::memory_order_acquire);
  return s;
}

SlotSnapshot validate_slot(const RawSlot& raw, const SlotBook& book, uint64_t now_ns) {
  if (!book.assigned) return SlotSnapshot{};

  // The supervisor's own fields: any difference from its book means someone
  // else wrote them.
  if (raw.generation != book.generation) {
    return corrupt(book, fmt::format("generation: the segment says {}, the supervisor assigned {}",
                                     raw.generation, book.generation));
  }
  if (raw.pid != book.pid) {
    return corrupt(
        book, fmt::format("pid: the segment says {}, the supervisor wrote {}", raw.pid, book.pid));
  }
  if (raw.drain_requested != (book.drain_requested ? 1u : 0u)) {
    return corrupt(book,
                   fmt::format("drain_requested: the segment says {}, the supervisor wrote {}",
                               raw.drain_requested, book.drain_requested ? 1 : 0));
  }
  if (raw.reserved0 != 0)
    return corrupt(book, fmt::format("reserved0: {} is not 0", raw.reserved0));
  if (raw.reserved1 != 0)
    return corrupt(book, fmt::format("reserved1: {} is not 0", raw.reserved1));

  if (raw.attached_generation > book.generation) {
    return corrupt(book, fmt::format("attached_generation: {} is ahead of the slot's generation {}",
                                     raw.attached_generation, book.generation));
  }
  if (raw.attached_generation == 0 && raw.attached_generation_after != 0) {
    // The worker attached while we were loading: look again next time.
    SlotSnapshot s;
    s.status = SlotStatus::kNotAttached;
    s.generation = book.generation;
    return s;
  }
  if (raw.attached_generation == 0) {
    // Nobody attached, so nobody may have written the worker fields: they
    // still hold what the supervisor cleared them to.
    if (raw.state != static_cast<uint32_t>(WorkerState::kStarting)) {
      return corrupt(book, fmt::format("state: {} written before anyone attached", raw.state));
    }
    if (raw.heartbeat_ns != 0) {
      return corrupt(book, "heartbeat_ns: written before anyone attached");
    }
    if (raw.requests_total != 0) {
      return corrupt(book, "requests_total: written before anyone attached");
    }
    if (raw.in_flight != 0) return corrupt(book, "in_flight: written before anyone attached");
    SlotSnapshot s;
    s.status = SlotStatus::kNotAttached;
    s.generation = book.generation;
    return s;
  }
  if (raw.attached_generation < book.generation) {
    SlotSnapshot s;
    s.status = SlotStatus::kStale;
    s.generation = book.generation;
    return s;
  }

  if (raw.state < kFirstState || raw.state > kLastState) {
    return corrupt(
        book, fmt::format("state: {} is not a state ({}..{})", raw.state, kFirstState, kLastState));
  }
  if (raw.heartbeat_ns != 0) {
    if (raw.heartbeat_ns > now_ns && raw.heartbeat_ns - now_ns > kHeartbeatFutureToleranceNs) {
      return corrupt(book, fmt::format("heartbeat_ns: {:.3f} s in the future",
                                       seconds(raw.heartbeat_ns - now_ns)));
    }
    // A worker's coarse clock may lag the assignment's by a tick.
    if (raw.heartbeat_ns + kCoarseClockLagNs < book.assigned_at_ns) {
      return corrupt(book, fmt::format("heartbeat_ns: {:.3f} s before the slot was assigned",
                                       seconds(book.assigned_at_ns - raw.heartbeat_ns)));
    }
  }
  if (raw.requests_total > kMaxRequestsTotal) {
    return corrupt(book,
                   fmt::format("requests_total: {} is above the limit 2^50", raw.requests_total));
  }
  if (raw.requests_total < book.requests_seen) {
    return corrupt(book, fmt::format("requests_total: went backwards from {} to {}",
                                     book.requests_seen, raw.requests_total));
  }
  if (raw.in_flight > kMaxInFlight) {
    return corrupt(book, fmt::format("in_flight: {} is above the limit 2^32", raw.in_flight));
  }

  SlotSnapshot s;
  s.status = SlotStatus::kOk;
  s.generation = book.generation;
  s.state = static_cast<WorkerState>(raw.state);
  if (raw.heartbeat_ns != 0) s.heartbeat_ns = raw.heartbeat_ns;
  s.requests_total = raw.requests_total;
  s.in_flight = raw.in_flight;
  return s;
}

}  // namespace corral::ipc
