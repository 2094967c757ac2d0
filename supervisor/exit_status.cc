#include "supervisor/exit_status.h"

#include <sys/wait.h>

#include <csignal>

#include <fmt/format.h>

namespace corral::supervisor {
namespace {

struct SignalName {
  int number;
  const char* name;
};

// Spelled with the macros rather than numbers: the values differ between
// architectures. sigabbrev_np() would do, but only on glibc >= 2.32.
constexpr SignalName kSignals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
    {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},     {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"},
    {SIGTTOU, "SIGTTOU"}, {SIGURG, "SIGURG"},       {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
    {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"}, {SIGIO, "SIGIO"},
    {SIGSYS, "SIGSYS"},
};

}  // namespace

const char* signal_name(int signal) {
  for (const SignalName& s : kSignals) {
    if (s.number == signal) return s.name;
  }
  return "";
}

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
  if (const char* name = signal_name(code); *name != '\0') text += fmt::format(" ({})", name);
  if (core_dumped) text += ", core dumped";
  return text;
}

}  // namespace corral::supervisor
