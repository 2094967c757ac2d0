#include "supervisor/supervisor.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config/duration.h"
#include "config/signals.h"
#include "supervisor/process_tree.h"
#include "supervisor/runtime_dir.h"
#include "supervisor/worker_command.h"

extern char** environ;

namespace corral::supervisor {
namespace {

// After hang_signal, time for a core dump or a stack trace, then SIGKILL.
constexpr std::chrono::milliseconds kHangKillGrace{2000};

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

Supervisor::Supervisor(config::Config config, ListenSockets sockets, int worker_count,
                       std::shared_ptr<spdlog::logger> log)
    : config_(std::move(config)),
      sockets_(std::move(sockets)),
      log_(std::move(log)),
      rng_(std::random_device{}()) {
  uv_loop_init(&loop_);
  loop_.data = this;  // lets timer callbacks reach their supervisor
  for (char** e = environ; *e != nullptr; ++e) inherited_env_.emplace_back(*e);
  for (int id = 0; id < worker_count; ++id) {
    auto slot = std::make_unique<Slot>(id, config_.restart);
    uv_timer_init(&loop_, slot->timer.get());
    slot->timer.get()->data = slot.get();
    uv_timer_init(&loop_, slot->kill_timer.get());
    slot->kill_timer.get()->data = slot.get();
    slots_.push_back(std::move(slot));
  }
  uv_timer_init(&loop_, drain_timer_.get());
  drain_timer_.get()->data = this;
  uv_timer_init(&loop_, health_timer_.get());
  health_timer_.get()->data = this;
}

Supervisor::~Supervisor() {
  // Handles close through their owners; the loop must run once more so that
  // libuv can finish closing them before the loop itself goes.
  slots_.clear();
  signals_.clear();
  notify_.reset();
  admin_.reset();
  shm_.reset();
  drain_timer_.close();
  health_timer_.close();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
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
  start_shared_memory();
  // The tick also beats corral's own heartbeat in the segment, which workers
  // use to tell whether their supervisor is alive.
  auto interval = health_check_interval(config_.worker);
  if (shm_) {
    interval = std::min(interval, std::chrono::milliseconds(ipc::kSupervisorHeartbeatPeriodNs / 1'000'000 / 2));
  }
  if (shm_ || config_.worker.heartbeat_timeout.count() > 0 ||
      config_.worker.ready != config::ReadyMode::kStarted) {
    uv_timer_start(
        health_timer_.get(),
        [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->check_health(); },
        static_cast<uint64_t>(interval.count()), static_cast<uint64_t>(interval.count()));
  }

  log_->info("corral '{}' starting {} worker{} on {}: {}", config_.name, slots_.size(),
             slots_.size() == 1 ? "" : "s", sockets_.describe(),
             fmt::join(config_.worker.command, " "));
  for (auto& slot : slots_) {
    slot->state = WorkerState::kStarting;
    spawn(*slot);
  }
  check_finished();
  if (!quitting_) uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
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
    default:
      log_->warn("signal {} ({}) is not supported by this version; ignored", signum,
                 config::signal_name(signum));
  }
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
    if (guardian_ && pid == guardian_->pid() && !WIFSTOPPED(status) && !WIFCONTINUED(status)) {
      log_->warn("the guardian process (pid {}) died: a worker's own children may outlive corral "
                 "if it is killed", pid);
      guardian_.reset();
      continue;
    }
    for (auto& slot : slots_) {
      if (slot->pid != pid || !has_process(slot->state)) continue;
      if (WIFSTOPPED(status)) {
        slot->stopped_since = Clock::now();
        log_->warn("worker {} (pid {}) stopped by signal {} ({})", slot->id, pid, WSTOPSIG(status),
                   config::signal_name(WSTOPSIG(status)));
      } else if (WIFCONTINUED(status)) {
        slot->stopped_since.reset();
        log_->info("worker {} (pid {}) continued", slot->id, pid);
      } else {
        on_child_exited(*slot, status);
      }
      break;
    }
  }
  check_finished();
}

