// Bad input: each gets a clear message and the exit code DESIGN.md promises
// (78 invalid configuration, 2 usage, 1 run-time failure), and none leaves a
// process or a socket file behind. Every case asks for a unix socket in its
// own temporary directory, and every worker command names that directory, so
// "nothing left" is checked for real: no socket file, no live process whose
// command line mentions the directory.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace corral::testing {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConfig = 78;

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr
};

// `text` as a regex that matches it literally.
std::string re(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

Outcome run_corral(std::vector<std::string> args) {
  args.insert(args.begin(), corral_binary());
  Process corral(args);
  auto code = corral.wait_exit(10s);
  EXPECT_TRUE(code) << "corral did not exit\n" << corral.output();
  return {code.value_or(-1), corral.output()};
}

class BadInput : public ::testing::Test {
 protected:
  std::string socket_path() const { return dir_.file("web.sock"); }
  std::string listen_flag() const { return "http=unix:" + socket_path(); }
  // A worker command that would show up in /proc if it ever ran.
  std::vector<std::string> worker() const {
    return {example_server(), "--fd", "{fd:http}", "--stderr", dir_.path()};
  }
  // A configuration file: `worker_extra` and `restart_extra` lines are added
  // to [worker] and [restart]. Returns its path.
  std::string config(const std::string& worker_extra, const std::string& restart_extra = "",
                     const std::string& listen = "") const {
    return dir_.write("web.toml", "[worker]\ncommand = [\"" + example_server() +
                                      "\", \"--fd\", \"{fd:http}\", \"--stderr\", \"" +
                                      dir_.path() + "\"]\ncount = 2\n" + worker_extra +
                                      "\n[restart]\n" + restart_extra +
                                      "\n[[socket]]\nname = \"http\"\nlisten = \"" +
                                      (listen.empty() ? "unix:" + socket_path() : listen) +
                                      "\"\n");
  }
  // The 1-based line of `text` in the configuration file.
  int line_of(const std::string& text) const {
    std::ifstream file(dir_.file("web.toml"));
    std::string line;
    for (int n = 1; std::getline(file, line); ++n) {
      if (line.find(text) != std::string::npos) return n;
    }
    return 0;
  }
  void expect_nothing_left() const {
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(socket_path())))
        << socket_path() << " left behind";
    EXPECT_TRUE(processes_with_cmdline_containing(dir_.path()).empty())
        << "a process of this test outlived corral";
  }

  TempDir dir_;
};

// Asserts the exit code and that the output matches `message` (a regex).
#define EXPECT_REFUSED(outcome, expected_code, message)                   \
  do {                                                                    \
    const Outcome& refused_ = (outcome);                                  \
    const std::string pattern_ = (message);                               \
    EXPECT_EQ(refused_.code, expected_code) << refused_.output;           \
    EXPECT_TRUE(std::regex_search(refused_.output, std::regex(pattern_))) \
        << "expected /" << pattern_ << "/ in:\n" << refused_.output;      \
  } while (0)

TEST_F(BadInput, UnknownKeyNamesFileLineColumnAndSuggestsTheKnownOne) {
  const std::string file = config("drain_timout = \"1s\"");
  const Outcome run = run_corral({"run", "-c", file});
  EXPECT_REFUSED(run, kExitConfig,
                 "^corral: " + re(file) + ":" + std::to_string(line_of("drain_timout")) +
                     R"(:1: unknown key 'drain_timout' in \[worker\]; did you mean 'drain_timeout'\?)");
  expect_nothing_left();
}

TEST_F(BadInput, UnknownKeyWithNothingCloseListsTheKnownKeys) {
  const std::string file = config("", "frobnication = 3");
  const Outcome run = run_corral({"run", "-c", file});
  EXPECT_REFUSED(run, kExitConfig,
                 ":" + std::to_string(line_of("frobnication")) +
                     R"(:1: unknown key 'frobnication' in \[restart\]; its keys are policy, )");
  expect_nothing_left();
}

TEST_F(BadInput, WrongTypeSaysWhatWasExpectedAndWhatWasGiven) {
  const std::string file = config("", "max_restarts = \"ten\"");
  const Outcome run = run_corral({"run", "-c", file});
  EXPECT_REFUSED(run, kExitConfig,
                 ":" + std::to_string(line_of("max_restarts")) +
                     R"(:\d+: \[restart\] max_restarts must be an integer, not a string "ten")");
  expect_nothing_left();

  const std::string cwd = config("cwd = 5");
  EXPECT_REFUSED(run_corral({"run", "-c", cwd}), kExitConfig,
                 R"(\[worker\] cwd must be a string, not an integer 5)");
  expect_nothing_left();
}

TEST_F(BadInput, DurationWithoutUnit) {
  const std::string file = config("drain_timeout = \"30\"");
  const Outcome run = run_corral({"run", "-c", file});
  EXPECT_REFUSED(run, kExitConfig,
                 ":" + std::to_string(line_of("drain_timeout")) +
                     R"(:\d+: \[worker\] drain_timeout: duration '30' needs a unit \(ms, s, m, h\))");
  expect_nothing_left();
}

