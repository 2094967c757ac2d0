#include "config/config.h"

namespace corral::config {
namespace {

// 64 keeps derived paths ($XDG_RUNTIME_DIR/corral/NAME.sock) well inside
// the 107 bytes a unix socket path may have.
constexpr size_t kMaxNameLength = 64;

bool is_name(std::string_view name, std::string_view extra) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace

const char* to_string(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::kAlways:
      return "always";
    case RestartPolicy::kOnFailure:
      return "on-failure";
    case RestartPolicy::kNever:
      return "never";
  }
  return "?";
}

const char* to_string(SocketMode m) {
  switch (m) {
    case SocketMode::kShared:
      return "shared";
    case SocketMode::kReuseport:
      return "reuseport";
  }
  return "?";
}

const char* to_string(ReadyMode m) {
  switch (m) {
    case ReadyMode::kStarted:
      return "started";
    case ReadyMode::kDelay:
      return "delay";
    case ReadyMode::kNotify:
      return "notify";
  }
  return "?";
}

const char* to_string(OutputMode m) {
  switch (m) {
    case OutputMode::kCapture:
      return "capture";
    case OutputMode::kInherit:
      return "inherit";
  }
  return "?";
}

const char* to_string(AutoscaleRule::Metric m) {
  switch (m) {
    case AutoscaleRule::Metric::kCpu:
      return "cpu";
    case AutoscaleRule::Metric::kMemory:
      return "memory";
    case AutoscaleRule::Metric::kInflight:
      return "inflight";
    case AutoscaleRule::Metric::kRps:
      return "rps";
  }
  return "?";
}

const char* to_string(AutoscaleRule::Direction d) {
  return d == AutoscaleRule::Direction::kAbove ? "above" : "below";
}

const char* to_string(HookConfig::Event e) {
  switch (e) {
    case HookConfig::Event::kCrash:
      return "crash";
    case HookConfig::Event::kHung:
      return "hung";
    case HookConfig::Event::kFailed:
      return "failed";
    case HookConfig::Event::kScale:
      return "scale";
    case HookConfig::Event::kReload:
      return "reload";
    case HookConfig::Event::kMemory:
      return "memory";
  }
  return "?";
}

Duration default_hold(AutoscaleRule::Direction d) {
  return d == AutoscaleRule::Direction::kAbove ? Duration{15'000} : Duration{300'000};
}

Duration default_cooldown(AutoscaleRule::Direction d) {
  return d == AutoscaleRule::Direction::kAbove ? Duration{30'000} : Duration{120'000};
}

std::optional<RestartPolicy> parse_restart_policy(std::string_view text) {
  for (auto p : {RestartPolicy::kAlways, RestartPolicy::kOnFailure, RestartPolicy::kNever}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

std::optional<SocketMode> parse_socket_mode(std::string_view text) {
  for (auto m : {SocketMode::kShared, SocketMode::kReuseport}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<OutputMode> parse_output_mode(std::string_view text) {
  for (auto m : {OutputMode::kCapture, OutputMode::kInherit}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<AutoscaleRule::Metric> parse_metric(std::string_view text) {
  using M = AutoscaleRule::Metric;
  for (auto m : {M::kCpu, M::kMemory, M::kInflight, M::kRps}) {
    if (text == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<HookConfig::Event> parse_hook_event(std::string_view text) {
  using E = HookConfig::Event;
  for (auto e : {E::kCrash, E::kHung, E::kFailed, E::kScale, E::kReload, E::kMemory}) {
    if (text == to_string(e)) return e;
  }
  return std::nullopt;
}

bool is_valid_service_name(std::string_view name) { return is_name(name, "_.-"); }

bool is_valid_socket_name(std::string_view name) { return is_name(name, "_-"); }

}  // namespace corral::config
