#include "config/loader.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

namespace corral::config {
namespace {

using namespace std::chrono_literals;

Config load(const std::string& text) {
  auto c = load_toml(text, "web.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : Config{};
}

std::string load_error(const std::string& text) {
  auto c = load_toml(text, "web.toml");
  EXPECT_FALSE(c.ok()) << text;
  return c.ok() ? "" : c.error().message;
}

TEST(LoadToml, EmptyFileGivesTheDefaults) {
  const Config c = load("");
  Config expected;
  expected.source = "web.toml";
  EXPECT_EQ(c, expected);
  EXPECT_EQ(c.name, "corral");
  EXPECT_TRUE(c.worker.command.empty());
  EXPECT_EQ(c.worker.count, std::nullopt);
  EXPECT_EQ(c.worker.stop_signal, SIGTERM);
  EXPECT_EQ(c.worker.drain_timeout, 30s);
  EXPECT_EQ(c.worker.ready, ReadyMode::kStarted);
  EXPECT_EQ(c.worker.ready_timeout, 30s);
  EXPECT_EQ(c.worker.output, OutputMode::kCapture);
  EXPECT_EQ(c.restart.policy, RestartPolicy::kAlways);
  EXPECT_EQ(c.restart.backoff_initial, 100ms);
  EXPECT_EQ(c.restart.backoff_max, 30s);
  EXPECT_EQ(c.restart.min_uptime, 5s);
  EXPECT_EQ(c.restart.max_restarts, 10);
  EXPECT_EQ(c.restart.window, 60s);
  EXPECT_TRUE(c.sockets.empty());
}

TEST(LoadToml, EveryKey) {
  const Config c = load(R"(
name = "web"

[worker]
command = ["./server", "--fd", "{fd:http}"]
count = 4
cwd = "/srv/app"
env = { APP_ENV = "production", "WITH SPACE" = "x" }
stop_signal = "SIGINT"
drain_timeout = "10s"
ready = "delay:2s"
ready_timeout = "1m"
output = "inherit"

[restart]
policy = "on-failure"
backoff_initial = "250ms"
backoff_max = "1m"
min_uptime = "10s"
max_restarts = 0
window = "5m"

[[socket]]
name = "http"
listen = "0.0.0.0:8080"
mode = "reuseport"
backlog = 4096

[[socket]]
name = "admin"
listen = "unix:/run/web-admin.sock"
)");
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.source, "web.toml");
  EXPECT_EQ(c.worker.command, (std::vector<std::string>{"./server", "--fd", "{fd:http}"}));
  EXPECT_EQ(c.worker.count, 4);
  EXPECT_EQ(c.worker.cwd, "/srv/app");
  EXPECT_EQ(c.worker.env,
            (std::map<std::string, std::string>{{"APP_ENV", "production"}, {"WITH SPACE", "x"}}));
  EXPECT_EQ(c.worker.stop_signal, SIGINT);
  EXPECT_EQ(c.worker.drain_timeout, 10s);
  EXPECT_EQ(c.worker.ready, ReadyMode::kDelay);
  EXPECT_EQ(c.worker.ready_delay, 2s);
  EXPECT_EQ(c.worker.ready_timeout, 60s);
  EXPECT_EQ(c.worker.output, OutputMode::kInherit);
  EXPECT_EQ(c.restart.policy, RestartPolicy::kOnFailure);
  EXPECT_EQ(c.restart.backoff_initial, 250ms);
  EXPECT_EQ(c.restart.backoff_max, 60s);
  EXPECT_EQ(c.restart.min_uptime, 10s);
  EXPECT_EQ(c.restart.max_restarts, 0);
  EXPECT_EQ(c.restart.window, 5min);
  ASSERT_EQ(c.sockets.size(), 2u);
  EXPECT_EQ(c.sockets[0].name, "http");
  EXPECT_EQ(c.sockets[0].listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(c.sockets[0].mode, SocketMode::kReuseport);
  EXPECT_EQ(c.sockets[0].backlog, 4096);
  EXPECT_EQ(c.sockets[1].name, "admin");
  EXPECT_EQ(c.sockets[1].listen.kind, Address::Kind::kUnix);
  EXPECT_EQ(c.sockets[1].listen.path, "/run/web-admin.sock");
  EXPECT_EQ(c.sockets[1].mode, SocketMode::kShared);
  EXPECT_EQ(c.sockets[1].backlog, 1024);
}

TEST(LoadToml, CountAuto) {
  EXPECT_EQ(load("[worker]\ncount = \"auto\"\n").worker.count, std::nullopt);
  EXPECT_EQ(load("[worker]\ncount = 1\n").worker.count, 1);
  EXPECT_EQ(load("[worker]\ncount = 2048\n").worker.count, 2048);
}

TEST(LoadToml, StopSignalForms) {
  EXPECT_EQ(load("[worker]\nstop_signal = \"TERM\"\n").worker.stop_signal, SIGTERM);
  EXPECT_EQ(load("[worker]\nstop_signal = \"SIGQUIT\"\n").worker.stop_signal, SIGQUIT);
  EXPECT_EQ(load("[worker]\nstop_signal = \"2\"\n").worker.stop_signal, 2);
  EXPECT_EQ(load("[worker]\nstop_signal = 10\n").worker.stop_signal, 10);
}

TEST(LoadToml, ReadyStartedAndZeroDelay) {
  EXPECT_EQ(load("[worker]\nready = \"started\"\n").worker.ready, ReadyMode::kStarted);
  const Config c = load("[worker]\nready = \"delay:0\"\n");
  EXPECT_EQ(c.worker.ready, ReadyMode::kDelay);
  EXPECT_EQ(c.worker.ready_delay, 0ms);
}

TEST(LoadToml, DottedKeysAndSubtablesAreTheSameTables) {
  const Config c = load("worker.count = 3\n[worker.env]\nA = \"1\"\n");
  EXPECT_EQ(c.worker.count, 3);
  EXPECT_EQ(c.worker.env.at("A"), "1");
}

TEST(LoadToml, InlineArrayOfSocketTables) {
  const Config c =
      load(R"(socket = [{ name = "a", listen = ":1" }, { name = "b", listen = ":2" }])");
  ASSERT_EQ(c.sockets.size(), 2u);
  EXPECT_EQ(c.sockets[1].listen.port, 2);
}

TEST(LoadToml, ZeroDurationsAreAllowed) {
  const Config c = load("[restart]\nbackoff_initial = \"0\"\nwindow = \"0s\"\n");
  EXPECT_EQ(c.restart.backoff_initial, 0ms);
  EXPECT_EQ(c.restart.window, 0ms);
}

// --- Unknown and unsupported keys ---------------------------------------

TEST(LoadTomlErrors, UnknownKeyInWorkerSuggestsTheNearOne) {
  EXPECT_EQ(
      load_error("name = \"web\"\n\n[worker]\ncount = 2\n\n\n\n\n\n\n\n  drain_timout = \"5s\"\n"),
      "web.toml:12:3: unknown key 'drain_timout' in [worker]; did you mean "
      "'drain_timeout'?");
}

TEST(LoadTomlErrors, UnknownKeyWithoutANearOneListsTheKeys) {
  EXPECT_EQ(load_error("[restart]\nfoo = 1\n"),
            "web.toml:2:1: unknown key 'foo' in [restart]; its keys are policy, backoff_initial, "
            "backoff_max, min_uptime, max_restarts, window");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\nport = 1\n"),
            "web.toml:3:1: unknown key 'port' in [[socket]]; its keys are name, listen, mode, "
            "backlog");
}

TEST(LoadTomlErrors, UnknownTopLevelNames) {
  EXPECT_EQ(load_error("nmae = \"x\"\n"), "web.toml:1:1: unknown key 'nmae'; did you mean 'name'?");
  EXPECT_EQ(load_error("[workers]\ncount = 2\n"),
            "web.toml:1:2: unknown table [workers]; did you mean [worker]?");
  EXPECT_EQ(load_error("[[sockets]]\nlisten = \":80\"\n"),
            "web.toml:1:3: unknown table [[sockets]]; did you mean [[socket]]?");
  EXPECT_EQ(load_error("[restrat]\n"),
            "web.toml:1:2: unknown table [restrat]; did you mean [restart]?");
  EXPECT_EQ(load_error("[logging]\n"),
            "web.toml:1:2: unknown table [logging]; the file may contain 'name', [worker], "
            "[restart], [[socket]], [reload], [admin], [autoscale], [metrics], [[hook]]");
  EXPECT_EQ(load_error("[autoscael]\nmin = 2\n"),
            "web.toml:1:2: unknown table [autoscael]; did you mean [autoscale]?");
}

TEST(LoadTomlErrors, KeyInTheWrongTableSaysWhereItBelongs) {
  EXPECT_EQ(load_error("command = [\"./server\"]\n"),
            "web.toml:1:1: unknown key 'command'; it belongs in [worker]");
  EXPECT_EQ(load_error("[worker]\nmax_restarts = 3\n"),
            "web.toml:2:1: unknown key 'max_restarts' in [worker]; it belongs in [restart]");
  EXPECT_EQ(load_error("[worker]\nlisten = \":80\"\n"),
            "web.toml:2:1: unknown key 'listen' in [worker]; it belongs in [[socket]]");
}

TEST(LoadTomlErrors, TyposOfUnsupportedKeysStillGetASuggestion) {
  EXPECT_EQ(load_error("[worker]\nhearbeat_timeout = \"10s\"\n"),
            "web.toml:2:1: unknown key 'hearbeat_timeout' in [worker]; did you mean "
            "'heartbeat_timeout'?");
}

// --- Types ----------------------------------------------------------------

TEST(LoadTomlErrors, CountType) {
  EXPECT_EQ(load_error("name = \"web\"\n\n[worker]\ncount = \"lots\"\n"),
            "web.toml:4:9: [worker] count must be an integer or \"auto\", not a string \"lots\"");
  EXPECT_EQ(load_error("[worker]\ncount = 2.5\n"),
            "web.toml:2:9: [worker] count must be an integer or \"auto\", not a float 2.5");
  EXPECT_EQ(load_error("[worker]\ncount = true\n"),
            "web.toml:2:9: [worker] count must be an integer or \"auto\", not a boolean true");
}

TEST(LoadTomlErrors, CommandTypes) {
  EXPECT_EQ(load_error("[worker]\ncommand = \"./server --port 80\"\n"),
            "web.toml:2:11: [worker] command must be an array of strings like [\"./server\", "
            "\"--port\", \"8080\"], not a string \"./server --port 80\"");
  EXPECT_EQ(load_error("[worker]\ncommand = []\n"),
            "web.toml:2:11: [worker] command must not be empty");
  EXPECT_EQ(load_error("[worker]\ncommand = [\"./server\", 8080]\n"),
            "web.toml:2:24: [worker] command[1] must be a string, not an integer 8080");
  EXPECT_EQ(load_error("[worker]\ncommand = [\"\", \"x\"]\n"),
            "web.toml:2:12: [worker] command[0], the program to run, must not be empty");
}

TEST(LoadTomlErrors, EnvTypes) {
  EXPECT_EQ(load_error("[worker]\nenv = [\"A=1\"]\n"),
            "web.toml:2:7: [worker] env must be a table of strings like { APP_ENV = "
            "\"production\" }, not an array");
  EXPECT_EQ(load_error("[worker]\nenv = { PORT = 8080 }\n"),
            "web.toml:2:16: [worker] env.PORT must be a string, not an integer 8080 (put it in "
            "quotes)");
  EXPECT_EQ(load_error("[worker]\nenv = { X = { Y = \"1\" } }\n"),
            "web.toml:2:13: [worker] env.X must be a string, not a table");
  EXPECT_EQ(load_error("[worker.env]\n\"A=B\" = \"1\"\n"),
            "web.toml:2:1: [worker] env key 'A=B' is not a valid variable name");
}

TEST(LoadTomlErrors, ScalarTypes) {
  EXPECT_EQ(load_error("name = 3\n"), "web.toml:1:8: name must be a string, not an integer 3");
  EXPECT_EQ(load_error("[worker]\ncwd = false\n"),
            "web.toml:2:7: [worker] cwd must be a string, not a boolean false");
  EXPECT_EQ(load_error("[worker]\nstop_signal = true\n"),
            "web.toml:2:15: [worker] stop_signal must be a signal name like \"SIGTERM\", not a "
            "boolean true");
  EXPECT_EQ(load_error("[worker]\ndrain_timeout = 30\n"),
            "web.toml:2:17: [worker] drain_timeout must be a duration string like \"30s\", not an "
            "integer 30");
  EXPECT_EQ(load_error("[restart]\nmax_restarts = \"10\"\n"),
            "web.toml:2:16: [restart] max_restarts must be an integer, not a string \"10\"");
  EXPECT_EQ(load_error("[[socket]]\nlisten = 8080\n"),
            "web.toml:2:10: [[socket]] listen must be a string, not an integer 8080");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\nbacklog = \"big\"\n"),
            "web.toml:3:11: [[socket]] backlog must be an integer, not a string \"big\"");
  EXPECT_EQ(load_error("[worker]\ncwd = 1979-05-27\n"),
            "web.toml:2:7: [worker] cwd must be a string, not a date");
}

