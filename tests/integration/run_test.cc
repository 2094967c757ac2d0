// `corral run` end to end: real corral, real workers, real sockets.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "harness.h"

namespace corral::testing {
namespace {

std::vector<std::string> example_args(int workers, const std::string& listen,
                                      std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"run", "--workers", std::to_string(workers), "--listen", listen,
                                   "--", example_server(), "--fd", "{fd:http}"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Reads a JSON-ish field from the example server's /info: "key":value.
std::string info_field(const std::string& body, const std::string& key) {
  auto pos = body.find("\"" + key + "\":");
  if (pos == std::string::npos) return "";
  pos += key.size() + 3;
  if (body[pos] == '"') {
    auto end = body.find('"', pos + 1);
    return body.substr(pos + 1, end - pos - 1);
  }
  auto end = body.find_first_of(",}", pos);
  return body.substr(pos, end - pos);
}

TEST(Run, WorkersServeOneSharedPort) {
  Corral corral(example_args(2, "http=127.0.0.1:0"));
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_TRUE(corral.process.wait_for_line(R"(worker 1 started \(pid \d+\))"));
  auto response = http_get(corral.port, "/");
  ASSERT_TRUE(response) << corral.process.output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello\n");
}

TEST(Run, WorkerReceivesSocketActivationVariables) {
  Corral corral(example_args(1, "http=127.0.0.1:0"));
  auto started = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started) << corral.process.output();
  const std::string pid = (*started)[1];
  auto response = http_get(corral.port, "/info");
  ASSERT_TRUE(response);
  EXPECT_EQ(info_field(response->body, "pid"), pid);
  EXPECT_EQ(info_field(response->body, "LISTEN_PID"), pid);
  EXPECT_EQ(info_field(response->body, "LISTEN_FDS"), "1");
  EXPECT_EQ(info_field(response->body, "LISTEN_FDNAMES"), "http");
  EXPECT_EQ(info_field(response->body, "CORRAL_WORKER_ID"), "0");
}

TEST(Run, NoDescriptorOfCorralReachesAWorker) {
  // `sleep` opens nothing itself: whatever it holds came from corral.
  Corral corral({"run", "--workers", "1", "--listen", "http=127.0.0.1:0", "--", "/bin/sleep", "60"});
  auto started = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started) << corral.process.output();
  // Its start-up (the dynamic loader, setlocale) opens and closes files;
  // look once it sleeps.
  const std::string proc = "/proc/" + (*started)[1].str();
  ASSERT_TRUE(eventually([&] {
    std::ifstream wchan(proc + "/wchan");
    std::string where;
    std::getline(wchan, where);
    return where.find("nanosleep") != std::string::npos;
  })) << "the worker never went to sleep";
  std::set<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd")) {
    fds.insert(entry.path().filename().string());
  }
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"}));
}

TEST(Run, KilledWorkerIsReplacedWithTheSameIdAndServes) {
  Corral corral(example_args(1, "http=127.0.0.1:0"));
  auto started = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started);
  const pid_t first = std::stoi((*started)[1]);
  ::kill(first, SIGKILL);
  ASSERT_TRUE(corral.process.wait_for_line(
      R"(worker 0 \(pid \d+\) killed by signal 9 \(SIGKILL\).*restarting)"))
      << corral.process.output();
  auto restarted = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(restarted);
  const pid_t second = std::stoi((*restarted)[1]);
  EXPECT_NE(first, second);
  auto response = http_get(corral.port, "/info");
  ASSERT_TRUE(response);
  EXPECT_EQ(info_field(response->body, "pid"), std::to_string(second));
  EXPECT_EQ(info_field(response->body, "CORRAL_WORKER_ID"), "0");
}

TEST(Run, CrashLoopGivesUpAndExitsOneWithTheLastStderrLines) {
  TempDir dir;
  const std::string config = dir.write("crash.toml", R"(
[worker]
command = ["/bin/sh", "-c", "echo 'cannot open database' >&2; exit 3"]
count = 2
[restart]
backoff_initial = "1ms"
backoff_max = "5ms"
max_restarts = 3
window = "60s"
)");
  Process corral({corral_binary(), "run", "-c", config});
  auto code = corral.wait_exit(20s);
  ASSERT_TRUE(code) << corral.output();
  EXPECT_EQ(*code, 1);
  EXPECT_EQ(corral.count_lines(R"(worker \d \(pid \d+\) exited with code 3 .*giving up)"), 2)
      << corral.output();
  EXPECT_TRUE(corral.wait_for_line("cannot open database", 0ms));
  EXPECT_TRUE(corral.wait_for_line("every worker gave up", 0ms)) << corral.output();
}

TEST(Run, GracefulStopFinishesAnInFlightRequest) {
  Corral corral(example_args(1, "http=127.0.0.1:0"));
  ASSERT_TRUE(corral.process.wait_for_line(R"(worker 0 started)"));
  // The slow request goes first on its own connection; a quick one after it
  // on another connection comes back only once the single-threaded server
  // has taken the first one in.
  UniqueFd slow_connection = send_request(corral.port, "/slow?ms=700", 10s);
  ASSERT_TRUE(slow_connection);
  ASSERT_TRUE(http_get(corral.port, "/"));
  corral.process.signal(SIGTERM);
  auto code = corral.process.wait_exit(10s);
  auto slow = read_response(slow_connection);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << corral.process.output();
  ASSERT_TRUE(slow) << corral.process.output();
  EXPECT_EQ(slow->status, 200);
}

TEST(Run, WorkersDieWithinOneSecondOfCorralKilled) {
  Corral corral(example_args(3, "http=127.0.0.1:0"));
  std::vector<pid_t> workers;
  for (int i = 0; i < 3; ++i) {
    auto m = corral.process.wait_for_line(R"(worker \d started \(pid (\d+)\))");
    ASSERT_TRUE(m);
    workers.push_back(std::stoi((*m)[1]));
  }
  corral.process.signal(SIGKILL);
  for (pid_t w : workers) EXPECT_TRUE(wait_pid_gone(w, 1s)) << "worker " << w << " outlived corral";
}

TEST(Run, WorkerOutputIsLoggedLineByLineWithIdAndPid) {
  Corral corral(example_args(1, "http=127.0.0.1:0", {"--stderr", "hello from stderr"}));
  auto started = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started);
  const std::string pid = (*started)[1];
  // stdout and stderr are separate pipes: either line may come first.
  EXPECT_TRUE(corral.process.find_line(R"(\[w0 )" + pid + R"( err\] hello from stderr$)"))
      << corral.process.output();
  EXPECT_TRUE(corral.process.find_line(R"(\[w0 )" + pid + R"(\] example_server pid=)"))
      << corral.process.output();
}

}  // namespace
}  // namespace corral::testing
