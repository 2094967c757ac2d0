// Readiness and hang detection through NOTIFY_SOCKET, with programs that
// never linked corral's library: systemd-notify, a Python script.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness.h"

namespace corral::testing {
namespace {

std::string config_with(const std::string& worker_table, const std::string& command) {
  return "[worker]\ncommand = " + command + "\n" + worker_table + "\n[restart]\nmin_uptime = \"100ms\"\n";
}

// A Python worker speaking sd_notify by hand: `body` runs with send(msg).
std::string python_worker(const std::string& body) {
  return "[\"python3\", \"-c\", \"import os, socket, time\\n"
         "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\n"
         "def send(m): s.sendto(m.encode(), os.environ['NOTIFY_SOCKET'])\\n" +
         body + "\"]";
}

TEST(Health, WorkerGetsNotifySocketAndWatchdogUsec) {
  TempDir dir;
  auto file = dir.write("w.toml", config_with("count = 1\nheartbeat_timeout = \"1500ms\"",
                                              R"(["/bin/sh", "-c", "echo wd=$WATCHDOG_USEC ns=$NOTIFY_SOCKET; exec sleep 60"])"));
  Process corral({corral_binary(), "run", "-c", file});
  auto line = corral.wait_for_line(R"(wd=(\d+) ns=(\S+\.notify)$)");
  ASSERT_TRUE(line) << corral.output();
  EXPECT_EQ((*line)[1], "1500000");
  EXPECT_TRUE(std::filesystem::exists((*line)[2].str()));
  const std::string socket_path = (*line)[2];
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0);
  EXPECT_FALSE(std::filesystem::exists(socket_path)) << "notify socket left behind";
}

TEST(Health, ReadyFromSystemdNotifyInAChildOfTheWorker) {
  if (::access("/usr/bin/systemd-notify", X_OK) != 0) GTEST_SKIP() << "systemd-notify not installed";
  TempDir dir;
  // systemd-notify runs as the shell's child: attributed by its ancestry.
  auto file = dir.write("w.toml", config_with("count = 2\nready = \"notify\"\nready_timeout = \"10s\"",
                                              R"(["/bin/sh", "-c", "sleep 0.1; systemd-notify --ready --status=warm; exec sleep 60"])"));
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_TRUE(corral.wait_for_line(R"(worker \d \(pid \d+\) ready$)")) << corral.output();
  EXPECT_TRUE(corral.wait_for_line(R"(worker \d \(pid \d+\) ready$)")) << corral.output();
}

TEST(Health, ReadyFromAProgramWritingTheSocketItself) {
  TempDir dir;
  auto file = dir.write("w.toml", config_with("count = 1\nready = \"notify\"",
                                              python_worker("send('READY=1')\\ntime.sleep(60)")));
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) ready$)")) << corral.output();
}

TEST(Health, NeverReadyIsKilledAndCountsAsAFailedStart) {
  TempDir dir;
  auto file = dir.write("w.toml", config_with("count = 1\nready = \"notify\"\nready_timeout = \"300ms\"",
                                              R"(["/bin/sleep", "60"])"));
  Process corral({corral_binary(), "run", "-c", file});
  ASSERT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) not ready .*ready_timeout 300ms.*killing it)"))
      << corral.output();
  EXPECT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) not ready: killed by signal 9 .*restarting in \d+ms)"))
      << corral.output();
}

TEST(Health, ReadyFromAStrangerIsIgnored) {
  TempDir dir;
  auto file = dir.write("w.toml", config_with("count = 1\nready = \"notify\"\nready_timeout = \"1s\"",
                                              R"(["/bin/sh", "-c", "echo ns=$NOTIFY_SOCKET; exec sleep 60"])"));
  Process corral({corral_binary(), "run", "-c", file});
  auto line = corral.wait_for_line(R"(ns=(\S+)$)");
  ASSERT_TRUE(line);
  // The test process is no descendant of the worker: its READY=1 must not count.
  Process stranger({"/usr/bin/env", "python3", "-c",
                    "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
                    "s.sendto(b'READY=1', sys.argv[1])",
                    (*line)[1].str()});
  EXPECT_EQ(stranger.wait_exit(), 0);
  EXPECT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) not ready)")) << corral.output();
  EXPECT_EQ(corral.count_lines(R"(worker 0 \(pid \d+\) ready$)"), 0) << corral.output();
}

TEST(Health, StoppedWorkerIsDetectedAsHungAndReplaced) {
  TempDir dir;
  auto file = dir.write("w.toml", config_with("count = 1\nheartbeat_timeout = \"500ms\"", R"(["/bin/sleep", "60"])"));
  Process corral({corral_binary(), "run", "-c", file});
  auto started = corral.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started);
  const pid_t worker = std::stoi((*started)[1]);
  ::kill(worker, SIGSTOP);
  EXPECT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) hung: stopped .*process state T.*sending SIGABRT)", 5s))
      << corral.output();
  EXPECT_TRUE(corral.wait_for_line(R"(hung: killed by signal 6 \(SIGABRT\))")) << corral.output();
  auto replaced = corral.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(replaced);
  EXPECT_NE(std::stoi((*replaced)[1]), worker);
}

TEST(Health, StaleWatchdogHeartbeatIsAHang) {
  TempDir dir;
  // Heartbeats three times, then goes silent while staying alive.
  auto file = dir.write("w.toml", config_with(
      "count = 1\nheartbeat_timeout = \"400ms\"\nhang_signal = \"SIGTERM\"",
      python_worker("for i in range(3):\\n  send('WATCHDOG=1'); time.sleep(0.1)\\ntime.sleep(60)")));
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) hung: no heartbeat for .*sending SIGTERM)", 5s))
      << corral.output();
  EXPECT_TRUE(corral.wait_for_line(R"(hung: killed by signal 15 \(SIGTERM\))")) << corral.output();
}

}  // namespace
}  // namespace corral::testing
