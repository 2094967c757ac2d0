// corral near RLIMIT_NOFILE: started with a soft limit a few descriptors
// above what two workers need, then asked for many more workers. Spawns
// fail with EMFILE and say so; corral neither crashes nor spins, still
// answers on its admin socket, and recovers once descriptors are free.
#include <signal.h>

#include <fstream>
#include <regex>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "hostile.h"

namespace corral::testing::hostile {
namespace {

struct LimitedCorral {
  // `nofile`: prlimit's "SOFT:HARD", or one number for both.
  LimitedCorral(const std::string& nofile, std::vector<std::string> args)
      : process([&] {
          args.insert(args.begin(), {find_program("prlimit"), "--nofile=" + nofile,
                                     "--", corral_binary()});
          return args;
        }()) {
    auto m = process.wait_for_line(R"(starting \d+ workers? on [^=]+=[^ ]*:(\d+) )", 10s);
    if (m) port = static_cast<uint16_t>(std::stoi((*m)[1]));
  }
  Process process;
  uint16_t port = 0;
};

TEST(HostileNofile, ExhaustedDescriptorsAreReportedAndRecoveredFrom) {
  if (find_program("prlimit").empty()) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  // Two workers need about 30 descriptors in corral (under ASan too); 40
  // leaves room for a few more workers, not for twenty.
  LimitedCorral c("40", run_args(2, {}, {example_server(), "--fd", "{fd:http}", "--quiet"}));
  ASSERT_NE(c.port, 0) << c.process.output();
  const std::string socket = admin_socket(c.process);
  ASSERT_TRUE(await_serving(socket, 2)) << c.process.output();

  auto scaled = admin_call(socket, {{"cmd", "scale"}, {"workers", 20}}, 5s);
  ASSERT_TRUE(scaled && (*scaled)["ok"] == true)
      << (scaled ? scaled->dump() : "no reply") << c.process.output();
  ASSERT_TRUE(c.process.wait_for_line(R"(worker \d+: .*Too many open files)", 15s))
      << c.process.output();
  EXPECT_LE(open_fds(c.process.pid()), 40);

  // Out of descriptors, it still answers (a failed spawn frees what it
  // took), and a worker killed meanwhile is noticed.
  nlohmann::json status;
  ASSERT_TRUE(eventually(
      [&] {
        status = status_within(socket, 3s);
        return status.is_object();
      },
      15s))
      << "no status answer while out of descriptors";
  EXPECT_EQ(status["desired"], 20);
  const pid_t victim = worker_entry(status, 1)->at("pid").get<pid_t>();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  EXPECT_TRUE(c.process.find_or_wait("worker 1 \\(pid " + std::to_string(victim) +
                                     "\\) killed by signal 9 \\(SIGKILL\\)"));

  // Descriptors free again (fewer workers): every slot serves.
  ASSERT_TRUE(eventually(
      [&] {
        auto r = admin_call(socket, {{"cmd", "scale"}, {"workers", 2}}, 3s);
        return r && (*r)["ok"] == true;
      },
      15s));
  EXPECT_TRUE(await_serving(socket, 2, 30s)) << status_within(socket, 3s).dump();
  ASSERT_NO_FATAL_FAILURE(expect_supervision_goes_on(c.process, c.port, 0));
  EXPECT_TRUE(pid_alive(c.process.pid()));
}

// "Max open files  SOFT  HARD  files" from /proc/PID/limits.
std::pair<std::string, std::string> nofile_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, std::regex(R"(^Max open files\s+(\S+)\s+(\S+))"))) return {m[1], m[2]};
  }
  return {};
}

TEST(HostileNofile, CorralRaisesItsOwnSoftLimitAndWorkersGetTheOriginalBack) {
  if (find_program("prlimit").empty()) GTEST_SKIP() << "prlimit (util-linux) is not installed";
  LimitedCorral c("256:4096", run_args(2, {}, {example_server(), "--fd", "{fd:http}", "--quiet"}));
  ASSERT_NE(c.port, 0) << c.process.output();
  const std::string socket = admin_socket(c.process);
  ASSERT_TRUE(await_serving(socket, 2)) << c.process.output();
  EXPECT_EQ(nofile_of(c.process.pid()), std::make_pair(std::string("4096"), std::string("4096")));
  const std::vector<pid_t> workers = workers_of(c.process.pid());
  ASSERT_EQ(workers.size(), 2u);
  for (pid_t w : workers) {
    EXPECT_EQ(nofile_of(w), std::make_pair(std::string("256"), std::string("4096"))) << "worker " << w;
  }
  // What the admin server allows follows the raised limit: half of it, at most 1024.
  EXPECT_TRUE(c.process.find_line(R"(admin socket: .*\(at most 1024 connections\))", 1s)) << c.process.output();
}

}  // namespace
}  // namespace corral::testing::hostile
