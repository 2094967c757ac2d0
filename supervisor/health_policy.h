// Whether a worker is keeping up: readiness within ready_timeout, and, once
// ready, heartbeats within heartbeat_timeout. Pure: the loop supplies what
// it knows of the worker and the clock reading; tests use a fake clock.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "config/config.h"
#include "supervisor/restart_policy.h"
#include "supervisor/worker_lifecycle.h"

namespace corral::supervisor {

struct WorkerHealth {
  WorkerState state = WorkerState::kStarting;
  TimePoint started{};
  // Newest heartbeat from any source (library, WATCHDOG=1); nullopt until
  // the first: a worker that never heartbeats is not judged by heartbeats.
  std::optional<TimePoint> last_heartbeat;
  // Since when the process is stopped (SIGSTOP, a debugger), if it is.
  std::optional<TimePoint> stopped_since;
};

struct HealthVerdict {
  enum class Kind { kHealthy, kNotReadyInTime, kHung } kind = Kind::kHealthy;
  std::chrono::milliseconds age{0};  // how late: since start, or since the last sign of life
  std::string reason;                // for the log
};

HealthVerdict judge_health(const WorkerHealth& worker, const config::WorkerConfig& config,
                           TimePoint now);

// How often the loop should call judge_health: often enough that a hang is
// seen within a tenth of the timeout, rarely enough to cost nothing.
std::chrono::milliseconds health_check_interval(const config::WorkerConfig& config);

}  // namespace corral::supervisor
