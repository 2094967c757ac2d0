// Servers nobody here wrote a socket layer for, run unchanged under corral:
// Node's http module on an inherited fd, a Python socketserver on
// socket.fromfd, and Debian's gunicorn (fd:// bind and socket activation).
// Each serves with 2 workers and stops cleanly (exit 0) on SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "harness.h"

namespace corral::testing {
namespace {

// Waits until every worker 0..count-1 logged a line matching
// `ready_suffix` (after its "[wID PID]" or "[wID PID err]" prefix).
void wait_until_workers_ready(Process& corral, int count, const std::string& ready_suffix,
                              Millis timeout = 15s) {
  std::set<int> ready;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int>(ready.size()) < count) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    auto m = corral.wait_for_line(R"(\[w(\d+) \d+(?: err)?\] .*)" + ready_suffix,
                                  std::max(left, Millis(0)));
    ASSERT_TRUE(m) << "workers ready: " << ready.size() << " of " << count << "\n"
                   << corral.output();
    ready.insert(std::stoi((*m)[1]));
  }
}

// Serves a few requests, then SIGTERM: corral exits 0 and nothing it
// started (workers, their own children) survives it.
void expect_serves_then_stops_cleanly(Corral& corral) {
  for (int i = 0; i < 4; ++i) {
    auto response = http_get(corral.port, "/");
    ASSERT_TRUE(response) << "request " << i << "\n" << corral.process.output();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello\n");
  }
  const std::vector<pid_t> tree = descendants_of(corral.process.pid());
  EXPECT_GE(tree.size(), 2u);
  corral.process.signal(SIGTERM);
  auto code = corral.process.wait_exit(15s);
  ASSERT_TRUE(code) << corral.process.output();
  EXPECT_EQ(*code, 0) << corral.process.output();
  EXPECT_TRUE(corral.process.wait_for_line("all workers stopped; exiting", 0ms));
  EXPECT_EQ(corral.process.count_lines(R"(worker \d \(pid \d+\) stopped: exited with code 0)"), 2)
      << corral.process.output();
  for (pid_t pid : tree) EXPECT_TRUE(wait_pid_gone(pid, 2s)) << pid << " outlived corral";
}

TEST(Servers, NodeHttpServerOnInheritedFd) {
  if (find_program("node").empty()) GTEST_SKIP() << "node is not installed (scripts/install-deps.sh)";
  Corral corral({"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", "node",
                 source_dir() + "/examples/node/server.js", "{fd:http}"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_NO_FATAL_FAILURE(
      wait_until_workers_ready(corral.process, 2, R"(node server pid=\d+ listening fd=3$)"));
  expect_serves_then_stops_cleanly(corral);
}

TEST(Servers, PythonSocketserverOnInheritedFd) {
  // Debian's interpreter when present: a version manager's shim in PATH
  // (pyenv) costs a few hundred ms per start.
  std::string python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  if (find_program("python3").empty() && python == "python3") {
    GTEST_SKIP() << "python3 is not installed";
  }
  Corral corral({"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", python,
                 source_dir() + "/examples/python/server.py", "{fd:http}"},
                {"PYTHONDONTWRITEBYTECODE=1"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_NO_FATAL_FAILURE(
      wait_until_workers_ready(corral.process, 2, R"(python server pid=\d+ listening fd=3$)"));
  expect_serves_then_stops_cleanly(corral);
}

// gunicorn 20.1 refuses --bind fd://3 while LISTEN_FDS is set, hence `env -u`;
// the working directory comes from [worker] cwd.
//
// --graceful-timeout 2 in both gunicorn tests: a gunicorn worker that gets
// its arbiter's SIGTERM in the first milliseconds after its fork (before it
// installs its own handlers) loses it, and the arbiter would then wait its
// default 30 s before killing it. Seen here once under load; gunicorn's race,
// not corral's.
TEST(Servers, GunicornWithFdBindAndCwdFromFile) {
  if (find_program("gunicorn").empty()) {
    GTEST_SKIP() << "gunicorn is not installed (Debian package gunicorn; scripts/install-deps.sh)";
  }
  TempDir dir;
  const std::string config = dir.write("gunicorn.toml", R"(
[worker]
command = ["env", "-u", "LISTEN_FDS", "-u", "LISTEN_PID", "gunicorn", "--workers", "1",
           "--graceful-timeout", "2", "--bind", "fd://{fd:http}", "app:app"]
cwd = ")" + source_dir() + R"(/examples/gunicorn"
env = { PYTHONDONTWRITEBYTECODE = "1" }
count = 2

[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_NO_FATAL_FAILURE(
      wait_until_workers_ready(corral.process, 2, R"(\[INFO\] Booting worker with pid: \d+$)"));
  expect_serves_then_stops_cleanly(corral);
}

// Without --bind, gunicorn takes fd 3 from LISTEN_FDS/LISTEN_PID as it would
// from systemd: this needs LISTEN_PID to be the worker's own pid.
TEST(Servers, GunicornWithSocketActivation) {
  if (find_program("gunicorn").empty()) {
    GTEST_SKIP() << "gunicorn is not installed (Debian package gunicorn; scripts/install-deps.sh)";
  }
  Corral corral({"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", "gunicorn",
                 "--workers", "1", "--graceful-timeout", "2", "--chdir",
                 source_dir() + "/examples/gunicorn", "app:app"},
                {"PYTHONDONTWRITEBYTECODE=1"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_NO_FATAL_FAILURE(
      wait_until_workers_ready(corral.process, 2, R"(\[INFO\] Booting worker with pid: \d+$)"));
  // Each arbiter says which address it serves: corral's port, not one of its own.
  EXPECT_EQ(corral.process.count_lines(R"(\[INFO\] Listening at: http://127\.0\.0\.1:)" +
                                       std::to_string(corral.port) + R"( \(\d+\)$)"),
            2)
      << corral.process.output();
  expect_serves_then_stops_cleanly(corral);
}

}  // namespace
}  // namespace corral::testing