void Supervisor::on_child_exited(Slot& slot, int wait_status) {
  const ExitStatus status = ExitStatus::from_wait_status(wait_status);
  const TimePoint now = Clock::now();
  const pid_t pid = slot.pid;
  // What the worker wrote before it died belongs before the news of its death.
  if (slot.out) slot.out->drain_and_close();
  if (slot.err) slot.err->drain_and_close();
  // Helpers the worker left in its process group go with it.
  kill_group(slot);
  if (guardian_) guardian_->forget(pid);
  uv_timer_stop(slot.kill_timer.get());
  if (shm_) shm_->release_slot(slot.id);
  slot.pid = 0;
  slot.out.reset();
  slot.err.reset();
  slot.last_exit = status.describe();
  if (!slot.kill_reason.empty()) slot.last_exit = slot.kill_reason + ": " + slot.last_exit;
  const auto uptime = format_uptime(now - slot.started);

  const bool requested = slot.state == WorkerState::kStopping || slot.state == WorkerState::kDraining;
  RestartDecision decision;
  if (!requested) {
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    // A worker that never became ready is a failed start however long it
    // took to fail: it backs off like an early exit.
    const TimePoint started = slot.state == WorkerState::kStarting ? now : slot.started;
    decision = slot.restarts.on_exit(status, started, now, jitter(rng_));
  }
  const Step step = next(slot.state, Event::kExited, decision);

  if (requested) {
    log_->info("worker {} (pid {}) stopped: {} after {}", slot.id, pid, slot.last_exit, uptime);
  } else if (step.action == Action::kReportGiveUp) {
    std::string tail;
    for (const auto& line : slot.stderr_tail.lines()) tail += "\n    " + line;
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
  perform(slot, step, decision);
}

void Supervisor::on_timer(Slot& slot) {
  if (slot.state == WorkerState::kBackoff) {
    perform(slot, next(slot.state, Event::kBackoffElapsed), {});
  } else if (slot.state == WorkerState::kStarting) {
    perform(slot, next(slot.state, Event::kReady), {});  // the ready delay is over
  }
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
      if (shm_) shm_->request_drain(slot.id);
      if (slot.pid > 0) ::kill(slot.pid, config_.worker.stop_signal);
      break;
    case Action::kKill:
      kill_group(slot);
      break;
    case Action::kCancelTimer:
      uv_timer_stop(slot.timer.get());
      break;
    case Action::kReportGiveUp:
      // A socket of its own would hold connections nobody accepts.
      sockets_.release_slot(slot.id);
      break;
  }
}

void Supervisor::start_output(Slot& slot, int* out_fd, int* err_fd) {
  *out_fd = -1;
  *err_fd = -1;
  if (config_.worker.output == config::OutputMode::kInherit) return;
  auto out = OutputPipe::create(&loop_, [this, &slot](std::string_view line) {
    log_->info("[w{} {}] {}", slot.id, slot.pid, line);
  });
  auto err = OutputPipe::create(&loop_, [this, &slot](std::string_view line) {
    slot.stderr_tail.push(line);
    log_->info("[w{} {} err] {}", slot.id, slot.pid, line);
  });
  if (!out || !err) {
    log_->error("worker {}: {}; its output goes to corral's own", slot.id,
                (!out ? out.error() : err.error()).message);
    return;
  }
  slot.out = std::move(*out);
  slot.err = std::move(*err);
  *out_fd = slot.out->write_end();
  *err_fd = slot.err->write_end();
}

