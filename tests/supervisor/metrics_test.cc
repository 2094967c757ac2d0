// Metrics::render on hand-written status objects: exact sample lines, HELP
// and TYPE for every family, label escaping, bounded label values, one
// series per worker id during a replacement; and `promtool check metrics`
// on the output when Prometheus' promtool is installed.
#include "supervisor/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace corral::supervisor {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// A reload under way: id 0's old process serves while its replacement
// starts; id 1 is ready; id 2 was scaled away and drains; id 3 waits in
// backoff with no process.
json sample_status() {
  return json::parse(R"json({
    "ok": true, "name": "web", "pid": 4100, "state": "reloading", "healthy": false,
    "desired": 4, "ready": 1, "failed": 0, "running": 4, "pinned": false,
    "memory_replacements": 3, "reloading": true, "uptime_s": 12.5,
    "workers": [
      {"id": 0, "pid": 101, "state": "ready", "uptime_s": 10.25, "restarts": 0, "last_exit": null,
       "cpu_percent": 1.5, "cpu_s": 2.5, "rss_bytes": 3891200, "heartbeat_age_s": 0.4,
       "status": null, "requests_total": 10423, "in_flight": 2},
      {"id": 0, "pid": 201, "state": "starting", "uptime_s": 0.5, "restarts": 0, "last_exit": null,
       "cpu_percent": 50.0, "cpu_s": 0.25, "rss_bytes": 1000, "heartbeat_age_s": null,
       "status": null, "requests_total": 0, "in_flight": 0},
      {"id": 1, "pid": 102, "state": "ready", "uptime_s": 9, "restarts": 2, "last_exit": "exited with code 3",
       "cpu_percent": 0.0, "cpu_s": 0, "rss_bytes": 2048, "heartbeat_age_s": null,
       "status": "serving", "requests_total": 7, "in_flight": 0},
      {"id": 3, "pid": null, "state": "backoff", "uptime_s": null, "restarts": 5, "last_exit": "killed by signal 9 (SIGKILL)",
       "cpu_percent": null, "rss_bytes": null, "heartbeat_age_s": null, "status": null,
       "requests_total": 0, "in_flight": 0},
      {"id": 2, "pid": 103, "state": "draining", "uptime_s": 30, "restarts": 0, "last_exit": null,
       "cpu_percent": 0.1, "cpu_s": 1e-3, "rss_bytes": 4096, "heartbeat_age_s": 1.25,
       "status": null, "requests_total": 1, "in_flight": 1}
    ]})json");
}

std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

const auto kStarted = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));

TEST(Metrics, ServiceGauges) {
  Metrics m("1.2.3", kStarted);
  const auto lines = lines_of(m.render(sample_status()));
  for (const char* expected : {
           "corral_build_info{version=\"1.2.3\"} 1",
           "corral_start_time_seconds 1700000000.000",
           "corral_state{state=\"running\"} 0",
           "corral_state{state=\"reloading\"} 1",
           "corral_state{state=\"stopping\"} 0",
           "corral_healthy 0",
           "corral_workers_desired 4",
           "corral_workers_running 4",
           "corral_memory_replacements_total 3",
       }) {
    EXPECT_TRUE(lines.count(expected)) << expected;
  }
}

TEST(Metrics, WorkersByStateListEveryStateEvenAtZero) {
  Metrics m("x", kStarted);
  const auto lines = lines_of(m.render(sample_status()));
  for (const char* expected : {
           "corral_workers{state=\"starting\"} 1",
           "corral_workers{state=\"ready\"} 2",
           "corral_workers{state=\"draining\"} 1",
           "corral_workers{state=\"stopping\"} 0",
           "corral_workers{state=\"backoff\"} 1",
           "corral_workers{state=\"failed\"} 0",
           "corral_workers{state=\"stopped\"} 0",
       }) {
    EXPECT_TRUE(lines.count(expected)) << expected;
  }
}