TEST(LoadTomlErrors, ChoiceValues) {
  EXPECT_EQ(load_error("[worker]\noutput = \"file\"\n"),
            "web.toml:2:10: [worker] output must be \"capture\" or \"inherit\", not a string "
            "\"file\"");
  EXPECT_EQ(load_error("[restart]\npolicy = \"sometimes\"\n"),
            "web.toml:2:10: [restart] policy must be \"always\", \"on-failure\" or \"never\", not "
            "a string \"sometimes\"");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\nmode = \"fanout\"\n"),
            "web.toml:3:8: [[socket]] mode must be \"shared\" or \"reuseport\", not a string "
            "\"fanout\"");
  EXPECT_EQ(load_error("[worker]\nready = \"soon\"\n"),
            "web.toml:2:9: [worker] ready must be \"started\", \"notify\" or \"delay:DURATION\" "
            "(e.g. \"delay:2s\"), not a string \"soon\"");
}

TEST(LoadTomlErrors, EnvCannotSetWhatCorralSetsPerWorker) {
  EXPECT_EQ(
      load_error("[worker]\nenv = { LISTEN_FDS = \"7\" }\n"),
      "web.toml:2:9: [worker] env: LISTEN_FDS is set by corral for each worker; remove it here");
  EXPECT_EQ(load_error("[worker]\nenv.CORRAL_WORKER_ID = \"x\"\n").substr(0, 40),
            "web.toml:2:5: [worker] env: CORRAL_WORKE");
}