void Supervisor::spawn(Slot& slot) {
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
  if (shm_) {
    shm_->assign_slot(slot.id);
    spec.env.push_back("CORRAL_SHM=" + shm_->name());
    spec.env.push_back(fmt::format("CORRAL_SLOT={}", slot.id));
  }
  slot.requests_total = 0;
  slot.in_flight = 0;
  slot.last_heartbeat.reset();
  slot.stopped_since.reset();
  slot.status.clear();
  slot.kill_reason.clear();
  start_output(slot, &spec.stdout_fd, &spec.stderr_fd);
  slot.stderr_tail.clear();
  slot.started = Clock::now();

  Result<pid_t> pid = fds ? launch(spec) : Result<pid_t>(fds.error());
  if (slot.out) slot.out->close_write_end();
  if (slot.err) slot.err->close_write_end();
  if (!pid) {
    // Counts as a failed start: the restart policy and its limits apply.
    slot.out.reset();
    slot.err.reset();
    slot.last_exit = pid.error().message;
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    RestartDecision decision =
        slot.restarts.on_exit(ExitStatus{false, 127}, slot.started, Clock::now(), jitter(rng_));
    Step step = next(WorkerState::kStarting, Event::kExited, decision);
    log_->error("worker {}: {}", slot.id, slot.last_exit);
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
  slot.pid = *pid;
  if (shm_) shm_->set_slot_pid(slot.id, slot.pid);
  if (guardian_) guardian_->watch(slot.pid);
  log_->info("worker {} started (pid {})", slot.id, slot.pid);
  if (config_.worker.ready == config::ReadyMode::kStarted) {
    perform(slot, next(slot.state, Event::kReady), {});
  } else if (config_.worker.ready == config::ReadyMode::kDelay) {
    uv_timer_start(
        slot.timer.get(),
        [](uv_timer_t* t) {
          static_cast<Supervisor*>(t->loop->data)->on_timer(*static_cast<Slot*>(t->data));
        },
        static_cast<uint64_t>(config_.worker.ready_delay.count()), 0);
  }
}

void Supervisor::kill_group(const Slot& slot) {
  // The worker leads its own group (set by the launcher); while any member
  // lives, the kernel does not reuse that id, so this reaches only our tree.
  if (slot.pid > 0) ::kill(-slot.pid, SIGKILL);
}

void Supervisor::stop_service(bool graceful, int exit_code) {
  const bool first = !stopping_;
  stopping_ = true;
  exit_code_ = exit_code;
  for (auto& slot : slots_) {
    perform(*slot, next(slot->state, Event::kStop), {});
    if (!graceful) perform(*slot, next(slot->state, Event::kDrainTimeout), {});
  }
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
  if (left > 0) {
    log_->warn("drain timeout ({}ms) reached: killed {} worker{}",
               config_.worker.drain_timeout.count(), left, left == 1 ? "" : "s");
  }
}

void Supervisor::check_finished() {
  if (quitting_) return;
  int alive = 0, failed = 0, waiting = 0;
  for (auto& slot : slots_) {
    if (has_process(slot->state)) ++alive;
    if (slot->state == WorkerState::kFailed) ++failed;
    if (slot->state == WorkerState::kBackoff) ++waiting;
  }
  if (stopping_) {
    if (alive == 0) {
      log_->info("all workers stopped; exiting");
      quit(exit_code_);
    }
    return;
  }
  if (alive > 0 || waiting > 0) return;
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
  const std::string path = fmt::format("{}/{}.{}.notify", *dir, config_.name, ::getpid());
  auto socket = NotifySocket::create(&loop_, path, [this](pid_t sender, const NotifyMessage& m) {
    on_notify(sender, m);
  });
  if (!socket) return socket.error();
  notify_ = std::move(*socket);
  return Ok{};
}

Supervisor::Slot* Supervisor::slot_of_process(pid_t pid) {
  // The sender may be the worker or any descendant (systemd-notify runs as
  // a child of the script that calls it): walk up, a bounded number of
  // steps, until a worker or corral itself.
  const pid_t self = ::getpid();
  for (int depth = 0; depth < 32 && pid > 1 && pid != self; ++depth) {
    for (auto& slot : slots_) {
      if (slot->pid == pid && has_process(slot->state)) return slot.get();
    }
    auto stat = read_proc_stat(pid);
    if (!stat) return nullptr;
    pid = stat->ppid;
  }
  return nullptr;
}

void Supervisor::on_notify(pid_t sender, const NotifyMessage& message) {
  Slot* slot = slot_of_process(sender);
  if (slot == nullptr) {
    log_->debug("notify message from pid {}, which is no worker of ours: ignored", sender);
    return;
  }
  if (message.watchdog) slot->last_heartbeat = Clock::now();
  if (message.status) {
    slot->status = *message.status;
    log_->debug("worker {} (pid {}) status: {}", slot->id, slot->pid, slot->status);
  }
  if (message.stopping) log_->info("worker {} (pid {}) says it is stopping", slot->id, slot->pid);
  if (message.ready && slot->state == WorkerState::kStarting &&
      config_.worker.ready == config::ReadyMode::kNotify) {
    log_->info("worker {} (pid {}) ready", slot->id, slot->pid);
    perform(*slot, next(slot->state, Event::kReady), {});
  }
}

void Supervisor::check_health() {
  const TimePoint now = Clock::now();
  if (shm_) {
    shm_->heartbeat();
    if (auto problem = shm_->check_and_repair_header()) {
      log_->warn("shared memory header was overwritten ({}); repaired", *problem);
    }
  }
  for (auto& slot : slots_) {
    if (!has_process(slot->state) || !slot->kill_reason.empty()) continue;
    if (shm_) read_shared_memory(*slot, now);
    if (!slot->kill_reason.empty()) continue;
    WorkerHealth health{slot->state, slot->started, slot->last_heartbeat, slot->stopped_since};
    HealthVerdict verdict = judge_health(health, config_.worker, now);
    if (verdict.kind != HealthVerdict::Kind::kHealthy) kill_unhealthy(*slot, verdict);
  }
}

void Supervisor::start_shared_memory() {
  if (auto removed = ipc::ShmSegment::cleanup_stale(config_.name); removed && !removed->empty()) {
    log_->info("removed {} shared memory segment(s) left by a dead corral: {}", removed->size(),
               fmt::join(*removed, ", "));
  }
  auto segment = ipc::ShmSegment::create(config_.name, static_cast<int>(slots_.size()));
  if (!segment) {
    log_->warn("{}; workers get no CORRAL_SHM (heartbeats through the library are off)",
               segment.error().message);
    return;
  }
  shm_.emplace(std::move(*segment));
}

void Supervisor::read_shared_memory(Slot& slot, TimePoint now) {
  const ipc::SlotSnapshot snap = shm_->read_slot(slot.id);
  if (snap.status == ipc::SlotStatus::kCorrupt) {
    // Only the slot's own worker can be blamed, and only it is replaced.
    slot.kill_reason = "corrupt shared memory";
    log_->error("worker {} (pid {}) wrote impossible values into its shared memory slot ({}); "
                "replacing it",
                slot.id, slot.pid, snap.problem);
    kill_group(slot);
    return;
  }
  if (snap.status != ipc::SlotStatus::kOk) return;
  slot.requests_total = snap.requests_total;
  slot.in_flight = snap.in_flight;
  if (snap.heartbeat_ns) {
    // Both clocks are CLOCK_MONOTONIC (steady_clock on Linux); a heartbeat
    // "from the future" was already refused by the validation.
    const TimePoint beat{std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*snap.heartbeat_ns))};
    if (!slot.last_heartbeat || beat > *slot.last_heartbeat) slot.last_heartbeat = std::min(beat, now);
  }
  if (snap.state == ipc::WorkerState::kReady && slot.state == WorkerState::kStarting &&
      config_.worker.ready == config::ReadyMode::kNotify) {
    log_->info("worker {} (pid {}) ready", slot.id, slot.pid);
    perform(slot, next(slot.state, Event::kReady), {});
  }
}

