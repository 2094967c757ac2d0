#include "supervisor/supervisor.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config/duration.h"
#include "config/signals.h"
#include "supervisor/process_tree.h"
#include <sched.h>
#include "supervisor/runtime_dir.h"
#include "supervisor/worker_command.h"

extern char** environ;

namespace corral::supervisor {
namespace {

// After hang_signal, time for a core dump or a stack trace, then SIGKILL.
constexpr std::chrono::milliseconds kHangKillGrace{2000};
// How often shared memory is read for the readiness of a starting worker.
constexpr std::chrono::milliseconds kReadyPoll{5};

// A decision's reason opens with the exit it was fed ("exited with code 3;
// ..."), which the log line already states: keep what follows.
std::string_view why(const RestartDecision& decision) {
  std::string_view reason = decision.reason;
  const auto rest = reason.find("; ");
  return rest == std::string_view::npos ? reason : reason.substr(rest + 2);
}

std::string format_uptime(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 10'000) return fmt::format("{:.3f}s", static_cast<double>(ms) / 1000.0);
  return fmt::format("{}s", ms / 1000);
}

}  // namespace

int usable_cpu_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

int configured_worker_count(const config::Config& config) {
  if (config.worker.count) return *config.worker.count;
  return std::min(usable_cpu_count(), config::kMaxWorkers);
}

Supervisor::Supervisor(config::Config config, ListenSockets sockets, int worker_count,
                       std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)),
      sockets_(std::move(sockets)),
      log_(std::move(log)),
      rng_(std::random_device{}()) {
  uv_loop_init(&loop_);
  loop_.data = this;  // lets timer callbacks reach their supervisor
  for (char** e = environ; *e != nullptr; ++e) inherited_env_.emplace_back(*e);
  if (config_.autoscale) {
    autoscaler_.emplace(*config_.autoscale);
    // The starting count (count, --workers, one per CPU) within the rules' bounds.
    const int clamped = autoscaler_->clamp(worker_count, machine_limits(std::nullopt));
    if (clamped != worker_count) {
      log_->info("autoscale: starting {} workers instead of {} (min {}, max {})", clamped,
                 worker_count, autoscaler_->lower(), autoscaler_->upper(machine_limits(std::nullopt)));
      worker_count = clamped;
    }
  }
  for (int id = 0; id < worker_count; ++id) add_slot(id);
  uv_timer_init(&loop_, drain_timer_.get());
  drain_timer_.get()->data = this;
  uv_timer_init(&loop_, health_timer_.get());
  health_timer_.get()->data = this;
  uv_timer_init(&loop_, ready_poll_.get());
  ready_poll_.get()->data = this;
  uv_timer_init(&loop_, sample_timer_.get());
  sample_timer_.get()->data = this;
  uv_timer_init(&loop_, watchdog_timer_.get());
  watchdog_timer_.get()->data = this;
  hooks_ = std::make_unique<HookRunner>(&loop_, config_.hooks, log_, config_.name);
  // What a hook starts dies with corral too, even if corral is SIGKILLed.
  hooks_->observe_groups([this](pid_t group, bool live) {
    if (!guardian_) return;
    if (live) {
      guardian_->watch(group);
    } else {
      guardian_->forget(group);
    }
  });
  orphans_ = std::make_unique<OrphanTracker>(&loop_, log_, config_.worker, [this](pid_t pid) {
    const Found found = find_process(pid);
    return found.proc != nullptr ? std::optional<int>(found.proc->id) : std::nullopt;
  });
}

