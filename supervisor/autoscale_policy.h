// The autoscaler: how many workers the [[autoscale.rule]]s ask for, given
// one load sample per `interval`. Pure policy: the caller samples /proc and
// shared memory, passes the readings with their time, and performs what it
// is told; tests drive it with plain TimePoint arithmetic.
//
// The rules, in the order they apply at each sample:
//  1. Bounds. The count stays within [min, max] of the configuration (max
//     unset: the machine's limit). A current count outside is brought
//     inside at once, whatever the rules say. Rules never add workers past
//     `Limits::machine_max` (a `max` above it is capped, and the reason says
//     so); min wins over the machine, and the machine's limit alone never
//     removes workers (it moves with other programs' memory).
//  2. Windows. A rule's condition (metric strictly above / below its
//     threshold) must hold at every sample for `hold`: one sample where it
//     does not, or where the metric has no value, starts the wait over. A
//     metric without a value never satisfies a condition: rules on
//     inflight/rps stay quiet for workers that do not publish them.
//  3. Cooldown. A rule whose window has passed fires only if its cooldown
//     has passed since the last scale event in its direction (up for above
//     rules, down for below rules; clamps of rule 1 count by their sign).
//  4. Up wins. If any above rule fires, the count grows by the largest step
//     among those that fire, up to the upper bound. Otherwise, if no above
//     rule's condition holds at all (even one not held long enough) and a
//     below rule fires, the count shrinks by the smallest step among those
//     that fire, down to min, and further limited so that the same total
//     load over fewer workers (per-worker value x serving / new count)
//     would not make any above rule on cpu, inflight or rps hold: removing
//     a worker must not by itself call for adding one back.
//  5. Settling. After any change (including a clamp) every rule's window
//     starts over at the next sample: the new count must show its effect
//     before another decision.
// Together, 2, 4 and 5 mean a signal hovering at a threshold causes no
// up-down-up flapping: an up needs `hold` of continuous excess, and a down
// never comes while any up condition holds or would hold after it.
//
// How the supervisor drives it: one on_sample per `interval` while the
// count is not pinned, with `current` = the desired count it keeps; it
// performs each Decision (a returned decision has already started the
// cooldown). While `corral scale N` pins the count, no samples; on
// `corral scale auto`, restart_windows(). Starting counts go through
// clamp(). A reload with new [autoscale] values builds a new Autoscaler
// (cooldowns start afresh).
//
// Used only from the supervisor's loop thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "supervisor/restart_policy.h"  // Clock, TimePoint

namespace corral::supervisor {

// One sampling round, averaged over the workers that serve (ready, not
// draining). A field is nullopt when nothing was measured: no serving
// worker, the first round of a delta (cpu, rps), or no worker publishing
// the figure through the library (inflight, rps). Never 0 for "unknown".
struct LoadSample {
  TimePoint at;
  int workers = 0;                    // serving now
  std::optional<double> cpu_percent;  // average % of one core per worker
  std::optional<double> rss_bytes;    // average RSS per worker, children included
  std::optional<double> inflight;     // average in-flight requests per worker
  std::optional<double> rps;          // average requests/s per worker

  std::optional<double> value(config::AutoscaleRule::Metric metric) const;
};

// What the machine holds, computed by the caller from its CPUs and memory.
// Values below 1 count as 1.
struct Limits {
  int machine_max = config::kMaxWorkers;
};

class Autoscaler {
 public:
  explicit Autoscaler(config::AutoscaleConfig config);

  struct Decision {
    int desired = 0;
    int rule = -1;       // index into config().rules of the rule that fired; -1 for a clamp
    std::string reason;  // the numbers: "cpu 82.1% above 75% for 30s (rule 1): 4 -> 6 workers"
  };

  // `current`: the desired count now. Returns the new desired count, or
  // nullopt when nothing changes. Samples must come in time order.
  std::optional<Decision> on_sample(const LoadSample& sample, int current, const Limits& limits);

  // Where rules may take the count: [min, upper] with upper = min(max or
  // machine_max, machine_max), never below min. Also what a starting count
  // ([worker] count, --workers, one per CPU) is clamped into.
  int lower() const { return config_.min; }
  int upper(const Limits& limits) const;
  int clamp(int count, const Limits& limits) const;

  // Starts every rule's window over, e.g. when `corral scale auto` hands
  // the count back to the rules after it was pinned. Cooldowns are kept.
  void restart_windows();

  // For status, per rule in config order.
  struct RuleState {
    std::optional<double> value;             // the metric at the last sample
    std::optional<TimePoint> holding_since;  // condition held at every sample since then
  };
  const std::vector<RuleState>& rule_states() const { return states_; }
  std::optional<TimePoint> last_scale_up() const { return last_up_; }
  std::optional<TimePoint> last_scale_down() const { return last_down_; }
  const config::AutoscaleConfig& config() const { return config_; }

 private:
  bool fires(size_t rule, TimePoint now) const;
  int removable(const LoadSample& sample, int current, int step) const;
  Decision scaled(TimePoint now, int current, int desired, std::string reason, int rule);

  config::AutoscaleConfig config_;
  std::vector<RuleState> states_;  // one per rule
  std::optional<TimePoint> last_up_;
  std::optional<TimePoint> last_down_;
};

// "cpu 82.1%", "memory 312.4MiB", "inflight 3.2", "rps 120.5/s": a reading
// as reasons and status show it.
std::string describe_value(config::AutoscaleRule::Metric metric, double value);
// "75%", "300MiB", "8", "100/s": a threshold as the configuration wrote it.
std::string describe_threshold(config::AutoscaleRule::Metric metric, double threshold);

}  // namespace corral::supervisor
