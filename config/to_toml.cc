// to_toml: the effective configuration, every default written out, in the
// same keys and layout a user writes, so `corral check` output can be
// pasted back into a file.

#include <fmt/format.h>

#include "config/duration.h"
#include "config/loader.h"
#include "config/privileges.h"
#include "config/signals.h"

namespace corral::config {
namespace {

// A TOML basic string.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string key(std::string_view k) {
  const bool bare = !k.empty() && k.find_first_not_of(
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "abcdefghijklmnopqrstuvwxyz"
                                      "0123456789_-") == std::string_view::npos;
  return bare ? std::string(k) : quote(k);
}

std::string duration(Duration d) { return quote(format_duration(d)); }

// A signal by name where it has one, else by number, quoted either way.
std::string signal(int number) {
  const char* name = signal_name(number);
  return quote(*name != '\0' ? name : std::to_string(number));
}

void write_worker(const WorkerConfig& w, std::string& out) {
  out += "[worker]\n";
  out += "command = [";
  for (size_t i = 0; i < w.command.size(); ++i) out += (i > 0 ? ", " : "") + quote(w.command[i]);
  out += "]\n";
  out += fmt::format("count = {}\n", w.count ? std::to_string(*w.count) : quote("auto"));
  if (w.cwd.empty()) {
    out += "# cwd unset: workers start in corral's working directory\n";
  } else {
    out += fmt::format("cwd = {}\n", quote(w.cwd));
  }
  out += "env = {";
  bool first = true;
  for (const auto& [k, v] : w.env) {
    out += fmt::format("{} {} = {}", first ? "" : ",", key(k), quote(v));
    first = false;
  }
  out += w.env.empty() ? "}\n" : " }\n";
  out += fmt::format("stop_signal = {}\n", signal(w.stop_signal));
  out += fmt::format("drain_timeout = {}\n", duration(w.drain_timeout));
  out += fmt::format("ready = {}\n", w.ready == ReadyMode::kDelay
                                         ? quote("delay:" + format_duration(w.ready_delay))
                                         : quote(to_string(w.ready)));
  out += fmt::format("ready_timeout = {}\n", duration(w.ready_timeout));
  out += fmt::format("heartbeat_timeout = {}{}\n", duration(w.heartbeat_timeout),
                     w.heartbeat_timeout.count() == 0 ? "  # off" : "");
  out += fmt::format("hang_signal = {}\n", signal(w.hang_signal));
  out += fmt::format("output = {}\n", quote(to_string(w.output)));
  out += w.max_memory ? fmt::format("max_memory = {}\n", quote(format_size(*w.max_memory)))
                      : "# max_memory unset: no memory limit\n";
  out += w.user.empty() ? "# user unset: workers run as corral's user\n"
                        : fmt::format("user = {}\n", quote(w.user));
  out += w.group.empty() ? "# group unset: the user's primary group (or corral's)\n"
                         : fmt::format("group = {}\n", quote(w.group));
  out += w.umask ? fmt::format("umask = {}\n", quote(format_umask(*w.umask)))
                 : "# umask unset: inherited from corral\n";
  out += fmt::format("no_new_privs = {}\n", w.no_new_privs);
  out += "rlimits = {";
  bool first_limit = true;
  for (const auto& [name, value] : w.rlimits) {
    const RlimitInfo* info = find_rlimit(name);
    const std::string text = !value                    ? quote("unlimited")
                             : info != nullptr && info->bytes && *value > 0
                                 ? quote(format_size(*value))
                                 : std::to_string(*value);
    out += fmt::format("{} {} = {}", first_limit ? "" : ",", key(name), text);
    first_limit = false;
  }
  out += w.rlimits.empty() ? "}  # corral's own limits\n" : " }\n";
}

void write_restart(const RestartConfig& r, std::string& out) {
  out += "[restart]\n";
  out += fmt::format("policy = {}\n", quote(to_string(r.policy)));
  out += fmt::format("backoff_initial = {}\n", duration(r.backoff_initial));
  out += fmt::format("backoff_max = {}\n", duration(r.backoff_max));
  out += fmt::format("min_uptime = {}\n", duration(r.min_uptime));
  out += fmt::format("max_restarts = {}\n", r.max_restarts);
  out += fmt::format("window = {}\n", duration(r.window));
}

void write_socket(const SocketConfig& s, std::string& out) {
  out += "[[socket]]\n";
  out += fmt::format("name = {}\n", quote(s.name));
  out += fmt::format("listen = {}\n", quote(s.listen.to_string()));
  out += fmt::format("mode = {}\n", quote(to_string(s.mode)));
  out += fmt::format("backlog = {}\n", s.backlog);
}

// A threshold in the metric's unit: memory as a size, the others as the
// shortest number that reads back to the same double.
std::string threshold(const AutoscaleRule& rule) {
  if (rule.metric == AutoscaleRule::Metric::kMemory) {
    return quote(format_size(static_cast<uint64_t>(rule.threshold)));
  }
  return fmt::format("{}", rule.threshold);
}

void write_autoscale(const std::optional<AutoscaleConfig>& a, std::string& out) {
  if (!a) {
    out += "# [autoscale] absent: the worker count changes only by corral scale\n";
    return;
  }
  out += "[autoscale]\n";
  out += fmt::format("min = {}\n", a->min);
  out += a->max ? fmt::format("max = {}\n", *a->max)
                : "max = \"auto\"  # one per CPU, and no more than memory holds\n";
  out += fmt::format("interval = {}\n", duration(a->interval));
  for (const AutoscaleRule& rule : a->rules) {
    const bool up = rule.direction == AutoscaleRule::Direction::kAbove;
    out += "\n[[autoscale.rule]]\n";
    out += fmt::format("metric = {}\n", quote(to_string(rule.metric)));
    out += fmt::format("{} = {}\n", to_string(rule.direction), threshold(rule));
    out += fmt::format("for = {}\n", duration(rule.hold));
    out += fmt::format("{} = {}\n", up ? "add" : "remove", rule.step);
    out += fmt::format("cooldown = {}\n", duration(rule.cooldown));
  }
}

void write_metrics(const std::optional<MetricsConfig>& m, std::string& out) {
  if (!m) {
    out += "# [metrics] absent: no metrics or health endpoints\n";
    return;
  }
  out += "[metrics]\n";
  out += fmt::format("listen = {}\n", quote(m->listen.to_string()));
  out += fmt::format("min_ready = {}\n", m->min_ready);
}

void write_hook(const HookConfig& h, std::string& out) {
  out += "[[hook]]\n";
  out += "on = [";
  for (size_t i = 0; i < h.on.size(); ++i) out += (i > 0 ? ", " : "") + quote(to_string(h.on[i]));
  out += "]\n";
  out += "command = [";
  for (size_t i = 0; i < h.command.size(); ++i) out += (i > 0 ? ", " : "") + quote(h.command[i]);
  out += "]\n";
  out += fmt::format("timeout = {}\n", duration(h.timeout));
}

}  // namespace

std::string to_toml(const Config& config) {
  std::string out = fmt::format("name = {}\n\n", quote(config.name));
  write_worker(config.worker, out);
  out += '\n';
  write_restart(config.restart, out);
  for (const SocketConfig& s : config.sockets) {
    out += '\n';
    write_socket(s, out);
  }
  out += fmt::format("\n[reload]\nbatch = {}\n", config.reload.batch);
  out += '\n';
  write_autoscale(config.autoscale, out);
  out += "\n[admin]\n";
  out += config.admin.socket.empty()
             ? "# socket unset: $XDG_RUNTIME_DIR/corral/NAME.sock, /run/corral/NAME.sock as root,\n"
               "# /tmp/corral-UID/NAME.sock otherwise\n"
             : fmt::format("socket = {}\n", quote(config.admin.socket));
  out += '\n';
  write_metrics(config.metrics, out);
  if (config.hooks.empty()) out += "\n# no [[hook]]: no programs run on events\n";
  for (const HookConfig& h : config.hooks) {
    out += '\n';
    write_hook(h, out);
  }
  return out;
}

}  // namespace corral::config
