// corral's own reports to its service manager (systemd's sd_notify
// protocol): readiness, a one-line status, reloads,
// stopping and watchdog pings. Every method is a no-op when corral was not
// started with NOTIFY_SOCKET (a terminal, a container). Used from the
// supervisor's loop thread only.
//
// The variables describe corral, not its workers: worker_command drops
// NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from a worker's environment
// and gives it corral's own notify socket instead.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace corral::supervisor {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID now.
  ServiceNotifier();

  // Whether a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }

  // READY=1 with STATUS=`status`: the initial workers are ready, or a
  // reload finished (either way).
  bool ready(std::string_view status);
  // STATUS=`text`, sent only when it differs from the last one sent.
  bool status(std::string_view text);
  // RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC), as systemd's
  // Type=notify-reload expects; ready() ends the reload.
  bool reloading();
  // STOPPING=1: a graceful stop began.
  bool stopping();
  // WATCHDOG=1: the loop is alive. Call every watchdog_interval().
  bool watchdog();
  // MAINPID=`pid`: another process becomes the service's main process.
  bool mainpid(pid_t pid);

  // Half of WATCHDOG_USEC when systemd's watchdog is on for this process
  // (WATCHDOG_PID unset or ours), as sd_watchdog_enabled(3) recommends;
  // nullopt otherwise.
  std::optional<std::chrono::milliseconds> watchdog_interval() const { return watchdog_interval_; }

  // One line for STATUS=: control characters (a newline would end the
  // field) become spaces.
  static std::string sanitize(std::string_view text);

 private:
  bool send(const std::string& message);

  bool enabled_ = false;
  std::string socket_path_;
  std::optional<std::chrono::milliseconds> watchdog_interval_;
  std::optional<std::string> last_status_;
};

}  // namespace corral::supervisor