TEST(LoadToml, AdminSocketPath) {
  auto c = load_toml("[admin]\nsocket = \"/run/web/admin.sock\"\n", "web.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->admin.socket, "/run/web/admin.sock");
  EXPECT_EQ(load_error("[admin]\nsokcet = \"x\"\n"),
            "web.toml:2:1: unknown key 'sokcet' in [admin]; did you mean 'socket'?");
}

TEST(LoadToml, ReadinessAndHangDetectionKeys) {
  auto c = load_toml(
      "[worker]\nready = \"notify\"\nheartbeat_timeout = \"2s\"\nhang_signal = \"QUIT\"\n",
      "web.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->worker.ready, ReadyMode::kNotify);
  EXPECT_EQ(c->worker.heartbeat_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c->worker.hang_signal, SIGQUIT);
  EXPECT_EQ(load_error("[worker]\nhang_signal = \"SIGNOPE\"\n").substr(0, 30),
            "web.toml:2:15: [worker] hang_s");
  EXPECT_EQ(load_error("[worker]\nheartbeat_timeout = 5\n").substr(0, 22),
            "web.toml:2:21: [worker");
}

TEST(LoadTomlErrors, BadValuesInsideStrings) {
  EXPECT_EQ(load_error("[worker]\ndrain_timeout = \"5\"\n"),
            "web.toml:2:17: [worker] drain_timeout: duration '5' needs a unit (ms, s, m, h)");
  EXPECT_EQ(load_error("[worker]\nready = \"delay:soon\"\n"),
            "web.toml:2:9: [worker] ready: duration 'soon' is not a duration: write a number and "
            "a unit, e.g. \"1m30s\"");
  EXPECT_EQ(load_error("[worker]\nstop_signal = \"SIGFOO\"\n"),
            "web.toml:2:15: [worker] stop_signal: unknown signal 'SIGFOO'; write a name like "
            "\"SIGTERM\" or a number");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \"example.com:80\"\n"),
            "web.toml:2:10: [[socket]] listen: host 'example.com' in address 'example.com:80' is "
            "not a numeric IPv4 address or 'localhost' (names are not resolved)");
  EXPECT_EQ(load_error("name = \"my web\"\n"),
            "web.toml:1:8: name 'my web' may use only letters, digits, '_', '.' and '-' (at most "
            "64)");
  EXPECT_EQ(load_error("[[socket]]\nname = \"a.b\"\nlisten = \":1\"\n"),
            "web.toml:2:8: [[socket]] name 'a.b' may use only letters, digits, '_' and '-' (at "
            "most 64)");
}

// --- Ranges ----------------------------------------------------------------

