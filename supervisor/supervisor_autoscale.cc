// Load sampling on the loop: every interval, each serving worker's CPU and
// memory (with its children) from /proc and its requests from shared
// memory, averaged into a LoadSample for the autoscaler (autoscale_policy,
// pure), whose decisions this file performs; and the per-worker memory
// limit, enforced by a graceful replacement.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "config/duration.h"
#include "supervisor/load_sampler.h"
#include "supervisor/supervisor.h"

namespace corral::supervisor {
namespace {

// Without [autoscale], the memory limit is checked this often.
constexpr std::chrono::milliseconds kMemoryCheckInterval{5000};
// A worker replaced for memory this many times within the window is
// reported as probably leaking.
constexpr int kLeakReportCount = 3;
constexpr std::chrono::minutes kLeakReportWindow{10};
// Of the machine's available memory, what new workers may plan to use.
constexpr double kUsableMemoryShare = 0.9;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void Supervisor::start_sampling() {
  if (!config_.autoscale && !config_.worker.max_memory) {
    uv_timer_stop(sample_timer_.get());
    return;
  }
  const auto interval = config_.autoscale ? config_.autoscale->interval : kMemoryCheckInterval;
  uv_timer_start(
      sample_timer_.get(),
      [](uv_timer_t* t) { static_cast<Supervisor*>(t->data)->sample_load(); },
      static_cast<uint64_t>(interval.count()), static_cast<uint64_t>(interval.count()));
}

Limits Supervisor::machine_limits(std::optional<double> average_rss) const {
  // The machine holds one worker per CPU corral may use, and as many as its
  // available memory fits at the workers' current size.
  int limit = usable_cpu_count();
  if (average_rss && *average_rss > 0) {
    if (auto memory = read_machine_memory()) {
      int running = 0;
      for (const auto& slot : slots_) running += slot->proc && has_process(slot->state) ? 1 : 0;
      const double more = std::floor(static_cast<double>(memory->available_bytes) *
                                     kUsableMemoryShare / *average_rss);
      limit = std::min(limit, running + static_cast<int>(std::min(more, 1e6)));
    }
  }
  return Limits{std::max(limit, 1)};
}

void Supervisor::sample_load() {
  if (stopping_) return;
  const TimePoint now = Clock::now();
  double cpu_sum = 0, rss_sum = 0, inflight_sum = 0, rps_sum = 0;
  int serving = 0, with_cpu = 0, publishing = 0, with_rps = 0;
  Slot* over_memory = nullptr;
  uint64_t over_rss = 0;
  for (auto& slot : slots_) {
    if (slot->state != WorkerState::kReady || !slot->proc) continue;
    Process& proc = *slot->proc;
    auto usage = read_tree_usage(proc.pid);
    if (!usage) continue;  // it just exited; the reaper hears of it
    ++serving;
    proc.tree_rss = usage->rss_bytes;
    rss_sum += static_cast<double>(usage->rss_bytes);
    if (proc.tree_cpu) {
      cpu_sum += cpu_percent(proc.tree_cpu->second, usage->cpu_seconds,
                             seconds(now - proc.tree_cpu->first));
      ++with_cpu;
    }
    proc.tree_cpu = {now, usage->cpu_seconds};
    if (proc.publishes) {
      ++publishing;
      inflight_sum += static_cast<double>(proc.in_flight);
      if (proc.requests_seen && proc.requests_total >= proc.requests_seen->second &&
          now > proc.requests_seen->first) {
        rps_sum += static_cast<double>(proc.requests_total - proc.requests_seen->second) /
                   seconds(now - proc.requests_seen->first);
        ++with_rps;
      }
      proc.requests_seen = {now, proc.requests_total};
    }
    if (config_.worker.max_memory && usage->rss_bytes > *config_.worker.max_memory &&
        usage->rss_bytes > over_rss) {
      over_memory = slot.get();
      over_rss = usage->rss_bytes;
    }
  }
  // One replacement at a time, the biggest first; the others wait for the
  // next sample.
  if (over_memory != nullptr && !reload_) replace_for_memory(*over_memory, over_rss);

  if (!autoscaler_ || pinned_ || reload_) return;
  LoadSample sample;
  sample.at = now;
  sample.workers = serving;
  if (serving > 0) sample.rss_bytes = rss_sum / serving;
  if (with_cpu > 0) sample.cpu_percent = cpu_sum / with_cpu;
  if (publishing > 0) sample.inflight = inflight_sum / publishing;
  if (with_rps > 0) sample.rps = rps_sum / with_rps;
  const Limits limits = machine_limits(sample.rss_bytes);
  const int current = static_cast<int>(slots_.size());
  auto decision = autoscaler_->on_sample(sample, current, limits);
  if (!decision || decision->desired == current) return;
  log_->info("autoscale: {}", decision->reason);
  metrics_.on_scale(current, decision->desired, "autoscale");
  hooks_->fire(HookRunner::Event::kScale, {{"from", current},
                                           {"to", decision->desired},
                                           {"by", "autoscale"},
                                           {"reason", decision->reason}});
  ++scale_events_;
  last_scale_ = ScaleEvent{now, decision->reason};
  scale_to(decision->desired);
}

void Supervisor::replace_for_memory(Slot& slot, uint64_t rss) {
  const TimePoint now = Clock::now();
  ++memory_replacements_;
  metrics_.on_restart("memory");
  hooks_->fire(HookRunner::Event::kMemory, {{"worker", slot.id},
                                            {"pid", slot.proc->pid},
                                            {"rss_bytes", rss},
                                            {"max_memory_bytes", *config_.worker.max_memory}});
  auto& recent = slot.memory_replacements;
  std::erase_if(recent, [&](TimePoint t) { return now - t > kLeakReportWindow; });
  recent.push_back(now);
  log_->warn("worker {} (pid {}) uses {} (with its children), above max_memory {}; replacing it "
             "gracefully",
             slot.id, slot.proc->pid, fmt::format("{:.1f}MiB", static_cast<double>(rss) / (1 << 20)),
             config::format_size(*config_.worker.max_memory));
  if (static_cast<int>(recent.size()) >= kLeakReportCount) {
    log_->error("worker {} was replaced for memory {} times within {} minutes: it probably leaks",
                slot.id, recent.size(), kLeakReportWindow.count());
  }
  start_reload(fmt::format("memory replacement of worker {}", slot.id), {slot.id}, nullptr, false);
}

nlohmann::json Supervisor::autoscale_json(TimePoint now) const {
  if (!autoscaler_) return nullptr;
  nlohmann::json rules = nlohmann::json::array();
  const auto& config = autoscaler_->config();
  const auto& states = autoscaler_->rule_states();
  for (size_t i = 0; i < config.rules.size(); ++i) {
    const auto& rule = config.rules[i];
    nlohmann::json r = {
        {"metric", config::to_string(rule.metric)},
        {config::to_string(rule.direction), rule.threshold},
        {"for_s", seconds(rule.hold)},
        {"value", nullptr},
        {"holding_s", nullptr},
    };
    if (i < states.size()) {
      if (states[i].value) r["value"] = *states[i].value;
      if (states[i].holding_since) r["holding_s"] = seconds(now - *states[i].holding_since);
    }
    rules.push_back(std::move(r));
  }
  const Limits limits = machine_limits(std::nullopt);
  return {
      {"mode", pinned_ ? "pinned" : "auto"},
      {"min", autoscaler_->lower()},
      {"max", autoscaler_->upper(limits)},
      {"interval_s", seconds(config.interval)},
      {"scale_events", scale_events_},
      {"last_scale",
       last_scale_ ? nlohmann::json{{"ago_s", seconds(now - last_scale_->at)},
                                    {"reason", last_scale_->reason}}
                   : nlohmann::json(nullptr)},
      {"rules", std::move(rules)},
  };
}

}  // namespace corral::supervisor