Supervisor::~Supervisor() {
  // Handles close through their owners; the loop must run once more so that
  // libuv can finish closing them before the loop itself goes.
  reload_.reset();
  slots_.clear();
  retiring_.clear();
  signals_.clear();
  notify_.reset();
  admin_.reset();
  metrics_http_.reset();
  hooks_.reset();
  orphans_.reset();
  shm_.reset();
  drain_timer_.close();
  health_timer_.close();
  ready_poll_.close();
  sample_timer_.close();
  watchdog_timer_.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

Supervisor::Slot& Supervisor::add_slot(int id) {
  auto slot = std::make_unique<Slot>(id, config_.restart);
  uv_timer_init(&loop_, slot->timer.get());
  slot->timer.get()->data = slot.get();
  slots_.push_back(std::move(slot));
  return *slots_.back();
}

Supervisor::Slot* Supervisor::find_slot(int id) {
  if (id < 0 || static_cast<size_t>(id) >= slots_.size()) return nullptr;
  return slots_[static_cast<size_t>(id)].get();
}

int Supervisor::run() {
  // First, while corral has no thread and no worker yet.
  if (auto guardian = Guardian::start(); guardian) {
    guardian_.emplace(std::move(*guardian));
  } else {
    log_->warn("{}; a worker's own children may outlive corral if it is killed",
               guardian.error().message);
  }
  for (int signum : {SIGINT, SIGTERM, SIGQUIT, SIGCHLD, SIGHUP, SIGTTIN, SIGTTOU}) {
    install_signal(signum);
  }
  orphans_->start();
  {
    auto credentials = config::resolve_credentials(config_.worker);
    auto access = WorkerAccess::create(
        config_.name, ::geteuid() == 0 && credentials && is_other_identity(*credentials));
    if (!access) {
      log_->error("{}", access.error().message);
      return 1;
    }
    worker_access_.emplace(std::move(*access));
  }
  // A worker's pipe or a client may go away while we write to it.
  ::signal(SIGPIPE, SIG_IGN);

  if (auto ok = start_notify_socket(); !ok) {
    if (config_.worker.ready == config::ReadyMode::kNotify) {
      log_->error("{}; ready = \"notify\" cannot work without it", ok.error().message);
      return 1;
    }
    log_->warn("{}; workers get no NOTIFY_SOCKET", ok.error().message);
  }
  if (auto ok = start_admin_socket(); !ok) {
    log_->error("{}", ok.error().message);
    return 1;
  }
  if (config_.metrics) {
    MetricsHttp::Handlers handlers;
    handlers.metrics = [this] { return metrics_.render(status_json(), read_self_usage()); };
    handlers.ready = [this] { return readiness(status_json(), config_.metrics->min_ready); };
    auto http = MetricsHttp::start(&loop_, config_.metrics->listen, std::move(handlers));
    if (!http) {
      log_->error("{}", http.error().message);
      return 1;
    }
    metrics_http_ = std::move(*http);
    log_->info("metrics: http://{}/metrics", metrics_http_->address().to_string());
  }
  start_shared_memory();
  start_health_timer();
  start_sampling();
  if (auto interval = notifier_.watchdog_interval()) {
    // Pinged from the loop itself: a loop that stops turning stops pinging.
    uv_timer_start(
        watchdog_timer_.get(),
        [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->notifier_.watchdog(); },
        0, static_cast<uint64_t>(std::max<int64_t>(interval->count(), 1)));
  }

  log_->info("corral '{}' starting {} worker{} on {}: {}", config_.name, slots_.size(),
             slots_.size() == 1 ? "" : "s", sockets_.describe(),
             fmt::join(config_.worker.command, " "));
  for (size_t i = 0; i < slots_.size() && !quitting_; ++i) {
    slots_[i]->state = WorkerState::kStarting;
    spawn(*slots_[i]);
  }
  check_finished();
  if (!quitting_) uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

void Supervisor::start_health_timer() {
  // The tick also beats corral's own heartbeat in the segment, which workers
  // use to tell whether their supervisor is alive; so it always runs.
  const auto interval = std::min(
      health_check_interval(config_.worker),
      std::chrono::milliseconds(ipc::kSupervisorHeartbeatPeriodNs / 1'000'000 / 2));
  uv_timer_start(
      health_timer_.get(),
      [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->check_health(); },
      static_cast<uint64_t>(interval.count()), static_cast<uint64_t>(interval.count()));
}

void Supervisor::install_signal(int signum) {
  UvHandle<uv_signal_t> handle;
  uv_signal_init(&loop_, handle.get());
  handle.get()->data = this;
  uv_signal_start(
      handle.get(),
      [](uv_signal_t* h, int sig) { static_cast<Supervisor*>(h->data)->on_signal(sig); },
      signum);
  signals_.push_back(std::move(handle));
}

void Supervisor::on_signal(int signum) {
  switch (signum) {
    case SIGCHLD:
      reap_children();
      return;
    case SIGTERM:
      if (!stopping_) {
        log_->info("SIGTERM: stopping gracefully");
        stop_service(true, 0);
      }
      return;
    case SIGINT:
      if (!stopping_) {
        log_->info("SIGINT: stopping gracefully (again to stop at once)");
        stop_service(true, 0);
      } else {
        log_->warn("SIGINT again: stopping at once");
        stop_service(false, exit_code_);
      }
      return;
    case SIGQUIT:
      log_->warn("SIGQUIT: stopping at once");
      stop_service(false, stopping_ ? exit_code_ : 0);
      return;
    case SIGHUP:
      if (stopping_) return;
      log_->info("SIGHUP: reloading");
      {
        std::vector<int> ids;
        for (auto& slot : slots_) ids.push_back(slot->id);
        start_reload("reload", std::move(ids), nullptr, true);
      }
      return;
    case SIGTTIN:
    case SIGTTOU: {
      if (stopping_) return;
      const int delta = signum == SIGTTIN ? 1 : -1;
      if (auto r = scale({ScaleRequest::Kind::kBy, delta}, config::signal_name(signum)); !r) {
        log_->warn("{}: {}", config::signal_name(signum), r.error().message);
      }
      return;
    }
    default:
      log_->warn("signal {} ({}) ignored", signum, config::signal_name(signum));
  }
}

Supervisor::Found Supervisor::find_process(pid_t pid) {
  if (pid <= 0) return {};
  for (auto& slot : slots_) {
    if (slot->proc && slot->proc->pid == pid) return {slot.get(), slot->proc.get(), Found::Role::kCurrent};
    if (slot->previous && slot->previous->pid == pid) {
      return {slot.get(), slot->previous.get(), Found::Role::kPrevious};
    }
  }
  for (auto& proc : retiring_) {
    if (proc->pid == pid) return {find_slot(proc->id), proc.get(), Found::Role::kRetiring};
  }
  return {};
}

void Supervisor::reap_children() {
  // Every child of this process is ours: reaping with -1 also collects
  // orphans re-parented to us when we run as PID 1.
  // Stops and continues are reported too: a SIGSTOPped worker is seen at
  // once, without polling /proc.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED);
    if (pid <= 0) break;
    if (orphans_ && orphans_->on_reaped(pid, status)) continue;
    if (guardian_ && pid == guardian_->pid() && !WIFSTOPPED(status) && !WIFCONTINUED(status)) {
      log_->warn("the guardian process (pid {}) died: a worker's own children may outlive corral "
                 "if it is killed", pid);
      guardian_.reset();
      continue;
    }
    if (hooks_ && hooks_->on_child_exited(pid, status)) continue;
    const Found found = find_process(pid);
    if (found.proc == nullptr) continue;
    Process& proc = *found.proc;
    if (WIFSTOPPED(status)) {
      proc.stopped_since = Clock::now();
      log_->warn("worker {} (pid {}) stopped by signal {} ({})", proc.id, pid, WSTOPSIG(status),
                 config::signal_name(WSTOPSIG(status)));
    } else if (WIFCONTINUED(status)) {
      proc.stopped_since.reset();
      log_->info("worker {} (pid {}) continued", proc.id, pid);
    } else if (found.role == Found::Role::kCurrent) {
      on_child_exited(*found.slot, status);
    } else if (found.role == Found::Role::kPrevious) {
      on_previous_exited(*found.slot, status);
    } else {
      on_retiree_exited(proc, status);
    }
  }
  check_finished();
}

std::string Supervisor::finish_process(Process& proc, int wait_status) {
  // What the worker wrote before it died belongs before the news of its death.
  if (proc.out) proc.out->drain_and_close();
  if (proc.err) proc.err->drain_and_close();
  // Helpers the worker left in its process group go with it.
  kill_group(proc.pid);
  if (guardian_) guardian_->forget(proc.pid);
  // And those it left in sessions of their own (a double-forked daemon).
  if (orphans_) orphans_->on_worker_exited(proc.pid, proc.id);
  uv_timer_stop(proc.kill_timer.get());
  if (shm_ && proc.shm_slot >= 0) {
    shm_->release_slot(proc.shm_slot);
    shm_slot_used_[static_cast<size_t>(proc.shm_slot)] = false;
    proc.shm_slot = -1;
  }
  proc.out.reset();
  proc.err.reset();
  std::string exit = ExitStatus::from_wait_status(wait_status).describe();
  if (!proc.kill_reason.empty()) exit = proc.kill_reason + ": " + exit;
  return exit;
}

void Supervisor::on_child_exited(Slot& slot, int wait_status) {
  Process& proc = *slot.proc;
  const ExitStatus status = ExitStatus::from_wait_status(wait_status);
  const TimePoint now = Clock::now();
  const pid_t pid = proc.pid;
  slot.last_exit = finish_process(proc, wait_status);
  const auto uptime = format_uptime(now - proc.started);

  if (reload_ && reload_->plan.replacing(slot.id) && slot.state == WorkerState::kStarting) {
    replacement_failed(slot, fmt::format("worker {}'s replacement (pid {}) {} after {}, before it was ready",
                                         slot.id, pid, slot.last_exit, uptime));
    return;
  }

  const bool requested = slot.state == WorkerState::kStopping || slot.state == WorkerState::kDraining;
  RestartDecision decision;
  if (!requested) {
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    // A worker that never became ready is a failed start however long it
    // took to fail: it backs off like an early exit.
    const TimePoint started = slot.state == WorkerState::kStarting ? now : proc.started;
    decision = slot.restarts.on_exit(status, started, now, jitter(rng_));
    const std::string& k = proc.kill_reason;
    metrics_.on_restart(k.empty() ? "crash" : k == "hung" ? "hung" : k == "not ready" ? "not_ready"
                        : k == "corrupt shared memory" ? "corrupt_shm" : k);
  }
  const Step step = next(slot.state, Event::kExited, decision);

  if (!requested && proc.kill_reason != "hung") {
    const char* action = step.action == Action::kReportGiveUp ? "give up"
                         : step.action == Action::kSpawn      ? "restart"
                         : step.action == Action::kScheduleSpawn ? "backoff"
                                                               : "none";
    nlohmann::json event = {{"worker", slot.id},
                            {"pid", pid},
                            {"reason", slot.last_exit},
                            {"uptime_s", std::chrono::duration<double>(now - proc.started).count()},
                            {"restarts", slot.restarts.restarts()},
                            {"action", action}};
    if (step.action == Action::kScheduleSpawn) {
      event["backoff_s"] = std::chrono::duration<double>(decision.delay).count();
    }
    hooks_->fire(HookRunner::Event::kCrash, event);
  }
  if (requested) {
    log_->info("worker {} (pid {}) stopped: {} after {}", slot.id, pid, slot.last_exit, uptime);
  } else if (step.action == Action::kReportGiveUp) {
    std::string tail;
    for (const auto& line : proc.stderr_tail.lines()) tail += "\n    " + line;
    hooks_->fire(HookRunner::Event::kFailed, {{"worker", slot.id},
                                              {"pid", pid},
                                              {"reason", slot.last_exit},
                                              {"restarts", slot.restarts.restarts()},
                                              {"last_lines", proc.stderr_tail.lines()}});
    log_->error("worker {} (pid {}) {} after {}; {}{}{}", slot.id, pid, slot.last_exit,
                uptime, why(decision), tail.empty() ? "" : "; its last stderr lines:", tail);
  } else if (step.state == WorkerState::kStopped) {
    log_->info("worker {} (pid {}) {} after {}; not restarted: {}", slot.id, pid, slot.last_exit,
               uptime, why(decision));
  } else {
    log_->warn("worker {} (pid {}) {} after {}; restarting {}", slot.id, pid, slot.last_exit, uptime,
               decision.delay.count() == 0 ? std::string("now")
                                           : fmt::format("in {}ms", decision.delay.count()));
  }
  slot.proc.reset();
  if (step.action == Action::kSpawn) {
    // Not from inside reap_children's loop: workers that die faster than
    // they are spawned would keep it reaping and spawning forever while the
    // admin socket, output pipes and timers starve. A 0 ms backoff spawns
    // on the loop's next turn, after the I/O already waiting.
    perform(slot, {WorkerState::kBackoff, Action::kScheduleSpawn}, decision);
    return;
  }
  perform(slot, step, decision);
}

void Supervisor::on_previous_exited(Slot& slot, int wait_status) {
  Process& proc = *slot.previous;
  const std::string exit = finish_process(proc, wait_status);
  log_->warn("worker {} (pid {}) {} after {} while its replacement (pid {}) was starting", slot.id,
             proc.pid, exit, format_uptime(Clock::now() - proc.started),
             slot.proc ? slot.proc->pid : 0);
  slot.last_exit = exit;
  slot.previous.reset();
}

void Supervisor::on_retiree_exited(Process& proc, int wait_status) {
  const std::string exit = finish_process(proc, wait_status);
  const TimePoint now = Clock::now();
  log_->info("worker {} (pid {}) drained: {}, {} after the stop signal (up {})", proc.id, proc.pid,
             exit, format_uptime(now - proc.retired_at.value_or(now)),
             format_uptime(now - proc.started));
  const int id = proc.id;
  std::erase_if(retiring_, [&](const auto& p) { return p.get() == &proc; });
  release_socket_if_unused(id);
}

void Supervisor::on_timer(Slot& slot) {
  if (slot.state == WorkerState::kBackoff) {
    perform(slot, next(slot.state, Event::kBackoffElapsed), {});
  } else if (slot.state == WorkerState::kStarting) {
    mark_ready(slot);  // the ready delay is over
  }
}

void Supervisor::mark_ready(Slot& slot) {
  if (slot.state != WorkerState::kStarting) return;
  perform(slot, next(slot.state, Event::kReady), {});
  if (reload_ && reload_->plan.replacing(slot.id)) apply(reload_->plan.on_ready(slot.id));
  maybe_announce_ready();
}

void Supervisor::maybe_announce_ready() {
  // Once the initial workers are settled: ready, or given up (a service
  // that cannot start at all exits instead).
  if (announced_ready_ || stopping_) return;
  int ready = 0;
  for (const auto& slot : slots_) {
    if (slot->state == WorkerState::kReady) {
      ++ready;
    } else if (slot->state != WorkerState::kFailed) {
      return;
    }
  }
  if (ready == 0) return;
  announced_ready_ = true;
  log_->info("{}", summary());
  notifier_.ready(summary());
}

std::string Supervisor::summary() const {
  int ready = 0, failed = 0, restarts = 0;
  for (const auto& slot : slots_) {
    ready += slot->state == WorkerState::kReady ? 1 : 0;
    failed += slot->state == WorkerState::kFailed ? 1 : 0;
    restarts += slot->restarts.restarts();
  }
  std::string line = fmt::format("{}/{} workers ready", ready, slots_.size());
  if (failed > 0) line += fmt::format(", {} failed", failed);
  line += fmt::format(", {} restart{}", restarts, restarts == 1 ? "" : "s");
  if (reload_) line += fmt::format(", {} under way", reload_->what);
  if (pinned_) line += ", count pinned";
  return line;
}

void Supervisor::perform(Slot& slot, Step step, const RestartDecision& decision) {
  slot.state = step.state;
  switch (step.action) {
    case Action::kNone:
      break;
    case Action::kSpawn:
      spawn(slot);
      break;
    case Action::kScheduleSpawn:
      uv_timer_start(
          slot.timer.get(),
          [](uv_timer_t* t) {
            auto* s = static_cast<Slot*>(t->data);
            // The owning supervisor is reachable through the loop.
            static_cast<Supervisor*>(t->loop->data)->on_timer(*s);
          },
          static_cast<uint64_t>(decision.delay.count()), 0);
      break;
    case Action::kSendStopSignal:
      if (slot.proc) {
        if (shm_ && slot.proc->shm_slot >= 0) shm_->request_drain(slot.proc->shm_slot);
        ::kill(slot.proc->pid, config_.worker.stop_signal);
      }
      break;
    case Action::kKill:
      if (slot.proc) kill_group(slot.proc->pid);
      break;
    case Action::kCancelTimer:
      uv_timer_stop(slot.timer.get());
      break;
    case Action::kReportGiveUp:
      // A socket of its own would hold connections nobody accepts.
      release_socket_if_unused(slot.id);
      break;
  }
}

void Supervisor::start_output(Process& proc, int* out_fd, int* err_fd) {
  *out_fd = -1;
  *err_fd = -1;
  if (config_.worker.output == config::OutputMode::kInherit) return;
  Process* p = &proc;  // stable: processes live in unique_ptrs
  auto closed = [this, p](const char* stream) {
    // Dead but not reaped yet (a loop slower than the grace): its exit, not
    // its own doing, closed the pipe. WNOWAIT leaves the reaping to us later.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(p->pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid != 0) {
      return;
    }
    log_->info("worker {} (pid {}) closed its {}; it is still supervised", p->id, p->pid, stream);
  };
  auto out = OutputPipe::create(
      &loop_, [this, p](std::string_view line) { log_->info("[w{} {}] {}", p->id, p->pid, line); },
      [closed] { closed("stdout"); });
  auto err = OutputPipe::create(
      &loop_,
      [this, p](std::string_view line) {
        p->stderr_tail.push(line);
        log_->info("[w{} {} err] {}", p->id, p->pid, line);
      },
      [closed] { closed("stderr"); });
  if (!out || !err) {
    log_->error("worker {}: {}; its output goes to corral's own", proc.id,
                (!out ? out.error() : err.error()).message);
    return;
  }
  proc.out = std::move(*out);
  proc.err = std::move(*err);
  *out_fd = proc.out->write_end();
  *err_fd = proc.err->write_end();
}

