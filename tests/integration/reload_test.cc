// Rolling reload, restart of one worker, and scaling, on a live corral with
// real workers, under load where it matters: no request may fail.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "harness.h"
#include "load_client.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

struct Options {
  int workers = 2;
  std::string mode = "shared";
  std::string ready = "notify";
  std::string ready_timeout = "5s";
  std::string command;  // TOML array body; default: the example server
  int batch = 1;
};

std::string toml(const Options& o) {
  const std::string command =
      o.command.empty() ? "\"" + example_server() + "\", \"--fd\", \"{fd:http}\", \"--quiet\""
                        : o.command;
  return "name = \"reload\"\n"
         "[worker]\n"
         "command = [" + command + "]\n"
         "count = " + std::to_string(o.workers) + "\n"
         "ready = \"" + o.ready + "\"\n"
         "ready_timeout = \"" + o.ready_timeout + "\"\n"
         "drain_timeout = \"10s\"\n"
         "[reload]\n"
         "batch = " + std::to_string(o.batch) + "\n"
         "[[socket]]\n"
         "name = \"http\"\n"
         "listen = \"127.0.0.1:0\"\n"
         "mode = \"" + o.mode + "\"\n";
}

class Service {
 public:
  explicit Service(const Options& o) : file_(dir_.write("web.toml", toml(o))), corral_({"run", "-c", file_}) {
    await_serving(o.workers);
  }
  Process& log() { return corral_.process; }
  uint16_t port() const { return corral_.port; }
  std::string socket() const { return corral_.process.runtime_dir() + "/corral/reload.sock"; }
  void rewrite(const std::string& content) const { dir_.write("web.toml", content); }

  json call(const json& request, Millis timeout = 30s) {
    auto reply = admin_call(socket(), request, timeout);
    EXPECT_TRUE(reply.has_value()) << "no reply to " << request.dump();
    return reply.value_or(json::object());
  }
  json status() { return call({{"cmd", "status"}}); }

  // Worker id -> pid of the processes in `state`.
  std::map<int, pid_t> pids(const std::string& state = "ready") {
    std::map<int, pid_t> out;
    json st = status();
    if (!st.contains("workers")) ADD_FAILURE() << "status without workers: " << st.dump();
    for (const auto& w : st["workers"]) {
      if (w["state"] == state) out[w["id"].get<int>()] = w["pid"].get<pid_t>();
    }
    return out;
  }

  // Every desired worker ready and nothing else running (no replacement,
  // nothing draining): the state between operations.
  void await_serving(int n) {
    ASSERT_TRUE(testing::await_serving(socket(), n))
        << "not " << n << " ready workers; log:\n"
        << corral_.process.output();
  }

 private:
  TempDir dir_;
  std::string file_;
  Corral corral_;
};

UniqueFd connect_unix_socket(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

// Reads until `n` lines came, EOF, or the timeout.
std::vector<std::string> read_lines(const UniqueFd& fd, size_t n, Millis timeout) {
  std::string data;
  std::vector<std::string> lines;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (lines.size() < n) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[8192];
    const ssize_t got = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (got <= 0) break;
    data.append(buffer, static_cast<size_t>(got));
    for (size_t nl; (nl = data.find('\n')) != std::string::npos;) {
      lines.push_back(data.substr(0, nl));
      data.erase(0, nl + 1);
    }
  }
  return lines;
}

void expect_no_failures(const LoadResult& r) {
  EXPECT_EQ(r.failed, 0) << "first failures: " << ::testing::PrintToString(r.failures);
  EXPECT_GT(r.ok, 100) << "the load never really ran";
}

void three_reloads_under_load(const Options& o, bool keep_alive) {
  Service s(o);
  LoadClient load(s.port(), 8, keep_alive);
  ASSERT_TRUE(load.await_progress(200));
  std::set<pid_t> seen;
  for (auto [id, pid] : s.pids()) seen.insert(pid);
  for (int round = 0; round < 3; ++round) {
    const auto before = s.pids();
    json reply = s.call({{"cmd", "reload"}});
    ASSERT_EQ(reply["ok"], true) << reply.dump() << "\n" << s.log().output();
    EXPECT_EQ(reply["replaced"], o.workers);
    s.await_serving(o.workers);
    const auto after = s.pids();
    ASSERT_EQ(after.size(), before.size());
    for (auto [id, pid] : after) {
      EXPECT_TRUE(seen.insert(pid).second) << "worker " << id << " kept pid " << pid;
      EXPECT_FALSE(pid_alive(before.at(id)) && process_state(before.at(id)) != 'Z')
          << "the old worker " << id << " still runs";
    }
    ASSERT_TRUE(load.await_progress(200)) << "load stalled after reload " << round;
  }
  expect_no_failures(load.stop());
}

