#include "supervisor/rolling_reload.h"

#include <algorithm>

namespace corral::supervisor {
namespace {

bool erase_id(std::vector<int>& ids, int id) {
  auto it = std::find(ids.begin(), ids.end(), id);
  if (it == ids.end()) return false;
  ids.erase(it);
  return true;
}

}  // namespace

RollingReload::RollingReload(std::vector<int> ids, int batch)
    : pending_(std::move(ids)), batch_(std::max(batch, 1)), total_(static_cast<int>(pending_.size())) {}

ReloadSteps RollingReload::begin() { return advance({}); }

ReloadSteps RollingReload::advance(ReloadSteps steps) {
  if (finished_ || !in_progress_.empty()) return steps;
  if (pending_.empty()) {
    finished_ = true;
    steps.finished = true;
    return steps;
  }
  const auto n = std::min(pending_.size(), static_cast<size_t>(batch_));
  in_progress_.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
  steps.start.insert(steps.start.end(), in_progress_.begin(), in_progress_.end());
  return steps;
}

ReloadSteps RollingReload::on_ready(int id) {
  ReloadSteps steps;
  if (finished_ || !erase_id(in_progress_, id)) return steps;
  ++replaced_;
  steps.retire.push_back(id);
  return advance(std::move(steps));
}

ReloadSteps RollingReload::abort(ReloadSteps steps, std::string why) {
  steps.roll_back.insert(steps.roll_back.end(), in_progress_.begin(), in_progress_.end());
  in_progress_.clear();
  pending_.clear();
  finished_ = true;
  steps.finished = true;
  steps.error = std::move(why);
  return steps;
}

ReloadSteps RollingReload::on_failed(int id, std::string why) {
  if (finished_ || !replacing(id)) return {};
  return abort({}, std::move(why));
}

ReloadSteps RollingReload::on_gone(int id) {
  if (finished_) return {};
  --total_;
  if (erase_id(pending_, id)) return {};
  if (!erase_id(in_progress_, id)) {
    ++total_;  // replaced already, or never part of the plan
    return {};
  }
  return advance({});
}

ReloadSteps RollingReload::cancel(std::string why) {
  if (finished_) return {};
  return abort({}, std::move(why));
}

bool RollingReload::replacing(int id) const {
  return std::find(in_progress_.begin(), in_progress_.end(), id) != in_progress_.end();
}

}  // namespace corral::supervisor