int Supervisor::take_shm_slot() {
  if (!shm_) return -1;
  for (size_t i = 0; i < shm_slot_used_.size(); ++i) {
    if (!shm_slot_used_[i]) {
      shm_slot_used_[i] = true;
      return static_cast<int>(i);
    }
  }
  return -1;
}

void Supervisor::spawn(Slot& slot) {
  slot.proc = std::make_unique<Process>();
  Process& proc = *slot.proc;
  proc.id = slot.id;
  uv_timer_init(&loop_, proc.kill_timer.get());
  proc.kill_timer.get()->data = &proc;

  std::vector<SocketView> views;
  auto fds = sockets_.fds_for_slot(slot.id);
  if (fds) {
    for (size_t i = 0; i < fds->size(); ++i) {
      const auto& name = sockets_.names()[i];
      views.push_back({name, (*fds)[i], sockets_.port(name)});
    }
  }
  LaunchSpec spec = make_launch_spec(config_.worker, slot.id, views, inherited_env_);
  if (notify_) spec.env.push_back("NOTIFY_SOCKET=" + notify_->path());
  if (config_.worker.heartbeat_timeout.count() > 0) {
    spec.env.push_back(fmt::format("WATCHDOG_USEC={}", config_.worker.heartbeat_timeout.count() * 1000));
  }
  proc.shm_slot = take_shm_slot();
  if (proc.shm_slot >= 0) {
    shm_->assign_slot(proc.shm_slot);
    spec.env.push_back("CORRAL_SHM=" + shm_->name());
    spec.env.push_back(fmt::format("CORRAL_SLOT={}", proc.shm_slot));
  } else if (shm_) {
    log_->warn("worker {}: every shared memory slot is taken; this one gets no CORRAL_SHM", slot.id);
  }
  spec.origin = ::getpid();
  spec.inherited_nofile = worker_nofile_;
  const Status privileges = set_privileges(config_.worker, spec);
  if (privileges && spec.credentials && worker_access_) {
    if (auto granted = worker_access_->grant(*spec.credentials); !granted) {
      log_->warn("{}", granted.error().message);
    }
  }
  start_output(proc, &spec.stdout_fd, &spec.stderr_fd);
  proc.started = Clock::now();

  Result<pid_t> pid = !fds          ? Result<pid_t>(fds.error())
                      : !privileges ? Result<pid_t>(privileges.error())
                                    : launch(spec);
  if (proc.out) proc.out->close_write_end();
  if (proc.err) proc.err->close_write_end();
  if (!pid) {
    if (proc.shm_slot >= 0) {
      shm_->release_slot(proc.shm_slot);
      shm_slot_used_[static_cast<size_t>(proc.shm_slot)] = false;
    }
    slot.last_exit = pid.error().message;
    const TimePoint started = proc.started;
    slot.proc.reset();
    log_->error("worker {}: {}", slot.id, slot.last_exit);
    if (reload_ && reload_->plan.replacing(slot.id)) {
      replacement_failed(slot, fmt::format("worker {}'s replacement could not start: {}", slot.id,
                                           slot.last_exit));
      return;
    }
    // Counts as a failed start: the restart policy and its limits apply.
    metrics_.on_restart("failed_start");
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    RestartDecision decision =
        slot.restarts.on_exit(ExitStatus{false, 127}, started, Clock::now(), jitter(rng_));
    Step step = next(WorkerState::kStarting, Event::kExited, decision);
    if (step.action == Action::kSpawn) {
      // Never retry a failed exec in a tight loop.
      decision.delay = config_.restart.backoff_initial;
      step = {WorkerState::kBackoff, Action::kScheduleSpawn};
    }
    if (step.action == Action::kReportGiveUp) {
      // The launch error says more than the exit code 127 the policy saw.
      log_->error("worker {} gives up: {}; {}", slot.id, slot.last_exit, why(decision));
    }
    perform(slot, step, decision);
    return;
  }
  proc.pid = *pid;
  if (proc.shm_slot >= 0) {
    shm_->set_slot_pid(proc.shm_slot, proc.pid);
    if (config_.worker.ready == config::ReadyMode::kNotify &&
        uv_is_active(reinterpret_cast<uv_handle_t*>(ready_poll_.get())) == 0) {
      uv_timer_start(
          ready_poll_.get(),
          [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->poll_readiness(); },
          static_cast<uint64_t>(kReadyPoll.count()), static_cast<uint64_t>(kReadyPoll.count()));
    }
  }
  if (guardian_) guardian_->watch(proc.pid);
  log_->info("worker {} started (pid {})", slot.id, proc.pid);
  if (config_.worker.ready == config::ReadyMode::kStarted) {
    mark_ready(slot);
  } else if (config_.worker.ready == config::ReadyMode::kDelay) {
    uv_timer_start(
        slot.timer.get(),
        [](uv_timer_t* t) {
          static_cast<Supervisor*>(t->loop->data)->on_timer(*static_cast<Slot*>(t->data));
        },
        static_cast<uint64_t>(config_.worker.ready_delay.count()), 0);
  }
}

