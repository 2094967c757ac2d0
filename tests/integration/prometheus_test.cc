// `[metrics] listen`: the real corral serving /metrics and /health/* over
// HTTP; its output checked by promtool, values moving after a kill and a
// scale, readiness flipping; and a real Prometheus server scraping it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "harness.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;

// A port free now on 127.0.0.1 (for programs that cannot be told port 0
// and report back: corral's metrics listener in a file, Prometheus).
uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

std::string config(uint16_t metrics_port, const std::string& worker_extra = "",
                   const std::string& metrics_extra = "") {
  return "[worker]\ncommand = [\"/bin/sleep\", \"600\"]\ncount = 2\n" + worker_extra +
         "\n[restart]\nbackoff_initial = \"50ms\"\n\n[metrics]\nlisten = \"127.0.0.1:" +
         std::to_string(metrics_port) + "\"\n" + metrics_extra;
}

// The value of the sample line `series` ("corral_workers_desired",
// "corral_workers{state=\"ready\"}") in an exposition; nullopt if absent.
std::optional<double> sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = ("\n" + text).find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(text.substr(at + key.size() - 1));
}

std::optional<double> scrape(uint16_t port, const std::string& series) {
  auto r = http_get(port, "/metrics", 2s);
  if (!r || r->status != 200) return std::nullopt;
  return sample(r->body, series);
}

// promtool's verdict on `text`: "" when it passes.
std::string promtool_check(const std::string& text, const TempDir& dir) {
  const std::string path = dir.write("scrape.txt", text);
  FILE* p = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (p == nullptr) return "cannot run promtool";
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " (promtool failed)";
  return out;
}