TEST(Reload, KeepAliveLoadSeesNoFailedRequest) { three_reloads_under_load({}, true); }

TEST(Reload, ConnectionPerRequestLoadSeesNoFailedRequest) { three_reloads_under_load({}, false); }

TEST(Reload, ReuseportSocketsLoseNoQueuedConnection) {
  Options o;
  o.mode = "reuseport";
  three_reloads_under_load(o, false);
}

TEST(Reload, TheNodeExampleDrainsWithoutAFailedRequestToo) {
  const std::string node = find_program("node");
  if (node.empty()) GTEST_SKIP() << "node is not installed";
  Options o;
  o.ready = "started";
  o.command = "\"" + node + "\", \"" + source_dir() + "/examples/node/server.js\", \"{fd:http}\"";
  three_reloads_under_load(o, true);
}

TEST(Reload, TheNodeExampleSaysWhenItIsReady) {
  const std::string node = find_program("node");
  if (node.empty() || find_program("systemd-notify").empty()) GTEST_SKIP() << "needs node and systemd-notify";
  Options o;
  o.ready = "notify";
  o.command = "\"" + node + "\", \"" + source_dir() + "/examples/node/server.js\", \"{fd:http}\"";
  three_reloads_under_load(o, true);
}

TEST(Reload, InBatches) {
  Options o;
  o.workers = 4;
  o.batch = 2;
  Service s(o);
  json reply = s.call({{"cmd", "reload"}});
  ASSERT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_EQ(reply["replaced"], 4);
  EXPECT_TRUE(s.log().find_line(R"(reload: replacing 4 workers, 2 at a time)"));
}

TEST(Reload, ACommandThatFailsAbortsAndTheOldWorkersKeepServing) {
  Options o;
  Service s(o);
  const auto before = s.pids();
  Options broken = o;
  broken.command = "\"/bin/sh\", \"-c\", \"echo broken >&2; exit 3\"";
  s.rewrite(toml(broken));
  LoadClient load(s.port(), 4, true);
  ASSERT_TRUE(load.await_progress(100));
  json reply = s.call({{"cmd", "reload"}});
  EXPECT_EQ(reply["ok"], false) << reply.dump();
  EXPECT_THAT(reply.value("error", ""), HasSubstr("exited with code 3"));
  EXPECT_THAT(reply.value("error", ""), HasSubstr("before it was ready"));
  EXPECT_THAT(reply.value("error", ""), HasSubstr("keep their old process"));
  EXPECT_EQ(s.pids(), before) << "the old workers are untouched";
  ASSERT_TRUE(load.await_progress(100));
  expect_no_failures(load.stop());
  EXPECT_EQ(s.status()["healthy"], true);
  // The old configuration stays in force: a crash restarts the old command.
  ::kill(before.at(0), SIGKILL);
  ASSERT_TRUE(s.log().wait_for_line(R"(worker 0 started \(pid \d+\))"));
  s.await_serving(2);
}

TEST(Reload, AReplacementNeverReadyAbortsAtItsReadyTimeout) {
  Options o;
  o.ready_timeout = "1s";
  Service s(o);
  const auto before = s.pids();
  Options silent = o;
  silent.command = "\"" + example_server() + "\", \"--fd\", \"{fd:http}\", \"--quiet\", \"--no-notify\"";
  s.rewrite(toml(silent));
  json reply = s.call({{"cmd", "reload"}});
  EXPECT_EQ(reply["ok"], false) << reply.dump();
  EXPECT_THAT(reply.value("error", ""), HasSubstr("not ready"));
  EXPECT_EQ(s.pids(), before);
  s.await_serving(2);
}