TEST_F(BadInput, EveryProblemOfAFileIsReportedAtOnce) {
  const std::string file = config("drain_timout = \"1s\"\nstop_signal = \"SIGFOO\"",
                                  "window = \"30\"");
  const Outcome run = run_corral({"run", "-c", file});
  EXPECT_EQ(run.code, kExitConfig) << run.output;
  EXPECT_NE(run.output.find("drain_timout"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("SIGFOO"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("window"), std::string::npos) << run.output;
  expect_nothing_left();
}

TEST_F(BadInput, CommandThatDoesNotExist) {
  auto args = std::vector<std::string>{"run", "--workers", "2", "--listen", listen_flag(), "--",
                                       dir_.file("no-such-server"), dir_.path()};
  EXPECT_REFUSED(run_corral(args), kExitConfig,
                 "corral: command '" + re(dir_.file("no-such-server")) +
                     R"(' not found \(No such file or directory\))");
  expect_nothing_left();

  args = {"run", "--workers", "2", "--listen", listen_flag(), "--", "corral-no-such-server-xyz",
          dir_.path()};
  EXPECT_REFUSED(run_corral(args), kExitConfig,
                 "corral: command 'corral-no-such-server-xyz' not found in PATH");
  expect_nothing_left();
}

TEST_F(BadInput, CommandThatIsNotExecutable) {
  const std::string script = dir_.write("server.sh", "#!/bin/sh\nexec sleep 60\n", 0644);
  const Outcome run = run_corral(
      {"run", "--workers", "2", "--listen", listen_flag(), "--", script, "{fd:http}"});
  EXPECT_REFUSED(run, kExitConfig,
                 "corral: command '" + re(script) + R"(' is not executable \(Permission denied\))");
  expect_nothing_left();

  // A directory is no program either.
  EXPECT_REFUSED(run_corral({"run", "--workers", "1", "--listen", listen_flag(), "--",
                             dir_.path()}),
                 kExitConfig, "command '" + re(dir_.path()) + "' is not executable");
  expect_nothing_left();
}

TEST_F(BadInput, PortAlreadyInUseExitsOneAndRemovesTheUnixSocketItCreated) {
  UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken.get(), 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  // The unix socket comes first, so corral has created its file by the time
  // the TCP bind fails.
  std::vector<std::string> args = {"run", "--workers", "2", "--listen", listen_flag(),
                                   "--listen", "api=127.0.0.1:" + port, "--"};
  for (const auto& a : worker()) args.push_back(a);
  const Outcome run = run_corral(args);
  EXPECT_REFUSED(run, kExitFailure,
                 R"(error cannot bind 127\.0\.0\.1:)" + port + ": Address already in use");
  EXPECT_EQ(run.output.find("started"), std::string::npos) << run.output;
  expect_nothing_left();
}

// In reuseport mode, corral binds one socket per slot: a port held by a
// process without SO_REUSEPORT refuses them all.
TEST_F(BadInput, PortAlreadyInUseInReuseportMode) {
  UniqueFd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken.get(), 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const std::string file = dir_.write("reuseport.toml", "[worker]\ncommand = [\"" +
                                                            example_server() + "\", \"" +
                                                            dir_.path() + "\"]\ncount = 2\n"
                                                            "[[socket]]\nlisten = \"127.0.0.1:" +
                                                            port + "\"\nmode = \"reuseport\"\n");
  EXPECT_REFUSED(run_corral({"run", "-c", file}), kExitFailure,
                 R"(cannot bind 127\.0\.0\.1:)" + port + ": Address already in use");
  expect_nothing_left();
}

TEST_F(BadInput, UnixPathThatIsNotASocketIsRefusedAndKept) {
  const std::string path = dir_.write("data.txt", "precious\n");
  std::vector<std::string> args = {"run", "--workers", "1", "--listen", "unix:" + path, "--"};
  for (const auto& a : worker()) args.push_back(a);
  EXPECT_REFUSED(run_corral(args), kExitFailure,
                 "cannot listen on unix:" + re(path) + ": the path exists and is not a socket");
  std::ifstream file(path);
  std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious\n");
  expect_nothing_left();
}

TEST_F(BadInput, UnixSocketOfALiveProcessIsRefusedAndLeftWorking) {
  const std::string path = dir_.file("busy.sock");
  UniqueFd busy(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(busy.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(busy.get(), 8), 0);

  std::vector<std::string> args = {"run", "--workers", "1", "--listen", "unix:" + path, "--"};
  for (const auto& a : worker()) args.push_back(a);
  EXPECT_REFUSED(run_corral(args), kExitFailure,
                 "cannot listen on unix:" + re(path) + ": another process is listening there");
  // The other process's socket still takes connections.
  UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
  expect_nothing_left();
}

TEST_F(BadInput, AddressThatDoesNotParse) {
  struct Case {
    std::string address;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:99999", "port '99999' in address '127.0.0.1:99999' is not a number from 0 to 65535"},
      {"127.0.0.1", "address '127.0.0.1' needs a port"},
      {"example.com:80", "host 'example.com' in address 'example.com:80' is not a numeric IPv4"},
      {"::1:80", R"(IPv6 address in '::1:80' needs brackets, e.g. \[::1\]:8080)"},
      {"[::1:80", R"(address '\[::1:80' has '\[' without '\]')"},
      {"unix:", "address 'unix:' needs a path after 'unix:'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"run", "--workers", "1", "--listen", "http=" + c.address, "--"};
    for (const auto& a : worker()) args.push_back(a);
    EXPECT_REFUSED(run_corral(args), kExitConfig,
                   "corral: --listen 'http=" + re(c.address) + "': " + c.message);
    expect_nothing_left();
  }
  // In a file, with its position.
  const std::string file = config("", "", "localhost:http");
  EXPECT_REFUSED(run_corral({"run", "-c", file}), kExitConfig,
                 ":" + std::to_string(line_of("localhost:http")) +
                     R"(:\d+: \[\[socket\]\] listen: port 'http' in address 'localhost:http')");
  expect_nothing_left();
}

TEST_F(BadInput, NoCommandAtAll) {
  EXPECT_REFUSED(run_corral({"run", "--workers", "2", "--listen", listen_flag()}), kExitConfig,
                 "^corral: no command: give one after `--` or set \\[worker\\] command");
  expect_nothing_left();
  EXPECT_REFUSED(run_corral({"run", "--workers", "2", "--listen", listen_flag(), "--"}),
                 kExitConfig, "no command");
  expect_nothing_left();
}

TEST_F(BadInput, UsageErrorsExitTwo) {
  std::vector<std::string> args = {"run", "--wrokers", "2", "--listen", listen_flag(), "--"};
  for (const auto& a : worker()) args.push_back(a);
  EXPECT_REFUSED(run_corral(args), kExitUsage, "not expected: .*--wrokers");
  expect_nothing_left();

  EXPECT_REFUSED(run_corral({"run", "--listen", listen_flag(), "--workers"}), kExitUsage,
                 "--workers: 1 required .* missing");
  EXPECT_REFUSED(run_corral({"frobnicate"}), kExitUsage, "subcommand|frobnicate");
  EXPECT_REFUSED(run_corral({}), kExitUsage, "subcommand");
  args = {"run", "--log-level", "loud", "--listen", listen_flag(), "--"};
  for (const auto& a : worker()) args.push_back(a);
  EXPECT_REFUSED(run_corral(args), kExitUsage, "unknown log level 'loud'");
  EXPECT_REFUSED(run_corral({"check"}), kExitUsage, "file is required|required");
  expect_nothing_left();
}

TEST_F(BadInput, CheckOfAGoodFilePrintsEveryEffectiveValue) {
  const std::string file = config("drain_timeout = \"1500ms\"", "max_restarts = 4",
                                  "127.0.0.1:0");
  const Outcome check = run_corral({"check", file});
  ASSERT_EQ(check.code, 0) << check.output;
  for (const std::string& expected :
       {"# " + file + ": valid. Effective configuration:", std::string("name = \"corral\""),
        "command = [\"" + example_server() + "\", \"--fd\", \"{fd:http}\"",
        std::string("count = 2"), std::string("drain_timeout = \"1s500ms\""),
        std::string("stop_signal = \"SIGTERM\""), std::string("output = \"capture\""),
        std::string("policy = \"always\""), std::string("backoff_initial = \"100ms\""),
        std::string("backoff_max = \"30s\""), std::string("min_uptime = \"5s\""),
        std::string("max_restarts = 4"), std::string("[[socket]]"),
        std::string("listen = \"127.0.0.1:0\""), std::string("mode = \"shared\""),
        std::string("backlog = 1024")}) {
    EXPECT_NE(check.output.find(expected), std::string::npos)
        << "missing: " << expected << "\n" << check.output;
  }
  // What check prints is itself a valid file with the same values.
  const std::string printed = dir_.write("printed.toml", check.output);
  const Outcome again = run_corral({"check", printed});
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.output.substr(again.output.find('\n')),
            check.output.substr(check.output.find('\n')));
  expect_nothing_left();
}

TEST_F(BadInput, CheckOfABadFileExitsSeventyEight) {
  const std::string file = config("drain_timout = \"1s\"");
  const Outcome check = run_corral({"check", file});
  EXPECT_REFUSED(check, kExitConfig,
                 "^corral: " + re(file) + ":" + std::to_string(line_of("drain_timout")) +
                     ":1: unknown key 'drain_timout' in \\[worker\\]; did you mean 'drain_timeout'\\?");
  EXPECT_EQ(check.output.find("valid"), std::string::npos) << check.output;

  EXPECT_REFUSED(run_corral({"check", dir_.file("missing.toml")}), kExitConfig,
                 "cannot read " + re(dir_.file("missing.toml")) + ": No such file or directory");
  const std::string broken = dir_.write("broken.toml", "[worker\ncommand = [\"/bin/true\"]\n");
  EXPECT_REFUSED(run_corral({"check", broken}), kExitConfig, re(broken) + ":1:\\d+: ");
  expect_nothing_left();
}

}  // namespace
}  // namespace corral::testing
