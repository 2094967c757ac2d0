// Listening sockets corral receives from systemd (socket activation, see
// sd_listen_fds(3)): LISTEN_PID is corral's pid, LISTEN_FDS = n sockets at
// fds 3..3+n-1, LISTEN_FDNAMES their colon-separated names (a .socket
// unit's FileDescriptorName=). ListenSockets::bind_all matches them to the
// configuration's [[socket]] entries by name. Runs in corral's main thread,
// once, before anything forks.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/address.h"

namespace corral::supervisor {

struct InheritedSocket {
  int fd = -1;
  std::string name;

  bool operator==(const InheritedSocket&) const = default;
};

// Pure: the sockets the three variables (nullopt = unset) describe for the
// process `self`. Variables meant for another process (LISTEN_PID unset or
// different) describe none. A malformed value, a name count that differs
// from LISTEN_FDS, or an empty name is an error. Without
// LISTEN_FDNAMES every socket is named "unknown", as in libsystemd.
Result<std::vector<InheritedSocket>> parse_listen_env(const std::optional<std::string>& listen_pid,
                                                      const std::optional<std::string>& listen_fds,
                                                      const std::optional<std::string>& fdnames,
                                                      pid_t self);

// Reads the variables from corral's environment and unsets them (so that
// nothing corral starts sees them), then marks each socket FD_CLOEXEC:
// workers receive them only as corral places them. An fd that is not open
// is an error.
Result<std::vector<InheritedSocket>> take_inherited_sockets();

// What an inherited fd is: a listening stream socket and its bound address
// (kTcp4, kTcp6 or kUnix; an abstract unix name is shown as "@name").
// Anything else (not a socket, a datagram socket, not listening, another
// family) is an error naming the socket.
Result<config::Address> inspect_listening_socket(int fd, const std::string& name);

// Names in `inherited` that `declared` lacks: an error listing both, with a
// hint at FileDescriptorName=; a name passed twice: an error too. Ok when
// every inherited name is declared, once.
Status check_inherited_names(const std::vector<InheritedSocket>& inherited,
                             const std::vector<std::string>& declared);

// Whether systemd's address `actual` differs from the configured one in a
// way worth a warning: another family, host, path, or port (a configured
// port 0 accepts any).
bool address_differs(const config::Address& configured, const config::Address& actual);

}  // namespace corral::supervisor