TEST(LoadToml, ReloadBatch) {
  EXPECT_EQ(load("").reload.batch, 1);
  EXPECT_EQ(load("[reload]\nbatch = 4\n").reload.batch, 4);
  EXPECT_EQ(load_error("[reload]\nbatch = 0\n"),
            "web.toml:2:9: [reload] batch must be from 1 to 2048, not 0");
}

TEST(LoadTomlErrors, Ranges) {
  EXPECT_EQ(load_error("[worker]\ncount = 0\n"),
            "web.toml:2:9: [worker] count must be from 1 to 2048, not 0");
  EXPECT_EQ(load_error("[worker]\ncount = 2049\n"),
            "web.toml:2:9: [worker] count must be from 1 to 2048, not 2049");
  EXPECT_EQ(load_error("[worker]\ncount = -9223372036854775808\n"),
            "web.toml:2:9: [worker] count must be from 1 to 2048, not -9223372036854775808");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\nbacklog = 0\n"),
            "web.toml:3:11: [[socket]] backlog must be from 1 to 65535, not 0");
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\nbacklog = 65536\n"),
            "web.toml:3:11: [[socket]] backlog must be from 1 to 65535, not 65536");
  EXPECT_EQ(load_error("[restart]\nmax_restarts = -1\n"),
            "web.toml:2:16: [restart] max_restarts must be from 0 to 10000, not -1");
  EXPECT_EQ(load_error("[restart]\nmin_uptime = \"-5s\"\n"),
            "web.toml:2:14: [restart] min_uptime: duration '-5s' is negative");
}

TEST(LoadTomlErrors, BackoffInitialMustNotExceedBackoffMax) {
  EXPECT_EQ(load_error("[restart]\nbackoff_initial = \"1m\"\nbackoff_max = \"30s\"\n"),
            "web.toml:2:19: [restart] backoff_initial (1m) must not exceed backoff_max (30s)");
  // Against the default maximum (30s), the position is backoff_initial's.
  EXPECT_EQ(load_error("[restart]\nbackoff_initial = \"31s\"\n"),
            "web.toml:2:19: [restart] backoff_initial (31s) must not exceed backoff_max (30s)");
  // Against the default initial value (100ms), the position is backoff_max's.
  EXPECT_EQ(load_error("[restart]\nbackoff_max = \"50ms\"\n"),
            "web.toml:2:15: [restart] backoff_initial (100ms) must not exceed backoff_max (50ms)");
  // Equal is fine; a bad value is reported once, without a comparison.
  EXPECT_EQ(load("[restart]\nbackoff_initial = \"1s\"\nbackoff_max = \"1s\"\n").restart.backoff_max,
            1s);
  EXPECT_EQ(load_error("[restart]\nbackoff_initial = \"1x\"\nbackoff_max = \"50ms\"\n"),
            "web.toml:2:19: [restart] backoff_initial: duration '1x' has an unknown unit 'x' (use "
            "ms, s, m, h)");
}

// --- Tables and sockets ------------------------------------------------------

TEST(LoadTomlErrors, SectionsMustBeTables) {
  EXPECT_EQ(load_error("worker = 3\n"),
            "web.toml:1:10: worker must be a table ([worker]), not an integer 3");
  EXPECT_EQ(load_error("restart = \"always\"\n"),
            "web.toml:1:11: restart must be a table ([restart]), not a string \"always\"");
  EXPECT_EQ(load_error("[socket]\nlisten = \":80\"\n"),
            "web.toml:1:1: socket must be an array of tables: write [[socket]], not [socket]");
  EXPECT_EQ(load_error("socket = [1, 2]\n"),
            "web.toml:1:10: socket must be an array of tables ([[socket]]), not an array");
}

TEST(LoadTomlErrors, SocketNeedsListen) {
  EXPECT_EQ(load_error("[[socket]]\nname = \"api\"\n"),
            "web.toml:1:1: [[socket]] 'api' needs a listen address, e.g. listen = \":8080\"");
}

TEST(LoadTomlErrors, SocketNamesAreUnique) {
  EXPECT_EQ(load_error("[[socket]]\nname = \"http\"\nlisten = \":1\"\n\n"
                       "[[socket]]\nname = \"http\"\nlisten = \":2\"\n"),
            "web.toml:6:8: socket name 'http' is used twice (first at web.toml:2:8)");
  // Both default to "http": the positions are the tables'.
  EXPECT_EQ(load_error("[[socket]]\nlisten = \":1\"\n[[socket]]\nlisten = \":2\"\n"),
            "web.toml:3:1: socket name 'http' is used twice (first at web.toml:1:1)");
}

TEST(LoadTomlErrors, ReuseportNeedsTcp) {
  EXPECT_EQ(load_error("[[socket]]\nlisten = \"unix:/tmp/a.sock\"\nmode = \"reuseport\"\n"),
            "web.toml:3:8: [[socket]] 'http': mode \"reuseport\" needs a TCP address; a unix "
            "socket can only be \"shared\"");
}

// --- [worker] max_memory and [autoscale] -------------------------------------

using Metric = AutoscaleRule::Metric;
using Direction = AutoscaleRule::Direction;

