// The launcher with real processes: fd placement, LISTEN_PID, exec errors.
#include "supervisor/process_launcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

using ::testing::HasSubstr;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
  std::string drain() {
    write.reset();
    std::string out;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(read.get(), buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
    return out;
  }
};

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ProcessLauncher, PlacesFdsFromThreeInOrderEvenWhenSwapped) {
  Pipe first, second;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo first >&3; echo second >&4"};
  // The second pipe's write end goes to fd 3: placing it must not clobber
  // the first's, whatever their numbers in this process.
  spec.listen_fds = {second.write.get(), first.write.get()};
  auto pid = launch(spec);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_EQ(wait_for(*pid), 0);
  EXPECT_EQ(second.drain(), "first\n");
  EXPECT_EQ(first.drain(), "second\n");
}

TEST(ProcessLauncher, ListenPidIsTheChildsOwnPid) {
  Pipe out;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo \"$LISTEN_PID $$\""};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.set_listen_pid = true;
  spec.stdout_fd = out.write.get();
  auto pid = launch(spec);
  ASSERT_TRUE(pid);
  EXPECT_EQ(wait_for(*pid), 0);
  const std::string p = std::to_string(*pid);
  EXPECT_EQ(out.drain(), p + " " + p + "\n");
}

TEST(ProcessLauncher, ChildLeadsItsOwnProcessGroupInItsCwd) {
  Pipe out;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "ps -o pgid= -p $$ | tr -d ' '; pwd"};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.cwd = "/";
  spec.stdout_fd = out.write.get();
  auto pid = launch(spec);
  ASSERT_TRUE(pid);
  EXPECT_EQ(wait_for(*pid), 0);
  EXPECT_EQ(out.drain(), std::to_string(*pid) + "\n/\n");
}

TEST(ProcessLauncher, ReportsAMissingCommand) {
  LaunchSpec spec;
  spec.argv = {"corral-no-such-binary"};
  auto pid = launch(spec);
  ASSERT_FALSE(pid);
  EXPECT_THAT(pid.error().message, HasSubstr("corral-no-such-binary"));
}

TEST(ProcessLauncher, ReportsAFailedExecWithItsErrno) {
  // Executable bit set, but not a format the kernel can run and no shebang:
  // execve itself fails in the child (ENOEXEC) and the parent hears why.
  const auto path = std::filesystem::temp_directory_path() / ("corral-noexec-" + std::to_string(::getpid()));
  std::ofstream(path) << "\x7f" "ELF garbage";
  ::chmod(path.c_str(), 0755);
  LaunchSpec spec;
  spec.argv = {path.string()};
  auto pid = launch(spec);
  std::filesystem::remove(path);
  ASSERT_FALSE(pid);
  EXPECT_THAT(pid.error().message, HasSubstr("Exec format error"));
}

TEST(ProcessLauncher, ReportsAMissingWorkingDirectory) {
  LaunchSpec spec;
  spec.argv = {"/bin/true"};
  spec.cwd = "/corral-no-such-dir";
  auto pid = launch(spec);
  ASSERT_FALSE(pid);
  EXPECT_THAT(pid.error().message, HasSubstr("No such file or directory"));
}

TEST(ProcessLauncher, ResolvesLikeExecvp) {
  EXPECT_FALSE(resolve_executable("sh", "").empty());
  EXPECT_EQ(resolve_executable("/bin/sh", ""), "/bin/sh");
  EXPECT_EQ(resolve_executable("./sh", "/bin"), "/bin/./sh");
  EXPECT_EQ(resolve_executable("corral-no-such-binary", ""), "");
  EXPECT_EQ(resolve_executable("/etc/passwd", ""), "");  // not executable
}

}  // namespace
}  // namespace corral::supervisor
