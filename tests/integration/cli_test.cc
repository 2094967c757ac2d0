// The client verbs that change a running service: corral scale, reload and
// restart. Their arguments are checked before anything is sent (exit 2);
// the rest runs against a real corral with real workers.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "harness.h"

namespace corral::testing {
namespace {

// A name no other corral on this machine uses, so that the clients below
// can only ever reach this test's service.
std::string unique_name() {
  static std::atomic<int> counter{0};
  return "cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// A client command with no supervisor to talk to (its own empty runtime
// directory).
Process lone_client(std::vector<std::string> args) {
  args.insert(args.begin(), corral_binary());
  return Process(args);
}

struct Service {
  explicit Service(int workers)
      : name(unique_name()),
        corral({"run", "--workers", std::to_string(workers), "--name", name, "--listen",
                "http=127.0.0.1:0", "--", example_server(), "--fd", "{fd:http}"}) {}

  // A client command aimed at this service: its runtime directory, its name.
  Process client(std::vector<std::string> args) const {
    args.insert(args.begin(), corral_binary());
    args.insert(args.end(), {"--name", name});
    return Process(args, {"XDG_RUNTIME_DIR=" + corral.process.runtime_dir()});
  }

  // `corral status --json`, or null when it did not answer with an object.
  nlohmann::json status() const {
    Process p = client({"status", "--json"});
    if (!p.wait_exit(10s)) return nullptr;
    auto body = nlohmann::json::parse(p.output(), nullptr, false);
    return body.is_object() ? body : nullptr;
  }

  // Waits until the service has `n` desired workers, exactly `n` worker
  // entries and all of them ready; returns their pids by id.
  std::map<int, pid_t> await_ready(int n, Millis timeout = 20s) const {
    std::map<int, pid_t> pids;
    nlohmann::json last;
    const bool ok = eventually(
        [&] {
          last = status();
          if (!last.is_object() || last.value("desired", -1) != n) return false;
          const auto& workers = last["workers"];
          if (!workers.is_array() || workers.size() != static_cast<size_t>(n)) return false;
          pids.clear();
          for (const auto& w : workers) {
            if (w.value("state", "") != "ready" || !w["pid"].is_number()) return false;
            pids[w["id"].get<int>()] = w["pid"].get<pid_t>();
          }
          return pids.size() == static_cast<size_t>(n);
        },
        timeout);
    EXPECT_TRUE(ok) << "not " << n << " ready workers; last status: " << last.dump();
    return ok ? pids : std::map<int, pid_t>{};
  }

  std::string name;
  Corral corral;
};

std::string escaped(const std::string& text) {
  return std::regex_replace(text, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

// ---- Argument checks: no supervisor needed, nothing sent. ----

TEST(Cli, ScaleRefusesGarbageWithAUsageError) {
  for (const std::string bad : {"abc", "0", "+0", "-0", "-", "+", "1.5", "-1.5", "2x", " 2",
                                "auto2", "1e3", "99999999999"}) {
    Process scale = lone_client({"scale", bad});
    EXPECT_EQ(scale.wait_exit(), 2) << bad << ": " << scale.output();
    EXPECT_TRUE(scale.find_line("^corral: scale: '" + escaped(bad) +
                                    "' .*give N \\(at least 1\\), "
                                    "\\+K, -K or auto",
                                0ms))
        << bad << ": " << scale.output();
  }
}

TEST(Cli, ScaleWithoutACountIsAUsageError) {
  Process scale = lone_client({"scale"});
  EXPECT_EQ(scale.wait_exit(), 2) << scale.output();
  EXPECT_TRUE(scale.find_line("^corral: scale: give N", 0ms)) << scale.output();
}

// `-1` is a count, not an unknown option: it gets as far as looking for the
// supervisor (69), as do the other valid forms.
TEST(Cli, ScaleTakesNegativeCountsAsArguments) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"scale", "-1"},
                                             {"scale", "-12", "--name", "nobody-here"},
                                             {"scale", "--", "-2"},
                                             {"scale", "+3"},
                                             {"scale", "4"},
                                             {"scale", "auto"}}) {
    Process scale = lone_client(args);
    EXPECT_EQ(scale.wait_exit(), 69) << args[1] << ": " << scale.output();
    EXPECT_TRUE(scale.find_line("^corral: scale: no corral answers on ", 0ms)) << scale.output();
  }
}

TEST(Cli, RestartRefusesAnythingButAWorkerId) {
  for (const std::string bad : {"abc", "-1", "1.5", "+1", "0x1", "", "99999999999"}) {
    Process restart = lone_client({"restart", bad});
    EXPECT_EQ(restart.wait_exit(), 2) << bad << ": " << restart.output();
    EXPECT_TRUE(
        restart.find_line("^corral: restart: '" + escaped(bad) + "' is not a worker id", 0ms))
        << bad << ": " << restart.output();
  }
  Process missing = lone_client({"restart"});
  EXPECT_EQ(missing.wait_exit(), 2) << missing.output();
}

TEST(Cli, ReloadAndRestartRefuseABadTimeout) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"reload", "--timeout", "abc"},
           {"reload", "--timeout", "0"},
           {"reload", "--timeout", "30"},  // units are never guessed
           {"restart", "0", "--timeout", "-5s"},
           {"restart", "0", "--timeout", "soon"}}) {
    Process p = lone_client(args);
    EXPECT_EQ(p.wait_exit(), 2) << args[0] << " " << args.back() << ": " << p.output();
    EXPECT_TRUE(p.find_line("^corral: " + args[0] + ": --timeout: ", 0ms)) << p.output();
  }
}

