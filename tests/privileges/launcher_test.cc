// The launcher's side of privileges and of the orphan mark, without corral.

#include "supervisor/process_launcher.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "supervisor/orphans.h"

namespace corral::supervisor {
namespace {

// Kills and reaps a launched child when the test ends, however it ends.
struct Child {
  pid_t pid;
  ~Child() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

TEST(Launcher, AFailedStepIsNamed) {
  LaunchSpec spec;
  spec.argv = {"/bin/true"};
  // Above any fs.nr_open the kernel allows (2^30 at most, less than this).
  spec.rlimits = {{RLIMIT_NOFILE, uint64_t{1} << 31}};
  auto pid = launch(spec);
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().message, "cannot start '/bin/true': setrlimit: Operation not permitted");
}

TEST(Launcher, TheChildCarriesCorralsMarkWithItsOwnPid) {
  LaunchSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  // An inherited mark (corral under corral) is replaced, not doubled.
  spec.env = {"PATH=/bin", "CORRAL_ORIGIN=1:2"};
  spec.origin = ::getpid();
  auto pid = launch(spec);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  Child child{*pid};
  std::ifstream file("/proc/" + std::to_string(*pid) + "/environ");
  const std::string environ((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(parse_origin(environ), (Origin{::getpid(), *pid}));
  EXPECT_EQ(environ.find("CORRAL_ORIGIN=1:2"), std::string::npos);
}

// Exits 0 when a corral that is not root is refused a switch to another
// user. Gives up root first when the test runs as root (CI does).
[[noreturn]] void launch_as_another_user_without_root() {
  if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(2);
  LaunchSpec spec;
  spec.argv = {"/bin/true"};
  spec.credentials = config::Credentials{::geteuid() + 1, ::getegid(), {}};
  auto pid = launch(spec);
  const bool refused = !pid.ok() && pid.error().message.find("not as root") != std::string::npos;
  std::_Exit(refused ? 0 : 1);
}

TEST(Launcher, SwitchingToAnotherUserNeedsRoot) {
  EXPECT_EXIT(launch_as_another_user_without_root(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace corral::supervisor
