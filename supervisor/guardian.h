// A tiny helper process that outlives corral only to finish its last duty:
// when corral dies, even by SIGKILL, it SIGKILLs every worker's process
// group. Workers themselves die with corral through PR_SET_PDEATHSIG, but
// what they started (a server behind a wrapper script that does not exec
// it, a pre-forking server's children) would otherwise keep serving on
// corral's sockets.
//
// corral tells it which groups are live over a pipe; the guardian notices
// corral's death as end-of-file on that pipe. Then, after the groups, it
// SIGKILLs every process marked as a descendant of one of corral's workers
// (CORRAL_ORIGIN, supervisor/orphans.h): a daemon a worker double-forked
// sits in a session of its own that no group kill reaches.
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "base/unique_fd.h"

namespace corral::supervisor {

class Guardian {
 public:
  // Forks the guardian. Call while corral is still single-threaded.
  static Result<Guardian> start();
  Guardian(Guardian&&) = default;
  Guardian& operator=(Guardian&&) = default;
  ~Guardian();  // closes the pipe: the guardian kills what is still listed, then exits

  void watch(pid_t pgid);
  void forget(pid_t pgid);
  pid_t pid() const { return pid_; }

 private:
  Guardian(pid_t pid, UniqueFd pipe) : pid_(pid), pipe_(std::move(pipe)) {}
  void send(char op, pid_t pgid);

  pid_t pid_ = -1;
  UniqueFd pipe_;  // write end, non-blocking
};

}  // namespace corral::supervisor