TEST(LoadToml, MaxMemory) {
  EXPECT_EQ(load("").worker.max_memory, std::nullopt);
  EXPECT_EQ(load("[worker]\nmax_memory = \"512MiB\"\n").worker.max_memory, 512u << 20);
  EXPECT_EQ(load("[worker]\nmax_memory = \"1.5GiB\"\n").worker.max_memory, 3u << 29);
  EXPECT_EQ(load("[worker]\nmax_memory = \"1MiB\"\n").worker.max_memory, 1u << 20);
  EXPECT_EQ(load("[worker]\nmax_memory = \"2GB\"\n").worker.max_memory, 2'000'000'000u);
}

TEST(LoadTomlErrors, MaxMemory) {
  EXPECT_EQ(load_error("[worker]\nmax_memory = \"0B\"\n"),
            "web.toml:2:14: [worker] max_memory must be at least 1MiB, not 0B");
  EXPECT_EQ(load_error("[worker]\nmax_memory = \"1000KiB\"\n"),
            "web.toml:2:14: [worker] max_memory must be at least 1MiB, not 1000KiB");
  EXPECT_EQ(load_error("[worker]\nmax_memory = 536870912\n"),
            "web.toml:2:14: [worker] max_memory must be a size string like \"512MiB\", not an "
            "integer 536870912");
  EXPECT_EQ(load_error("[worker]\nmax_memory = \"512\"\n"),
            "web.toml:2:14: [worker] max_memory: size '512' needs a unit (B, KiB, MiB, GiB, TiB, "
            "or KB, MB, GB, TB)");
  EXPECT_EQ(load_error("[worker]\nmax_memory = \"-1GiB\"\n"),
            "web.toml:2:14: [worker] max_memory: size '-1GiB' is negative");
}

TEST(LoadToml, NoAutoscaleByDefault) { EXPECT_EQ(load("").autoscale, std::nullopt); }

TEST(LoadToml, AutoscaleEveryKey) {
  const Config c = load(R"(
[autoscale]
min = 2
max = 16
interval = "1s"

[[autoscale.rule]]
metric = "cpu"
above = 75
for = "30s"
add = 2
cooldown = "1m"

[[autoscale.rule]]
metric = "memory"
below = "300MiB"
for = "10m"
remove = 3
cooldown = "0s"

[[autoscale.rule]]
metric = "inflight"
above = 8.5

[[autoscale.rule]]
metric = "rps"
below = 0.5
)");
  ASSERT_TRUE(c.autoscale);
  const AutoscaleConfig& a = *c.autoscale;
  EXPECT_EQ(a.min, 2);
  EXPECT_EQ(a.max, 16);
  EXPECT_EQ(a.interval, 1s);
  ASSERT_EQ(a.rules.size(), 4u);
  EXPECT_EQ(a.rules[0], (AutoscaleRule{Metric::kCpu, Direction::kAbove, 75, 30s, 2, 1min}));
  EXPECT_EQ(a.rules[1],
            (AutoscaleRule{Metric::kMemory, Direction::kBelow, 300.0 * (1 << 20), 10min, 3, 0s}));
  // Defaults by direction: up quickly, down slowly.
  EXPECT_EQ(a.rules[2], (AutoscaleRule{Metric::kInflight, Direction::kAbove, 8.5, 15s, 1, 30s}));
  EXPECT_EQ(a.rules[3], (AutoscaleRule{Metric::kRps, Direction::kBelow, 0.5, 5min, 1, 2min}));
}

TEST(LoadToml, AutoscaleDefaults) {
  // Rules alone make the [autoscale] table (TOML creates it implicitly).
  const Config c = load("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\n");
  ASSERT_TRUE(c.autoscale);
  EXPECT_EQ(c.autoscale->min, 1);
  EXPECT_EQ(c.autoscale->max, std::nullopt);
  EXPECT_EQ(c.autoscale->interval, 5s);
  ASSERT_EQ(c.autoscale->rules.size(), 1u);
  EXPECT_EQ(c.autoscale->rules[0].threshold, 80);
  EXPECT_EQ(default_hold(Direction::kAbove), 15s);
  EXPECT_EQ(default_hold(Direction::kBelow), 5min);
  EXPECT_EQ(default_cooldown(Direction::kAbove), 30s);
  EXPECT_EQ(default_cooldown(Direction::kBelow), 2min);
}

TEST(LoadToml, AutoscaleValueForms) {
  const auto rule = [](const std::string& body) {
    const Config c = load("[[autoscale.rule]]\n" + body);
    return c.autoscale && !c.autoscale->rules.empty() ? c.autoscale->rules[0] : AutoscaleRule{};
  };
  EXPECT_EQ(rule("metric = \"cpu\"\nabove = \"75%\"\n").threshold, 75);
  EXPECT_EQ(rule("metric = \"cpu\"\nabove = \"12.5%\"\n").threshold, 12.5);
  EXPECT_EQ(rule("metric = \"cpu\"\nabove = 250\n").threshold, 250) << "several cores";
  EXPECT_EQ(rule("metric = \"cpu\"\nabove = 0\n").threshold, 0);
  EXPECT_EQ(rule("metric = \"memory\"\nabove = \"1.5GiB\"\n").threshold, 1.5 * (1 << 30));
  EXPECT_EQ(rule("metric = \"rps\"\nabove = 1e3\nfor = \"0s\"\n").hold, 0ms);
  EXPECT_EQ(rule("metric = \"cpu\"\nabove = 1\nadd = 2048\n").step, 2048);
  const Config c = load(
      "[autoscale]\nmax = \"auto\"\nmin = 3\n[[autoscale.rule]]\n"
      "metric = \"cpu\"\nabove = 1\n");
  EXPECT_EQ(c.autoscale->max, std::nullopt);
  EXPECT_EQ(load("[autoscale]\nmin = 5\nmax = 5\nrule = [{ metric = \"cpu\", above = 90 }]\n")
                .autoscale->max,
            5)
      << "min = max; inline rules";
  EXPECT_EQ(load("[autoscale]\ninterval = \"100ms\"\n[[autoscale.rule]]\nmetric = \"cpu\"\n"
                 "above = 1\n")
                .autoscale->interval,
            100ms);
}

TEST(LoadTomlErrors, AutoscaleMetric) {
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpus\"\nabove = 1\n"),
            "web.toml:2:10: [[autoscale.rule]] metric must be \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\", not a string \"cpus\"; did you mean \"cpu\"?");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"latency\"\nabove = 1\n"),
            "web.toml:2:10: [[autoscale.rule]] metric must be \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\", not a string \"latency\"");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = 1\nabove = 1\n"),
            "web.toml:2:10: [[autoscale.rule]] metric must be \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\", not an integer 1");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nabove = 1\n"),
            "web.toml:1:1: [[autoscale.rule]] needs a metric: \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\"");
}