void Supervisor::kill_group(pid_t pid) {
  // The worker leads its own group (set by the launcher); while any member
  // lives, the kernel does not reuse that id, so this reaches only our tree.
  if (pid > 0) ::kill(-pid, SIGKILL);
}

void Supervisor::stop_service(bool graceful, int exit_code) {
  const bool first = !stopping_;
  stopping_ = true;
  if (first) notifier_.stopping();
  exit_code_ = exit_code;
  if (reload_) apply(reload_->plan.cancel("the service is stopping"));
  for (auto& slot : slots_) {
    // An old worker still serving beside its replacement stops like the rest.
    if (slot->previous) retire(std::move(slot->previous), "stopping");
    perform(*slot, next(slot->state, Event::kStop), {});
    if (!graceful) perform(*slot, next(slot->state, Event::kDrainTimeout), {});
  }
  if (!graceful) {
    for (auto& proc : retiring_) kill_group(proc->pid);
  }
  if (orphans_) orphans_->stop_all(!graceful);
  if (graceful && first) {
    uv_timer_start(
        drain_timer_.get(),
        [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->on_drain_timeout(); },
        static_cast<uint64_t>(config_.worker.drain_timeout.count()), 0);
  }
  check_finished();
}

void Supervisor::on_drain_timeout() {
  int left = 0;
  for (auto& slot : slots_) {
    if (has_process(slot->state)) {
      ++left;
      perform(*slot, next(slot->state, Event::kDrainTimeout), {});
    }
  }
  for (auto& proc : retiring_) {
    ++left;
    kill_group(proc->pid);
  }
  if (left > 0) {
    log_->warn("drain timeout ({}ms) reached: killed {} worker{}",
               config_.worker.drain_timeout.count(), left, left == 1 ? "" : "s");
  }
}

