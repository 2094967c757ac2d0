// corral's Prometheus metrics (docs/metrics.md). Counters of events the
// loop reports as they happen (restarts, reloads, scale events, admin
// requests), and gauges read at each scrape from the status object the
// admin socket serves (docs/admin-protocol.md), so that both always agree.
// Rendered by hand in the text exposition format 0.0.4: a few hundred bytes
// of code instead of a library in corral's memory.
//
// Runs on the supervisor's loop; no locks. Every label value comes from a
// fixed list or is a worker id (0..desired-1, never a pid), so the number of
// series stays bounded however many processes come and go.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace corral::supervisor {

// corral's own process, for the standard process_* metrics.
struct SelfUsage {
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
  uint64_t open_fds = 0;
};

class Metrics {
 public:
  // The label values; anything else is counted as "other".
  static constexpr std::array<std::string_view, 6> kRestartReasons = {
      "crash", "hung", "not_ready", "memory", "corrupt_shm", "failed_start"};
  // admin: `corral scale`; signal: TTIN/TTOU; reload: a reload's new `count`.
  static constexpr std::array<std::string_view, 4> kScaleCauses = {"autoscale", "admin", "signal",
                                                                   "reload"};
  static constexpr std::array<std::string_view, 6> kAdminCommands = {
      "status", "scale", "reload", "restart", "stop", "version"};
  // Every state a workers[] entry can have, rendered even when 0.
  static constexpr std::array<std::string_view, 7> kWorkerStates = {
      "starting", "ready", "draining", "stopping", "backoff", "failed", "stopped"};

  explicit Metrics(std::string version = default_version(),
                   std::chrono::system_clock::time_point started = std::chrono::system_clock::now());

  // A worker process ended and its slot will get a new one (or gave up),
  // for `reason`: one of kRestartReasons.
  void on_restart(std::string_view reason);
  // A reload (or restart ID) ended: replaced everything, or aborted.
  void on_reload(bool ok);
  // The desired count changed from `from` to `to` (nothing when equal).
  void on_scale(int from, int to, std::string_view cause);
  // An admin request was answered; `cmd` as the client sent it.
  void on_admin_request(std::string_view cmd, bool ok);

  // The whole exposition. `status` is Supervisor's status object; fields it
  // lacks are left out, not invented. `self` adds process_* metrics.
  std::string render(const nlohmann::json& status,
                     const std::optional<SelfUsage>& self = std::nullopt) const;

  static std::string default_version();

 private:
  static constexpr size_t kOther = static_cast<size_t>(-1);

  std::string version_;
  double start_time_seconds_;
  std::array<uint64_t, kRestartReasons.size() + 1> restarts_{};  // last: other
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  // [up, down] x causes (+ other)
  std::array<std::array<uint64_t, kScaleCauses.size() + 1>, 2> scale_events_{};
  // commands (+ other) x [ok, error]
  std::array<std::array<uint64_t, 2>, kAdminCommands.size() + 1> admin_requests_{};
};

// What /health/ready answers: ok when at least `min_ready` worker ids have
// a ready process (an old process serving while its replacement starts
// counts for its id) and the service is not stopping. `message` is one
// line for the response body: "ready: 2 of 2 workers ready",
// "not ready: 0 of 2 workers ready, 1 needed", "not ready: stopping".
struct ProbeResult {
  bool ok = true;
  std::string message;
};
ProbeResult readiness(const nlohmann::json& status, int min_ready);

// A label value in the exposition format: \ " and newline escaped.
std::string escape_label_value(std::string_view value);

// process_* figures for corral itself from /proc/self; nullopt if unreadable.
std::optional<SelfUsage> read_self_usage();

}  // namespace corral::supervisor
