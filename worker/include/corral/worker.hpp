// A thin C++17 wrapper over corral/worker.h, header-only (the library's ABI
// stays the C one). Guide: docs/worker-library.md.
//
//   int main() {
//     corral::Worker worker;                 // attaches (a no-op without corral)
//     int fd = corral::listen_fd("http").value_or(-1);
//     ... bind/serve ...
//     worker.ready();
//     while (!worker.drain_requested()) { serve_a_bit(); worker.heartbeat(); }
//   }                                        // ~Worker: reports "stopped"
#ifndef CORRAL_WORKER_HPP
#define CORRAL_WORKER_HPP

#include <corral/worker.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace corral {

// The process's attachment for the scope of serving: constructing it
// attaches (once per process, see corral_attach); destroying it reports the
// worker stopped. Make one, in main(). Every method is thread-safe and
// returns what the C function of the same name returns.
class Worker {
 public:
  Worker() : status_(corral_attach()) {}
  ~Worker() { corral_stopped(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Attached to corral's shared memory (false when not supervised, or when
  // attaching failed: see status() and message()).
  bool supervised() const { return status_ == CORRAL_OK; }
  int status() const { return status_; }
  std::string_view message() const { return corral_attach_message(); }

  int ready() { return corral_ready(); }
  int draining() { return corral_draining(); }
  int heartbeat() { return corral_heartbeat(); }
  bool drain_requested() const { return corral_drain_requested() == 1; }
  int publish(std::uint64_t requests_total, std::uint64_t in_flight) {
    return corral_publish(requests_total, in_flight);
  }
  bool supervisor_alive() const { return corral_supervisor_alive() == 1; }

 private:
  int status_;
};

// Counts one request in flight for its scope, then as served.
class RequestScope {
 public:
  RequestScope() { corral_request_started(); }
  ~RequestScope() { corral_request_finished(); }
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;
};

// The inherited listening socket called `name`, if there is one.
inline std::optional<int> listen_fd(std::string_view name) {
  int fd = corral_listen_fd(std::string(name).c_str());
  if (fd < 0) return std::nullopt;
  return fd;
}

// CORRAL_WORKER_ID, if set.
inline std::optional<int> worker_id() {
  int id = corral_worker_id();
  if (id < 0) return std::nullopt;
  return id;
}

}  // namespace corral

#endif  // CORRAL_WORKER_HPP
