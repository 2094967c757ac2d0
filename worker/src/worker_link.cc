#include "worker/src/worker_link.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "corral/worker.h"
#include "ipc/monotonic_clock.h"

namespace corral::worker {
namespace {

int code_for(ipc::AttachFailure f) {
  switch (f) {
    case ipc::AttachFailure::kNotSupervised:
      return CORRAL_NOT_SUPERVISED;
    case ipc::AttachFailure::kBadEnvironment:
      return CORRAL_E_ENV;
    case ipc::AttachFailure::kCannotOpen:
      return CORRAL_E_OPEN;
    case ipc::AttachFailure::kWrongLayout:
      return CORRAL_E_LAYOUT;
    case ipc::AttachFailure::kBadSlot:
      return CORRAL_E_SLOT;
    case ipc::AttachFailure::kSlotTaken:
      return CORRAL_E_SLOT;
  }
  return CORRAL_E_OPEN;
}

}  // namespace

WorkerLink::WorkerLink(ipc::ShmAttachment::Outcome outcome) noexcept {
  if (auto* a = std::get_if<ipc::ShmAttachment>(&outcome)) {
    status_ = CORRAL_OK;
    message_ = "attached to corral segment " + a->name() + " slot " +
               std::to_string(a->slot_index()) + " generation " + std::to_string(a->generation());
    attachment_.emplace(std::move(*a));
  } else {
    auto& e = std::get<ipc::AttachError>(outcome);
    status_ = code_for(e.failure);
    message_ = std::move(e.message);
  }
}

WorkerLink WorkerLink::from_environment() noexcept {
  try {
    return WorkerLink(ipc::ShmAttachment::open_from_environment());
  } catch (...) {
    // Only allocation can throw here; a worker that cannot allocate a few
    // strings carries on unattached rather than dying in our code.
    return WorkerLink(ipc::AttachError{ipc::AttachFailure::kCannotOpen, ""});
  }
}

int WorkerLink::inert() const noexcept {
  return status_ == CORRAL_NOT_SUPERVISED ? CORRAL_OK : status_;
}

int WorkerLink::advance(ipc::WorkerState to) noexcept {
  if (!attachment_) return inert();
  auto& state = attachment_->slot().state;
  const auto want = static_cast<uint32_t>(to);
  uint32_t current = state.load(std::memory_order_relaxed);
  for (;;) {
    bool valid = current >= ipc::kFirstState && current <= ipc::kLastState;
    if (current == want) return CORRAL_OK;
    if (valid && current > want) return CORRAL_E_STATE;
    // Release: a supervisor that sees "ready" also sees the figures
    // published before it.
    if (state.compare_exchange_weak(current, want, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      return CORRAL_OK;
    }
  }
}

int WorkerLink::heartbeat() noexcept {
  if (!attachment_) return inert();
  // The coarse clock: a heartbeat is judged in hundreds of milliseconds, and
  // this keeps it at a few nanoseconds.
  attachment_->slot().heartbeat_ns.store(ipc::monotonic_coarse_now_ns(),
                                         std::memory_order_relaxed);
  return CORRAL_OK;
}

int WorkerLink::publish(uint64_t requests_total, uint64_t in_flight) noexcept {
  if (!attachment_) return inert();
  // The supervisor would take values past the limits, or a total going
  // backwards, for corruption and replace the worker: refuse them here,
  // where the bug is.
  if (requests_total > ipc::kMaxRequestsTotal || in_flight > ipc::kMaxInFlight) {
    return CORRAL_E_INVAL;
  }
  auto& slot = attachment_->slot();
  // Raise the total only, also when threads publish concurrently.
  uint64_t current = slot.requests_total.load(std::memory_order_relaxed);
  while (current < requests_total &&
         !slot.requests_total.compare_exchange_weak(current, requests_total,
                                                    std::memory_order_relaxed)) {
  }
  if (requests_total < current) return CORRAL_E_INVAL;
  slot.in_flight.store(in_flight, std::memory_order_relaxed);
  return CORRAL_OK;
}

int WorkerLink::request_started() noexcept {
  if (!attachment_) return inert();
  attachment_->slot().in_flight.fetch_add(1, std::memory_order_relaxed);
  return CORRAL_OK;
}

int WorkerLink::request_finished() noexcept {
  if (!attachment_) return inert();
  auto& slot = attachment_->slot();
  // Never below zero: an unmatched "finished" would wrap to 2^64 - 1, which
  // the supervisor reads as corruption.
  uint64_t n = slot.in_flight.load(std::memory_order_relaxed);
  while (n > 0 && !slot.in_flight.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
  slot.requests_total.fetch_add(1, std::memory_order_relaxed);
  return CORRAL_OK;
}

bool WorkerLink::drain_requested() const noexcept {
  if (!attachment_) return false;
  return attachment_->slot().drain_requested.load(std::memory_order_acquire) != 0;
}

bool WorkerLink::supervisor_alive(uint64_t now_ns) const noexcept {
  if (!attachment_) return true;  // see corral_supervisor_alive()
  const auto& h = attachment_->header();
  uint64_t beat = h.supervisor_heartbeat_ns.load(std::memory_order_relaxed);
  // A beat "in the future" is a race between the two clock reads: fresh.
  if (beat == 0 || (now_ns > beat && now_ns - beat > ipc::kSupervisorStaleNs)) return false;
  auto pid = static_cast<pid_t>(h.supervisor_pid.load(std::memory_order_relaxed));
  if (pid <= 0) return false;
  // Our parent (the usual case) cannot be a recycled pid: had it died, we
  // would have been re-parented. A worker started through a wrapper shell
  // is a grandchild: then ask whether the process exists at all.
  if (::getppid() == pid) return true;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace corral::worker