TEST(Metrics, EndpointPassesPromtoolAndValuesMoveAfterAKillAndAScale) {
  TempDir dir;
  const uint16_t port = free_port();
  Process corral({corral_binary(), "run", "-c", dir.write("m.toml", config(port))});
  ASSERT_TRUE(eventually([&] { return scrape(port, "corral_workers{state=\"ready\"}") == 2.0; }, 10s))
      << corral.output();
  auto r = http_get(port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_THAT(r->headers, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_EQ(sample(r->body, "corral_workers_desired"), 2.0);
  EXPECT_EQ(sample(r->body, "corral_worker_restarts_total{reason=\"crash\"}"), 0.0);
  EXPECT_TRUE(sample(r->body, "corral_worker_resident_memory_bytes{id=\"1\"}") > 0.0) << r->body;
  if (!find_program("promtool").empty()) {
    EXPECT_EQ(promtool_check(r->body, dir), "") << r->body;
  }

  // A worker killed: counted as a crash, and replaced under the same id.
  auto workers = workers_of(corral.pid());
  ASSERT_FALSE(workers.empty());
  ::kill(workers.front(), SIGKILL);
  EXPECT_TRUE(eventually(
      [&] { return scrape(port, "corral_worker_restarts_total{reason=\"crash\"}") == 1.0; }, 10s))
      << corral.output();
  EXPECT_TRUE(eventually([&] { return scrape(port, "corral_workers{state=\"ready\"}") == 2.0; }, 10s));

  // Scaled through the admin socket: desired, running and the event.
  auto reply = admin_call(corral.runtime_dir() + "/corral/corral.sock", {{"cmd", "scale"}, {"workers", 3}});
  ASSERT_TRUE(reply && (*reply)["ok"] == true) << (reply ? reply->dump() : "no reply");
  EXPECT_TRUE(eventually([&] { return scrape(port, "corral_workers_desired") == 3.0; }, 5s));
  r = http_get(port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(sample(r->body, "corral_scale_events_total{direction=\"up\",cause=\"admin\"}"), 1.0);
  EXPECT_EQ(sample(r->body, "corral_admin_requests_total{command=\"scale\",outcome=\"ok\"}"), 1.0);
  EXPECT_TRUE(eventually([&] { return scrape(port, "corral_workers_running") == 3.0; }, 5s));

  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0);
}

TEST(Metrics, HealthEndpointsFollowReadiness) {
  TempDir dir;
  const uint16_t port = free_port();
  // Workers ready only once the file `go` exists (READY=1 by hand).
  const std::string go = dir.file("go");
  const std::string worker =
      "[worker]\ncommand = [\"python3\", \"-c\", \"import os, socket, time\\n"
      "while not os.path.exists('" + go + "'): time.sleep(0.05)\\n"
      "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\n"
      "s.sendto(b'READY=1', os.environ['NOTIFY_SOCKET'])\\n"
      "time.sleep(600)\"]\ncount = 2\nready = \"notify\"\nready_timeout = \"60s\"\ndrain_timeout = \"2s\"\n"
      "\n[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\nmin_ready = 2\n";
  Process corral({corral_binary(), "run", "-c", dir.write("h.toml", worker)});
  ASSERT_TRUE(eventually([&] { return http_get(port, "/health/live", 1s).has_value(); }, 10s))
      << corral.output();
  auto live = http_get(port, "/health/live");
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(live->body, "ok\n");
  auto ready = http_get(port, "/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_EQ(ready->body, "not ready: 0 of 2 workers ready, 2 needed\n");

  dir.write("go", "");
  EXPECT_TRUE(eventually([&] {
    auto r = http_get(port, "/health/ready", 1s);
    return r && r->status == 200;
  }, 10s)) << corral.output();
  EXPECT_EQ(http_get(port, "/health/ready")->body, "ready: 2 of 2 workers ready\n");
  EXPECT_EQ(http_get(port, "/nope")->status, 404);

  // A worker crashes: below min_ready until its replacement is ready.
  auto workers = workers_of(corral.pid());
  ASSERT_EQ(workers.size(), 2u);
  ::kill(workers.front(), SIGKILL);
  EXPECT_TRUE(eventually([&] {
    auto r = http_get(port, "/health/ready", 1s);
    return r && r->status == 503;
  }, 5s));
  EXPECT_TRUE(eventually([&] {
    auto r = http_get(port, "/health/ready", 1s);
    return r && r->status == 200;
  }, 10s)) << corral.output();
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0);
}

// Prometheus itself scrapes corral every second; its query API then
// returns corral's values.
TEST(Metrics, ARealPrometheusScrapesCorral) {
  const std::string prometheus = find_program("prometheus");
  if (prometheus.empty()) GTEST_SKIP() << "prometheus not installed (Debian: prometheus)";
  TempDir dir;
  const uint16_t metrics_port = free_port();
  Process corral({corral_binary(), "run", "-c", dir.write("p.toml", config(metrics_port))});
  ASSERT_TRUE(eventually([&] { return scrape(metrics_port, "corral_workers_desired") == 2.0; }, 10s))
      << corral.output();

  const uint16_t web_port = free_port();
  const std::string prom_config = dir.write(
      "prometheus.yml",
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      "scrape_configs:\n  - job_name: corral\n    static_configs:\n      - targets: ['127.0.0.1:" +
          std::to_string(metrics_port) + "']\n");
  Process server({prometheus, "--config.file=" + prom_config, "--storage.tsdb.path=" + dir.file("data"),
                  "--web.listen-address=127.0.0.1:" + std::to_string(web_port),
                  "--log.level=warn"});

  // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[t,"2"]}]}}
  auto query = [&](const std::string& promql) -> std::optional<std::string> {
    auto r = http_get(web_port, "/api/v1/query?query=" + promql, 2s);
    if (!r || r->status != 200) return std::nullopt;
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    if (body.is_discarded() || body["status"] != "success") return std::nullopt;
    const auto& result = body["data"]["result"];
    if (!result.is_array() || result.empty()) return std::nullopt;
    return result[0]["value"][1].get<std::string>();
  };
  EXPECT_TRUE(eventually([&] { return query("corral_workers_desired") == "2"; }, 30s))
      << server.output() << "\n" << corral.output();
  // The scrape itself was healthy, and a labelled series made it through.
  EXPECT_EQ(query("up%7Bjob%3D%22corral%22%7D"), "1");
  EXPECT_EQ(query("corral_workers%7Bstate%3D%22ready%22%7D"), "2");

  server.signal(SIGTERM);
  server.wait_exit(20s);
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(), 0);
}

}  // namespace
}  // namespace corral::testing