TEST(Metrics, OneSeriesPerWorkerIdTheServingProcessWins) {
  Metrics m("x", kStarted);
  const std::string text = m.render(sample_status());
  const auto lines = lines_of(text);
  for (const char* expected : {
           // id 0: the old ready process, not its starting replacement
           "corral_worker_cpu_seconds_total{id=\"0\"} 2.5",
           "corral_worker_resident_memory_bytes{id=\"0\"} 3891200",
           "corral_worker_heartbeat_age_seconds{id=\"0\"} 0.4",
           "corral_worker_uptime_seconds{id=\"0\"} 10.25",
           "corral_worker_requests_total{id=\"0\"} 10423",
           "corral_worker_in_flight{id=\"0\"} 2",
           "corral_worker_cpu_seconds_total{id=\"1\"} 0",
           "corral_worker_resident_memory_bytes{id=\"1\"} 2048",
           "corral_worker_requests_total{id=\"1\"} 7",
           // id 2, scaled away, drains: still reported while it lives
           "corral_worker_cpu_seconds_total{id=\"2\"} 0.001",
           "corral_worker_in_flight{id=\"2\"} 1",
       }) {
    EXPECT_TRUE(lines.count(expected)) << expected << "\n" << text;
  }
  // No heartbeat yet, no process (backoff): no sample rather than a made-up 0.
  EXPECT_THAT(text, Not(HasSubstr("corral_worker_heartbeat_age_seconds{id=\"1\"}")));
  EXPECT_THAT(text, Not(HasSubstr("{id=\"3\"}")));
  EXPECT_THAT(text, Not(HasSubstr("pid")));
  EXPECT_THAT(text, Not(HasSubstr("corral_worker_resident_memory_bytes{id=\"0\"} 1000")));
}

TEST(Metrics, EveryFamilyHasHelpAndTypeOnceAndSamplesFollowTheirFamily) {
  Metrics m("x", kStarted);
  const std::string text = m.render(sample_status(), SelfUsage{1.5, 4 << 20, 12});
  std::istringstream in(text);
  std::set<std::string> families;
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ")) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(families.insert(name).second) << "HELP twice for " << name;
      current = name;
      std::string type_line;
      ASSERT_TRUE(std::getline(in, type_line));
      EXPECT_TRUE(type_line.starts_with("# TYPE " + name + " ")) << type_line;
      continue;
    }
    ASSERT_FALSE(line.empty());
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name, current) << line;
    EXPECT_TRUE(name.starts_with("corral_") || name.starts_with("process_")) << name;
  }
  EXPECT_TRUE(families.count("process_resident_memory_bytes"));
  EXPECT_THAT(text, HasSubstr("\nprocess_resident_memory_bytes 4194304\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_open_fds 12\n"));
  EXPECT_THAT(text, HasSubstr("\nprocess_cpu_seconds_total 1.5\n"));
}

TEST(Metrics, CountersFromEvents) {
  Metrics m("x", kStarted);
  m.on_restart("crash");
  m.on_restart("crash");
  m.on_restart("hung");
  m.on_reload(true);
  m.on_reload(false);
  m.on_reload(false);
  m.on_scale(2, 4, "admin");
  m.on_scale(4, 3, "signal");
  m.on_scale(3, 3, "autoscale");  // no change: no event
  m.on_admin_request("status", true);
  m.on_admin_request("reload", false);
  const auto lines = lines_of(m.render(sample_status()));
  for (const char* expected : {
           "corral_worker_restarts_total{reason=\"crash\"} 2",
           "corral_worker_restarts_total{reason=\"hung\"} 1",
           "corral_worker_restarts_total{reason=\"failed_start\"} 0",
           "corral_reloads_total{outcome=\"ok\"} 1",
           "corral_reloads_total{outcome=\"failed\"} 2",
           "corral_scale_events_total{direction=\"up\",cause=\"admin\"} 1",
           "corral_scale_events_total{direction=\"down\",cause=\"signal\"} 1",
           "corral_scale_events_total{direction=\"up\",cause=\"autoscale\"} 0",
           "corral_scale_events_total{direction=\"down\",cause=\"autoscale\"} 0",
           "corral_admin_requests_total{command=\"status\",outcome=\"ok\"} 1",
           "corral_admin_requests_total{command=\"reload\",outcome=\"error\"} 1",
           "corral_admin_requests_total{command=\"other\",outcome=\"ok\"} 0",
       }) {
    EXPECT_TRUE(lines.count(expected)) << expected;
  }
}