TEST(Reload, AnInvalidConfigurationIsRefusedAndNothingChanges) {
  Service s({});
  const auto before = s.pids();
  s.rewrite("[worker]\ncommand = [\"x\"]\ndrain_timout = \"5s\"\n");
  json reply = s.call({{"cmd", "reload"}});
  EXPECT_EQ(reply["ok"], false);
  EXPECT_THAT(reply.value("error", ""), HasSubstr("web.toml:3:1: unknown key 'drain_timout'"));
  EXPECT_THAT(reply.value("error", ""), HasSubstr("keep running as they are"));
  EXPECT_EQ(s.pids(), before);
}

TEST(Reload, SocketChangesAreRefused) {
  Options o;
  Service s(o);
  std::string changed = toml(o);
  changed.replace(changed.find("127.0.0.1:0"), 11, "127.0.0.1:1");
  s.rewrite(changed);
  json reply = s.call({{"cmd", "reload"}});
  EXPECT_EQ(reply["ok"], false);
  EXPECT_THAT(reply.value("error", ""), HasSubstr("[[socket]] changed"));
}

TEST(Reload, ANewCountInTheConfigurationApplies) {
  Options o;
  Service s(o);
  o.workers = 3;
  s.rewrite(toml(o));
  json reply = s.call({{"cmd", "reload"}});
  ASSERT_EQ(reply["ok"], true) << reply.dump();
  s.await_serving(3);
}

TEST(Reload, SighupReloads) {
  Service s({});
  const auto before = s.pids();
  s.log().signal(SIGHUP);
  ASSERT_TRUE(s.log().wait_for_line(R"(reload complete: 2 workers replaced)"));
  s.await_serving(2);
  for (auto [id, pid] : s.pids()) EXPECT_NE(pid, before.at(id));
}

TEST(Reload, ASecondReloadWhileOneRunsIsRefused) {
  Options o;
  o.ready = "delay:1s";
  Service s(o);
  // The first reload answers in about 2 s (two workers, 1 s each).
  std::thread first([&] { EXPECT_EQ(s.call({{"cmd", "reload"}})["ok"], true); });
  ASSERT_TRUE(s.log().wait_for_line(R"(reload: replacing 2 workers)"));
  json second = s.call({{"cmd", "reload"}});
  first.join();
  EXPECT_EQ(second["ok"], false);
  EXPECT_THAT(second.value("error", ""), HasSubstr("a reload is under way"));
}

TEST(Reload, AClientThatHangsUpMidReloadCostsNothing) {
  Options o;
  o.ready = "delay:300ms";
  Service s(o);
  {
    // Ask, and go away without waiting for the answer.
    auto gone = admin_call(s.socket(), {{"cmd", "reload"}}, 50ms);
    EXPECT_FALSE(gone.has_value());
  }
  ASSERT_TRUE(s.log().wait_for_line(R"(reload complete: 2 workers replaced)"));
  s.await_serving(2);
  EXPECT_EQ(s.call({{"cmd", "version"}})["ok"], true);
}

TEST(Reload, RequestsBehindAReloadOnTheSameConnectionAreAnsweredInOrder) {
  Options o;
  o.ready = "delay:200ms";
  Service s(o);
  auto fd = connect_unix_socket(s.socket());
  ASSERT_TRUE(fd);
  const std::string both = "{\"cmd\":\"reload\"}\n{\"cmd\":\"status\"}\n";
  ASSERT_EQ(::send(fd.get(), both.data(), both.size(), MSG_NOSIGNAL), static_cast<ssize_t>(both.size()));
  const auto lines = read_lines(fd, 2, 20s);
  ASSERT_EQ(lines.size(), 2u);
  const json first = json::parse(lines[0]);
  const json second = json::parse(lines[1]);
  EXPECT_EQ(first["replaced"], 2) << lines[0];
  EXPECT_EQ(second["reloading"], false) << "status was answered after the reload: " << lines[1];
}

TEST(Restart, ReplacesOnlyThatWorker) {
  Service s({});
  const auto before = s.pids();
  json reply = s.call({{"cmd", "restart"}, {"id", 1}});
  ASSERT_EQ(reply["ok"], true) << reply.dump();
  EXPECT_EQ(reply["replaced"], 1);
  s.await_serving(2);
  const auto after = s.pids();
  ASSERT_EQ(after.size(), 2u) << s.status().dump();
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(after.at(0), before.at(0));
  EXPECT_NE(after.at(1), before.at(1));
  EXPECT_TRUE(wait_pid_gone(before.at(1)));
}

