// A worker that double-forks a daemon: the daemon is found (corral is a
// child subreaper), kept while its worker runs, and stopped when the worker
// dies, when corral stops, and when corral is killed with SIGKILL.

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/integration/harness.h"

namespace corral::testing {
namespace {

struct Leftover {
  pid_t worker = 0;
  pid_t daemon = 0;
};

// corral with one double-forking worker; returns once corral has adopted
// the daemon.
std::string config(const TempDir& dir, bool ignore_term) {
  return dir.write("web.toml", std::string(R"(
[worker]
command = ["/bin/sh", ")") + DOUBLE_FORK + R"("]
count = 1
drain_timeout = "300ms"
env = { IGNORE_TERM = ")" + (ignore_term ? "1" : "0") + R"(" }

[restart]
policy = "never"

[[socket]]
listen = "127.0.0.1:0"
)");
}

Leftover await_adoption(Process& corral) {
  Leftover l;
  auto started = corral.find_or_wait(R"(worker 0 started \(pid (\d+)\))");
  auto daemon = corral.find_or_wait(R"(daemon=(\d+))");
  if (!started || !daemon) return l;
  l.worker = std::stoi((*started)[1]);
  l.daemon = std::stoi((*daemon)[1]);
  // Found by the periodic look within about a second.
  if (!corral.find_or_wait("worker 0 \\(pid " + std::to_string(l.worker) + "\\) left pid " +
                               std::to_string(l.daemon) + " \\(.*\\) behind; corral adopted it",
                           5s)) {
    return {};
  }
  // The point of the exercise: no kill of the worker's group reaches it.
  EXPECT_NE(::getpgid(l.daemon), l.worker);
  EXPECT_NE(::getsid(l.daemon), ::getsid(l.worker));
  const auto children = children_of(corral.pid());
  EXPECT_NE(std::find(children.begin(), children.end(), l.daemon), children.end())
      << "the daemon was not re-parented to corral";
  return l;
}

TEST(Leftovers, ADaemonIsStoppedWithItsWorkerEvenIfItIgnoresTheStopSignal) {
  TempDir dir;
  Corral corral({"run", "-c", config(dir, true)});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const Leftover l = await_adoption(corral.process);
  ASSERT_GT(l.daemon, 0) << corral.process.output();
  EXPECT_TRUE(pid_alive(l.daemon));  // kept while its worker runs

  ASSERT_EQ(::kill(l.worker, SIGKILL), 0);
  const std::string who = "pid " + std::to_string(l.daemon) + " \\(";
  EXPECT_TRUE(corral.process.find_or_wait("worker 0 \\(pid " + std::to_string(l.worker) +
                                          "\\) left " + who + ".*\\) behind; stopping it \\(SIGTERM"))
      << corral.process.output();
  EXPECT_TRUE(corral.process.find_or_wait(who + ".*\\) did not stop within drain_timeout: SIGKILL"))
      << corral.process.output();
  EXPECT_TRUE(wait_pid_gone(l.daemon, 5s));
  // Reaped by corral, which then finds nothing left to run.
  EXPECT_TRUE(corral.process.find_or_wait(who + ".*\\), left behind by worker 0 .*, exited"));
  EXPECT_EQ(corral.process.wait_exit(10s), 0) << corral.process.output();
}

TEST(Leftovers, CorralStopsTheDaemonsBeforeItExits) {
  TempDir dir;
  Corral corral({"run", "-c", config(dir, false)});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const Leftover l = await_adoption(corral.process);
  ASSERT_GT(l.daemon, 0) << corral.process.output();

  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(10s), 0) << corral.process.output();
  // corral waited for it: it is gone (reaped) by the time corral exits.
  EXPECT_FALSE(pid_alive(l.daemon));
  EXPECT_EQ(corral.process.count_lines("left pid " + std::to_string(l.daemon) +
                                       " \\(.*\\) behind; stopping it"),
            1)
      << corral.process.output();
}

TEST(Leftovers, TheGuardianKillsTheDaemonsWhenCorralIsKilled) {
  TempDir dir;
  Corral corral({"run", "-c", config(dir, true)});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const Leftover l = await_adoption(corral.process);
  ASSERT_GT(l.daemon, 0) << corral.process.output();

  corral.process.signal(SIGKILL);
  EXPECT_TRUE(wait_pid_gone(l.worker, 5s));
  EXPECT_TRUE(wait_pid_gone(l.daemon, 5s)) << "the daemon outlived corral";
}

// A worker that exits by itself right after starting its daemon.
TEST(Leftovers, ADaemonIsStoppedWhenItsWorkerExitsByItself) {
  TempDir dir;
  const std::string file = dir.write("web.toml", std::string(R"(
[worker]
command = ["/bin/sh", "-c", "( setsid sh -c 'echo daemon=$$; exec sleep 1000' & ); sleep 0.2"]
count = 1
drain_timeout = "2s"

[restart]
policy = "never"

[[socket]]
listen = "127.0.0.1:0"
)"));
  Corral corral({"run", "-c", file});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  auto daemon = corral.process.find_or_wait(R"(daemon=(\d+))");
  ASSERT_TRUE(daemon);
  const pid_t pid = std::stoi((*daemon)[1]);
  EXPECT_TRUE(corral.process.find_or_wait("left pid " + std::to_string(pid) +
                                          " \\(.*\\) behind; stopping it"));
  EXPECT_TRUE(wait_pid_gone(pid, 5s));
  EXPECT_EQ(corral.process.wait_exit(10s), 0) << corral.process.output();
}

}  // namespace
}  // namespace corral::testing
