// Changing the set of workers while the service runs: scaling (corral
// scale, TTIN/TTOU) and rolling replacement (corral reload, HUP, corral
// restart ID). The decisions are the pure policies' (scale_policy,
// rolling_reload); this file performs them on the loop.
#include <signal.h>

#include <algorithm>

#include <fmt/format.h>

#include "config/duration.h"
#include "supervisor/supervisor.h"

namespace corral::supervisor {
namespace {

double seconds_since(TimePoint from) {
  return std::chrono::duration<double>(Clock::now() - from).count();
}

// What a reload may not change: these are bound or named once, at start.
std::optional<std::string> unreloadable_change(const config::Config& now,
                                               const config::Config& next) {
  if (next.name != now.name) {
    return fmt::format("name changed from '{}' to '{}'", now.name, next.name);
  }
  if (next.sockets != now.sockets) return std::string("[[socket]] changed");
  if (next.admin != now.admin) return std::string("[admin] changed");
  return std::nullopt;
}

}  // namespace

Result<ScaleOutcome> Supervisor::scale(const ScaleRequest& request, std::string_view why) {
  if (stopping_) return Error{"the service is stopping"};
  const int previous = static_cast<int>(slots_.size());
  // Unpinned, the count is the rules' (from where it is now, within their
  // bounds) or else the configuration's.
  // Unpinning never removes workers for the machine's sake alone (its
  // limit moves with other programs): only the configured bounds apply.
  int configured = configured_worker_count(config_);
  if (autoscaler_) {
    const auto& a = autoscaler_->config();
    const int upper = std::max(a.min, a.max.value_or(autoscaler_->upper(machine_limits(std::nullopt))));
    configured = std::clamp(previous, a.min, upper);
  }
  auto outcome = resolve_scale(request, previous, configured, config::kMaxWorkers);
  if (!outcome) return outcome;
  if (autoscaler_ && !outcome->pinned) autoscaler_->restart_windows();
  pinned_ = outcome->pinned;
  if (outcome->desired != previous) {
    log_->info("{}: scaling from {} to {} worker{}{}", why, previous, outcome->desired,
               outcome->desired == 1 ? "" : "s",
               pinned_ ? " (pinned until 'corral scale auto')" : "");
  } else {
    log_->info("{}: {} worker{}, unchanged{}", why, previous, previous == 1 ? "" : "s",
               pinned_ ? " (pinned)" : " (unpinned)");
  }
  const char* by = why.starts_with("scale requested") ? "admin" : "signal";
  metrics_.on_scale(previous, outcome->desired, by);
  if (outcome->desired != previous) {
    hooks_->fire(HookRunner::Event::kScale, {{"from", previous},
                                             {"to", outcome->desired},
                                             {"by", by},
                                             {"reason", std::string(why)}});
  }
  scale_to(outcome->desired);
  return outcome;
}

void Supervisor::scale_to(int count) {
  // Up: new ids at once, with the current configuration.
  while (static_cast<int>(slots_.size()) < count) {
    Slot& slot = add_slot(static_cast<int>(slots_.size()));
    slot.state = WorkerState::kStarting;
    spawn(slot);
  }
  // Down: the highest ids drain. Take them out first, then tell a reload,
  // which may then start the next replacement: never one of these.
  std::vector<std::unique_ptr<Slot>> removed;
  while (static_cast<int>(slots_.size()) > count) {
    removed.push_back(std::move(slots_.back()));
    slots_.pop_back();
  }
  for (auto& slot : removed) {
    uv_timer_stop(slot->timer.get());
    if (slot->previous) retire(std::move(slot->previous), "scaled down");
    if (slot->proc && has_process(slot->state)) retire(std::move(slot->proc), "scaled down");
    release_socket_if_unused(slot->id);
  }
  if (reload_) {
    for (auto& slot : removed) {
      if (reload_) apply(reload_->plan.on_gone(slot->id));
    }
  }
  check_finished();
}

void Supervisor::retire(std::unique_ptr<Process> proc, std::string_view why) {
  log_->info("worker {} (pid {}) draining ({})", proc->id, proc->pid, why);
  proc->retired_at = Clock::now();
  if (shm_ && proc->shm_slot >= 0) shm_->request_drain(proc->shm_slot);
  ::kill(proc->pid, config_.worker.stop_signal);
  // A stopped process would never see the stop signal.
  if (proc->stopped_since) ::kill(proc->pid, SIGCONT);
  uv_timer_start(
      proc->kill_timer.get(),
      [](uv_timer_t* t) {
        auto* p = static_cast<Process*>(t->data);
        auto* self = static_cast<Supervisor*>(t->loop->data);
        self->log_->warn("worker {} (pid {}) still running {} after its stop signal; killing it",
                         p->id, p->pid, config::format_duration(self->config_.worker.drain_timeout));
        self->kill_group(p->pid);
      },
      static_cast<uint64_t>(config_.worker.drain_timeout.count()), 0);
  retiring_.push_back(std::move(proc));
}

void Supervisor::release_socket_if_unused(int id) {
  // A reuseport socket belongs to its id; it closes once no process of that
  // id is left to accept on it and the id is no longer wanted (or gave up).
  const Slot* slot = find_slot(id);
  if (slot != nullptr && slot->state != WorkerState::kFailed) return;
  if (slot != nullptr && slot->previous) return;
  for (const auto& proc : retiring_) {
    if (proc->id == id) return;
  }
  sockets_.release_slot(id);
}

void Supervisor::apply_config_timers() {
  start_health_timer();
  // New rules start from scratch; unchanged ones keep their windows.
  if (!config_.autoscale) {
    autoscaler_.reset();
  } else if (!autoscaler_ || autoscaler_->config() != *config_.autoscale) {
    autoscaler_.emplace(*config_.autoscale);
  }
  start_sampling();
  hooks_->set_hooks(config_.hooks);
}

void Supervisor::start_reload(std::string what, std::vector<int> ids, AdminServer::Respond respond,
                              bool reread_config) {
  auto refuse = [&](const std::string& message) {
    log_->error("{} refused: {}", what, message);
    if (respond) respond(ipc::admin::error_reply(fmt::format("{} refused: {}", what, message)));
  };
  if (stopping_) return refuse("the service is stopping");
  if (reload_) {
    return refuse(fmt::format("a {} is under way ({} of {} workers replaced)", reload_->what,
                              reload_->plan.replaced(), reload_->plan.total()));
  }
  std::optional<config::Config> previous;
  if (reread_config && config_source_) {
    auto next = config_source_();
    if (!next) {
      return refuse(fmt::format("the new configuration is invalid; the workers keep running as "
                                "they are:\n{}", next.error().message));
    }
    if (auto change = unreloadable_change(config_, *next)) {
      return refuse(fmt::format("{}; that takes a restart of corral (the workers keep running as "
                                "they are)", *change));
    }
    if (*next != config_) {
      log_->info("{}: the configuration changed", what);
      previous = std::move(config_);
      config_ = std::move(*next);
      apply_config_timers();
    }
  }
  reload_.emplace(ActiveReload{RollingReload({}, 1), std::move(what), Clock::now(), {},
                               std::move(previous)});
  // systemd's ExecReload waits for this: a whole reload, not one worker's.
  if (reread_config && announced_ready_) notifier_.reloading();
  reload_->announced = reread_config && announced_ready_;
  if (respond) reload_->waiters.push_back(std::move(respond));
  // A count from the new configuration applies first, unless pinned: fewer
  // workers to replace, and new ones start with the new configuration.
  if (reload_->previous_config && !pinned_) {
    const int count = autoscaler_ ? autoscaler_->clamp(static_cast<int>(slots_.size()),
                                                       machine_limits(std::nullopt))
                                  : configured_worker_count(config_);
    if (count != static_cast<int>(slots_.size())) {
      log_->info("{}: the configuration asks for {} workers instead of {}", reload_->what, count,
                 slots_.size());
      metrics_.on_scale(static_cast<int>(slots_.size()), count, "reload");
      scale_to(count);
    }
  }
  std::vector<int> plan_ids;
  for (int id : ids) {
    if (find_slot(id) != nullptr) plan_ids.push_back(id);
  }
  log_->info("{}: replacing {} worker{}, {} at a time", reload_->what, plan_ids.size(),
             plan_ids.size() == 1 ? "" : "s", config_.reload.batch);
  reload_->plan = RollingReload(std::move(plan_ids), config_.reload.batch);
  apply(reload_->plan.begin());
}

void Supervisor::apply(ReloadSteps steps) {
  for (int id : steps.retire) {
    Slot* slot = find_slot(id);
    if (slot != nullptr && slot->previous) retire(std::move(slot->previous), "replaced");
  }
  for (int id : steps.roll_back) roll_back(id);
  if (steps.finished) {
    finish_reload(steps.error);
    return;
  }
  for (int id : steps.start) {
    // An earlier start may have finished the plan (a failure) or made it
    // move on: only start what it still wants.
    if (!reload_ || !reload_->plan.replacing(id)) continue;
    replace(id);
  }
}

void Supervisor::replace(int id) {
  Slot* slot = find_slot(id);
  if (slot == nullptr) {
    apply(reload_->plan.on_gone(id));
    return;
  }
  if (has_process(slot->state) && slot->proc) {
    // The old process serves on until the new one is ready.
    slot->previous = std::move(slot->proc);
    slot->previous_state = slot->state;
  } else {
    // Nothing running (backoff, gave up): a fresh start, with a clean slate.
    uv_timer_stop(slot->timer.get());
    slot->restarts.reset();
  }
  slot->state = WorkerState::kStarting;
  spawn(*slot);
}

void Supervisor::roll_back(int id) {
  Slot* slot = find_slot(id);
  if (slot == nullptr || !slot->previous) return;  // nothing old to go back to
  if (slot->proc) retire(std::move(slot->proc), "reload rolled back");
  slot->proc = std::move(slot->previous);
  slot->state = slot->previous_state;
  log_->info("worker {} keeps its old process (pid {})", id, slot->proc->pid);
}

void Supervisor::replacement_failed(Slot& slot, const std::string& why) {
  // The replacement is gone (reaped, or never started).
  slot.proc.reset();
  if (slot.previous) {
    slot.proc = std::move(slot.previous);
    slot.state = slot.previous_state;
    log_->error("{}; worker {} keeps its old process (pid {})", why, slot.id, slot.proc->pid);
  } else {
    // Nothing to go back to: the slot restarts as after any failed start.
    log_->error("{}", why);
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    const TimePoint now = Clock::now();
    RestartDecision decision = slot.restarts.on_exit(ExitStatus{false, 1}, now, now, jitter(rng_));
    Step step = next(WorkerState::kStarting, Event::kExited, decision);
    if (step.action == Action::kSpawn) {
      decision.delay = config_.restart.backoff_initial;
      step = {WorkerState::kBackoff, Action::kScheduleSpawn};
    }
    perform(slot, step, decision);
  }
  apply(reload_->plan.on_failed(slot.id, why));
}

void Supervisor::finish_reload(const std::optional<std::string>& error) {
  if (!reload_) return;
  ActiveReload done = std::move(*reload_);
  reload_.reset();
  const double took = seconds_since(done.began);
  // Replacements of one worker (restart ID, memory) are not reloads.
  if (done.announced || done.what == "reload") {
    metrics_.on_reload(!error);
    nlohmann::json event = {{"what", done.what},
                            {"outcome", error ? "aborted" : "done"},
                            {"replaced", done.plan.replaced()},
                            {"duration_s", took}};
    if (error) event["error"] = *error;
    hooks_->fire(HookRunner::Event::kReload, event);
  }
  std::string reply;
  if (error) {
    if (done.previous_config) {
      // Restarts from now on use what the running workers were started with.
      config_ = std::move(*done.previous_config);
      apply_config_timers();
    }
    const std::string message =
        fmt::format("{} failed after {:.2f}s: {}; {} of {} worker{} replaced before, the others "
                    "keep their old process{}",
                    done.what, took, *error, done.plan.replaced(), done.plan.total(),
                    done.plan.total() == 1 ? "" : "s",
                    done.previous_config ? " and configuration" : "");
    log_->error("{}", message);
    reply = ipc::admin::error_reply(message);
  } else {
    log_->info("{} complete: {} worker{} replaced in {:.2f}s", done.what, done.plan.replaced(),
               done.plan.replaced() == 1 ? "" : "s", took);
    reply = ipc::admin::ok_reply({{"replaced", done.plan.replaced()}, {"duration_s", took}});
  }
  for (auto& respond : done.waiters) respond(reply);
  if (done.announced && !stopping_) notifier_.ready(summary());
}

}  // namespace corral::supervisor