TEST(Restart, UnknownIdsAndBadRequestsGetErrors) {
  Service s({});
  EXPECT_THAT(s.call({{"cmd", "restart"}, {"id", 2}}).value("error", ""), HasSubstr("no worker 2"));
  EXPECT_THAT(s.call({{"cmd", "restart"}, {"id", "1"}}).value("error", ""), HasSubstr("integer"));
  EXPECT_THAT(s.call({{"cmd", "restart"}}).value("error", ""), HasSubstr("\"id\""));
}

TEST(Scale, UpAndDownUnderLoadWithNoFailedRequest) {
  Service s({});
  LoadClient load(s.port(), 8, true);
  ASSERT_TRUE(load.await_progress(200));
  json up = s.call({{"cmd", "scale"}, {"workers", 4}});
  ASSERT_EQ(up["ok"], true) << up.dump();
  EXPECT_EQ(up["previous"], 2);
  EXPECT_EQ(up["desired"], 4);
  EXPECT_EQ(up["pinned"], true);
  s.await_serving(4);
  ASSERT_TRUE(load.await_progress(200));
  const auto four = s.pids();
  json down = s.call({{"cmd", "scale"}, {"delta", -3}});
  ASSERT_EQ(down["ok"], true) << down.dump();
  s.await_serving(1);
  EXPECT_EQ(s.pids().at(0), four.at(0)) << "the lowest id stays";
  for (int id : {1, 2, 3}) EXPECT_TRUE(wait_pid_gone(four.at(id))) << "worker " << id;
  ASSERT_TRUE(load.await_progress(200));
  expect_no_failures(load.stop());
  EXPECT_EQ(s.status()["pinned"], true);
  json unpin = s.call({{"cmd", "scale"}, {"auto", true}});
  EXPECT_EQ(unpin["desired"], 2) << "back to the configured count";
  EXPECT_EQ(unpin["pinned"], false);
  s.await_serving(2);
}

TEST(Scale, SignalsAddAndRemoveOneWorker) {
  Service s({});
  s.log().signal(SIGTTIN);
  s.await_serving(3);
  // One at a time: a signal sent while the same one is pending is merged.
  s.log().signal(SIGTTOU);
  s.await_serving(2);
  s.log().signal(SIGTTOU);
  s.await_serving(1);
  s.log().signal(SIGTTOU);
  ASSERT_TRUE(s.log().wait_for_line(R"(SIGTTOU: cannot remove 1 of 1 worker: at least 1 must stay)"));
  s.await_serving(1);
}

TEST(Scale, RefusesWhatCannotBe) {
  Service s({});
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"workers", 0}}).value("error", ""), HasSubstr("from 1 to 2048"));
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"workers", 5000}}).value("error", ""), HasSubstr("from 1 to 2048"));
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"delta", -2}}).value("error", ""), HasSubstr("at least 1 must stay"));
  EXPECT_THAT(s.call({{"cmd", "scale"}}).value("error", ""), HasSubstr("exactly one of"));
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"workers", 2}, {"delta", 1}}).value("error", ""),
              HasSubstr("exactly one of"));
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"workers", "3"}}).value("error", ""), HasSubstr("integer"));
  EXPECT_THAT(s.call({{"cmd", "scale"}, {"auto", false}}).value("error", ""), HasSubstr("must be true"));
  s.await_serving(2);
}

TEST(Scale, DuringAReloadTheRemovedWorkersAreNotReplaced) {
  Options o;
  o.workers = 4;
  o.ready = "delay:300ms";
  Service s(o);
  std::thread reload([&] {
    json r = s.call({{"cmd", "reload"}});
    EXPECT_EQ(r["ok"], true) << r.dump();
    EXPECT_LE(r.value("replaced", 99), 2);
  });
  ASSERT_TRUE(s.log().wait_for_line(R"(reload: replacing 4 workers)"));
  json down = s.call({{"cmd", "scale"}, {"workers", 2}});
  EXPECT_EQ(down["ok"], true) << down.dump();
  reload.join();
  s.await_serving(2);
}

}  // namespace
}  // namespace corral::testing
