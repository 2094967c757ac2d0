#include "supervisor/autoscale_policy.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "config/duration.h"

namespace corral::supervisor {
namespace {

using Metric = config::AutoscaleRule::Metric;
using Direction = config::AutoscaleRule::Direction;
using std::chrono::milliseconds;

std::string human_bytes(double bytes) {
  constexpr double kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes >= kGiB) return fmt::format("{:.2f}GiB", bytes / kGiB);
  if (bytes >= kMiB) return fmt::format("{:.1f}MiB", bytes / kMiB);
  if (bytes >= kKiB) return fmt::format("{:.1f}KiB", bytes / kKiB);
  return fmt::format("{:.0f}B", bytes);
}

// How long a condition held, as a reason shows it: whole seconds from 1s on
// (samples rarely fall on exact milliseconds), else milliseconds.
std::string held_for(milliseconds held) {
  if (held >= std::chrono::seconds{1}) {
    return config::format_duration(std::chrono::floor<std::chrono::seconds>(held));
  }
  return config::format_duration(held);
}

// Metrics whose per-worker value falls as workers are added (the load is
// shared); memory per worker does not.
bool shared_load(Metric m) { return m != Metric::kMemory; }

}  // namespace

std::optional<double> LoadSample::value(Metric metric) const {
  if (workers <= 0) return std::nullopt;  // nothing serving, nothing measured
  std::optional<double> v;
  switch (metric) {
    case Metric::kCpu:
      v = cpu_percent;
      break;
    case Metric::kMemory:
      v = rss_bytes;
      break;
    case Metric::kInflight:
      v = inflight;
      break;
    case Metric::kRps:
      v = rps;
      break;
  }
  if (v && !std::isfinite(*v)) return std::nullopt;
  return v;
}

std::string describe_value(Metric metric, double value) {
  switch (metric) {
    case Metric::kCpu:
      return fmt::format("cpu {:.1f}%", value);
    case Metric::kMemory:
      return "memory " + human_bytes(value);
    case Metric::kInflight:
      return fmt::format("inflight {:.1f}", value);
    case Metric::kRps:
      return fmt::format("rps {:.1f}/s", value);
  }
  return "?";
}

std::string describe_threshold(Metric metric, double threshold) {
  switch (metric) {
    case Metric::kCpu:
      return fmt::format("{}%", threshold);
    case Metric::kMemory:
      return config::format_size(static_cast<uint64_t>(threshold));
    case Metric::kInflight:
      return fmt::format("{}", threshold);
    case Metric::kRps:
      return fmt::format("{}/s", threshold);
  }
  return "?";
}

Autoscaler::Autoscaler(config::AutoscaleConfig config)
    : config_(std::move(config)), states_(config_.rules.size()) {
  config_.min = std::clamp(config_.min, 1, config::kMaxWorkers);
  if (config_.max) config_.max = std::clamp(*config_.max, config_.min, config::kMaxWorkers);
}

int Autoscaler::upper(const Limits& limits) const {
  const int machine = std::clamp(limits.machine_max, 1, config::kMaxWorkers);
  return std::max(config_.min, std::min(config_.max.value_or(machine), machine));
}

int Autoscaler::clamp(int count, const Limits& limits) const {
  return std::clamp(count, config_.min, upper(limits));
}

void Autoscaler::restart_windows() {
  for (RuleState& s : states_) s.holding_since.reset();
}

bool Autoscaler::fires(size_t i, TimePoint now) const {
  const config::AutoscaleRule& rule = config_.rules[i];
  const RuleState& state = states_[i];
  if (!state.holding_since || now - *state.holding_since < rule.hold) return false;
  const std::optional<TimePoint>& last =
      rule.direction == Direction::kAbove ? last_up_ : last_down_;
  return !last || now - *last >= rule.cooldown;
}

// How many of `step` workers can go without the same total load, spread
// over the rest, making an above rule on a shared-load metric hold.
int Autoscaler::removable(const LoadSample& sample, int current, int step) const {
  int k = step;
  for (const config::AutoscaleRule& rule : config_.rules) {
    if (rule.direction != Direction::kAbove || !shared_load(rule.metric)) continue;
    const std::optional<double> v = sample.value(rule.metric);
    if (!v) continue;
    const double total = *v * sample.workers;
    while (k > 0 && total / (current - k) > rule.threshold) --k;
  }
  return k;
}

