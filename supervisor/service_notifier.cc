#include "supervisor/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/unique_fd.h"

#include <fmt/format.h>

// The protocol is one datagram to NOTIFY_SOCKET (a path, or "@name" in the
// abstract namespace), as sd_notify(3) and sd_watchdog_enabled(3) describe.
// Spoken here directly rather than through libsystemd: linking it loads
// seven more shared libraries (gcrypt, lzma, zstd, lz4, ...) into corral
// and into every `corral status`, 1.4 MiB of resident memory and about a
// millisecond of start-up, for one sendto().
namespace corral::supervisor {
namespace {

std::optional<uint64_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  uint64_t value = 0;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Half of WATCHDOG_USEC when the watchdog is meant for this process.
std::optional<uint64_t> watchdog_usec() {
  const auto usec = env_number("WATCHDOG_USEC");
  if (!usec || *usec == 0) return std::nullopt;
  if (std::getenv("WATCHDOG_PID") != nullptr) {
    const auto pid = env_number("WATCHDOG_PID");
    if (!pid || *pid != static_cast<uint64_t>(::getpid())) return std::nullopt;
  }
  return usec;
}

}  // namespace

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  if (enabled_) socket_path_ = socket;
  if (auto usec = enabled_ ? watchdog_usec() : std::nullopt) {
    // At least 1 ms: WATCHDOG_USEC=1 would otherwise mean "ping constantly".
    const auto half = std::chrono::milliseconds(*usec / 2000);
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
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path ||
      (socket_path_[0] != '/' && socket_path_[0] != '@')) {
    return false;
  }
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  if (socket_path_[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  ssize_t n;
  do {
    n = ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(message.size());
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