void Supervisor::check_finished() {
  if (quitting_) return;
  maybe_announce_ready();  // a slot that gave up settles the start too
  int alive = static_cast<int>(retiring_.size()), failed = 0, waiting = 0;
  for (auto& slot : slots_) {
    if (has_process(slot->state)) ++alive;
    if (slot->previous) ++alive;
    if (slot->state == WorkerState::kFailed) ++failed;
    if (slot->state == WorkerState::kBackoff) ++waiting;
  }
  if (stopping_) {
    // What workers left behind is stopped with them, and waited for.
    if (alive == 0 && (!orphans_ || orphans_->count() == 0)) {
      log_->info("all workers stopped; exiting");
      quit(exit_code_);
    }
    return;
  }
  if (alive > 0 || waiting > 0 || (orphans_ && orphans_->count() > 0)) return;
  if (failed == static_cast<int>(slots_.size())) {
    log_->error("every worker gave up (crash-loop limit: more than {} restarts within {}, or {} "
                "early exits in a row); exiting",
                config_.restart.max_restarts, config::format_duration(config_.restart.window),
                config_.restart.max_restarts);
    quit(1);
  } else if (failed > 0) {
    log_->error("no worker left running ({} gave up, the others exited); exiting", failed);
    quit(1);
  } else {
    log_->info("every worker exited and the restart policy restarts none; exiting");
    quit(0);
  }
}

