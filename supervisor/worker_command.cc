#include "supervisor/worker_command.h"

#include <string_view>

#include "config/placeholders.h"

namespace corral::supervisor {
namespace {

// Variables that describe corral's own situation (it may itself run under
// systemd socket activation or notify) and would mislead a worker.
bool is_corral_private(std::string_view entry) {
  for (std::string_view key : {"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=",
                               "WATCHDOG_USEC=", "WATCHDOG_PID=", "CORRAL_WORKER_ID=",
                               "CORRAL_SHM=", "CORRAL_SLOT="}) {
    if (entry.substr(0, key.size()) == key) return true;
  }
  return false;
}

bool has_key(std::string_view entry, const std::string& key) {
  return entry.size() > key.size() && entry.substr(0, key.size()) == key &&
         entry[key.size()] == '=';
}

}  // namespace

LaunchSpec make_launch_spec(const config::WorkerConfig& worker, int slot_id,
                            const std::vector<SocketView>& sockets,
                            const std::vector<std::string>& inherited_env) {
  config::PlaceholderValues values;
  values.worker_id = slot_id;
  for (size_t i = 0; i < sockets.size(); ++i) {
    values.fds[sockets[i].name] = 3 + static_cast<int>(i);
    values.ports[sockets[i].name] = sockets[i].port;
  }

  LaunchSpec spec;
  spec.cwd = worker.cwd;
  spec.argv.reserve(worker.command.size());
  for (const auto& arg : worker.command) {
    spec.argv.push_back(config::expand_placeholders(arg, values));
  }

  for (const auto& entry : inherited_env) {
    if (is_corral_private(entry)) continue;
    bool overridden = false;
    for (const auto& [key, unused] : worker.env) {
      if (has_key(entry, key)) overridden = true;
    }
    if (!overridden) spec.env.push_back(entry);
  }
  for (const auto& [key, value] : worker.env) {
    spec.env.push_back(key + "=" + config::expand_placeholders(value, values));
  }
  spec.env.push_back("CORRAL_WORKER_ID=" + std::to_string(slot_id));
  if (!sockets.empty()) {
    std::string names;
    for (const auto& s : sockets) {
      if (!names.empty()) names += ':';
      names += s.name;
      spec.listen_fds.push_back(s.fd);
    }
    spec.env.push_back("LISTEN_FDS=" + std::to_string(sockets.size()));
    spec.env.push_back("LISTEN_FDNAMES=" + names);
    spec.set_listen_pid = true;
  }
  return spec;
}

}  // namespace corral::supervisor
