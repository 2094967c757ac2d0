// A rolling replacement of workers (corral reload, corral restart ID) as a
// pure state machine: the loop reports what happened to each replacement,
// the plan answers which replacements to start, which old workers may now
// drain, and which replacements to undo. No clock and no process here; the
// readiness deadline is health_policy's.
//
// Replacements start `batch` at a time. An old worker drains as soon as its
// own replacement is ready; the next batch starts once the whole current
// one is ready. The first failure aborts the plan: the failed replacement
// and the rest of its batch are rolled back (their old workers keep
// serving); workers replaced before stay replaced.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace corral::supervisor {

struct ReloadSteps {
  std::vector<int> start;      // start a replacement for these worker ids
  std::vector<int> retire;     // their replacement is ready: drain the old worker
  std::vector<int> roll_back;  // stop the replacement, keep the old worker
  bool finished = false;       // nothing more will happen; see error
  std::optional<std::string> error;  // set when finished by a failure
};

class RollingReload {
 public:
  // `ids` in the order to replace them; batch >= 1.
  RollingReload(std::vector<int> ids, int batch);

  ReloadSteps begin();
  // The replacement of `id` became ready.
  ReloadSteps on_ready(int id);
  // The replacement of `id` failed before it was ready (exited, or missed
  // its ready_timeout); `why` is for the caller.
  ReloadSteps on_failed(int id, std::string why);
  // Worker `id` went away (scaled down) before its turn or during it:
  // nothing to replace any more.
  ReloadSteps on_gone(int id);
  // The whole plan is off (the service stops).
  ReloadSteps cancel(std::string why);

  bool replacing(int id) const;  // a replacement of `id` is starting
  bool finished() const { return finished_; }
  int replaced() const { return replaced_; }
  int total() const { return total_; }

 private:
  ReloadSteps advance(ReloadSteps steps);
  ReloadSteps abort(ReloadSteps steps, std::string why);

  std::vector<int> pending_;      // not started yet, in order
  std::vector<int> in_progress_;  // started, not ready yet
  int batch_;
  int replaced_ = 0;
  int total_;
  bool finished_ = false;
};

}  // namespace corral::supervisor