Status Supervisor::start_notify_socket() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  auto dir = ensure_private_dir(default_runtime_dir(xdg != nullptr ? xdg : "", ::geteuid()));
  if (!dir) return dir.error();
  // A corral killed by SIGKILL leaves its socket: remove those of dead pids.
  const std::string prefix = config_.name + ".";
  if (DIR* d = ::opendir(dir->c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view file = e->d_name;
      if (file.substr(0, prefix.size()) != prefix || !file.ends_with(".notify")) continue;
      const std::string pid_text(file.substr(prefix.size(), file.size() - prefix.size() - 7));
      if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
      if (::kill(pid, 0) != 0 && errno == ESRCH) ::unlink((*dir + "/" + std::string(file)).c_str());
    }
    ::closedir(d);
  }
  // Workers running as another user cannot enter the private directory.
  const std::string& notify_dir =
      worker_access_ && !worker_access_->notify_dir().empty() ? worker_access_->notify_dir() : *dir;
  const std::string path = fmt::format("{}/{}.{}.notify", notify_dir, config_.name, ::getpid());
  auto socket = NotifySocket::create(&loop_, path, [this](pid_t sender, const NotifyMessage& m) {
    on_notify(sender, m);
  });
  if (!socket) return socket.error();
  notify_ = std::move(*socket);
  if (worker_access_) worker_access_->set_notify_socket(notify_->path());
  return Ok{};
}

