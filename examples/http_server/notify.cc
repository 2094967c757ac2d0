#include "notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace example {

std::optional<Notifier> Notifier::from_env() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t n = std::strlen(path);
  if (n >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, path, n);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  Notifier notifier;
  notifier.fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!notifier.fd_) return std::nullopt;
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n);
  if (connect(notifier.fd_.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) return std::nullopt;
  return notifier;
}

void Notifier::send(std::string_view state) const {
  (void)::send(fd_.get(), state.data(), state.size(), MSG_NOSIGNAL);
}

std::optional<int64_t> watchdog_interval_ms() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr) return std::nullopt;
  if (const char* pid = std::getenv("WATCHDOG_PID");
      pid != nullptr && std::atoll(pid) != static_cast<long long>(getpid())) {
    return std::nullopt;
  }
  long long us = std::atoll(usec);
  if (us <= 0) return std::nullopt;
  int64_t ms = us / 2000;
  return ms > 0 ? ms : 1;
}

}  // namespace example
