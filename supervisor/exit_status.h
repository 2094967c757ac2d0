// How a worker process ended, decoded once from a waitpid() status so that
// policy code and logs never touch the W* macros.
#pragma once

#include <string>

namespace corral::supervisor {

struct ExitStatus {
  bool signaled = false;     // killed by a signal
  int code = 0;              // exit code, or the signal number when signaled
  bool core_dumped = false;  // only when signaled

  // `status` is what waitpid() stored for a process that terminated. Stop
  // and continue reports (corral never asks for them) decode as code -1,
  // which is not clean.
  static ExitStatus from_wait_status(int status);
  static ExitStatus exited(int code) { return {false, code, false}; }
  static ExitStatus killed(int signal, bool core_dumped = false) {
    return {true, signal, core_dumped};
  }

  // Exited with code 0. Any signal counts as a failure, SIGTERM included:
  // corral's own stops never reach the restart policy, so a signal here came
  // from somewhere else.
  bool clean() const { return !signaled && code == 0; }

  // "exited with code 3", "killed by signal 9 (SIGKILL)",
  // "killed by signal 11 (SIGSEGV), core dumped".
  std::string describe() const;

  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;
};

}  // namespace corral::supervisor