Supervisor::Found Supervisor::find_sender(pid_t pid) {
  // The sender may be the worker or any descendant (systemd-notify runs as
  // a child of the script that calls it): walk up, a bounded number of
  // steps, until a worker or corral itself.
  const pid_t self = ::getpid();
  for (int depth = 0; depth < 32 && pid > 1 && pid != self; ++depth) {
    if (Found found = find_process(pid); found.proc != nullptr) return found;
    auto stat = read_proc_stat(pid);
    if (!stat) return {};
    pid = stat->ppid;
  }
  return {};
}

void Supervisor::on_notify(pid_t sender, const NotifyMessage& message) {
  const Found found = find_sender(sender);
  if (found.proc == nullptr) {
    log_->debug("notify message from pid {}, which is no worker of ours: ignored", sender);
    return;
  }
  Process& proc = *found.proc;
  if (message.watchdog) proc.last_heartbeat = Clock::now();
  if (message.status) {
    proc.status = *message.status;
    log_->debug("worker {} (pid {}) status: {}", proc.id, proc.pid, proc.status);
  }
  if (message.stopping) log_->info("worker {} (pid {}) says it is stopping", proc.id, proc.pid);
  if (message.ready && found.role == Found::Role::kCurrent &&
      found.slot->state == WorkerState::kStarting &&
      config_.worker.ready == config::ReadyMode::kNotify) {
    log_->info("worker {} (pid {}) ready", proc.id, proc.pid);
    mark_ready(*found.slot);
  }
}

void Supervisor::check_health() {
  const TimePoint now = Clock::now();
  if (announced_ready_ && !stopping_) notifier_.status(summary());
  if (shm_) {
    shm_->heartbeat();
    if (auto problem = shm_->check_and_repair_header()) {
      log_->warn("shared memory header was overwritten ({}); repaired", *problem);
    }
  }
  // By index: a worker found ready may let a reload go on, which never adds
  // or removes slots, but keeps this loop honest if that changes.
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = *slots_[i];
    if (!has_process(slot.state) || !slot.proc || !slot.proc->kill_reason.empty()) continue;
    if (shm_) read_shared_memory(slot, now);
    if (!slot.proc || !slot.proc->kill_reason.empty()) continue;
    Process& proc = *slot.proc;
    WorkerHealth health{slot.state, proc.started, proc.last_heartbeat, proc.stopped_since};
    HealthVerdict verdict = judge_health(health, config_.worker, now);
    if (verdict.kind != HealthVerdict::Kind::kHealthy) kill_unhealthy(slot, verdict);
  }
}

