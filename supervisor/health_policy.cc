#include "supervisor/health_policy.h"

#include <algorithm>

#include <fmt/format.h>

#include "config/duration.h"

namespace corral::supervisor {
namespace {

using std::chrono::milliseconds;

milliseconds since(TimePoint then, TimePoint now) {
  return std::max(milliseconds{0}, std::chrono::duration_cast<milliseconds>(now - then));
}

}  // namespace

HealthVerdict judge_health(const WorkerHealth& w, const config::WorkerConfig& config,
                           TimePoint now) {
  using Kind = HealthVerdict::Kind;
  if (w.state == WorkerState::kStarting && config.ready != config::ReadyMode::kStarted &&
      config.ready_timeout.count() > 0) {
    const milliseconds age = since(w.started, now);
    // A delay longer than the timeout would make every start fail; the
    // delay is what the user asked for, so it wins.
    const milliseconds limit = std::max(config.ready_timeout, config.ready_delay);
    if (age > limit) {
      return {Kind::kNotReadyInTime, age,
              fmt::format("not ready {} after start (ready_timeout {})",
                          config::format_duration(age), config::format_duration(config.ready_timeout))};
    }
  }
  if (w.state != WorkerState::kReady || config.heartbeat_timeout.count() == 0) return {};
  if (w.stopped_since) {
    const milliseconds age = since(*w.stopped_since, now);
    if (age > config.heartbeat_timeout) {
      return {Kind::kHung, age,
              fmt::format("stopped (SIGSTOP or a debugger) for {}", config::format_duration(age))};
    }
  }
  if (w.last_heartbeat) {
    const milliseconds age = since(*w.last_heartbeat, now);
    if (age > config.heartbeat_timeout) {
      return {Kind::kHung, age,
              fmt::format("no heartbeat for {} (heartbeat_timeout {})", config::format_duration(age),
                          config::format_duration(config.heartbeat_timeout))};
    }
  }
  return {};
}

milliseconds health_check_interval(const config::WorkerConfig& config) {
  milliseconds shortest{10'000};
  if (config.heartbeat_timeout.count() > 0) shortest = std::min(shortest, config.heartbeat_timeout);
  if (config.ready != config::ReadyMode::kStarted && config.ready_timeout.count() > 0) {
    shortest = std::min(shortest, config.ready_timeout);
  }
  return std::clamp(shortest / 10, milliseconds{10}, milliseconds{1000});
}

}  // namespace corral::supervisor