TEST(Cli, NewVerbsWithoutASupervisorExit69AndSayWhere) {
  TempDir dir;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"scale", "2"}, {"reload"}, {"restart", "0"}, {"top"}}) {
    std::vector<std::string> argv = {corral_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--name", "nobody-here"});
    Process p(argv, {"XDG_RUNTIME_DIR=" + dir.path()});
    EXPECT_EQ(p.wait_exit(), 69) << args[0] << ": " << p.output();
    EXPECT_TRUE(p.find_line(escaped(dir.path() + "/corral/nobody-here.sock"), 0ms)) << p.output();
  }
}

TEST(Cli, HelpAndTheUnknownVerbMessageNameTheNewVerbs) {
  Process help = lone_client({"--help"});
  EXPECT_EQ(help.wait_exit(), 0);
  for (const char* verb : {"scale", "reload", "restart", "top"}) {
    EXPECT_TRUE(help.find_line(std::string("^  ") + verb + " +\\S", 0ms)) << verb << help.output();
  }
  Process unknown = lone_client({"rescale", "2"});
  EXPECT_EQ(unknown.wait_exit(), 2);
  EXPECT_TRUE(
      unknown.find_line("unknown command 'rescale' \\(.*scale, reload, restart, top\\)", 0ms))
      << unknown.output();
}

// ---- Against a running corral (needs the server side of scale, reload
// and restart: docs/admin-protocol.md). ----

TEST(Cli, ScaleSetsTheCountPinsItAndAutoUnpinsIt) {
  Service s(2);
  s.await_ready(2);

  Process up = s.client({"scale", "3"});
  ASSERT_EQ(up.wait_exit(), 0) << up.output();
  EXPECT_TRUE(
      up.find_line("^" + s.name + R"(: 2 -> 3 workers \(pinned until 'corral scale auto'\)$)", 0ms))
      << up.output();
  s.await_ready(3);
  EXPECT_EQ(s.status().value("pinned", false), true);

  Process down = s.client({"scale", "-1"});
  ASSERT_EQ(down.wait_exit(), 0) << down.output();
  EXPECT_TRUE(down.find_line("^" + s.name + R"(: 3 -> 2 workers \(pinned)", 0ms)) << down.output();
  const auto two = s.await_ready(2);
  EXPECT_EQ(two.count(2), 0u) << "scaling down removes the highest ids first";

  Process plus = s.client({"scale", "+1"});
  ASSERT_EQ(plus.wait_exit(), 0) << plus.output();
  EXPECT_TRUE(plus.find_line("^" + s.name + R"(: 2 -> 3 workers \(pinned)", 0ms)) << plus.output();
  s.await_ready(3);

  Process automatic = s.client({"scale", "auto"});
  ASSERT_EQ(automatic.wait_exit(), 0) << automatic.output();
  EXPECT_TRUE(automatic.find_line("^" + s.name + R"(: 3 -> 2 workers \(not pinned)", 0ms))
      << automatic.output();
  s.await_ready(2);
  EXPECT_EQ(s.status().value("pinned", true), false);
}

TEST(Cli, ScaleJsonPrintsTheReplyObject) {
  Service s(2);
  s.await_ready(2);
  Process scale = s.client({"scale", "+2", "--json"});
  ASSERT_EQ(scale.wait_exit(), 0) << scale.output();
  auto reply = nlohmann::json::parse(scale.output(), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << scale.output();
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["previous"], 2);
  EXPECT_EQ(reply["desired"], 4);
  EXPECT_EQ(reply["pinned"], true);
  s.await_ready(4);
}

TEST(Cli, ScaleRefusedBySupervisorIsAnErrorOnStderr) {
  Service s(2);
  s.await_ready(2);
  Process scale = s.client({"scale", "-5"});
  EXPECT_EQ(scale.wait_exit(), 1) << scale.output();
  EXPECT_TRUE(scale.find_line("^corral: scale: .+", 0ms)) << scale.output();
  EXPECT_EQ(s.status().value("desired", -1), 2);
}

