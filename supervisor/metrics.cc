#include "supervisor/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "supervisor/process_tree.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "unknown"
#endif

namespace corral::supervisor {
namespace {

using nlohmann::json;

template <size_t N>
size_t index_of(const std::array<std::string_view, N>& values, std::string_view value) {
  for (size_t i = 0; i < N; ++i) {
    if (values[i] == value) return i;
  }
  return N;  // "other"
}

// A number from the status object as the exposition format writes it;
// nullopt for null, a missing field or anything not a number.
std::optional<std::string> number(const json& object, const char* field) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(field);
  if (it == object.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>() ? "1" : "0";
  if (it->is_number_unsigned()) return fmt::format("{}", it->get<uint64_t>());
  if (it->is_number_integer()) return fmt::format("{}", it->get<int64_t>());
  if (it->is_number_float()) return fmt::format("{}", it->get<double>());  // shortest round-trip
  return std::nullopt;
}

class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  // `labels` is the inside of the braces, already escaped; "" for none.
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    if (labels.empty()) {
      out_ += fmt::format("{} {}\n", name, value);
    } else {
      out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  }
  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    sample(name, labels, fmt::format("{}", value));
  }
  // Nothing when the status object has no such figure.
  void sample_if(std::string_view name, std::string_view labels, const std::optional<std::string>& v) {
    if (v) sample(name, labels, *v);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// The process whose figures stand for worker `id`: during a replacement two
// processes share an id; the serving one (ready) wins, then the one
// starting, then one draining or stopping. Entries without a process
// (backoff, failed, stopped) have no figures.
int rank(std::string_view state) {
  if (state == "ready") return 0;
  if (state == "starting") return 1;
  if (state == "draining") return 2;
  if (state == "stopping") return 3;
  return 4;
}

std::map<int64_t, const json*> representatives(const json& workers) {
  std::map<int64_t, const json*> chosen;
  if (!workers.is_array()) return chosen;
  for (const auto& w : workers) {
    if (!w.is_object()) continue;
    auto id = w.find("id");
    auto pid = w.find("pid");
    auto state = w.find("state");
    if (id == w.end() || !id->is_number_integer() || id->get<int64_t>() < 0) continue;
    if (pid == w.end() || pid->is_null() || state == w.end() || !state->is_string()) continue;
    auto [it, inserted] = chosen.emplace(id->get<int64_t>(), &w);
    if (!inserted && rank(state->get<std::string>()) < rank(it->second->at("state").get<std::string>())) {
      it->second = &w;
    }
  }
  return chosen;
}

std::string state_of(const json& status) {
  auto it = status.find("state");
  return it != status.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Metrics::default_version() { return CORRAL_VERSION; }

Metrics::Metrics(std::string version, std::chrono::system_clock::time_point started)
    : version_(std::move(version)),
      start_time_seconds_(std::chrono::duration<double>(started.time_since_epoch()).count()) {}

void Metrics::on_restart(std::string_view reason) {
  ++restarts_[index_of(kRestartReasons, reason)];
}

void Metrics::on_reload(bool ok) { ++(ok ? reloads_ok_ : reloads_failed_); }

void Metrics::on_scale(int from, int to, std::string_view cause) {
  if (from == to) return;
  ++scale_events_[to > from ? 0 : 1][index_of(kScaleCauses, cause)];
}

void Metrics::on_admin_request(std::string_view cmd, bool ok) {
  ++admin_requests_[index_of(kAdminCommands, cmd)][ok ? 0 : 1];
}

std::string Metrics::render(const json& status, const std::optional<SelfUsage>& self) const {
  Exposition e;
  const json empty = json::object();
  const json& s = status.is_object() ? status : empty;

  e.family("corral_build_info", "gauge", "corral's version; always 1.");
  e.sample("corral_build_info", fmt::format("version=\"{}\"", escape_label_value(version_)), "1");
  e.family("corral_start_time_seconds", "gauge", "When corral started, in seconds since the Unix epoch.");
  e.sample("corral_start_time_seconds", "", fmt::format("{:.3f}", start_time_seconds_));

  const std::string state = state_of(s);
  e.family("corral_state", "gauge", "The service's state: 1 for the current one, else 0.");
  for (std::string_view st : {"running", "reloading", "stopping"}) {
    e.sample("corral_state", fmt::format("state=\"{}\"", st), state == st ? "1" : "0");
  }
  e.family("corral_healthy", "gauge",
           "1 when every desired worker is serving and corral is not stopping (corral status exits 0).");
  e.sample_if("corral_healthy", "", number(s, "healthy"));

  e.family("corral_workers_desired", "gauge", "Worker ids (slots) wanted now.");
  e.sample_if("corral_workers_desired", "", number(s, "desired"));
  e.family("corral_workers_running", "gauge",
           "Worker processes alive, including old ones draining and replacements starting.");
  e.sample_if("corral_workers_running", "", number(s, "running"));

  const auto workers_it = s.find("workers");
  const json& workers = workers_it != s.end() ? *workers_it : empty;
  std::array<uint64_t, kWorkerStates.size()> by_state{};
  if (workers.is_array()) {
    for (const auto& w : workers) {
      if (!w.is_object() || !w.contains("state") || !w["state"].is_string()) continue;
      const size_t i = index_of(kWorkerStates, w["state"].get<std::string>());
      if (i < by_state.size()) ++by_state[i];
    }
  }
  e.family("corral_workers", "gauge",
           "Worker processes by state; slots without a process count as backoff, failed or stopped.");
  for (size_t i = 0; i < kWorkerStates.size(); ++i) {
    e.sample("corral_workers", fmt::format("state=\"{}\"", kWorkerStates[i]), by_state[i]);
  }

  e.family("corral_worker_restarts_total", "counter",
           "Worker processes replaced or given up on, by reason.");
  for (size_t i = 0; i < kRestartReasons.size(); ++i) {
    e.sample("corral_worker_restarts_total", fmt::format("reason=\"{}\"", kRestartReasons[i]),
             restarts_[i]);
  }
  if (restarts_.back() != 0) {
    e.sample("corral_worker_restarts_total", "reason=\"other\"", restarts_.back());
  }

  e.family("corral_memory_replacements_total", "counter",
           "Workers replaced gracefully for using more than worker.max_memory.");
  e.sample_if("corral_memory_replacements_total", "", number(s, "memory_replacements"));

  e.family("corral_reloads_total", "counter", "Rolling reloads and restarts, by outcome.");
  e.sample("corral_reloads_total", "outcome=\"ok\"", reloads_ok_);
  e.sample("corral_reloads_total", "outcome=\"failed\"", reloads_failed_);

  e.family("corral_scale_events_total", "counter",
           "Changes of the desired worker count, by direction and cause.");
  for (size_t d = 0; d < 2; ++d) {
    const char* direction = d == 0 ? "up" : "down";
    for (size_t c = 0; c <= kScaleCauses.size(); ++c) {
      const bool other = c == kScaleCauses.size();
      if (other && scale_events_[d][c] == 0) continue;
      e.sample("corral_scale_events_total",
               fmt::format("direction=\"{}\",cause=\"{}\"", direction,
                           other ? std::string_view("other") : kScaleCauses[c]),
               scale_events_[d][c]);
    }
  }

  e.family("corral_admin_requests_total", "counter",
           "Requests answered on the admin socket, by command and outcome.");
  for (size_t c = 0; c <= kAdminCommands.size(); ++c) {
    const std::string_view command =
        c == kAdminCommands.size() ? std::string_view("other") : kAdminCommands[c];
    e.sample("corral_admin_requests_total", fmt::format("command=\"{}\",outcome=\"ok\"", command),
             admin_requests_[c][0]);
    e.sample("corral_admin_requests_total", fmt::format("command=\"{}\",outcome=\"error\"", command),
             admin_requests_[c][1]);
  }

  // Per worker id: one process each (see representatives()).
  const auto chosen = representatives(workers);
  struct PerWorker {
    const char* name;
    const char* type;
    const char* help;
    const char* field;
  };
  static constexpr PerWorker kPerWorker[] = {
      {"corral_worker_cpu_seconds_total", "counter",
       "CPU time (user and system) used by the worker's process since it started.", "cpu_s"},
      {"corral_worker_resident_memory_bytes", "gauge", "Resident memory of the worker's process.",
       "rss_bytes"},
      {"corral_worker_heartbeat_age_seconds", "gauge",
       "Seconds since the worker's last heartbeat (library or WATCHDOG=1); absent if it never sent one.",
       "heartbeat_age_s"},
      {"corral_worker_uptime_seconds", "gauge", "Seconds since the worker's process started.",
       "uptime_s"},
      {"corral_worker_requests_total", "counter",
       "Requests the worker's process reported through libcorral-worker since it started.",
       "requests_total"},
      {"corral_worker_in_flight", "gauge",
       "Requests in progress, as the worker reports through libcorral-worker.", "in_flight"},
  };
  for (const auto& m : kPerWorker) {
    e.family(m.name, m.type, m.help);
    for (const auto& [id, w] : chosen) {
      e.sample_if(m.name, fmt::format("id=\"{}\"", id), number(*w, m.field));
    }
  }

  if (self) {
    e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    e.sample("process_cpu_seconds_total", "", fmt::format("{}", self->cpu_seconds));
    e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    e.sample("process_resident_memory_bytes", "", self->rss_bytes);
    e.family("process_open_fds", "gauge", "Number of open file descriptors.");
    e.sample("process_open_fds", "", self->open_fds);
    e.family("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
    e.sample("process_start_time_seconds", "", fmt::format("{:.3f}", start_time_seconds_));
  }
  return e.take();
}

ProbeResult readiness(const json& status, int min_ready) {
  if (!status.is_object()) return {false, "not ready: no status"};
  if (state_of(status) == "stopping") return {false, "not ready: stopping"};
  std::set<int64_t> ready_ids;
  if (auto it = status.find("workers"); it != status.end() && it->is_array()) {
    for (const auto& w : *it) {
      if (!w.is_object()) continue;
      auto id = w.find("id");
      auto state = w.find("state");
      if (id == w.end() || !id->is_number_integer() || state == w.end() || *state != "ready") continue;
      ready_ids.insert(id->get<int64_t>());
    }
  }
  const auto desired = number(status, "desired").value_or("?");
  const auto ready = static_cast<int64_t>(ready_ids.size());
  if (ready >= min_ready) {
    return {true, fmt::format("ready: {} of {} workers ready", ready, desired)};
  }
  return {false,
          fmt::format("not ready: {} of {} workers ready, {} needed", ready, desired, min_ready)};
}

std::optional<SelfUsage> read_self_usage() {
  auto usage = read_proc_usage(::getpid());
  if (!usage) return std::nullopt;
  SelfUsage self{usage->cpu_seconds, usage->rss_bytes, 0};
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++self.open_fds;
    }
    ::closedir(dir);
    if (self.open_fds > 0) --self.open_fds;  // the directory's own fd
  }
  return self;
}

}  // namespace corral::supervisor