void Supervisor::poll_readiness() {
  // A worker says "ready" through shared memory without waking us; a reload
  // waits on each replacement's readiness, so look often while any starts,
  // and not at all otherwise.
  const TimePoint now = Clock::now();
  auto waiting = [](const Slot& slot) {
    return slot.state == WorkerState::kStarting && slot.proc && slot.proc->shm_slot >= 0 &&
           slot.proc->kill_reason.empty();
  };
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (waiting(*slots_[i])) read_shared_memory(*slots_[i], now);
  }
  // Counted afterwards: a worker found ready may have let a reload start the
  // next replacement.
  const bool any = std::any_of(slots_.begin(), slots_.end(), [&](const auto& s) { return waiting(*s); });
  if (!any || config_.worker.ready != config::ReadyMode::kNotify) uv_timer_stop(ready_poll_.get());
}

void Supervisor::start_shared_memory() {
  if (auto removed = ipc::ShmSegment::cleanup_stale(config_.name); removed && !removed->empty()) {
    log_->info("removed {} shared memory segment(s) left by a dead corral: {}", removed->size(),
               fmt::join(*removed, ", "));
  }
  // Room for every worker scaling allows, plus replacements and draining
  // workers beside them; pages nobody touches cost nothing.
  auto segment = ipc::ShmSegment::create(config_.name, static_cast<int>(ipc::kMaxSlots));
  if (!segment) {
    log_->warn("{}; workers get no CORRAL_SHM (heartbeats through the library are off)",
               segment.error().message);
    return;
  }
  shm_.emplace(std::move(*segment));
  shm_slot_used_.assign(ipc::kMaxSlots, false);
  if (worker_access_) worker_access_->set_shm(shm_->name());
}

void Supervisor::read_shared_memory(Slot& slot, TimePoint now) {
  Process& proc = *slot.proc;
  if (proc.shm_slot < 0) return;
  const ipc::SlotSnapshot snap = shm_->read_slot(proc.shm_slot);
  if (snap.status == ipc::SlotStatus::kCorrupt) {
    // Only the slot's own worker can be blamed, and only it is replaced.
    proc.kill_reason = "corrupt shared memory";
    log_->error("worker {} (pid {}) wrote impossible values into its shared memory slot ({}); "
                "replacing it",
                slot.id, proc.pid, snap.problem);
    kill_group(proc.pid);
    return;
  }
  if (snap.status != ipc::SlotStatus::kOk) return;
  proc.publishes = true;
  proc.requests_total = snap.requests_total;
  proc.in_flight = snap.in_flight;
  if (snap.heartbeat_ns) {
    // Both clocks are CLOCK_MONOTONIC (steady_clock on Linux); a heartbeat
    // "from the future" was already refused by the validation.
    const TimePoint beat{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*snap.heartbeat_ns))};
    if (!proc.last_heartbeat || beat > *proc.last_heartbeat) proc.last_heartbeat = std::min(beat, now);
  }
  if (snap.state == ipc::WorkerState::kReady && slot.state == WorkerState::kStarting &&
      config_.worker.ready == config::ReadyMode::kNotify) {
    log_->info("worker {} (pid {}) ready", slot.id, proc.pid);
    mark_ready(slot);
  }
}

void Supervisor::kill_unhealthy(Slot& slot, const HealthVerdict& verdict) {
  Process& proc = *slot.proc;
  if (verdict.kind == HealthVerdict::Kind::kNotReadyInTime) {
    // A failed start: the restart policy counts it like an early exit.
    proc.kill_reason = "not ready";
    log_->warn("worker {} (pid {}) {}; killing it", slot.id, proc.pid, verdict.reason);
    kill_group(proc.pid);
    return;
  }
  proc.kill_reason = "hung";
  hooks_->fire(HookRunner::Event::kHung,
               {{"worker", slot.id}, {"pid", proc.pid}, {"reason", verdict.reason}});
  auto stat = read_proc_stat(proc.pid);
  log_->error("worker {} (pid {}) hung: {}; process state {}, wchan {}; sending {}", slot.id,
              proc.pid, verdict.reason, stat ? std::string(1, stat->state) : "?",
              read_wchan(proc.pid), config::signal_name(config_.worker.hang_signal));
  ::kill(proc.pid, config_.worker.hang_signal);
  // A stopped process would hold the signal pending forever.
  if (proc.stopped_since) ::kill(proc.pid, SIGCONT);
  uv_timer_start(
      proc.kill_timer.get(),
      [](uv_timer_t* t) {
        auto* p = static_cast<Process*>(t->data);
        static_cast<Supervisor*>(t->loop->data)->kill_group(p->pid);
      },
      static_cast<uint64_t>(kHangKillGrace.count()), 0);
}

void Supervisor::quit(int exit_code) {
  quitting_ = true;
  exit_code_ = exit_code;
  // The alert about why corral stops ("failed") must go out first; each hook
  // is bounded by its own timeout.
  if (hooks_ && (hooks_->running() > 0 || hooks_->queued() > 0)) {
    log_->info("waiting for {} hook(s) to finish", hooks_->running() + hooks_->queued());
    hooks_->when_idle([this] { uv_stop(&loop_); });
    return;
  }
  uv_stop(&loop_);
}

}  // namespace corral::supervisor