TEST(LoadTomlErrors, AutoscaleDirection) {
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\nbelow = 20\n"),
            "web.toml:4:9: [[autoscale.rule]] has both above and below; a rule scales one way: "
            "write one rule for each");
  EXPECT_EQ(load_error("\n[[autoscale.rule]]\nmetric = \"cpu\"\nfor = \"1m\"\n"),
            "web.toml:2:1: [[autoscale.rule]] cpu needs a threshold: above = ... (adds workers) "
            "or below = ... (removes them)");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\nremove = 1\n"),
            "web.toml:4:10: [[autoscale.rule]] remove is for a below rule; this above rule adds "
            "workers with add = N");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nbelow = 20\nadd = 1\n"),
            "web.toml:4:7: [[autoscale.rule]] add is for an above rule; this below rule removes "
            "workers with remove = N");
}

TEST(LoadTomlErrors, AutoscaleThresholds) {
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = -5\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number of at least 0, not an "
            "integer -5");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = nan\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number of at least 0, not a float "
            "nan");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = \"-5%\"\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number of at least 0, not a string "
            "\"-5%\"");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = \"high\"\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number (percent of one core, e.g. "
            "75), not a string \"high\"");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = \"x%\"\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number (percent of one core, e.g. "
            "75), not a string \"x%\"");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"rps\"\nabove = \"75%\"\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a number (requests per second per "
            "worker), not a string \"75%\"");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"inflight\"\nbelow = true\n"),
            "web.toml:3:9: [[autoscale.rule]] below must be a number (in-flight requests per "
            "worker), not a boolean true");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nbelow = 0\n"),
            "web.toml:3:9: [[autoscale.rule]] below must be greater than 0: nothing is below 0");
  // Memory: sizes with units, never a bare number.
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"memory\"\nabove = 300\n"),
            "web.toml:3:9: [[autoscale.rule]] above must be a size string like \"512MiB\", not an "
            "integer 300");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"memory\"\nabove = \"300MB s\"\n"),
            "web.toml:3:9: [[autoscale.rule]] above: size '300MB s' has an unexpected 's'");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"memory\"\nbelow = \"0B\"\n"),
            "web.toml:3:9: [[autoscale.rule]] below must be greater than 0: nothing is below 0");
  // A threshold of an unknown metric is not judged: one error, not two.
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"mem\"\nabove = 300\n"),
            "web.toml:2:10: [[autoscale.rule]] metric must be \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\", not a string \"mem\"");
}

TEST(LoadTomlErrors, AutoscaleRuleValues) {
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\nadd = 0\n"),
            "web.toml:4:7: [[autoscale.rule]] add must be from 1 to 2048, not 0");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nbelow = 8\nremove = 2049\n"),
            "web.toml:4:10: [[autoscale.rule]] remove must be from 1 to 2048, not 2049");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\nfor = 30\n"),
            "web.toml:4:7: [[autoscale.rule]] for must be a duration string like \"30s\", not an "
            "integer 30");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\ncooldown = \"-1s\"\n"),
            "web.toml:4:12: [[autoscale.rule]] cooldown: duration '-1s' is negative");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\ncooldwon = \"1s\"\n"),
            "web.toml:4:1: unknown key 'cooldwon' in [[autoscale.rule]]; did you mean "
            "'cooldown'?");
  EXPECT_EQ(load_error("[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\nstep = 2\n"),
            "web.toml:4:1: unknown key 'step' in [[autoscale.rule]]; its keys are metric, above, "
            "below, for, add, remove, cooldown");
}

TEST(LoadTomlErrors, AutoscaleTable) {
  const std::string rule = "[[autoscale.rule]]\nmetric = \"cpu\"\nabove = 80\n";
  EXPECT_EQ(load_error("[autoscale]\nmin = 4\nmax = 2\n" + rule),
            "web.toml:3:7: [autoscale] max (2) must not be below min (4)");
  EXPECT_EQ(load_error("[autoscale]\nmin = 0\n" + rule),
            "web.toml:2:7: [autoscale] min must be from 1 to 2048, not 0");
  EXPECT_EQ(load_error("[autoscale]\nmax = 4096\n" + rule),
            "web.toml:2:7: [autoscale] max must be from 1 to 2048, not 4096");
  EXPECT_EQ(load_error("[autoscale]\nmax = \"lots\"\n" + rule),
            "web.toml:2:7: [autoscale] max must be an integer or \"auto\", not a string \"lots\"");
  EXPECT_EQ(load_error("[autoscale]\ninterval = \"0s\"\n" + rule),
            "web.toml:2:12: [autoscale] interval must be at least 100ms, not 0s");
  EXPECT_EQ(load_error("[autoscale]\ninterval = \"50ms\"\n" + rule),
            "web.toml:2:12: [autoscale] interval must be at least 100ms, not 50ms");
  EXPECT_EQ(load_error("[autoscale]\ninterval = 5\n" + rule),
            "web.toml:2:12: [autoscale] interval must be a duration string like \"30s\", not an "
            "integer 5");
  EXPECT_EQ(load_error("[autoscale]\nmin = 2\n"),
            "web.toml:1:1: [autoscale] has no rule: add at least one [[autoscale.rule]], e.g. "
            "metric = \"cpu\", above = 75");
  EXPECT_EQ(load_error("[autoscale.rule]\nmetric = \"cpu\"\nabove = 80\n"),
            "web.toml:1:1: [autoscale] rule must be an array of tables: write [[autoscale.rule]], "
            "not [autoscale.rule]");
  EXPECT_EQ(load_error("[autoscale]\nrule = 3\n"),
            "web.toml:2:8: [autoscale] rule must be an array of tables ([[autoscale.rule]]), not "
            "an integer 3");
  EXPECT_EQ(load_error("autoscale = true\n"),
            "web.toml:1:13: autoscale must be a table ([autoscale]), not a boolean true");
  // Keys in the wrong table say where they belong.
  EXPECT_EQ(load_error("[autoscale]\nmetric = \"cpu\"\n" + rule),
            "web.toml:2:1: unknown key 'metric' in [autoscale]; it belongs in [[autoscale.rule]]");
  EXPECT_EQ(load_error("[worker]\nmin = 2\n"),
            "web.toml:2:1: unknown key 'min' in [worker]; it belongs in [autoscale]");
  EXPECT_EQ(load_error(rule + "min = 2\n"),
            "web.toml:4:1: unknown key 'min' in [[autoscale.rule]]; it belongs in [autoscale]");
}

