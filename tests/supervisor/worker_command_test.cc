// What a worker is started with: argv, environment, fds.
#include "supervisor/worker_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

config::WorkerConfig worker(std::vector<std::string> command) {
  config::WorkerConfig w;
  w.command = std::move(command);
  return w;
}

TEST(WorkerCommand, FillsPlaceholdersPerSlot) {
  auto w = worker({"./server", "--fd", "{fd:api}", "--port", "{port:http}", "--id={id}"});
  std::vector<SocketView> sockets = {{"http", 17, 8080}, {"api", 18, 9090}};
  LaunchSpec spec = make_launch_spec(w, 3, sockets, {});
  EXPECT_THAT(spec.argv, ElementsAre("./server", "--fd", "4", "--port", "8080", "--id=3"));
  EXPECT_THAT(spec.listen_fds, ElementsAre(17, 18));
  EXPECT_TRUE(spec.set_listen_pid);
}

TEST(WorkerCommand, SetsSocketActivationAndWorkerId) {
  std::vector<SocketView> sockets = {{"http", 5, 8080}, {"admin", 6, 0}};
  LaunchSpec spec = make_launch_spec(worker({"x"}), 1, sockets, {"PATH=/bin"});
  EXPECT_THAT(spec.env, Contains("PATH=/bin"));
  EXPECT_THAT(spec.env, Contains("LISTEN_FDS=2"));
  EXPECT_THAT(spec.env, Contains("LISTEN_FDNAMES=http:admin"));
  EXPECT_THAT(spec.env, Contains("CORRAL_WORKER_ID=1"));
}

TEST(WorkerCommand, DropsCorralsOwnActivationVariables) {
  // corral itself may run socket-activated or under Type=notify; those
  // values describe corral, not the worker.
  LaunchSpec spec = make_launch_spec(
      worker({"x"}), 0, {},
      {"LISTEN_FDS=3", "LISTEN_PID=1", "LISTEN_FDNAMES=http", "NOTIFY_SOCKET=/run/x",
       "WATCHDOG_USEC=100", "WATCHDOG_PID=1", "HOME=/root"});
  EXPECT_THAT(spec.env, ElementsAre("HOME=/root", "CORRAL_WORKER_ID=0"));
  EXPECT_FALSE(spec.set_listen_pid);
  EXPECT_TRUE(spec.listen_fds.empty());
}

TEST(WorkerCommand, ConfiguredEnvironmentOverridesInheritedAndExpands) {
  auto w = worker({"x"});
  w.env = {{"APP_ENV", "production"}, {"PORT", "{port:http}"}, {"HOME", "/srv"}};
  LaunchSpec spec = make_launch_spec(w, 0, {{"http", 5, 8080}}, {"HOME=/root", "HOMEDIR=/x"});
  EXPECT_THAT(spec.env, Contains("APP_ENV=production"));
  EXPECT_THAT(spec.env, Contains("PORT=8080"));
  EXPECT_THAT(spec.env, Contains("HOME=/srv"));
  EXPECT_THAT(spec.env, Not(Contains("HOME=/root")));
  EXPECT_THAT(spec.env, Contains("HOMEDIR=/x"));  // a prefix is not the same key
}

}  // namespace
}  // namespace corral::supervisor
