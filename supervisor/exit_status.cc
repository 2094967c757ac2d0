#include "supervisor/exit_status.h"

#include <sys/wait.h>

#include <fmt/format.h>

#include "config/signals.h"

namespace corral::supervisor {
ExitStatus ExitStatus::from_wait_status(int status) {
  if (WIFEXITED(status)) return exited(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return killed(WTERMSIG(status), WCOREDUMP(status));
  return exited(-1);
}

std::string ExitStatus::describe() const {
  if (!signaled) {
    if (code < 0) return "ended with an unrecognized wait status";
    return fmt::format("exited with code {}", code);
  }
  std::string text = fmt::format("killed by signal {}", code);
  if (const char* name = config::signal_name(code); *name != '\0') text += fmt::format(" ({})", name);
  if (core_dumped) text += ", core dumped";
  return text;
}

}  // namespace corral::supervisor