TEST(LoadTomlErrors, AutoscaleProblemsAreAllReported) {
  EXPECT_EQ(load_error("[autoscale]\nmin = 0\n\n[[autoscale.rule]]\nmetric = \"cpu\"\n"
                       "above = -1\n\n[[autoscale.rule]]\nmetric = \"rsp\"\nbelow = 3\n"),
            "web.toml:2:7: [autoscale] min must be from 1 to 2048, not 0\n"
            "web.toml:6:9: [[autoscale.rule]] above must be a number of at least 0, not an "
            "integer -1\n"
            "web.toml:9:10: [[autoscale.rule]] metric must be \"cpu\", \"memory\", \"inflight\" or "
            "\"rps\", not a string \"rsp\"; did you mean \"rps\"?");
}

// --- Reporting -----------------------------------------------------------------

TEST(LoadTomlErrors, AllProblemsInFileOrder) {
  EXPECT_EQ(
      load_error("[worker]\ncount = 0\ncwd = 1\n\n[restart]\npolicy = \"x\"\n"
                 "[[socket]]\nlisten = \"nope\"\n"),
      "web.toml:2:9: [worker] count must be from 1 to 2048, not 0\n"
      "web.toml:3:7: [worker] cwd must be a string, not an integer 1\n"
      "web.toml:6:10: [restart] policy must be \"always\", \"on-failure\" or \"never\", not a "
      "string \"x\"\n"
      "web.toml:8:10: [[socket]] listen: address 'nope' needs a port; write host:port, "
      "[v6]:port, :port or unix:/path");
}

TEST(LoadTomlErrors, ManyProblemsAreCapped) {
  std::string text = "[worker.env]\n";
  for (int i = 0; i < 25; ++i) text += "V" + std::to_string(100 + i) + " = 1\n";
  const std::string error = load_error(text);
  EXPECT_THAT(error,
              ::testing::StartsWith(
                  "web.toml:2:8: [worker] env.V100 must be a string, not an integer 1 (put it in "
                  "quotes)\nweb.toml:3:8: "));
  EXPECT_THAT(error, ::testing::EndsWith("\n(5 more errors)"));
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 20);
}

TEST(LoadTomlErrors, SyntaxErrorsHaveAPosition) {
  EXPECT_EQ(load_error("name = \n"),
            "web.toml:1:8: Error while parsing key-value pair: expected value, saw '\\n'");
  EXPECT_EQ(load_error("[worker]\ncount = 1\ncount = 2\n"),
            "web.toml:3:9: Error while parsing key-value pair: cannot redefine existing integer "
            "'count'");
}

// --- Files -------------------------------------------------------------------

class LoadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "corral-config-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

TEST_F(LoadFile, ReadsAndNamesTheFile) {
  const std::string path = write("web.toml", "name = \"web\"\n[worker]\ncount = 2\n");
  auto c = load_file(path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "web");
  EXPECT_EQ(c->worker.count, 2);
  EXPECT_EQ(c->source, path);
}

TEST_F(LoadFile, ErrorsNameThePathAsGiven) {
  const std::string path = write("bad.toml", "[worker]\ncont = 2\n");
  auto c = load_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            path + ":2:1: unknown key 'cont' in [worker]; did you mean 'count'?");
}

TEST_F(LoadFile, MissingFile) {
  auto c = load_file("web.toml-that-does-not-exist");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "cannot read web.toml-that-does-not-exist: No such file or directory");
}

TEST_F(LoadFile, Directory) {
  auto c = load_file(dir_.string());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "cannot read " + dir_.string() + ": Is a directory");
}

// --- [metrics] ---------------------------------------------------------------

TEST(LoadToml, Metrics) {
  const Config c = load("[metrics]\nlisten = \"127.0.0.1:9100\"\nmin_ready = 2\n");
  ASSERT_TRUE(c.metrics.has_value());
  EXPECT_EQ(c.metrics->listen.to_string(), "127.0.0.1:9100");
  EXPECT_EQ(c.metrics->min_ready, 2);

  const Config unix_socket = load("[metrics]\nlisten = \"unix:/run/web-metrics.sock\"\n");
  ASSERT_TRUE(unix_socket.metrics.has_value());
  EXPECT_EQ(unix_socket.metrics->listen.kind, Address::Kind::kUnix);
  EXPECT_EQ(unix_socket.metrics->min_ready, 1);

  EXPECT_FALSE(load("").metrics.has_value());
}

TEST(LoadTomlErrors, Metrics) {
  EXPECT_EQ(load_error("[metrics]\nmin_ready = 1\n"),
            "web.toml:1:1: [metrics] needs a listen address, e.g. listen = \"127.0.0.1:9100\"");
  EXPECT_THAT(load_error("[metrics]\nlisten = \"127.0.0.1:99999\"\n"),
              ::testing::StartsWith("web.toml:2:10: [metrics] listen: "));
  EXPECT_EQ(load_error("[metrics]\nlisten = \":9100\"\nmin_ready = 0\n"),
            "web.toml:3:13: [metrics] min_ready must be from 1 to 2048, not 0");
  EXPECT_EQ(load_error("[metrics]\nlisten = \":9100\"\nmin_ready = 3000\n"),
            "web.toml:3:13: [metrics] min_ready must be from 1 to 2048, not 3000");
  EXPECT_EQ(load_error("[metrics]\nlisten = \":9100\"\nready_min = 2\n"),
            "web.toml:3:1: unknown key 'ready_min' in [metrics]; its keys are listen, min_ready");
  EXPECT_EQ(load_error("metrics = 5\n"),
            "web.toml:1:11: metrics must be a table ([metrics]), not an integer 5");
}

