// The body of GET /info: what this process received from whoever started it
// (ids, argv, socket-activation variables) and every fd it has open, so tests
// can check that no supervisor descriptor leaked into a worker.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "supervisor_link.h"

namespace example {

// `own_fds` names the descriptors this server opened or adopted (listener,
// epoll, signalfd, connections). Each entry of "fds" carries a "role": that
// name, "stdio" for 0-2, "listen_fds" for a socket-activation fd, or null for
// a descriptor nobody here accounts for, i.e. one that leaked in.
// "corral" is what libcorral-worker says now ({"supervisor_alive":...,
// "drain_requested":...}), or null when not attached to corral's memory.
std::string build_info_json(const std::vector<std::string>& argv, int listen_fd,
                          const std::map<int, std::string>& own_fds,
                          const std::optional<SupervisorLink::Status>& corral);

}  // namespace example
