// Autoscaling on CPU, and the per-worker memory limit, on a live corral
// with real workers driven by real load.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "harness.h"
#include "load_client.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

const char* kAutoscale = R"(
[autoscale]
min = 1
max = 2
interval = "200ms"

[[autoscale.rule]]
metric = "cpu"
above = 25
for = "600ms"
add = 1
cooldown = "1s"

[[autoscale.rule]]
metric = "cpu"
below = 5
for = "1500ms"
remove = 1
cooldown = "1s"
)";

std::string toml(const std::string& extra_worker, const std::string& tail) {
  return "name = \"scaler\"\n"
         "[worker]\n"
         "command = [\"" + example_server() + "\", \"--fd\", \"{fd:http}\", \"--quiet\"]\n"
         "count = 1\n"
         "ready = \"notify\"\n"
         "drain_timeout = \"10s\"\n" + extra_worker +
         "[[socket]]\n"
         "name = \"http\"\n"
         "listen = \"127.0.0.1:0\"\n" + tail;
}

class Service {
 public:
  explicit Service(const std::string& config)
      : file_(dir_.write("web.toml", config)), corral_({"run", "-c", file_}) {}
  Process& log() { return corral_.process; }
  uint16_t port() const { return corral_.port; }
  std::string socket() const { return corral_.process.runtime_dir() + "/corral/scaler.sock"; }
  json call(const json& request) {
    auto reply = admin_call(socket(), request, 10s);
    EXPECT_TRUE(reply.has_value()) << request.dump();
    return reply.value_or(json::object());
  }
  json status() { return call({{"cmd", "status"}}); }
  std::map<int, pid_t> ready_pids() {
    std::map<int, pid_t> out;
    const json s = status();
    if (!s.contains("workers")) return out;
    for (const auto& w : s["workers"]) {
      if (w["state"] == "ready") out[w["id"].get<int>()] = w["pid"].get<pid_t>();
    }
    return out;
  }
  void await_serving(int n, Millis timeout = 20s) {
    ASSERT_TRUE(testing::await_serving(socket(), n, timeout))
        << "not " << n << " ready workers; log:\n"
        << corral_.process.output();
  }

 private:
  TempDir dir_;
  std::string file_;
  Corral corral_;
};

// Keeps the workers' CPUs busy with GET /burn until destroyed.
class Burner {
 public:
  Burner(uint16_t port, int clients) {
    for (int i = 0; i < clients; ++i) {
      threads_.emplace_back([this, port] {
        while (!stop_) http_get(port, "/burn?ms=150", 5s);
      });
    }
  }
  ~Burner() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(Autoscale, CpuLoadAddsAWorkerAndIdleRemovesIt) {
  Service s(toml("", kAutoscale));
  s.await_serving(1);
  json before = s.status();
  ASSERT_TRUE(before["autoscale"].is_object()) << before.dump();
  EXPECT_EQ(before["autoscale"]["mode"], "auto");
  EXPECT_EQ(before["autoscale"]["min"], 1);
  EXPECT_EQ(before["autoscale"]["max"], 2);
  EXPECT_EQ(before["autoscale"]["rules"].size(), 2u);
  {
    Burner burn(s.port(), 2);
    ASSERT_TRUE(s.log().wait_for_line(R"(autoscale: cpu [\d.]+% above 25% for .*: 1 -> 2 workers)", 15s))
        << s.log().output();
    s.await_serving(2);
  }
  json up = s.status();
  EXPECT_EQ(up["autoscale"]["scale_events"], 1);
  EXPECT_THAT(up["autoscale"]["last_scale"].value("reason", ""), HasSubstr("1 -> 2"));
  // Idle now: the down rule's longer window, then back to one.
  ASSERT_TRUE(s.log().wait_for_line(R"(autoscale: cpu [\d.]+% below 5% for .*: 2 -> 1 workers)", 15s))
      << s.log().output();
  s.await_serving(1);
}

TEST(Autoscale, APinnedCountSuspendsTheRulesUntilScaleAuto) {
  Service s(toml("", kAutoscale));
  s.await_serving(1);
  json pin = s.call({{"cmd", "scale"}, {"workers", 2}});
  ASSERT_EQ(pin["ok"], true) << pin.dump();
  s.await_serving(2);
  EXPECT_EQ(s.status()["autoscale"]["mode"], "pinned");
  // Idle, so unpinned the down rule would fire within 1.5 s + an interval:
  // pinned, nothing happens (a bounded wait for a line that must not come).
  EXPECT_FALSE(s.log().wait_for_line(R"(autoscale: )", 2500ms)) << s.log().output();
  EXPECT_EQ(s.status()["desired"], 2);
  json unpin = s.call({{"cmd", "scale"}, {"auto", true}});
  ASSERT_EQ(unpin["ok"], true) << unpin.dump();
  EXPECT_EQ(unpin["pinned"], false);
  ASSERT_TRUE(s.log().wait_for_line(R"(autoscale: cpu [\d.]+% below 5% .*: 2 -> 1 workers)", 15s))
      << s.log().output();
  s.await_serving(1);
}

TEST(Autoscale, TheStartingCountIsClampedIntoMinMax) {
  std::string config = toml("", kAutoscale);
  config.replace(config.find("count = 1"), 9, "count = 5");
  Service s(config);
  ASSERT_TRUE(s.log().find_line(R"(autoscale: starting 2 workers instead of 5 \(min 1, max 2\))"))
      << s.log().output();
  s.await_serving(2, 20s);
}

TEST(Autoscale, InvalidRulesAreRefusedAtStartWithTheirLine) {
  TempDir dir;
  const std::string file = dir.write(
      "bad.toml", toml("", "[[autoscale.rule]]\nmetric = \"cpus\"\nabove = 50\n"));
  Process corral({corral_binary(), "run", "-c", file});
  EXPECT_EQ(corral.wait_exit(), 78) << corral.output();
  EXPECT_TRUE(corral.find_line(R"(bad.toml:\d+:\d+: .*cpus)", 0ms)) << corral.output();
}

TEST(MaxMemory, AWorkerAboveItIsReplacedGracefullyWithNoFailedRequest) {
  Service s(toml("max_memory = \"48MiB\"\n", ""));
  s.await_serving(1);
  const pid_t old_pid = s.ready_pids().at(0);
  LoadClient load(s.port(), 4, true);
  ASSERT_TRUE(load.await_progress(100));
  auto grown = http_get(s.port(), "/grow?mb=64");
  ASSERT_TRUE(grown);
  ASSERT_EQ(grown->status, 200) << grown->body;
  // Checked every 5 s without [autoscale].
  ASSERT_TRUE(s.log().wait_for_line(R"(worker 0 \(pid \d+\) uses [\d.]+MiB .*above max_memory 48MiB; replacing it gracefully)", 15s))
      << s.log().output();
  ASSERT_TRUE(s.log().wait_for_line(R"(memory replacement of worker 0 complete)", 15s)) << s.log().output();
  EXPECT_TRUE(wait_pid_gone(old_pid, 15s));
  s.await_serving(1);
  EXPECT_NE(s.ready_pids().at(0), old_pid);
  ASSERT_TRUE(load.await_progress(100));
  const LoadResult r = load.stop();
  EXPECT_EQ(r.failed, 0) << ::testing::PrintToString(r.failures);
  json st = s.status();
  EXPECT_EQ(st["memory_replacements"], 1);
  EXPECT_EQ(st["workers"][0]["restarts"], 0) << "a memory replacement is not a crash";
}

}  // namespace
}  // namespace corral::testing
