// One process's link to its slot: the attachment (or why there is none) and
// every operation of the C API, as a class the tests can build from any
// segment name without touching the environment. c_api.cc keeps the
// process's one instance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/shm_attach.h"

namespace corral::worker {

class WorkerLink {
 public:
  explicit WorkerLink(ipc::ShmAttachment::Outcome outcome) noexcept;
  // Attaches as CORRAL_SHM and CORRAL_SLOT say.
  static WorkerLink from_environment() noexcept;

  // CORRAL_OK, CORRAL_NOT_SUPERVISED or a negative corral_result.
  int status() const noexcept { return status_; }
  const std::string& message() const noexcept { return message_; }

  int ready() noexcept { return advance(ipc::WorkerState::kReady); }
  int draining() noexcept { return advance(ipc::WorkerState::kDraining); }
  int stopped() noexcept { return advance(ipc::WorkerState::kStopped); }
  int heartbeat() noexcept;
  int publish(uint64_t requests_total, uint64_t in_flight) noexcept;
  int request_started() noexcept;
  int request_finished() noexcept;

  bool drain_requested() const noexcept;
  bool supervisor_alive(uint64_t now_ns) const noexcept;

 private:
  // What an action returns when there is no slot to act on.
  int inert() const noexcept;
  // States only move forward (starting, ready, draining, stopped), also when
  // threads race: a late corral_ready() cannot undo a corral_draining().
  int advance(ipc::WorkerState to) noexcept;

  std::optional<ipc::ShmAttachment> attachment_;
  int status_;
  std::string message_;
};

}  // namespace corral::worker
