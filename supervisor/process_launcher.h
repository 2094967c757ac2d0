// Starts a worker process: fork, then in the child only async-signal-safe
// steps, then exec. Everything the child needs is prepared before fork.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace corral::supervisor {

struct LaunchSpec {
  std::vector<std::string> argv;  // argv[0] is resolved like execvp does
  // The complete environment ("KEY=VALUE"); LISTEN_PID is appended by the
  // launcher because only the child knows its own pid.
  std::vector<std::string> env;
  std::string cwd;               // empty: inherit
  std::vector<int> listen_fds;   // become fds 3, 4, ... in the child
  int stdin_fd = -1;             // -1: /dev/null
  int stdout_fd = -1;            // -1: inherit corral's
  int stderr_fd = -1;
  bool set_listen_pid = false;
};

// Returns the child's pid once exec succeeded, or why it failed (the child
// is already reaped then). The child dies with corral (PR_SET_PDEATHSIG),
// leads its own process group, and holds no other fd of corral's.
Result<pid_t> launch(const LaunchSpec& spec);

// execvp's lookup, done in the parent: "" when nothing executable is found.
std::string resolve_executable(const std::string& name, const std::string& cwd);

}  // namespace corral::supervisor
