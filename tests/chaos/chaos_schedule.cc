#include "chaos_schedule.h"

#include <algorithm>
#include <iterator>

namespace corral::testing {

bool is_kill(ChaosKind kind) {
  return kind == ChaosKind::kSigkill || kind == ChaosKind::kSigsegv || kind == ChaosKind::kSigstop;
}

std::string_view kind_name(ChaosKind kind) {
  switch (kind) {
    case ChaosKind::kSigkill:
      return "sigkill";
    case ChaosKind::kSigsegv:
      return "sigsegv";
    case ChaosKind::kSigstop:
      return "sigstop";
    case ChaosKind::kReload:
      return "reload";
    case ChaosKind::kScale:
      return "scale";
  }
  return "?";
}

ChaosSchedule::ChaosSchedule(uint64_t seed, const ChaosConfig& config)
    : config_(config), rng_(seed), workers_(config.initial_workers) {
  // A range that cannot hold two counts has no scale to offer.
  if (config_.max_workers <= config_.min_workers) config_.weights[4] = 0;
  config_.max_delay = std::max(config_.max_delay, config_.min_delay);
}

ChaosAction ChaosSchedule::next() {
  ChaosAction a;
  std::uniform_int_distribution<int64_t> delay(config_.min_delay.count(),
                                               config_.max_delay.count());
  a.delay = std::chrono::milliseconds(delay(rng_));
  std::discrete_distribution<int> kind(std::begin(config_.weights), std::end(config_.weights));
  a.kind = static_cast<ChaosKind>(kind(rng_));
  a.pick = static_cast<uint32_t>(rng_());
  if (a.kind == ChaosKind::kScale) {
    // Any other count in the range: draw among the others, skip ours.
    std::uniform_int_distribution<int> to(config_.min_workers, config_.max_workers - 1);
    int n = to(rng_);
    if (n >= workers_) ++n;
    workers_ = n;
    a.scale_to = n;
  }
  return a;
}

ChaosAction ChaosSchedule::finish() const {
  ChaosAction a;
  a.kind = ChaosKind::kScale;
  a.scale_to = config_.initial_workers;
  return a;
}

}  // namespace corral::testing