TEST(Metrics, LabelValuesStayBounded) {
  Metrics m("x", kStarted);
  // A client may send any command name; restart reasons and causes are ours.
  for (int i = 0; i < 1000; ++i) m.on_admin_request("cmd" + std::to_string(i), false);
  m.on_restart("some new reason");
  m.on_scale(1, 2, "cosmic ray");
  const std::string text = m.render(sample_status());
  EXPECT_THAT(text, HasSubstr("\ncorral_admin_requests_total{command=\"other\",outcome=\"error\"} 1000\n"));
  EXPECT_THAT(text, HasSubstr("\ncorral_worker_restarts_total{reason=\"other\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("\ncorral_scale_events_total{direction=\"up\",cause=\"other\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("cmd1")));
  EXPECT_THAT(text, Not(HasSubstr("cosmic")));

  // Many processes of the same few ids (restarts, reloads): one series per id.
  json status = sample_status();
  status["workers"] = json::array();
  for (int pid = 1000; pid < 1100; ++pid) {
    status["workers"].push_back({{"id", pid % 3}, {"pid", pid}, {"state", "draining"}, {"rss_bytes", pid}});
  }
  const std::string many = m.render(status);
  size_t series = 0;
  for (size_t at = 0; (at = many.find("\ncorral_worker_resident_memory_bytes{", at)) != std::string::npos; ++at) {
    ++series;
  }
  EXPECT_EQ(series, 3u);
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain-1.0"), "plain-1.0");
  Metrics m("1.0 \"beta\"\\\n", kStarted);
  EXPECT_THAT(m.render(json::object()),
              HasSubstr("\ncorral_build_info{version=\"1.0 \\\"beta\\\"\\\\\\n\"} 1\n"));
}

TEST(Metrics, SurvivesAnEmptyOrOddStatus) {
  Metrics m("x", kStarted);
  for (const char* odd : {"{}", "null", "[]", R"({"workers": 3})", R"({"workers": [1, {"id": "a"}, {"id": -1, "pid": 1, "state": "ready"}]})",
                          R"({"desired": "four", "state": 7})"}) {
    const std::string text = m.render(json::parse(odd));
    EXPECT_THAT(text, HasSubstr("\ncorral_workers{state=\"stopped\"} 0\n")) << odd;
    EXPECT_THAT(text, Not(HasSubstr("\ncorral_workers_desired "))) << odd;
    EXPECT_THAT(text, Not(HasSubstr("{id="))) << odd;
  }
}

TEST(Readiness, CountsIdsWithAServingProcess) {
  json status = sample_status();  // ids 0 (old process) and 1 are ready
  EXPECT_TRUE(readiness(status, 1).ok);
  EXPECT_TRUE(readiness(status, 2).ok);
  EXPECT_EQ(readiness(status, 2).message, "ready: 2 of 4 workers ready");
  const auto three = readiness(status, 3);
  EXPECT_FALSE(three.ok);
  EXPECT_EQ(three.message, "not ready: 2 of 4 workers ready, 3 needed");
  // Two ready processes of one id count once.
  status["workers"] = json::array({{{"id", 0}, {"pid", 1}, {"state", "ready"}},
                                   {{"id", 0}, {"pid", 2}, {"state", "ready"}}});
  EXPECT_FALSE(readiness(status, 2).ok);
  status["state"] = "stopping";
  EXPECT_EQ(readiness(status, 1).message, "not ready: stopping");
  EXPECT_FALSE(readiness(status, 1).ok);
  EXPECT_FALSE(readiness(json(nullptr), 1).ok);
}

TEST(Metrics, PromtoolAcceptsTheOutput) {
  if (::access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed (Debian: prometheus)";
  Metrics m;
  m.on_restart("crash");
  m.on_admin_request("nonsense", false);
  m.on_scale(1, 3, "autoscale");
  const std::string text = m.render(sample_status(), read_self_usage());
  char path[] = "/tmp/corral-metrics-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  ::unlink(path);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out << "\n---\n" << text;
  EXPECT_EQ(out, "") << text;
}

}  // namespace
}  // namespace corral::supervisor
