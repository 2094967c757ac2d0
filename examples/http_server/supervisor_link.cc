#include "supervisor_link.h"

#include <corral/worker.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace example {
namespace {

// With the library, the loop looks at corral's drain request this often
// (and beats at least this often; more often when WATCHDOG_USEC asks).
constexpr int64_t kLibraryTickMs = 100;

void write_line(const std::string& line) {
  std::string s = "example_server: " + line + "\n";
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::write(STDERR_FILENO, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

SupervisorLink SupervisorLink::open(bool enabled) {
  SupervisorLink link;
  if (!enabled) return link;
  const int attach = corral_attach();
  if (attach == CORRAL_OK) {
    link.channel_ = Channel::kLibrary;
    link.tick_ms_ = std::min(kLibraryTickMs, watchdog_interval_ms().value_or(kLibraryTickMs));
    return link;
  }
  if (attach != CORRAL_NOT_SUPERVISED) {
    write_line(std::string("libcorral-worker: ") + corral_attach_message() +
               "; using $NOTIFY_SOCKET if set");
  }
  link.notifier_ = Notifier::from_env();
  if (link.notifier_) {
    link.channel_ = Channel::kSdNotify;
    link.tick_ms_ = watchdog_interval_ms();
  }
  return link;
}

void SupervisorLink::ready(std::string_view address) {
  switch (channel_) {
    case Channel::kLibrary:
      corral_heartbeat();
      corral_ready();
      break;
    case Channel::kSdNotify:
      notifier_->send("READY=1\nSTATUS=serving " + std::string(address));
      if (tick_ms_) notifier_->send("WATCHDOG=1");
      break;
    case Channel::kNone:
      break;
  }
}

SupervisorLink::TickResult SupervisorLink::tick() {
  TickResult result;
  switch (channel_) {
    case Channel::kLibrary: {
      corral_heartbeat();
      result.drain_requested = corral_drain_requested() == 1;
      const bool alive = corral_supervisor_alive() == 1;
      if (alive != supervisor_alive_) {
        supervisor_alive_ = alive;
        write_line(alive ? "corral's heartbeat is fresh again"
                         : "corral's heartbeat is stale (supervisor hung or gone); serving on");
      }
      break;
    }
    case Channel::kSdNotify:
      notifier_->send("WATCHDOG=1");
      break;
    case Channel::kNone:
      break;
  }
  return result;
}

void SupervisorLink::draining() {
  if (channel_ == Channel::kLibrary) corral_draining();
  if (channel_ == Channel::kSdNotify) notifier_->send("STOPPING=1");
}

void SupervisorLink::stopped() {
  if (channel_ == Channel::kLibrary) corral_stopped();
}

void SupervisorLink::publish_now(uint64_t requests_total, uint64_t in_flight) {
  // Refused (nothing stored) only beyond the limits, 2^50 and 2^32.
  if (corral_publish(requests_total, in_flight) == CORRAL_OK) {
    published_total_ = requests_total;
    published_in_flight_ = in_flight;
  }
}

std::optional<SupervisorLink::Status> SupervisorLink::status() const {
  if (channel_ != Channel::kLibrary) return std::nullopt;
  return Status{supervisor_alive_, corral_drain_requested() == 1};
}

}  // namespace example
