// What a worker of one slot is started with: its argv and environment with
// placeholders filled in, the socket-activation variables, and its
// listening fds. Pure: the caller supplies corral's own environment.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "supervisor/process_launcher.h"

namespace corral::supervisor {

struct SocketView {
  std::string name;
  int fd;          // corral's fd, placed at 3 + index in the worker
  uint16_t port;   // as bound; 0 for unix sockets
};

LaunchSpec make_launch_spec(const config::WorkerConfig& worker, int slot_id,
                            const std::vector<SocketView>& sockets,
                            const std::vector<std::string>& inherited_env);

}  // namespace corral::supervisor
