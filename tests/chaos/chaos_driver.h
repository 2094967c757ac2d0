// Performs a ChaosSchedule on a live corral: signals its workers (found
// through the admin socket's status), asks for reloads and scales; and
// probes the admin socket's latency meanwhile.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "chaos_schedule.h"

namespace corral::testing {

using SteadyTime = std::chrono::steady_clock::time_point;

struct PerformedAction {
  SteadyTime at;
  ChaosKind kind = ChaosKind::kSigkill;
  pid_t pid = 0;       // the worker signalled; 0 if there was none to signal
  bool done = false;   // signal delivered; scale or reload answered ok
  std::string detail;  // the admin reply's error, for the report
};

struct ChaosTally {
  int kills = 0;          // signals delivered (sigkill + sigsegv + sigstop)
  int attempted[5] = {};  // actions the schedule handed out, in ChaosKind order
  int by_kind[5] = {};    // of those, performed (kills: delivered; others: answered ok)
  int reloads_done = 0;
  int reloads_refused = 0;  // another reload was under way
  int reloads_aborted = 0;  // a replacement died (killed by us) before it was ready
  int scales_done = 0;
  int missed = 0;  // a kill with no ready worker to hit
};

class ChaosDriver {
 public:
  ChaosDriver(pid_t corral, std::string admin_socket);
  ~ChaosDriver();  // waits for the reloads still under way
  ChaosDriver(const ChaosDriver&) = delete;
  ChaosDriver& operator=(const ChaosDriver&) = delete;

  // Performs `schedule`'s actions until `duration` has passed, then its
  // finish() (back to the initial count).
  void run(ChaosSchedule& schedule, std::chrono::milliseconds duration);
  // Waits for the reload replies and sums up what was done.
  ChaosTally tally();
  const std::vector<PerformedAction>& actions() const { return actions_; }

 private:
  void perform(const ChaosAction& action);
  // pids of the workers status shows ready, in id order.
  std::vector<pid_t> ready_workers();
  // Signals `pid` only if it is still corral's child (not a recycled pid).
  bool signal_worker(pid_t pid, int signum);

  pid_t corral_;
  std::string socket_;
  std::vector<PerformedAction> actions_;
  // Reloads answer when they end; the schedule goes on meanwhile.
  std::vector<std::pair<size_t, std::future<std::optional<nlohmann::json>>>> reloads_;
};

struct LatencySummary {
  size_t calls = 0;
  size_t unanswered = 0;  // no reply within the probe's timeout
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

// Calls status on the admin socket every `interval` from its own thread and
// records how long each answer took.
class StatusProbe {
 public:
  StatusProbe(std::string admin_socket, std::chrono::milliseconds interval);
  ~StatusProbe();  // stops and joins
  StatusProbe(const StatusProbe&) = delete;
  StatusProbe& operator=(const StatusProbe&) = delete;
  LatencySummary stop();

 private:
  std::string socket_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> stop_{false};
  std::vector<double> latencies_ms_;  // the probe thread's until stop() joins it
  size_t unanswered_ = 0;
  std::thread thread_;
};

LatencySummary summarize(std::vector<double> latencies_ms, size_t unanswered);

}  // namespace corral::testing