TEST(Cli, RestartReplacesOneWorker) {
  Service s(2);
  const auto before = s.await_ready(2);
  ASSERT_EQ(before.size(), 2u);
  Process restart = s.client({"restart", "0"});
  ASSERT_EQ(restart.wait_exit(60s), 0) << restart.output();
  EXPECT_TRUE(restart.find_line("^" + s.name + R"(: restarted worker 0 in \d+\.\d\ds$)", 0ms))
      << restart.output();
  const auto after = s.await_ready(2);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_NE(after.at(0), before.at(0)) << "worker 0 kept its pid";
  EXPECT_EQ(after.at(1), before.at(1)) << "worker 1 was replaced too";
  EXPECT_TRUE(wait_pid_gone(before.at(0), 10s)) << "the old worker 0 still runs";
}

TEST(Cli, RestartOfAWorkerThatDoesNotExistFails) {
  Service s(2);
  s.await_ready(2);
  Process restart = s.client({"restart", "7"});
  EXPECT_EQ(restart.wait_exit(30s), 1) << restart.output();
  EXPECT_TRUE(restart.find_line("^corral: restart: .+", 0ms)) << restart.output();
}

TEST(Cli, ReloadReplacesEveryWorker) {
  Service s(2);
  const auto before = s.await_ready(2);
  ASSERT_EQ(before.size(), 2u);
  Process reload = s.client({"reload", "--timeout", "2m"});
  ASSERT_EQ(reload.wait_exit(120s), 0) << reload.output();
  EXPECT_TRUE(reload.find_line("^" + s.name + R"(: reloaded 2 workers in \d+\.\d\ds$)", 0ms))
      << reload.output();
  const auto after = s.await_ready(2);
  ASSERT_EQ(after.size(), 2u);
  for (const auto& [id, pid] : before) {
    EXPECT_NE(after.at(id), pid) << "worker " << id << " kept its pid";
    EXPECT_TRUE(wait_pid_gone(pid, 10s)) << "the old worker " << id << " still runs";
  }
}

TEST(Cli, ReloadRefusedForAnInvalidConfigurationSaysWhyAndExits1) {
  TempDir dir;
  const std::string config = "[worker]\ncommand = [\"" + example_server() +
                             "\", \"--fd\", \"{fd:http}\"]\ncount = 2\n\n[[socket]]\n"
                             "name = \"http\"\nlisten = \"127.0.0.1:0\"\n";
  const std::string file = dir.write("web.toml", config);
  const std::string name = unique_name();
  Corral corral({"run", "-c", file, "--name", name});
  const auto client = [&](std::vector<std::string> args) {
    args.insert(args.begin(), corral_binary());
    args.insert(args.end(), {"--name", name});
    return Process(args, {"XDG_RUNTIME_DIR=" + corral.process.runtime_dir()});
  };
  ASSERT_TRUE(eventually([&] { return client({"status"}).wait_exit() == 0; }, 20s));

  dir.write("web.toml", config + "\n[restart]\npolicy = \"always\"\nmax_restart = 3\n");
  Process reload = client({"reload"});
  EXPECT_EQ(reload.wait_exit(60s), 1) << reload.output();
  EXPECT_TRUE(reload.find_line("^corral: reload: .*invalid", 0ms)) << reload.output();
  EXPECT_TRUE(reload.find_line("web.toml:\\d+:\\d+: .*max_restart", 0ms)) << reload.output();
  Process status = client({"status"});
  EXPECT_EQ(status.wait_exit(), 0) << status.output();
  EXPECT_EQ(status.count_lines(R"(^[01] +\d+ +ready +\S+ +0 )"), 2) << status.output();
}

TEST(Cli, ReloadAndRestartJsonPrintTheReplyObject) {
  Service s(2);
  s.await_ready(2);
  Process reload = s.client({"reload", "--json"});
  ASSERT_EQ(reload.wait_exit(120s), 0) << reload.output();
  auto reply = nlohmann::json::parse(reload.output(), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << reload.output();
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["replaced"], 2);
  EXPECT_TRUE(reply["duration_s"].is_number()) << reply.dump();

  s.await_ready(2);
  Process restart = s.client({"restart", "1", "--json"});
  ASSERT_EQ(restart.wait_exit(60s), 0) << restart.output();
  reply = nlohmann::json::parse(restart.output(), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << restart.output();
  EXPECT_EQ(reply["ok"], true);
  EXPECT_EQ(reply["replaced"], 1);
}

}  // namespace
}  // namespace corral::testing
