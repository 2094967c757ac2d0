// corral under valgrind's memcheck for a short life with every common event:
// two workers start and serve, one is SIGKILLed and replaced, status is
// asked (admin call and the `corral status` command, itself under
// valgrind), the workers are reloaded, and SIGTERM stops it all. corral
// must exit 0 with no memory error and no definitely or indirectly lost
// byte. (Workers are exec'd natively: --trace-children=no.)
#include <signal.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "tests/integration/harness.h"

namespace corral::testing {
namespace {

using nlohmann::json;

// Valgrind's slowdown (20-50x on corral's own code) stretches every wait.
constexpr Millis kSlow = 60s;

std::vector<std::string> under_valgrind(const std::string& log_file,
                                        std::vector<std::string> args) {
  std::vector<std::string> argv = {VALGRIND_BINARY,
                                   "--leak-check=full",
                                   "--errors-for-leak-kinds=definite,indirect",
                                   "--error-exitcode=99",
                                   "--child-silent-after-fork=yes",
                                   "--trace-children=no",
                                   "--log-file=" + log_file};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Memcheck's figures from its log.
struct Report {
  std::string text;
  long errors = -1;
  long definitely_lost = 0;  // bytes; absent from the log = 0
  long indirectly_lost = 0;
  long possibly_lost = 0;
  long still_reachable = 0;
  std::string heap_usage;  // "N allocs, N frees, N bytes allocated"
};

Report read_report(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  Report r;
  r.text = buffer.str();
  auto figure = [&](const char* label, long& out) {
    std::smatch m;
    std::regex re(std::string(label) + R"(: ([\d,]+) bytes)");
    if (std::regex_search(r.text, m, re)) {
      std::string digits = m[1];
      std::erase(digits, ',');
      out = std::stol(digits);
    }
  };
  figure("definitely lost", r.definitely_lost);
  figure("indirectly lost", r.indirectly_lost);
  figure("possibly lost", r.possibly_lost);
  figure("still reachable", r.still_reachable);
  std::smatch m;
  static const std::regex kUsage(R"(total heap usage: ([^\n]*))");
  if (std::regex_search(r.text, m, kUsage)) r.heap_usage = m[1];
  static const std::regex kErrors(R"(ERROR SUMMARY: ([\d,]+) errors)");
  if (std::regex_search(r.text, m, kErrors)) {
    std::string digits = m[1];
    std::erase(digits, ',');
    r.errors = std::stol(digits);
  }
  return r;
}

void expect_clean(const Report& r, const std::string& who) {
  EXPECT_EQ(r.errors, 0) << who << ":\n" << r.text;
  EXPECT_EQ(r.definitely_lost, 0) << who << ":\n" << r.text;
  EXPECT_EQ(r.indirectly_lost, 0) << who << ":\n" << r.text;
  // For docs/reliability.md.
  std::cout << "memcheck " << who << ": errors " << r.errors << ", definitely lost "
            << r.definitely_lost << " B, indirectly lost " << r.indirectly_lost
            << " B, possibly lost " << r.possibly_lost << " B, still reachable "
            << r.still_reachable << " B; heap: " << r.heap_usage << "\n";
}

std::vector<pid_t> ready_pids(const json& status) {
  std::vector<pid_t> pids;
  for (const auto& w : status.value("workers", json::array())) {
    if (w.value("state", "") == "ready") pids.push_back(w["pid"].get<pid_t>());
  }
  return pids;
}

TEST(Memcheck, SupervisedRunHasNoErrorAndNoLeak) {
  TempDir dir;
  const std::string config = dir.write("memcheck.toml",
                                       "name = \"memcheck\"\n"
                                       "[worker]\n"
                                       "command = [\"" +
                                           example_server() +
                                           "\", \"--fd\", \"{fd:http}\", \"--quiet\"]\n"
                                           "count = 2\n"
                                           "ready = \"notify\"\n"
                                           "ready_timeout = \"60s\"\n"
                                           "heartbeat_timeout = \"30s\"\n"
                                           "[[socket]]\n"
                                           "listen = \"127.0.0.1:0\"\n");
  const std::string corral_log = dir.file("corral.valgrind");
  Process corral(under_valgrind(corral_log, {corral_binary(), "run", "-c", config}));
  const std::string socket = corral.runtime_dir() + "/corral/memcheck.sock";

  auto started = corral.wait_for_line(R"(starting \d+ workers? on [^=]+=[^ ]*:(\d+) )", kSlow);
  ASSERT_TRUE(started) << corral.output();
  const auto port = static_cast<uint16_t>(std::stoi((*started)[1]));
  ASSERT_TRUE(await_serving(socket, 2, kSlow)) << corral.output();

  auto response = http_get(port, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  // A worker killed outright is replaced.
  auto status = admin_call(socket, {{"cmd", "status"}}, kSlow);
  ASSERT_TRUE(status);
  const auto before = ready_pids(*status);
  ASSERT_EQ(before.size(), 2u) << status->dump();
  ASSERT_EQ(::kill(before[0], SIGKILL), 0);
  ASSERT_TRUE(wait_pid_gone(before[0], kSlow));
  ASSERT_TRUE(eventually(
      [&] {
        auto s = admin_call(socket, {{"cmd", "status"}}, 5s);
        if (!s) return false;
        auto now = ready_pids(*s);
        return now.size() == 2 && std::find(now.begin(), now.end(), before[0]) == now.end();
      },
      kSlow))
      << corral.output();

  // `corral status`, also under valgrind.
  const std::string status_log = dir.file("status.valgrind");
  Process cli(under_valgrind(status_log, {corral_binary(), "status", "--socket", socket}));
  EXPECT_EQ(cli.wait_exit(kSlow), 0) << cli.output();
  EXPECT_NE(cli.output().find("ready"), std::string::npos) << cli.output();

  // A rolling reload of both workers.
  auto reload = admin_call(socket, {{"cmd", "reload"}}, kSlow);
  ASSERT_TRUE(reload);
  EXPECT_EQ(reload->value("ok", false), true) << reload->dump();
  ASSERT_TRUE(await_serving(socket, 2, kSlow));
  response = http_get(port, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);

  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(kSlow), 0) << corral.output();  // 99: valgrind found something
  expect_clean(read_report(corral_log), "corral run");
  expect_clean(read_report(status_log), "corral status");
}

}  // namespace
}  // namespace corral::testing
