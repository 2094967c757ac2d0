// Restart timing as the real binary applies it (exponential backoff with
// jitter, reset after min_uptime), one slot giving up while the others go on
// serving, and --log-level.
#include <signal.h>

#include <gtest/gtest.h>

#include <map>

#include "harness.h"

namespace corral::testing {
namespace {

// The log's own timestamp ("2026-11-23 20:10:01.120345 ...") in
// microseconds since midnight; -1 if the line has none.
long long log_time_us(const std::string& line) {
  std::smatch m;
  static const std::regex time_re(R"(^\d{4}-\d\d-\d\d (\d\d):(\d\d):(\d\d)\.(\d{6}) )");
  if (!std::regex_search(line, m, time_re)) return -1;
  return ((std::stoll(m[1]) * 60 + std::stoll(m[2])) * 60 + std::stoll(m[3])) * 1'000'000 +
         std::stoll(m[4]);
}

TEST(Supervision, BackoffDoublesWithJitterUpToTheMaxAndIsWaitedFor) {
  TempDir dir;
  const std::string config = dir.write("backoff.toml", R"(
[worker]
command = ["/bin/sh", "-c", "exit 1"]
count = 1
[restart]
backoff_initial = "40ms"
backoff_max = "160ms"
min_uptime = "5s"
max_restarts = 5
window = "60s"
)");
  Process corral({corral_binary(), "run", "-c", config});
  auto code = corral.wait_exit(20s);
  ASSERT_TRUE(code) << corral.output();
  EXPECT_EQ(*code, 1) << corral.output();

  // Each delay is its nominal step (40, 80, 160, 160, ...) less at most a
  // quarter of jitter; the next start comes no earlier than the delay.
  const std::vector<int> nominal = {40, 80, 160, 160, 160};
  const std::regex restarting(R"(worker 0 \(pid \d+\) exited with code 1 .*restarting in (\d+)ms)");
  const std::regex started(R"(worker 0 started)");
  std::vector<int> delays;
  long long exit_at = -1;
  for (const auto& line : corral.lines()) {
    std::smatch m;
    if (std::regex_search(line, m, restarting)) {
      delays.push_back(std::stoi(m[1]));
      exit_at = log_time_us(line);
    } else if (std::regex_search(line, started) && exit_at >= 0) {
      const long long waited_us = log_time_us(line) - exit_at;
      EXPECT_GE(waited_us, delays.back() * 1000LL - 2000) << "restarted before its backoff\n" << line;
      exit_at = -1;
    }
  }
  ASSERT_EQ(delays.size(), nominal.size()) << corral.output();
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_LE(delays[i], nominal[i]) << "restart " << i;
    EXPECT_GE(delays[i], nominal[i] * 3 / 4) << "restart " << i;
  }
  EXPECT_EQ(corral.count_lines(R"(giving up)"), 1) << corral.output();
}

TEST(Supervision, WorkerUpLongerThanMinUptimeIsRestartedAtOnce) {
  TempDir dir;
  const std::string config = dir.write("uptime.toml", R"(
[worker]
command = ["/bin/sh", "-c", "echo up; sleep 0.25; exit 1"]
count = 1
[restart]
backoff_initial = "10s"
backoff_max = "10s"
min_uptime = "100ms"
)");
  Process corral({corral_binary(), "run", "-c", config});
  // Were the backoff applied, the second start would come 7.5 s or more later.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(corral.wait_for_line(R"(worker 0 \(pid \d+\) exited with code 1 after .*restarting now)", 5s))
        << corral.output();
    ASSERT_TRUE(corral.wait_for_line(R"(worker 0 started)", 1s)) << corral.output();
  }
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0) << corral.output();
}

