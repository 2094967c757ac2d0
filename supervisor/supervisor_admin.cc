// The supervisor's answers on the admin socket: status and stop. Kept apart
// from supervisor.cc, which owns the worker life cycle.
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "supervisor/process_tree.h"
#include "supervisor/runtime_dir.h"
#include "supervisor/supervisor.h"

namespace corral::supervisor {
namespace {

double seconds_between(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

std::string admin_socket_path(const config::Config& config) {
  if (!config.admin.socket.empty()) return config.admin.socket;
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return default_runtime_dir(xdg != nullptr ? xdg : "", ::geteuid()) + "/" + config.name + ".sock";
}

Status Supervisor::start_admin_socket() {
  const std::string path = admin_socket_path(config_);
  if (config_.admin.socket.empty()) {
    const auto slash = path.rfind('/');
    if (auto dir = ensure_private_dir(path.substr(0, slash)); !dir) return dir.error();
  }
  auto server = AdminServer::start(
      &loop_, path, [this](const ipc::admin::Request& request, AdminServer::Respond respond) {
        on_admin_request(request, std::move(respond));
      });
  if (!server) return server.error();
  admin_ = std::move(*server);
  admin_->on_refused([this](pid_t pid, uid_t uid) {
    log_->warn("admin socket: refused pid {} of uid {} (only uid {} and root may connect)", pid, uid,
               ::geteuid());
  });
  admin_->on_warning([this](const std::string& message) { log_->warn("{}", message); });
  log_->info("admin socket: {} (at most {} connections)", path, admin_->max_clients());
  return Ok{};
}

namespace {

// {"cmd":"scale","workers":N} | {"delta":K} | {"auto":true}.
Result<ScaleRequest> scale_request(const nlohmann::json& body) {
  const int given = static_cast<int>(body.contains("workers")) +
                    static_cast<int>(body.contains("delta")) + static_cast<int>(body.contains("auto"));
  if (given != 1) {
    return Error{"scale needs exactly one of \"workers\" (a count), \"delta\" (+K or -K) or "
                 "\"auto\": true"};
  }
  auto as_int = [](const nlohmann::json& v, const char* field) -> Result<int> {
    if (!v.is_number_integer()) return Error{fmt::format("\"{}\" must be an integer", field)};
    const auto n = v.get<long long>();
    if (n < -1'000'000 || n > 1'000'000) return Error{fmt::format("\"{}\" is out of range", field)};
    return static_cast<int>(n);
  };
  if (body.contains("auto")) {
    if (body["auto"] != true) return Error{"\"auto\" must be true"};
    return ScaleRequest{ScaleRequest::Kind::kAuto, 0};
  }
  if (body.contains("workers")) {
    auto n = as_int(body["workers"], "workers");
    if (!n) return n.error();
    return ScaleRequest{ScaleRequest::Kind::kTo, *n};
  }
  auto k = as_int(body["delta"], "delta");
  if (!k) return k.error();
  return ScaleRequest{ScaleRequest::Kind::kBy, *k};
}

}  // namespace

void Supervisor::on_admin_request(const ipc::admin::Request& request, AdminServer::Respond plain) {
  AdminServer::Respond respond = [this, cmd = request.cmd, plain = std::move(plain)](std::string reply) {
    const auto body = nlohmann::json::parse(reply, nullptr, false);
    metrics_.on_admin_request(cmd, body.is_object() && body.value("ok", false));
    plain(std::move(reply));
  };
  const std::string& cmd = request.cmd;
  if (cmd == "status") return respond(ipc::admin::ok_reply(status_json()));
  if (cmd == "version") {
    return respond(ipc::admin::ok_reply({{"protocol", ipc::admin::kProtocolVersion}}));
  }
  if (cmd == "stop") {
    if (!stopping_) {
      log_->info("stop requested on the admin socket: stopping gracefully");
      stop_service(true, 0);
    }
    return respond(ipc::admin::ok_reply({{"state", "stopping"}}));
  }
  if (cmd == "scale") {
    auto parsed = scale_request(request.body);
    if (!parsed) return respond(ipc::admin::error_reply(parsed.error().message));
    const int previous = static_cast<int>(slots_.size());
    auto outcome = scale(*parsed, "scale requested on the admin socket");
    if (!outcome) return respond(ipc::admin::error_reply(outcome.error().message));
    return respond(ipc::admin::ok_reply(
        {{"previous", previous}, {"desired", outcome->desired}, {"pinned", outcome->pinned}}));
  }
  if (cmd == "reload") {
    std::vector<int> ids;
    for (auto& slot : slots_) ids.push_back(slot->id);
    log_->info("reload requested on the admin socket");
    return start_reload("reload", std::move(ids), std::move(respond), true);
  }
  if (cmd == "restart") {
    const auto& id = request.body.contains("id") ? request.body["id"] : nlohmann::json();
    if (!id.is_number_integer()) {
      return respond(ipc::admin::error_reply("restart needs \"id\": the worker id, an integer"));
    }
    const auto n = id.get<long long>();
    if (n < 0 || n >= static_cast<long long>(slots_.size())) {
      return respond(ipc::admin::error_reply(fmt::format(
          "no worker {}: the ids are 0 to {}", n, static_cast<long long>(slots_.size()) - 1)));
    }
    log_->info("restart of worker {} requested on the admin socket", n);
    return start_reload(fmt::format("restart of worker {}", n), {static_cast<int>(n)},
                        std::move(respond), false);
  }
  respond(ipc::admin::error_reply(fmt::format(
      "unknown command '{}' (status, scale, reload, restart, stop, version)", cmd)));
}

nlohmann::json Supervisor::process_json(const Slot* slot, Process& proc, std::string_view state,
                                        TimePoint now) {
  const double uptime = seconds_between(proc.started, now);
  nlohmann::json w = {
      {"id", proc.id},
      {"pid", proc.pid},
      {"state", std::string(state)},
      {"restarts", slot != nullptr ? slot->restarts.restarts() : 0},
      {"last_exit", slot == nullptr || slot->last_exit.empty() ? nlohmann::json(nullptr)
                                                               : nlohmann::json(slot->last_exit)},
      {"uptime_s", uptime},
      {"cpu_percent", nullptr},
      {"rss_bytes", nullptr},
      {"heartbeat_age_s", proc.last_heartbeat ? nlohmann::json(seconds_between(*proc.last_heartbeat, now))
                                              : nlohmann::json(nullptr)},
      {"status", proc.status.empty() ? nlohmann::json(nullptr) : nlohmann::json(proc.status)},
      {"requests_total", proc.requests_total},
      {"in_flight", proc.in_flight},
  };
  if (auto usage = read_proc_usage(proc.pid)) {
    w["rss_bytes"] = usage->rss_bytes;
    // Between two status requests when the last one is recent enough to
    // mean something; else averaged over the worker's life.
    double percent = uptime > 0 ? usage->cpu_seconds / uptime * 100.0 : 0.0;
    if (proc.cpu_sample && now - proc.cpu_sample->first >= std::chrono::milliseconds(200)) {
      percent = (usage->cpu_seconds - proc.cpu_sample->second) /
                seconds_between(proc.cpu_sample->first, now) * 100.0;
    }
    w["cpu_percent"] = std::max(0.0, percent);
    proc.cpu_sample = {now, usage->cpu_seconds};
    w["cpu_s"] = usage->cpu_seconds;
  }
  return w;
}

nlohmann::json Supervisor::status_json() {
  const TimePoint now = Clock::now();
  nlohmann::json workers = nlohmann::json::array();
  int ready = 0, failed = 0, serving = 0;
  for (auto& slot : slots_) {
    ready += slot->state == WorkerState::kReady ? 1 : 0;
    failed += slot->state == WorkerState::kFailed ? 1 : 0;
    // An old process serving while its replacement starts keeps the slot
    // serving.
    const bool old_serves = slot->previous && slot->previous_state == WorkerState::kReady;
    serving += slot->state == WorkerState::kReady || old_serves ? 1 : 0;
    if (slot->previous) {
      workers.push_back(process_json(slot.get(), *slot->previous, to_string(slot->previous_state), now));
    }
    if (slot->proc && has_process(slot->state)) {
      workers.push_back(process_json(slot.get(), *slot->proc, to_string(slot->state), now));
    } else {
      workers.push_back({
          {"id", slot->id},
          {"pid", nullptr},
          {"state", std::string(to_string(slot->state))},
          {"restarts", slot->restarts.restarts()},
          {"last_exit", slot->last_exit.empty() ? nlohmann::json(nullptr) : nlohmann::json(slot->last_exit)},
          {"uptime_s", nullptr},
          {"cpu_percent", nullptr},
          {"rss_bytes", nullptr},
          {"heartbeat_age_s", nullptr},
          {"status", nullptr},
          {"requests_total", 0},
          {"in_flight", 0},
      });
    }
  }
  for (auto& proc : retiring_) {
    workers.push_back(process_json(nullptr, *proc, stopping_ ? "stopping" : "draining", now));
  }
  const int desired = static_cast<int>(slots_.size());
  int running = static_cast<int>(retiring_.size());
  for (auto& slot : slots_) {
    running += (slot->proc && has_process(slot->state) ? 1 : 0) + (slot->previous ? 1 : 0);
  }
  return {
      {"name", config_.name},
      {"pid", ::getpid()},
      {"state", stopping_ ? "stopping" : reload_ ? "reloading" : "running"},
      {"healthy", !stopping_ && serving == desired},
      {"desired", desired},
      {"ready", ready},
      {"failed", failed},
      {"running", running},
      {"pinned", pinned_},
      {"autoscale", autoscale_json(now)},
      {"memory_replacements", memory_replacements_},
      {"reloading", reload_.has_value()},
      {"uptime_s", seconds_between(started_at_, now)},
      {"workers", std::move(workers)},
  };
}

}  // namespace corral::supervisor