void Supervisor::kill_unhealthy(Slot& slot, const HealthVerdict& verdict) {
  if (verdict.kind == HealthVerdict::Kind::kNotReadyInTime) {
    // A failed start: the restart policy counts it like an early exit.
    slot.kill_reason = "not ready";
    log_->warn("worker {} (pid {}) {}; killing it", slot.id, slot.pid, verdict.reason);
    kill_group(slot);
    return;
  }
  slot.kill_reason = "hung";
  auto stat = read_proc_stat(slot.pid);
  log_->error("worker {} (pid {}) hung: {}; process state {}, wchan {}; sending {}", slot.id,
              slot.pid, verdict.reason, stat ? std::string(1, stat->state) : "?",
              read_wchan(slot.pid), config::signal_name(config_.worker.hang_signal));
  ::kill(slot.pid, config_.worker.hang_signal);
  // A stopped process would hold the signal pending forever.
  if (slot.stopped_since) ::kill(slot.pid, SIGCONT);
  uv_timer_start(
      slot.kill_timer.get(),
      [](uv_timer_t* t) {
        auto* s = static_cast<Slot*>(t->data);
        static_cast<Supervisor*>(t->loop->data)->kill_group(*s);
      },
      static_cast<uint64_t>(kHangKillGrace.count()), 0);
}

void Supervisor::quit(int exit_code) {
  quitting_ = true;
  exit_code_ = exit_code;
  uv_stop(&loop_);
}

}  // namespace corral::supervisor