// Slot 0 crash-loops and gives up; slot 1 goes on serving and being
// supervised, and corral does not exit. With reuseport, the failed slot's
// socket is closed so that no connection waits in it for nobody.
TEST(Supervision, OneSlotGivingUpLeavesTheOthersServing) {
  TempDir dir;
  const std::string config = dir.write("partial.toml", R"(
[worker]
command = ["/bin/sh", "-c", "if [ {id} = 0 ]; then echo broken >&2; exit 3; fi; exec )" +
                                                     example_server() + R"( --fd {fd:http}"]
count = 2
[restart]
backoff_initial = "1ms"
backoff_max = "2ms"
max_restarts = 3

[[socket]]
name = "http"
listen = "127.0.0.1:0"
mode = "reuseport"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_TRUE(corral.process.wait_for_line(R"(worker 0 \(pid \d+\) exited with code 3 .*giving up)"))
      << corral.process.output();
  // Worker 1 may have started before slot 0 gave up, or after.
  auto server = corral.process.find_or_wait(R"(\[w1 (\d+)\] example_server pid=)");
  ASSERT_TRUE(server) << corral.process.output();
  const std::string server_pid = (*server)[1];

  // Slot 0's socket is closed (the give-up is logged just before): of the
  // two listeners on the port, one is left.
  EXPECT_TRUE(eventually([&] { return tcp_listeners_on_port(corral.port) == 1; }, 3s))
      << tcp_listeners_on_port(corral.port) << " listeners on port " << corral.port;

  // Every connection is served by worker 1: none is left in slot 0's socket.
  for (int i = 0; i < 16; ++i) {
    auto response = http_get(corral.port, "/info", 3s);
    ASSERT_TRUE(response) << "connection " << i << " not served\n" << corral.process.output();
    EXPECT_NE(response->body.find("\"pid\":" + server_pid + ","), std::string::npos);
  }
  // Slot 1 is still supervised.
  ::kill(std::stoi(server_pid), SIGKILL);
  ASSERT_TRUE(corral.process.wait_for_line(R"(worker 1 \(pid \d+\) killed by signal 9.*restarting)"))
      << corral.process.output();
  ASSERT_TRUE(corral.process.wait_for_line(R"(\[w1 \d+\] example_server pid=)"));
  EXPECT_TRUE(http_get(corral.port, "/"));
  EXPECT_EQ(corral.process.count_lines("exiting"), 0) << corral.process.output();
  corral.process.signal(SIGTERM);
  auto code = corral.process.wait_exit();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << corral.process.output();
}

// A command that passes the start-up check but that exec refuses (its
// interpreter is missing) counts as a failed start: restarted with backoff,
// then given up, and corral exits 1 rather than waiting forever.
TEST(Supervision, ExecFailureCountsAsAFailedStartAndGivesUp) {
  TempDir dir;
  const std::string script = dir.write("server.sh", "#!/nonexistent/interpreter\n", 0755);
  const std::string config = dir.write("exec.toml", R"(
[worker]
command = [")" + script + R"("]
count = 2
[restart]
backoff_initial = "1ms"
backoff_max = "2ms"
max_restarts = 2
)");
  Process corral({corral_binary(), "run", "-c", config});
  auto code = corral.wait_exit(10s);
  ASSERT_TRUE(code) << "corral hangs with every slot failed\n" << corral.output();
  EXPECT_EQ(*code, 1) << corral.output();
  EXPECT_EQ(corral.count_lines("worker 0: cannot start '" + script + "': No such file or directory"), 3)
      << corral.output();
  EXPECT_EQ(corral.count_lines(R"(worker \d gives up)"), 2) << corral.output();
  EXPECT_EQ(corral.count_lines("every worker gave up"), 1) << corral.output();
}

TEST(Supervision, LogLevelWarnHidesInfoAndKeepsWarnings) {
  Process corral({corral_binary(), "run", "--log-level", "warn", "--workers", "1", "--", "/bin/sh",
                  "-c", "echo chatter; exec sleep 60"});
  // Nothing is logged at info: find the worker through /proc, once it has
  // become `sleep`.
  pid_t worker = 0;
  ASSERT_TRUE(eventually([&] {
    for (pid_t child : children_of(corral.pid())) {
      const auto argv = cmdline_of(child);
      if (!argv.empty() && argv[0] == "sleep") worker = child;
    }
    return worker != 0;
  })) << corral.output();
  ::kill(worker, SIGKILL);
  ASSERT_TRUE(corral.wait_for_line(R"(warn.* worker 0 \(pid \d+\) killed by signal 9)"))
      << corral.output();
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0) << corral.output();
  EXPECT_EQ(corral.count_lines("starting 1 worker"), 0) << corral.output();
  EXPECT_EQ(corral.count_lines("worker 0 started"), 0) << corral.output();
  EXPECT_EQ(corral.count_lines("all workers stopped"), 0) << corral.output();
}

}  // namespace
}  // namespace corral::testing
