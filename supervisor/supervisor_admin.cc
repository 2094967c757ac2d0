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
  auto server = AdminServer::start(&loop_, path, [this](const ipc::admin::Request& request) {
    return on_admin_request(request);
  });
  if (!server) return server.error();
  admin_ = std::move(*server);
  admin_->on_refused([this](pid_t pid, uid_t uid) {
    log_->warn("admin socket: refused pid {} of uid {} (only uid {} and root may connect)", pid, uid,
               ::geteuid());
  });
  log_->info("admin socket: {}", path);
  return Ok{};
}

std::string Supervisor::on_admin_request(const ipc::admin::Request& request) {
  if (request.cmd == "status") return ipc::admin::ok_reply(status_json());
  if (request.cmd == "version") {
    return ipc::admin::ok_reply({{"protocol", ipc::admin::kProtocolVersion}});
  }
  if (request.cmd == "stop") {
    if (!stopping_) {
      log_->info("stop requested on the admin socket: stopping gracefully");
      stop_service(true, 0);
    }
    return ipc::admin::ok_reply({{"state", "stopping"}});
  }
  return ipc::admin::error_reply(
      fmt::format("unknown command '{}' (status, stop, version)", request.cmd));
}

nlohmann::json Supervisor::status_json() {
  const TimePoint now = Clock::now();
  nlohmann::json workers = nlohmann::json::array();
  int ready = 0, failed = 0;
  for (auto& slot : slots_) {
    ready += slot->state == WorkerState::kReady ? 1 : 0;
    failed += slot->state == WorkerState::kFailed ? 1 : 0;
    nlohmann::json w = {
        {"id", slot->id},
        {"pid", has_process(slot->state) ? nlohmann::json(slot->pid) : nlohmann::json(nullptr)},
        {"state", std::string(to_string(slot->state))},
        {"restarts", slot->restarts.restarts()},
        {"last_exit", slot->last_exit.empty() ? nlohmann::json(nullptr) : nlohmann::json(slot->last_exit)},
        {"uptime_s", nullptr},
        {"cpu_percent", nullptr},
        {"rss_bytes", nullptr},
        {"heartbeat_age_s", nullptr},
        {"status", slot->status.empty() ? nlohmann::json(nullptr) : nlohmann::json(slot->status)},
        {"requests_total", slot->requests_total},
        {"in_flight", slot->in_flight},
    };
    if (has_process(slot->state)) {
      const double uptime = seconds_between(slot->started, now);
      w["uptime_s"] = uptime;
      if (slot->last_heartbeat) w["heartbeat_age_s"] = seconds_between(*slot->last_heartbeat, now);
      if (auto usage = read_proc_usage(slot->pid)) {
        w["rss_bytes"] = usage->rss_bytes;
        // Between two status requests when the last one is recent enough
        // to mean something; else averaged over the worker's life.
        double percent = uptime > 0 ? usage->cpu_seconds / uptime * 100.0 : 0.0;
        if (slot->cpu_sample && now - slot->cpu_sample->first >= std::chrono::milliseconds(200)) {
          percent = (usage->cpu_seconds - slot->cpu_sample->second) /
                    seconds_between(slot->cpu_sample->first, now) * 100.0;
        }
        w["cpu_percent"] = std::max(0.0, percent);
        slot->cpu_sample = {now, usage->cpu_seconds};
      }
    }
    workers.push_back(std::move(w));
  }
  const int desired = static_cast<int>(slots_.size());
  return {
      {"name", config_.name},
      {"pid", ::getpid()},
      {"state", stopping_ ? "stopping" : "running"},
      {"healthy", !stopping_ && ready == desired},
      {"desired", desired},
      {"ready", ready},
      {"failed", failed},
      {"uptime_s", seconds_between(started_at_, now)},
      {"workers", std::move(workers)},
  };
}

}  // namespace corral::supervisor
