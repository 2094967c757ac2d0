// A worker that ends every way a process can: each exit status 0..255 and
// each signal whose default action ends a process. corral logs each exactly
// as it was, restarts it, and keeps supervising the others meanwhile.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/signals.h"
#include "hostile.h"
#include "supervisor/exit_status.h"

namespace corral::testing::hostile {
namespace {

using supervisor::ExitStatus;

// Every signal whose default action terminates (man 7 signal: Term or Core),
// the real-time ones included; not the ones that stop, continue or are
// ignored by default.
std::vector<int> fatal_signals() {
  std::vector<int> signals;
  for (int s = 1; s <= SIGRTMAX; ++s) {
    if (s == SIGCHLD || s == SIGCONT || s == SIGSTOP || s == SIGTSTP || s == SIGTTIN ||
        s == SIGTTOU || s == SIGURG || s == SIGWINCH || (s > SIGSYS && s < SIGRTMIN)) {
      continue;
    }
    signals.push_back(s);
  }
  return signals;
}

std::string killed_regex(int signal) {
  std::string text = "killed by signal " + std::to_string(signal);
  if (const char* name = config::signal_name(signal); *name != '\0') {
    text += std::string(" \\(") + name + "\\)";
  }
  return text + "(, core dumped)?";
}

TEST(HostileExits, EveryStatusAndSignalIsDescribedAsItIs) {
  for (int code = 0; code <= 255; ++code) {
    const ExitStatus s = ExitStatus::from_wait_status(W_EXITCODE(code, 0));
    EXPECT_EQ(s, ExitStatus::exited(code));
    EXPECT_EQ(s.describe(), "exited with code " + std::to_string(code));
    EXPECT_EQ(s.clean(), code == 0);
  }
  for (int signal : fatal_signals()) {
    for (bool core : {false, true}) {
      const ExitStatus s = ExitStatus::from_wait_status(signal | (core ? WCOREFLAG : 0));
      EXPECT_EQ(s, ExitStatus::killed(signal, core));
      EXPECT_FALSE(s.clean());
      std::string expected = "killed by signal " + std::to_string(signal);
      if (const char* name = config::signal_name(signal); *name != '\0') {
        expected += std::string(" (") + name + ")";
      }
      if (core) expected += ", core dumped";
      EXPECT_EQ(s.describe(), expected);
    }
  }
}

TEST(HostileExits, WorkerEndingEveryPossibleWayIsLoggedEachTimeAndOthersStaySupervised) {
  TempDir state;
  const std::string config = state.write("c.toml",
                                         "[worker]\n"
                                         "command = [\"unused\"]\n"
                                         "[restart]\n"
                                         "backoff_initial = \"1ms\"\n"
                                         "backoff_max = \"1ms\"\n"
                                         "max_restarts = 10000\n"
                                         "window = \"10s\"\n");
  std::vector<std::string> hostile = {"/bin/sh", exits_script(), state.path()};
  const std::vector<int> signals = fatal_signals();
  for (int s : signals) hostile.push_back(std::to_string(s));
  Corral c(run_args(2, {"-c", config}, mixed_command(hostile)));
  ASSERT_NE(c.port, 0) << c.process.output();

  // While worker 0 cycles, worker 1 is killed and must come back.
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));
  ASSERT_TRUE(c.process.find_or_wait(R"(\[w0 \d+\] hostile: every exit done)", 120s))
      << "worker 0 did not get through every exit";

  // Each ending logged once, in order, as what it was.
  std::vector<std::string> endings;
  for (const auto& line : c.process.lines()) {
    static const std::regex exit_line(R"(worker 0 \(pid \d+\) (.*) after [0-9.]+m?s; restarting)");
    std::smatch m;
    if (std::regex_search(line, m, exit_line)) endings.push_back(m[1]);
  }
  ASSERT_EQ(endings.size(), 256 + signals.size()) << c.process.output();
  for (int code = 0; code <= 255; ++code) {
    EXPECT_EQ(endings[static_cast<size_t>(code)], "exited with code " + std::to_string(code));
  }
  for (size_t i = 0; i < signals.size(); ++i) {
    EXPECT_TRUE(std::regex_match(endings[256 + i], std::regex(killed_regex(signals[i]))))
        << endings[256 + i];
  }
  EXPECT_TRUE(pid_alive(c.process.pid()));
  const auto status = status_within(admin_socket(c.process), 3s);
  EXPECT_EQ(worker_entry(status, 0)->at("restarts"), 256 + signals.size()) << status.dump();
}

}  // namespace
}  // namespace corral::testing::hostile