TEST(OverridesMetrics, MetricsMayNotShareASocketsAddress) {
  Config c = load("[metrics]\nlisten = \"127.0.0.1:9100\"\n[worker]\ncommand = [\"x\"]\n");
  Overrides flags;
  flags.listen = {"127.0.0.1:9100"};
  auto r = apply_overrides(c, flags);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "[metrics] and socket 'http' both listen on 127.0.0.1:9100");
  flags.listen = {"127.0.0.1:9101"};
  EXPECT_TRUE(apply_overrides(c, flags).ok());
}

// --- [[hook]] ----------------------------------------------------------------

TEST(LoadToml, Hooks) {
  using E = HookConfig::Event;
  const Config c = load(R"(
[[hook]]
on = ["crash", "failed"]
command = ["/usr/local/bin/alert", "--channel", "ops"]
timeout = "30s"

[[hook]]
on = ["scale", "reload", "memory", "hung"]
command = ["logger", "-t", "corral"]
)");
  ASSERT_EQ(c.hooks.size(), 2u);
  EXPECT_EQ(c.hooks[0].on, (std::vector<E>{E::kCrash, E::kFailed}));
  EXPECT_EQ(c.hooks[0].command,
            (std::vector<std::string>{"/usr/local/bin/alert", "--channel", "ops"}));
  EXPECT_EQ(c.hooks[0].timeout, 30s);
  EXPECT_EQ(c.hooks[1].on, (std::vector<E>{E::kScale, E::kReload, E::kMemory, E::kHung}));
  EXPECT_EQ(c.hooks[1].timeout, 10s);
  EXPECT_TRUE(load("").hooks.empty());
}

TEST(LoadTomlErrors, HookEvents) {
  constexpr const char* kCmd = "command = [\"x\"]\n";
  EXPECT_EQ(load_error(std::string("[[hook]]\non = [\"crahs\"]\n") + kCmd),
            "web.toml:2:7: [[hook]] on[0] must be \"crash\", \"hung\", \"failed\", \"scale\", "
            "\"reload\" or \"memory\", not a string \"crahs\"; did you mean \"crash\"?");
  EXPECT_EQ(load_error(std::string("[[hook]]\non = [\"crash\", 3]\n") + kCmd),
            "web.toml:2:16: [[hook]] on[1] must be \"crash\", \"hung\", \"failed\", \"scale\", "
            "\"reload\" or \"memory\", not an integer 3");
  EXPECT_EQ(load_error(std::string("[[hook]]\non = []\n") + kCmd),
            "web.toml:2:6: [[hook]] on must name at least one event: \"crash\", \"hung\", "
            "\"failed\", \"scale\", \"reload\" or \"memory\"");
  EXPECT_EQ(load_error(std::string("[[hook]]\non = \"crash\"\n") + kCmd),
            "web.toml:2:6: [[hook]] on must be an array of event names like [\"crash\", "
            "\"failed\"], not a string \"crash\"");
  EXPECT_EQ(load_error(std::string("[[hook]]\non = [\"crash\", \"crash\"]\n") + kCmd),
            "web.toml:2:16: [[hook]] on lists \"crash\" twice");
  EXPECT_EQ(load_error(std::string("[[hook]]\n") + kCmd),
            "web.toml:1:1: [[hook]] needs on = [...], the events that run it: \"crash\", "
            "\"hung\", \"failed\", \"scale\", \"reload\" or \"memory\"");
}

TEST(LoadTomlErrors, HookCommandAndTimeout) {
  constexpr const char* kOn = "[[hook]]\non = [\"crash\"]\n";
  EXPECT_EQ(load_error(kOn),
            "web.toml:1:1: [[hook]] needs a command, e.g. command = "
            "[\"/etc/corral/alert.sh\"]");
  EXPECT_EQ(load_error(std::string(kOn) + "command = []\n"),
            "web.toml:3:11: [[hook]] command must not be empty");
  EXPECT_EQ(load_error(std::string(kOn) + "command = [\"\"]\n"),
            "web.toml:3:12: [[hook]] command[0], the program to run, must not be empty");
  EXPECT_EQ(load_error(std::string(kOn) + "command = [\"x\", 1]\n"),
            "web.toml:3:17: [[hook]] command[1] must be a string, not an integer 1");
  EXPECT_EQ(load_error(std::string(kOn) + "command = \"x\"\n"),
            "web.toml:3:11: [[hook]] command must be an array of strings like [\"./server\", "
            "\"--port\", \"8080\"], not a string \"x\"");
  EXPECT_THAT(load_error(std::string(kOn) + "command = [\"x\"]\ntimeout = \"0s\"\n"),
              ::testing::StartsWith("web.toml:4:11: [[hook]] timeout must be greater than 0"));
  EXPECT_THAT(load_error(std::string(kOn) + "command = [\"x\"]\ntimeout = 10\n"),
              ::testing::StartsWith("web.toml:4:11: [[hook]] timeout must be"));
  EXPECT_EQ(load_error(std::string(kOn) + "command = [\"x\"]\ntimout = \"1s\"\n"),
            "web.toml:4:1: unknown key 'timout' in [[hook]]; did you mean 'timeout'?");
  EXPECT_EQ(load_error("[hook]\non = [\"crash\"]\n"),
            "web.toml:1:1: hook must be an array of tables: write [[hook]], not [hook]");
}

}  // namespace
}  // namespace corral::config