Autoscaler::Decision Autoscaler::scaled(TimePoint now, int current, int desired, std::string reason,
                                        int rule) {
  (desired > current ? last_up_ : last_down_) = now;
  restart_windows();
  return Decision{desired, rule, std::move(reason)};
}

std::optional<Autoscaler::Decision> Autoscaler::on_sample(const LoadSample& sample, int current,
                                                          const Limits& limits) {
  const TimePoint now = sample.at;

  // Windows first, so that status shows this sample's values whatever follows.
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    const config::AutoscaleRule& rule = config_.rules[i];
    RuleState& state = states_[i];
    state.value = sample.value(rule.metric);
    const bool holds =
        state.value && (rule.direction == Direction::kAbove ? *state.value > rule.threshold
                                                            : *state.value < rule.threshold);
    if (!holds) {
      state.holding_since.reset();
    } else if (!state.holding_since) {
      state.holding_since = now;
    }
  }

  // 1. Bounds of the configuration, at once.
  if (current < config_.min) {
    return scaled(now, current, config_.min,
                  fmt::format("count {} is below [autoscale] min {}: {} -> {} workers", current,
                              config_.min, current, config_.min),
                  -1);
  }
  if (config_.max && current > *config_.max) {
    return scaled(now, current, *config_.max,
                  fmt::format("count {} is above [autoscale] max {}: {} -> {} workers", current,
                              *config_.max, current, *config_.max),
                  -1);
  }

  // The reason of rule i's decision, before the note on limits.
  const auto because = [&](size_t i, int desired) {
    const config::AutoscaleRule& rule = config_.rules[i];
    return fmt::format(
        "{} {} {} for {} (rule {}): {} -> {} workers",
        describe_value(rule.metric, *states_[i].value), config::to_string(rule.direction),
        describe_threshold(rule.metric, rule.threshold),
        held_for(std::chrono::duration_cast<milliseconds>(now - *states_[i].holding_since)), i + 1,
        current, desired);
  };

  // 4. Up wins: the largest step among the above rules that fire.
  int up = -1;
  bool up_holds = false;
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    if (config_.rules[i].direction != Direction::kAbove) continue;
    up_holds = up_holds || states_[i].holding_since.has_value();
    if (fires(i, now) && (up < 0 || config_.rules[i].step > config_.rules[up].step)) {
      up = static_cast<int>(i);
    }
  }
  if (up >= 0) {
    const int hi = upper(limits);
    if (current >= hi) return std::nullopt;  // at the top: nothing to do
    const int wanted = current + config_.rules[up].step;
    const int desired = std::min(wanted, hi);
    std::string reason = because(static_cast<size_t>(up), desired);
    if (desired < wanted) {
      const int machine = std::clamp(limits.machine_max, 1, config::kMaxWorkers);
      if (config_.max && *config_.max <= machine) {
        reason += fmt::format(" (capped at max {})", *config_.max);
      } else if (config_.max) {
        reason += fmt::format(" (max {} capped to {} by what the machine holds)", *config_.max, hi);
      } else {
        reason += fmt::format(" (capped at {}, what the machine holds)", hi);
      }
    }
    return scaled(now, current, desired, std::move(reason), up);
  }
  if (up_holds) return std::nullopt;  // never down while any up condition holds

  // The smallest step among the below rules that fire.
  int down = -1;
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    if (config_.rules[i].direction != Direction::kBelow) continue;
    if (fires(i, now) && (down < 0 || config_.rules[i].step < config_.rules[down].step)) {
      down = static_cast<int>(i);
    }
  }
  if (down < 0) return std::nullopt;
  const int step = config_.rules[down].step;
  const int within_min = std::min(step, current - config_.min);
  if (within_min <= 0) return std::nullopt;  // at the bottom
  const int k = removable(sample, current, within_min);
  if (k <= 0) return std::nullopt;  // fewer workers would call for more at once
  const int desired = current - k;
  std::string reason = because(static_cast<size_t>(down), desired);
  if (k < within_min) {
    reason += fmt::format(" ({} of {}: the same load on fewer workers would trigger a scale-up)", k,
                          step);
  } else if (within_min < step) {
    reason += fmt::format(" (at min {})", config_.min);
  }
  return scaled(now, current, desired, std::move(reason), down);
}

}  // namespace corral::supervisor
