// The listening sockets corral binds once and hands to every worker.
// A `shared` socket is one fd for all slots; a `reuseport` socket is one
// SO_REUSEPORT fd per slot, kept by corral across that slot's restarts so
// that connections queued on it wait for the replacement. A socket systemd
// passed (socket activation, see socket_activation.h) is used instead of
// binding the configured address, as one fd for all slots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "config/config.h"
#include "supervisor/socket_activation.h"

namespace corral::supervisor {

class ListenSockets {
 public:
  // Binds every socket (reuseport ones for `slots` slots). Nothing is left
  // bound or on disk when this fails. A socket of `inherited` (from
  // take_inherited_sockets(); this takes ownership of their fds) replaces
  // the configured socket of its name: its address wins over the
  // configuration's (a warning says when they differ), and a reuseport one
  // serves every slot (a warning too). An inherited name the configuration
  // does not declare, or an fd that is not a listening socket of the
  // configured kind (TCP or unix), is an error.
  static Result<ListenSockets> bind_all(const std::vector<config::SocketConfig>& sockets, int slots,
                                        const std::vector<InheritedSocket>& inherited = {});
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
  // "http=127.0.0.1:8080 (shared)" etc., for logs; "(shared, from systemd)"
  // for an inherited socket.
  std::string describe() const;
  // What bind_all found worth a warning, for the caller to log.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Entry {
    config::SocketConfig config;
    uint16_t port = 0;               // as bound (resolves port 0)
    UniqueFd shared;                 // mode shared, or inherited: one fd for all slots
    std::vector<UniqueFd> per_slot;  // mode reuseport, index = slot
    bool created_unix_path = false;
    bool inherited = false;             // from systemd
    config::Address inherited_address;  // as systemd bound it
  };
  Result<int> ensure_slot_socket(Entry& entry, int slot);

  std::vector<Entry> entries_;
  std::vector<std::string> names_;
  std::vector<std::string> warnings_;
};

}  // namespace corral::supervisor
