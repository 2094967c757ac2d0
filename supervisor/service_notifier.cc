#include "supervisor/service_notifier.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

namespace corral::supervisor {

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    // At least 1 ms: WATCHDOG_USEC=1 would otherwise mean "ping constantly".
    const auto half = std::chrono::milliseconds(usec / 2000);
    watchdog_interval_ = std::max(half, std::chrono::milliseconds(1));
  }
}

std::string ServiceNotifier::sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

bool ServiceNotifier::send(const std::string& message) {
  if (!enabled_) return false;
  return sd_notify(0, message.c_str()) > 0;
}

bool ServiceNotifier::ready(std::string_view status) {
  std::string text = sanitize(status);
  const bool sent = send("READY=1\nSTATUS=" + text);
  if (sent) last_status_ = std::move(text);
  return sent;
}

bool ServiceNotifier::status(std::string_view text) {
  std::string line = sanitize(text);
  if (last_status_ == line) return false;
  const bool sent = send("STATUS=" + line);
  if (sent) last_status_ = std::move(line);
  return sent;
}

bool ServiceNotifier::reloading() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec =
      static_cast<uint64_t>(now.tv_sec) * 1'000'000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
  return send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec));
}

bool ServiceNotifier::stopping() { return send("STOPPING=1"); }

bool ServiceNotifier::watchdog() { return send("WATCHDOG=1"); }

bool ServiceNotifier::mainpid(pid_t pid) { return send(fmt::format("MAINPID={}", pid)); }

}  // namespace corral::supervisor
