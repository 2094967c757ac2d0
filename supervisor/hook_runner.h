// Event hooks ([[hook]] in the configuration, docs/hooks.md): on an event
// the supervisor reports (a crash, a hang, a slot giving up, a scale, a
// reload, a memory replacement), each hook subscribed to it runs its
// command with the event as one JSON line on stdin. Hooks are for alerting
// (post to a webhook, send mail); they never hold up or endanger the loop:
// - at most max_running run at once; further runs wait in a queue of at most
//   max_queued, beyond which they are dropped, counted, and logged once per
//   burst;
// - a hook still running after its timeout is SIGKILLed with its whole
//   process group;
// - a hook that cannot start, exits non-zero or times out is logged with its
//   command, nothing more;
// - its stdout and stderr are logged line by line, "[hook crash 1234] ...",
//   as captured worker output is.
//
// Processes: hooks are started with process_launcher's launch() (fork +
// execve) rather than uv_spawn. corral reaps every child with
// waitpid(-1, WNOHANG) in its SIGCHLD handler (supervisor.cc); uv_spawn's own
// SIGCHLD handling calls waitpid() on each of its pids and would race with
// that reaper: whichever runs first takes the status, and libuv's exit
// callback then never fires (or the supervisor sees a pid it does not know).
// So the reaper owns all waiting: it hands every pid that is not a worker to
// on_child_exited(), and this class never calls waitpid(). launch() also
// gives what a hook must have: its own process group (killed whole at the
// timeout), PR_SET_PDEATHSIG (it dies with corral), and none of corral's
// fds (listening sockets, admin and notify sockets, the log file).
//
// Runs on the supervisor's loop thread only; not thread-safe.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json.hpp>

#include "config/config.h"

namespace corral::supervisor {

class HookRunner {
 public:
  using Event = config::HookConfig::Event;

  struct Limits {
    size_t max_running = 4;
    size_t max_queued = 64;
  };

  // `service` is the configuration's name, given to hooks as "service".
  HookRunner(uv_loop_t* loop, std::vector<config::HookConfig> hooks,
             std::shared_ptr<spdlog::logger> log, std::string service, Limits limits);
  HookRunner(uv_loop_t* loop, std::vector<config::HookConfig> hooks,
             std::shared_ptr<spdlog::logger> log, std::string service)
      : HookRunner(loop, std::move(hooks), std::move(log), std::move(service), Limits{}) {}
  // SIGKILLs the process group of every hook still running; they are left
  // for the reaper (or for corral's own exit).
  ~HookRunner();
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // After a reload: later events run these hooks. Runs already started or
  // queued keep the command they were queued with.
  void set_hooks(std::vector<config::HookConfig> hooks);

  // Told of each hook's process group when it starts (live = true) and once
  // it has ended (false): for the guardian, so that what a hook started
  // dies with corral even when corral is SIGKILLed (the hook itself has
  // PR_SET_PDEATHSIG).
  void observe_groups(std::function<void(pid_t pgid, bool live)> observer) {
    observe_groups_ = std::move(observer);
  }

  // Whether any hook listens to `event`: callers may skip building fields.
  bool wants(Event event) const;

  // Queues one run of every hook subscribed to `event` and starts as many as
  // the limit allows; returns at once. `fields` (an object) describes the
  // event (docs/hooks.md); "event", "time" (RFC 3339, UTC), "service" and
  // "host" are added, and come first in the JSON line.
  void fire(Event event, const nlohmann::json& fields);

  // For the SIGCHLD reaper: true if `pid` is a hook this runner started
  // (then `wait_status` is consumed: the run is finished and logged, and a
  // queued one starts); false for any other pid. Stop and continue reports
  // of a hook are taken and ignored.
  bool on_child_exited(pid_t pid, int wait_status);

  // Calls `done` once nothing runs and nothing waits (at once if so now):
  // for a shutdown that lets the "failed" alert go out. Each hook is bounded
  // by its timeout. One callback at a time; a later call replaces it.
  void when_idle(std::function<void()> done);

  size_t running() const { return running_.size(); }
  size_t queued() const { return queue_.size(); }
  // Counters since start, for metrics.
  uint64_t dropped() const { return dropped_total_; }
  uint64_t failed() const { return failed_total_; }      // spawn errors, exit != 0, timeouts
  uint64_t finished() const { return finished_total_; }  // every run that ended, failed ones too

 private:
  struct Job {
    Event event;
    std::vector<std::string> command;
    config::Duration timeout;
    std::string payload;  // the JSON line, newline included
  };
  struct Run;

  void start_more();
  void start(Job job);
  void on_timeout(Run& run);
  void finish(std::vector<std::unique_ptr<Run>>::iterator it, int wait_status);
  void check_idle();
  std::vector<std::string> environment(Event event) const;

  uv_loop_t* loop_;
  std::vector<config::HookConfig> hooks_;
  std::shared_ptr<spdlog::logger> log_;
  std::string service_;
  std::string host_;
  Limits limits_;
  std::deque<Job> queue_;
  std::vector<std::unique_ptr<Run>> running_;
  std::function<void()> on_idle_;
  std::function<void(pid_t, bool)> observe_groups_;
  uint64_t dropped_total_ = 0;
  uint64_t dropped_in_burst_ = 0;  // since the queue was last found full
  uint64_t failed_total_ = 0;
  uint64_t finished_total_ = 0;
};

// `argv` for a log line: arguments joined with spaces, those with spaces
// or quotes single-quoted; at most about 200 characters.
std::string describe_command(const std::vector<std::string>& argv);

}  // namespace corral::supervisor
