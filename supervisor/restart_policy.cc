#include "supervisor/restart_policy.h"

#include <algorithm>
#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "config/duration.h"

namespace corral::supervisor {
namespace {

using std::chrono::milliseconds;

milliseconds non_negative(milliseconds d) { return std::max(d, milliseconds{0}); }

}  // namespace

RestartTracker::RestartTracker(const config::RestartConfig& config) : config_(config) {
  config_.max_restarts = std::max(config_.max_restarts, 0);
  config_.backoff_max = non_negative(config_.backoff_max);
  config_.backoff_initial = std::min(non_negative(config_.backoff_initial), config_.backoff_max);
}

RestartDecision RestartTracker::on_exit(ExitStatus status, TimePoint started, TimePoint now,
                                        double jitter) {
  using Kind = RestartDecision::Kind;
  const std::string exit = status.describe();

  switch (config_.policy) {
    case config::RestartPolicy::kNever:
      return {Kind::kStop, milliseconds{0}, exit + "; restart policy is never"};
    case config::RestartPolicy::kOnFailure:
      if (status.clean()) {
        return {Kind::kStop, milliseconds{0}, exit + "; restart policy is on-failure"};
      }
      break;
    case config::RestartPolicy::kAlways:
      break;
  }

  while (!recent_.empty() && now - recent_.front() >= config_.window) recent_.pop_front();
  if (static_cast<int>(recent_.size()) >= config_.max_restarts) {
    if (config_.max_restarts == 0) {
      return {Kind::kGiveUp, milliseconds{0}, exit + "; max_restarts is 0, giving up"};
    }
    return {Kind::kGiveUp, milliseconds{0},
            fmt::format("{}; {} restarts within {}, giving up", exit, config_.max_restarts,
                        config::format_duration(config_.window))};
  }
  const auto uptime = non_negative(std::chrono::duration_cast<milliseconds>(now - started));
  if (uptime < config_.min_uptime && early_exits_ >= config_.max_restarts &&
      config_.max_restarts > 0) {
    return {Kind::kGiveUp, milliseconds{0},
            fmt::format("{}; {} early exits in a row (never up {}), giving up", exit,
                        early_exits_ + 1, config::format_duration(config_.min_uptime))};
  }
  recent_.push_back(now);
  ++restarts_;

  if (uptime >= config_.min_uptime) {
    early_exits_ = 0;
    return {Kind::kRestart, milliseconds{0},
            fmt::format("{}; up {}, restarting now", exit, config::format_duration(uptime))};
  }
  if (early_exits_ < INT_MAX) ++early_exits_;
  const milliseconds delay = backoff(jitter);
  return {Kind::kRestart, delay,
          fmt::format("{}; up {}, early exit {} in a row, restarting in {}", exit,
                      config::format_duration(uptime), early_exits_,
                      config::format_duration(delay))};
}

void RestartTracker::reset() {
  recent_.clear();
  early_exits_ = 0;
}

milliseconds RestartTracker::backoff(double jitter) const {
  // The nominal step: doubled per early exit after the first, stopping at
  // the cap (which also keeps the doubling from overflowing).
  const milliseconds cap = config_.backoff_max;
  milliseconds step = config_.backoff_initial;
  for (int i = 1; i < early_exits_ && step < cap; ++i) {
    step = step > cap / 2 ? cap : step * 2;
  }
  if (!(jitter >= 0.0)) jitter = 0.0;  // also catches NaN
  jitter = std::min(jitter, 1.0);
  // Rounded down so the result never exceeds the step.
  const double scaled = static_cast<double>(step.count()) * (1.0 - jitter / 4.0);
  return milliseconds{static_cast<milliseconds::rep>(std::floor(scaled))};
}

}  // namespace corral::supervisor
