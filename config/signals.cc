#include "config/signals.h"

#include <csignal>
#include <string>

#include <fmt/format.h>

namespace corral::config {
namespace {

struct SignalName {
  int number;
  const char* name;
};

// Linux's standard signals. SIGIOT, SIGPOLL and SIGCLD are aliases and come
// after their main name so signal_name picks the usual one.
constexpr SignalName kSignals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGSTKFLT, "SIGSTKFLT"},
    {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
    {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
    {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},   {SIGIOT, "SIGIOT"},
    {SIGPOLL, "SIGPOLL"}, {SIGCLD, "SIGCLD"},
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Result<int> parse_signal(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    const int max = SIGRTMAX;
    int number = 0;
    for (char c : text) {
      number = number * 10 + (c - '0');
      if (number > max) break;
    }
    if (number < 1 || number > max) {
      return Error{fmt::format("signal number {} is out of range (1 to {})", text, max)};
    }
    return number;
  }
  std::string_view bare = text;
  if (bare.size() > 3 && equals_ignoring_case(bare.substr(0, 3), "SIG")) bare.remove_prefix(3);
  for (const SignalName& s : kSignals) {
    if (equals_ignoring_case(bare, std::string_view(s.name).substr(3))) return s.number;
  }
  return Error{fmt::format("unknown signal '{}'; write a name like \"SIGTERM\" or a number", text)};
}

const char* signal_name(int signal) {
  for (const SignalName& s : kSignals) {
    if (s.number == signal) return s.name;
  }
  return "";
}

}  // namespace corral::config
