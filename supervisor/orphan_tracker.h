// Finds, keeps and stops what workers leave behind (supervisor/orphans.h
// says whose each one is). corral becomes a child subreaper, so such
// processes become its children; there is no event for that, so corral
// looks at its children list (/proc/self/task/*/children) once a second
// and whenever a worker exits. An orphan whose worker runs is kept; when
// the worker exits (or was gone already), the orphan gets the worker's
// stop_signal, then SIGKILL after drain_timeout. The SIGCHLD reaper reaps
// them like any child and tells the tracker.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "config/config.h"
#include "supervisor/uv_handle.h"

namespace corral::supervisor {

class OrphanTracker {
 public:
  // The worker id of a live worker process of ours with this pid, if any.
  using WorkerId = std::function<std::optional<int>(pid_t)>;

  // `worker` is read at each stop (a reload may change its signal and
  // timeout); it must outlive the tracker.
  OrphanTracker(uv_loop_t* loop, std::shared_ptr<spdlog::logger> log,
                const config::WorkerConfig& worker, WorkerId worker_id);
  ~OrphanTracker();  // SIGKILLs the orphans still tracked
  OrphanTracker(const OrphanTracker&) = delete;
  OrphanTracker& operator=(const OrphanTracker&) = delete;

  // Makes corral a subreaper and starts the periodic look. Call before
  // the first worker starts.
  void start();
  // Looks for new orphans now.
  void scan();
  // A worker process exited: its orphans are stopped.
  void on_worker_exited(pid_t worker, int id);
  // corral stops: every orphan is stopped (`now`: with SIGKILL at once).
  void stop_all(bool now);
  // For the reaper: true if `pid` was a tracked orphan (then forgotten).
  bool on_reaped(pid_t pid, int wait_status);
  size_t count() const { return orphans_.size(); }

 private:
  struct Orphan {
    OrphanTracker* tracker = nullptr;
    pid_t pid = 0;
    pid_t worker = 0;
    int worker_id = -1;
    bool leads_group = false;
    std::string command;
    bool stopping = false;
    UvHandle<uv_timer_t> kill_timer;
  };

  void adopt(pid_t pid);
  void stop(Orphan& orphan, bool now);
  void kill(const Orphan& orphan, int signal) const;
  std::string describe_worker(const Orphan& orphan) const;

  uv_loop_t* loop_;
  std::shared_ptr<spdlog::logger> log_;
  const config::WorkerConfig& worker_;
  WorkerId worker_id_;
  pid_t self_;
  bool stopping_all_ = false;
  pid_t exiting_worker_ = 0;  // during on_worker_exited: its group is being SIGKILLed
  UvHandle<uv_timer_t> scan_timer_;
  std::vector<std::unique_ptr<Orphan>> orphans_;
  std::set<pid_t> not_ours_;  // children without our mark (hooks, the guardian): not read again
  std::map<pid_t, int> exited_;  // recently exited workers: pid -> id, for messages
};

}  // namespace corral::supervisor
