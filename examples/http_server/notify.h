// The sd_notify protocol, spoken without libsystemd: datagrams such as
// "READY=1" to the unix socket named by $NOTIFY_SOCKET. corral (like
// systemd) counts them as readiness and heartbeats.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/unique_fd.h"

namespace example {

class Notifier {
 public:
  // nullopt when $NOTIFY_SOCKET is unset or unusable.
  static std::optional<Notifier> from_env();

  // Best effort: a supervisor that is not listening must not stop us.
  void send(std::string_view state) const;

  int fd() const { return fd_.get(); }

 private:
  corral::UniqueFd fd_;  // a datagram socket connected to $NOTIFY_SOCKET
};

// Half of $WATCHDOG_USEC in milliseconds (how often to send WATCHDOG=1), when
// it is set and $WATCHDOG_PID, if set, is our pid.
std::optional<int64_t> watchdog_interval_ms();

}  // namespace example
