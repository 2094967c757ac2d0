// The sd_notify protocol's message: newline-separated KEY=VALUE
// assignments in one datagram (see sd_notify(3)). Parsed from untrusted
// bytes: bounded, and only the keys corral acts on are kept.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace corral::supervisor {

struct NotifyMessage {
  bool ready = false;     // READY=1
  bool watchdog = false;  // WATCHDOG=1 (a heartbeat)
  bool stopping = false;  // STOPPING=1
  bool reloading = false; // RELOADING=1
  std::optional<std::string> status;  // STATUS=..., printable, capped
};

// Unknown keys and malformed lines are skipped, as systemd does.
NotifyMessage parse_notify_message(std::string_view datagram);

inline constexpr size_t kMaxStatusLength = 200;

}  // namespace corral::supervisor
