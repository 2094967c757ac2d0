// The listening sockets corral binds once and hands to every worker.
// A `shared` socket is one fd for all slots; a `reuseport` socket is one
// SO_REUSEPORT fd per slot, kept by corral across that slot's restarts so
// that connections queued on it wait for the replacement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "config/config.h"

namespace corral::supervisor {

class ListenSockets {
 public:
  // Binds every socket (reuseport ones for `slots` slots). Nothing is left
  // bound or on disk when this fails.
  static Result<ListenSockets> bind_all(const std::vector<config::SocketConfig>& sockets,
                                        int slots);
  ListenSockets() = default;
  ListenSockets(ListenSockets&&) = default;
  ListenSockets& operator=(ListenSockets&&) = default;
  ~ListenSockets();

  // The fds a worker of `slot` receives, in configuration order.
  Result<std::vector<int>> fds_for_slot(int slot);
  // Closes a slot's own reuseport sockets (the slot gave up or went away):
  // the kernel then stops routing new connections to them.
  void release_slot(int slot);

  uint16_t port(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }
  // "http=127.0.0.1:8080" etc., for logs.
  std::string describe() const;

 private:
  struct Entry {
    config::SocketConfig config;
    uint16_t port = 0;                 // as bound (resolves port 0)
    UniqueFd shared;                   // mode shared
    std::vector<UniqueFd> per_slot;    // mode reuseport, index = slot
    bool created_unix_path = false;
  };
  Result<int> ensure_slot_socket(Entry& entry, int slot);

  std::vector<Entry> entries_;
  std::vector<std::string> names_;
};

}  // namespace corral::supervisor
