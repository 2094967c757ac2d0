#include "chaos_driver.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "base/unique_fd.h"
#include "harness.h"

namespace corral::testing {
namespace {

using Clock = std::chrono::steady_clock;

int signal_of(ChaosKind kind) {
  switch (kind) {
    case ChaosKind::kSigkill:
      return SIGKILL;
    case ChaosKind::kSigsegv:
      return SIGSEGV;
    case ChaosKind::kSigstop:
      return SIGSTOP;
    default:
      return 0;
  }
}

// The parent pid in /proc/PID/stat; 0 if gone.
pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return 0;
  const auto close_paren = content.rfind(')');
  if (close_paren == std::string::npos || content.size() < close_paren + 4) return 0;
  // ") S PPID ..."
  return static_cast<pid_t>(std::atoi(content.c_str() + close_paren + 4));
}

}  // namespace

ChaosDriver::ChaosDriver(pid_t corral, std::string admin_socket)
    : corral_(corral), socket_(std::move(admin_socket)) {}

ChaosDriver::~ChaosDriver() {
  for (auto& [index, reply] : reloads_) {
    if (reply.valid()) reply.wait();
  }
}

std::vector<pid_t> ChaosDriver::ready_workers() {
  std::vector<pid_t> out;
  auto status = admin_call(socket_, {{"cmd", "status"}}, 5s);
  if (!status || !status->contains("workers") || !(*status)["workers"].is_array()) return out;
  std::map<int, pid_t> by_id;
  for (const auto& w : (*status)["workers"]) {
    if (w.value("state", "") == "ready" && w.value("pid", 0) > 0) {
      by_id.emplace(w.value("id", 0), w["pid"].get<pid_t>());
    }
  }
  for (const auto& [id, pid] : by_id) out.push_back(pid);
  return out;
}

bool ChaosDriver::signal_worker(pid_t pid, int signum) {
  // Through a pidfd: if the worker was reaped and its pid reused between
  // the check and the signal, the pidfd still names the dead process and
  // the signal goes nowhere.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd || parent_of(pid) != corral_) return false;
  return ::syscall(SYS_pidfd_send_signal, pidfd.get(), signum, nullptr, 0) == 0;
}

void ChaosDriver::perform(const ChaosAction& action) {
  PerformedAction done;
  done.at = Clock::now();
  done.kind = action.kind;
  if (is_kill(action.kind)) {
    const auto pids = ready_workers();
    if (!pids.empty()) {
      done.pid = pids[action.pick % pids.size()];
      done.at = Clock::now();
      done.done = signal_worker(done.pid, signal_of(action.kind));
    }
  } else if (action.kind == ChaosKind::kScale) {
    auto reply = admin_call(socket_, {{"cmd", "scale"}, {"workers", action.scale_to}}, 10s);
    done.done = reply && reply->value("ok", false);
    if (!done.done) done.detail = reply ? reply->dump() : "no reply";
  } else {
    // Not awaited here: a reload answers when every worker was replaced.
    reloads_.emplace_back(actions_.size(), std::async(std::launch::async, [socket = socket_] {
                            return admin_call(socket, {{"cmd", "reload"}}, 120s);
                          }));
  }
  actions_.push_back(std::move(done));
}

void ChaosDriver::run(ChaosSchedule& schedule, std::chrono::milliseconds duration) {
  const auto end = Clock::now() + duration;
  for (;;) {
    const ChaosAction action = schedule.next();
    // The pace is the schedule's: a fixed delay is the point here.
    const auto when = Clock::now() + action.delay;
    if (when >= end) break;
    std::this_thread::sleep_until(when);
    perform(action);
  }
  std::this_thread::sleep_until(end);
  perform(schedule.finish());
}

ChaosTally ChaosDriver::tally() {
  for (auto& [index, future] : reloads_) {
    if (!future.valid()) continue;
    const auto reply = future.get();
    PerformedAction& a = actions_[index];
    a.done = reply && reply->value("ok", false);
    if (!a.done) a.detail = reply ? reply->value("error", reply->dump()) : "no reply";
  }
  ChaosTally t;
  for (const auto& a : actions_) {
    ++t.attempted[static_cast<int>(a.kind)];
    if (is_kill(a.kind)) {
      if (a.pid == 0) ++t.missed;
      if (a.done) ++t.kills;
    }
    if (a.done) ++t.by_kind[static_cast<int>(a.kind)];
    if (a.kind == ChaosKind::kScale && a.done) ++t.scales_done;
    if (a.kind == ChaosKind::kReload) {
      if (a.done) {
        ++t.reloads_done;
      } else if (a.detail.find("under way") != std::string::npos) {
        ++t.reloads_refused;
      } else {
        ++t.reloads_aborted;
      }
    }
  }
  return t;
}

StatusProbe::StatusProbe(std::string admin_socket, std::chrono::milliseconds interval)
    : socket_(std::move(admin_socket)), interval_(interval) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const auto start = Clock::now();
      const auto reply = admin_call(socket_, {{"cmd", "status"}}, 5s);
      const auto took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (reply && reply->value("ok", false)) {
        latencies_ms_.push_back(took);
      } else {
        ++unanswered_;
      }
      std::this_thread::sleep_until(start + interval_);
    }
  });
}

StatusProbe::~StatusProbe() { stop(); }

LatencySummary StatusProbe::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return summarize(latencies_ms_, unanswered_);
}

LatencySummary summarize(std::vector<double> latencies_ms, size_t unanswered) {
  LatencySummary s;
  s.calls = latencies_ms.size() + unanswered;
  s.unanswered = unanswered;
  if (latencies_ms.empty()) return s;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  // Nearest rank: the smallest value with at least q of the calls at or below it.
  auto rank = [&](double q) {
    const auto i = static_cast<size_t>(std::ceil(q * static_cast<double>(latencies_ms.size())));
    return latencies_ms[std::clamp<size_t>(i, 1, latencies_ms.size()) - 1];
  };
  s.p50_ms = rank(0.50);
  s.p99_ms = rank(0.99);
  s.max_ms = latencies_ms.back();
  return s;
}

}  // namespace corral::testing
