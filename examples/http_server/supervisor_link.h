// How example_server tells its supervisor about itself. One channel at a
// time, chosen once at start:
//  - libcorral-worker, when run by corral (CORRAL_SHM set and attaching
//    succeeded): readiness, heartbeats, draining, load figures through
//    shared memory; corral's drain request is read from there too. Then
//    NOTIFY_SOCKET is not used, though corral sets it as well.
//  - sd_notify, otherwise, when $NOTIFY_SOCKET is set (systemd, or a corral
//    whose segment this build cannot attach to: the library's attach error
//    is printed once to stderr).
//  - nothing with --no-notify (which does not attach either).
// Every per-request operation here is a plain store to memory; the
// periodic ones run from the server's timer, so a blocked event loop (GET
// /burn) stops them: a hung worker on demand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "notify.h"

namespace example {

class SupervisorLink {
 public:
  enum class Channel { kNone, kLibrary, kSdNotify };

  // Picks the channel (see above). `enabled` is false with --no-notify.
  static SupervisorLink open(bool enabled);

  Channel channel() const { return channel_; }
  bool attached() const { return channel_ == Channel::kLibrary; }
  // The descriptor of the sd_notify socket, -1 when none (for GET /info).
  int notify_fd() const { return notifier_ ? notifier_->fd() : -1; }

  // How often tick() must run, in ms; nullopt when never.
  std::optional<int64_t> tick_interval_ms() const { return tick_ms_; }

  // Serving (READY=1 / library "ready"), with a first heartbeat.
  void ready(std::string_view address);
  // The periodic call from the event loop: heartbeat (WATCHDOG=1 or the
  // library's store), and with the library, whether corral asked for a
  // drain (returned) and whether corral is still alive (a change is logged
  // on stderr: a hung corral does not stop us serving, a dead one kills us).
  struct TickResult {
    bool drain_requested = false;
  };
  TickResult tick();
  // Stopped accepting, finishing what is in flight (STOPPING=1 / "draining").
  void draining();
  // Done, about to exit (library only).
  void stopped();

  // Load figures, published when they changed since the last call (library
  // only; two atomic stores, no system call). Called once per loop turn.
  void publish(uint64_t requests_total, uint64_t in_flight) {
    if (channel_ != Channel::kLibrary ||
        (requests_total == published_total_ && in_flight == published_in_flight_)) {
      return;
    }
    publish_now(requests_total, in_flight);
  }

  // For GET /info, nullopt when not attached: whether corral was alive at
  // the last tick (the verdict the server acts on, and logged), and whether
  // it asks for a drain now.
  struct Status {
    bool supervisor_alive;
    bool drain_requested;
  };
  std::optional<Status> status() const;

 private:
  void publish_now(uint64_t requests_total, uint64_t in_flight);

  Channel channel_ = Channel::kNone;
  std::optional<Notifier> notifier_;
  std::optional<int64_t> tick_ms_;
  bool supervisor_alive_ = true;
  uint64_t published_total_ = 0;
  uint64_t published_in_flight_ = 0;
};

}  // namespace example
