#include "supervisor/exit_status.h"

#include <sys/wait.h>

#include <csignal>

#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

// W_EXITCODE builds the status waitpid() would store, without a process.
TEST(ExitStatusTest, DecodesAnExit) {
  EXPECT_EQ(ExitStatus::from_wait_status(W_EXITCODE(3, 0)), ExitStatus::exited(3));
  EXPECT_EQ(ExitStatus::from_wait_status(W_EXITCODE(0, 0)), ExitStatus::exited(0));
  EXPECT_EQ(ExitStatus::from_wait_status(W_EXITCODE(255, 0)), ExitStatus::exited(255));
}

TEST(ExitStatusTest, DecodesASignalWithAndWithoutCore) {
  EXPECT_EQ(ExitStatus::from_wait_status(W_EXITCODE(0, SIGKILL)), ExitStatus::killed(SIGKILL));
  EXPECT_EQ(ExitStatus::from_wait_status(W_EXITCODE(0, SIGSEGV) | WCOREFLAG),
            ExitStatus::killed(SIGSEGV, /*core_dumped=*/true));
}

TEST(ExitStatusTest, AStopReportIsNotClean) {
  ExitStatus status = ExitStatus::from_wait_status(W_STOPCODE(SIGSTOP));
  EXPECT_FALSE(status.clean());
  EXPECT_EQ(status.describe(), "ended with an unrecognized wait status");
}

TEST(ExitStatusTest, OnlyExitCodeZeroIsClean) {
  EXPECT_TRUE(ExitStatus::exited(0).clean());
  EXPECT_FALSE(ExitStatus::exited(1).clean());
  EXPECT_FALSE(ExitStatus::killed(SIGTERM).clean());
  // Signal number 0 cannot kill, but a signaled status must never pass as clean.
  EXPECT_FALSE(ExitStatus::killed(0).clean());
}

TEST(ExitStatusTest, DescribesExitCodes) {
  EXPECT_EQ(ExitStatus::exited(0).describe(), "exited with code 0");
  EXPECT_EQ(ExitStatus::exited(3).describe(), "exited with code 3");
  EXPECT_EQ(ExitStatus::exited(255).describe(), "exited with code 255");
}

TEST(ExitStatusTest, DescribesSignalsByNumberAndName) {
  EXPECT_EQ(ExitStatus::killed(SIGKILL).describe(),
            "killed by signal " + std::to_string(SIGKILL) + " (SIGKILL)");
  EXPECT_EQ(ExitStatus::killed(SIGTERM).describe(),
            "killed by signal " + std::to_string(SIGTERM) + " (SIGTERM)");
  EXPECT_EQ(ExitStatus::killed(SIGSEGV, true).describe(),
            "killed by signal " + std::to_string(SIGSEGV) + " (SIGSEGV), core dumped");
  EXPECT_EQ(ExitStatus::killed(SIGABRT, true).describe(),
            "killed by signal " + std::to_string(SIGABRT) + " (SIGABRT), core dumped");
}

TEST(ExitStatusTest, LinuxNumbersMatchTheUsualTexts) {
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
  EXPECT_EQ(ExitStatus::killed(9).describe(), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(ExitStatus::killed(11, true).describe(), "killed by signal 11 (SIGSEGV), core dumped");
#else
  GTEST_SKIP() << "signal numbers differ on this platform";
#endif
}


TEST(ExitStatusTest, AnUnnamedSignalGetsOnlyItsNumber) {
  EXPECT_EQ(ExitStatus::killed(SIGRTMIN + 1).describe(),
            "killed by signal " + std::to_string(SIGRTMIN + 1));
}

}  // namespace
}  // namespace corral::supervisor
