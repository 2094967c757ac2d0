// Starts a worker process: fork, then in the child only async-signal-safe
// steps, then exec. Everything the child needs is prepared before fork.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/privileges.h"

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
  // Privileges (config/privileges.h resolves them, in the parent). Applied
  // in the child in this order: rlimits, then setgroups/setgid/setuid
  // (checked: a dropped worker cannot setuid(0) back), umask, no_new_privs.
  // Credentials other than corral's own need corral to be root.
  std::optional<config::Credentials> credentials;
  std::optional<unsigned> umask;
  struct Limit {
    int resource;     // RLIMIT_*
    uint64_t value;   // soft and hard; UINT64_MAX = unlimited
  };
  std::vector<Limit> rlimits;
  // Set before `rlimits` (which win): the descriptor limit corral was
  // started with, when corral raised its own (descriptor_limit.h).
  std::optional<rlimit> inherited_nofile;
  bool no_new_privs = false;
  // > 0: the child gets CORRAL_ORIGIN=<origin>:<its own pid>, the mark by
  // which corral tells whose descendant an orphan is (supervisor/orphans.h).
  pid_t origin = 0;
};

// The limits of [worker] rlimits, as the launcher takes them.
std::vector<LaunchSpec::Limit> launch_limits(const config::WorkerConfig& worker);

// Returns the child's pid once exec succeeded, or why it failed (the child
// is already reaped then). The child dies with corral (PR_SET_PDEATHSIG,
// set after the credentials change, which clears it), leads its own process
// group, and holds no other fd of corral's. A failed step is named:
// "cannot start './server': setuid: Operation not permitted".
Result<pid_t> launch(const LaunchSpec& spec);

// execvp's lookup, done in the parent: "" when nothing executable is found.
std::string resolve_executable(const std::string& name, const std::string& cwd);

}  // namespace corral::supervisor
