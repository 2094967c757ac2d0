#include "supervisor/notify_message.h"

namespace corral::supervisor {
namespace {

// Status text ends up in logs and status output: one line, printable.
std::string clean_status(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, kMaxStatusLength)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  return out;
}

}  // namespace

NotifyMessage parse_notify_message(std::string_view datagram) {
  NotifyMessage m;
  while (!datagram.empty()) {
    const size_t end = datagram.find('\n');
    const std::string_view line = datagram.substr(0, end);
    datagram = end == std::string_view::npos ? std::string_view() : datagram.substr(end + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    if (key == "READY") {
      m.ready = value == "1";
    } else if (key == "WATCHDOG") {
      m.watchdog = value == "1";
    } else if (key == "STOPPING") {
      m.stopping = value == "1";
    } else if (key == "RELOADING") {
      m.reloading = value == "1";
    } else if (key == "STATUS") {
      m.status = clean_status(value);
    }
  }
  return m;
}

}  // namespace corral::supervisor
