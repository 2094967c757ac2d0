// Hostile workers: one that forks hundreds of processes, one that floods
// its stdout, one that closes its output, one that ignores its stop
// signal. Each is handled with a clear log line, corral never crashes, and
// the example servers beside it stay supervised.
#include <signal.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "hostile.h"

namespace corral::testing::hostile {
namespace {

long read_number(const std::string& path) {
  std::ifstream in(path);
  long n = 0;
  in >> n;
  return n;
}

TEST(HostileWorkers, ForkingWorkerTreeGoesWithItAndOthersStaySupervised) {
  TempDir state;
  // 100 children with 4 children each: 500 processes in worker 0's group.
  Corral c(run_args(2, {}, mixed_command(python_worker({"forker", state.path(), "100", "4"}))));
  auto forked =
      c.process.wait_for_line(R"(\[w0 (\d+)\] hostile: forker: 500 processes forked)", 20s);
  ASSERT_TRUE(forked) << c.process.output();
  const pid_t forker = static_cast<pid_t>(std::stoi((*forked)[1]));
  // The grandchildren are forked by the children, a moment later.
  std::vector<pid_t> tree;
  EXPECT_TRUE(eventually(
      [&] {
        tree = descendants_of(forker);
        return tree.size() >= 500;
      },
      10s))
      << tree.size() << " processes in the tree";

  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));

  ASSERT_EQ(::kill(forker, SIGKILL), 0);
  EXPECT_TRUE(c.process.find_or_wait("worker 0 \\(pid " + std::to_string(forker) +
                                     "\\) killed by signal 9 \\(SIGKILL\\)"));
  // Its whole process group went with it.
  EXPECT_TRUE(eventually(
      [&] {
        for (pid_t p : tree) {
          if (pid_alive(p)) return false;
        }
        return true;
      },
      10s))
      << "processes of the killed worker's tree survived it";
  EXPECT_TRUE(c.process.wait_for_line(R"(\[w0 \d+\] hostile: forker: already forked once)", 15s));
  EXPECT_TRUE(pid_alive(c.process.pid()));
}

TEST(HostileWorkers, FloodingWorkerIsReadWithBoundedMemoryAndStallsNothing) {
  TempDir state;
  const std::string progress = state.file("written");
  // At warn, the flood's lines are read, cut and dropped: this test is
  // about corral keeping up, not about the test reading gigabytes of log.
  // (That hides the line naming a TCP port: the service listens on a unix
  // socket instead.)
  const std::string http = state.file("http.sock");
  std::vector<std::string> args = {corral_binary(),     "run",         "--workers", "3", "--listen",
                                   "http=unix:" + http, "--log-level", "warn",      "--"};
  for (auto& a : mixed_command(python_worker({"flood", progress}))) args.push_back(a);
  Process corral(args);
  ASSERT_TRUE(eventually([&] { return read_number(progress) > (4l << 20); }, 20s))
      << "the flood is not being read";
  const long rss_before = peak_rss_kib(corral.pid());

  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(corral, http, 1));
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(corral, http, 2));

  // Far more than any pipe holds went through corral, and it kept its
  // memory: lines are cut at 16 KiB, nothing piles up.
  const long written = read_number(progress);
  ASSERT_TRUE(eventually([&] { return read_number(progress) > written + (16l << 20); }, 20s));
  const long rss_after = peak_rss_kib(corral.pid());
  EXPECT_LT(rss_after - rss_before, 16 * 1024)
      << "peak RSS grew from " << rss_before << " to " << rss_after << " KiB";
  EXPECT_TRUE(pid_alive(corral.pid()));
}

TEST(HostileWorkers, WorkerClosingItsOutputIsStillSupervised) {
  Corral c(run_args(2, {}, mixed_command(python_worker({"close-output"}))));
  auto closed =
      c.process.find_or_wait(R"(worker 0 \(pid (\d+)\) closed its stdout; it is still supervised)");
  ASSERT_TRUE(closed) << c.process.output();
  EXPECT_TRUE(
      c.process.find_or_wait(R"(worker 0 \(pid \d+\) closed its stderr; it is still supervised)"));
  const pid_t pid = static_cast<pid_t>(std::stoi((*closed)[1]));

  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));

  // Its exit is still noticed, and its replacement is reported the same way.
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(c.process.find_or_wait("worker 0 \\(pid " + std::to_string(pid) +
                                     "\\) killed by signal 9 \\(SIGKILL\\)"));
  EXPECT_TRUE(c.process.wait_for_line(R"(worker 0 \(pid \d+\) closed its stdout)"));
  // A worker that simply exits is not reported as closing its output.
  EXPECT_EQ(count(c.process, "worker 1 \\(pid \\d+\\) closed its"), 0) << c.process.output();
}

TEST(HostileWorkers, WorkerIgnoringItsStopSignalIsKilledAtTheDrainTimeout) {
  TempDir dir;
  const std::string config = dir.write("c.toml",
                                       "[worker]\n"
                                       "command = [\"unused\"]\n"
                                       "drain_timeout = \"1s\"\n");
  Corral c(run_args(2, {"-c", config}, mixed_command(python_worker({"deaf"}))));
  ASSERT_NE(c.port, 0) << c.process.output();
  const std::string socket = admin_socket(c.process);
  ASSERT_TRUE(await_serving(socket, 2));
  ASSERT_TRUE(c.process.wait_for_line(R"(\[w0 \d+\] hostile: deaf to every signal)"));
  const pid_t stubborn = worker_entry(status_within(socket, 3s), 0)->at("pid").get<pid_t>();

  // Replacing it: the new one serves at once, the old one ignores SIGTERM
  // until the drain timeout.
  auto reply = admin_call(socket, {{"cmd", "restart"}, {"id", 0}}, 10s);
  ASSERT_TRUE(reply && (*reply)["ok"] == true) << (reply ? reply->dump() : "no reply");
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 1));
  EXPECT_TRUE(c.process.find_or_wait("worker 0 \\(pid " + std::to_string(stubborn) +
                                     "\\) still running 1s after its stop signal; killing it"))
      << c.process.output();
  EXPECT_TRUE(wait_pid_gone(stubborn, 5s));

  // A stop of the whole service ends the same way, and corral exits cleanly.
  auto stop = admin_call(socket, {{"cmd", "stop"}}, 5s);
  ASSERT_TRUE(stop && (*stop)["ok"] == true);
  EXPECT_EQ(c.process.wait_exit(10s), 0) << c.process.output();
  EXPECT_TRUE(c.process.find_line(R"(drain timeout \(1000ms\) reached: killed 1 worker\b)", 0ms))
      << c.process.output();
}

}  // namespace
}  // namespace corral::testing::hostile
