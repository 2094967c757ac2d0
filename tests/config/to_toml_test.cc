#include <csignal>

#include <gtest/gtest.h>

#include "config/loader.h"

namespace corral::config {
namespace {

using namespace std::chrono_literals;

// to_toml's output, read back.
Config round_trip(const Config& c) {
  const std::string text = to_toml(c);
  auto back = load_toml(text, c.source);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().message) << "\n" << text;
  return back.ok() ? *back : Config{};
}

TEST(ToToml, DefaultsAreWrittenOut) {
  Config c;
  c.worker.command = {"./server", "--fd", "{fd:http}"};
  EXPECT_EQ(to_toml(c),
            "name = \"corral\"\n"
            "\n"
            "[worker]\n"
            "command = [\"./server\", \"--fd\", \"{fd:http}\"]\n"
            "count = \"auto\"\n"
            "# cwd unset: workers start in corral's working directory\n"
            "env = {}\n"
            "stop_signal = \"SIGTERM\"\n"
            "drain_timeout = \"30s\"\n"
            "ready = \"started\"\n"
            "ready_timeout = \"30s\"\n"
            "heartbeat_timeout = \"0s\"  # off\n"
            "hang_signal = \"SIGABRT\"\n"
            "output = \"capture\"\n"
            "# max_memory unset: no memory limit\n"
            "# user unset: workers run as corral's user\n"
            "# group unset: the user's primary group (or corral's)\n"
            "# umask unset: inherited from corral\n"
            "no_new_privs = false\n"
            "rlimits = {}  # corral's own limits\n"
            "\n"
            "[restart]\n"
            "policy = \"always\"\n"
            "backoff_initial = \"100ms\"\n"
            "backoff_max = \"30s\"\n"
            "min_uptime = \"5s\"\n"
            "max_restarts = 10\n"
            "window = \"1m\"\n"
            "\n"
            "[reload]\n"
            "batch = 1\n"
            "\n"
            "# [autoscale] absent: the worker count changes only by corral scale\n"
            "\n"
            "[admin]\n"
            "# socket unset: $XDG_RUNTIME_DIR/corral/NAME.sock, /run/corral/NAME.sock as root,\n"
            "# /tmp/corral-UID/NAME.sock otherwise\n"
            "\n"
            "# [metrics] absent: no metrics or health endpoints\n"
            "\n"
            "# no [[hook]]: no programs run on events\n");
}

TEST(ToToml, DefaultsRoundTrip) {
  Config c;
  c.worker.command = {"./server"};
  EXPECT_EQ(round_trip(c), c);
}

TEST(ToToml, EverythingSetRoundTrips) {
  Config c;
  c.name = "web.v2";
  c.source = "web.toml";
  c.worker.command = {"./my server", "--json={\"a\": [1, \"b\\\\c\"]}", "tab\there", "{id}"};
  c.worker.count = 12;
  c.worker.cwd = "/srv/app dir";
  c.worker.env = {{"APP_ENV", "production"},
                  {"WITH SPACE", "line\nbreak"},
                  {"UNICODE", "caf\xc3\xa9"},
                  {"CTRL", std::string("a\x01z")},
                  {"PORT", "{port:http}"}};
  c.worker.stop_signal = SIGQUIT;
  c.worker.drain_timeout = 1min + 30s;
  c.worker.ready = ReadyMode::kDelay;
  c.worker.ready_delay = 2500ms;
  c.worker.ready_timeout = 0ms;
  c.worker.output = OutputMode::kInherit;
  c.restart.policy = RestartPolicy::kNever;
  c.restart.backoff_initial = 1ms;
  c.restart.backoff_max = 2h;
  c.restart.min_uptime = 0ms;
  c.restart.max_restarts = 0;
  c.restart.window = 0ms;
  c.reload.batch = 3;
  SocketConfig http;
  http.listen = *parse_address("[::1]:8080");
  http.mode = SocketMode::kReuseport;
  http.backlog = 1;
  SocketConfig admin;
  admin.name = "admin_1";
  admin.listen = *parse_address("unix:/run/a b.sock");
  admin.backlog = 65535;
  c.sockets = {http, admin};
  c.worker.max_memory = (1ull << 30) + 1;  // not a whole KiB: written in bytes
  using R = AutoscaleRule;
  c.autoscale = AutoscaleConfig{
      .min = 3,
      .max = 2048,
      .interval = 1500ms,
      .rules = {{R::Metric::kCpu, R::Direction::kAbove, 75.25, 0ms, 2048, 1h},
                {R::Metric::kMemory, R::Direction::kBelow, 300.0 * (1 << 20) + 1, 10min, 1, 0ms},
                {R::Metric::kInflight, R::Direction::kAbove, 0.1, 1ms, 1, 1ms},
                {R::Metric::kRps, R::Direction::kBelow, 1e-7, 5min, 7, 2min},
                {R::Metric::kRps, R::Direction::kAbove, 1e300, 5min, 7, 2min},
                {R::Metric::kCpu, R::Direction::kAbove, 0, 15s, 1, 30s}}};
  EXPECT_EQ(round_trip(c), c);
}

TEST(ToToml, AutoscaleIsWrittenAsAUserWritesIt) {
  Config c;
  c.worker.command = {"x"};
  c.worker.max_memory = 512u << 20;
  using R = AutoscaleRule;
  c.autoscale = AutoscaleConfig{};
  c.autoscale->rules = {{R::Metric::kCpu, R::Direction::kAbove, 75, 30s, 2, 1min},
                        {R::Metric::kMemory, R::Direction::kBelow, 300 << 20, 5min, 1, 2min}};
  const std::string text = to_toml(c);
  EXPECT_NE(text.find("max_memory = \"512MiB\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("[autoscale]\n"
                      "min = 1\n"
                      "max = \"auto\"  # one per CPU, and no more than memory holds\n"
                      "interval = \"5s\"\n"
                      "\n"
                      "[[autoscale.rule]]\n"
                      "metric = \"cpu\"\n"
                      "above = 75\n"
                      "for = \"30s\"\n"
                      "add = 2\n"
                      "cooldown = \"1m\"\n"
                      "\n"
                      "[[autoscale.rule]]\n"
                      "metric = \"memory\"\n"
                      "below = \"300MiB\"\n"
                      "for = \"5m\"\n"
                      "remove = 1\n"
                      "cooldown = \"2m\"\n"
                      "\n"
                      "[admin]\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(round_trip(c), c);
}

TEST(ToToml, MetricsAndHooksRoundTrip) {
  using E = HookConfig::Event;
  Config c;
  c.source = "web.toml";
  c.worker.command = {"./server"};
  c.metrics = MetricsConfig{*parse_address("127.0.0.1:9100"), 3};
  c.hooks = {
      HookConfig{{E::kCrash, E::kFailed}, {"/usr/bin/alert", "--to", "ops \"team\""}, 2500ms},
      HookConfig{{E::kScale, E::kReload, E::kMemory, E::kHung}, {"logger"}, 10s}};
  const std::string text = to_toml(c);
  EXPECT_NE(text.find("[metrics]\n"
                      "listen = \"127.0.0.1:9100\"\n"
                      "min_ready = 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[[hook]]\n"
                      "on = [\"crash\", \"failed\"]\n"
                      "command = [\"/usr/bin/alert\", \"--to\", \"ops \\\"team\\\"\"]\n"
                      "timeout = \"2s500ms\"\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(round_trip(c), c);

  c.metrics = MetricsConfig{*parse_address("unix:/run/corral/web-metrics.sock"), 1};
  EXPECT_EQ(round_trip(c), c);
}

TEST(ToToml, UnnamedSignalIsWrittenAsANumber) {
  Config c;
  c.worker.command = {"x"};
  c.worker.stop_signal = SIGRTMIN + 2;
  EXPECT_NE(to_toml(c).find("stop_signal = \"" + std::to_string(SIGRTMIN + 2) + "\"\n"),
            std::string::npos);
  EXPECT_EQ(round_trip(c), c);
}

TEST(ToToml, LoadedFileRoundTrips) {
  auto loaded = load_toml(R"(
name = "web"
[worker]
command = ["./server", "--fd", "{fd:http}"]
count = "auto"
env = { A = "1" }
ready = "delay:1m30s"
max_memory = "1.5GiB"
[restart]
policy = "on-failure"
window = "90s"
[[socket]]
listen = "localhost:0"
[autoscale]
max = 8
[[autoscale.rule]]
metric = "cpu"
above = "62.5%"
[[autoscale.rule]]
metric = "memory"
below = "0.5GiB"
remove = 2
)",
                          "web.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Config back = round_trip(*loaded);
  EXPECT_EQ(back, *loaded);
  EXPECT_EQ(back.worker.count, std::nullopt);
  EXPECT_EQ(back.sockets[0].listen.host, "127.0.0.1");
  EXPECT_EQ(back.autoscale->rules.size(), 2u);
}

}  // namespace
}  // namespace corral::config
