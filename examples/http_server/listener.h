// Where the listening socket comes from: an inherited fd (--fd N, or fd 3
// under socket activation) or a port this process binds itself.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "options.h"

namespace example {

struct Listener {
  corral::UniqueFd fd;      // listening, non-blocking, close-on-exec
  std::string address;      // "127.0.0.1:8080", "[::1]:8080" or "unix:/path"
  int port = -1;            // TCP port, -1 for a unix socket
  bool bound_here = false;  // true with --port, false when inherited
};

// Order: --fd N; else fd 3 when LISTEN_FDS is set and LISTEN_PID is our pid;
// else --port P [--host H], bound with SO_REUSEADDR and SO_REUSEPORT so that
// several standalone copies share the port.
corral::Result<Listener> open_listener(const Options& options);

}  // namespace example
