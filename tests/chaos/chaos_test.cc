// Chaos under load: HTTP load against 4 example servers under corral while
// a driver kills, crashes and hangs random workers and reloads and scales
// between, every 100-500 ms. corral must answer status throughout, recover
// every slot, and lose only requests that were on a killed worker.
//
// CORRAL_CHAOS_SECONDS (default 12) and CORRAL_CHAOS_CALM_SECONDS (default 3)
// set the phases' lengths, CORRAL_CHAOS_SEED the schedule, and
// CORRAL_CHAOS_REPORT a file for the figures (bench/chaos.sh runs this test
// for 60 s on a Release build).
#include <signal.h>

#include <gtest/gtest.h>

#include "chaos_driver.h"
#include "harness.h"
#include "load_client.h"
#include "run_support.h"

namespace corral::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kWorkers = 4;
constexpr int kKeepAliveConnections = 4;
constexpr int kFreshConnections = 2;  // one connection per request
constexpr int kConnections = kKeepAliveConnections + kFreshConnections;

// Generous: the load client, the workers and other tests compete for 2
// cores, and under ASan each spawn blocks corral's loop for tens of ms (a
// Debug ASan build measured p99 60-110 ms alone, 200 ms beside the soak
// test; Release 2 ms). The figure itself is reported.
constexpr double kStatusP99BoundMs = kAsan ? 500 : 200;

// How long after a kill its failures may surface: at once for SIGKILL; for a
// crash, after the sanitizer's report; for a hang, after heartbeat_timeout
// (1 s), hang_signal and its 2 s grace, within the client's 5 s timeout.
Millis failure_window(ChaosKind kind) {
  switch (kind) {
    case ChaosKind::kSigkill:
      return 3s;
    case ChaosKind::kSigsegv:
      return 5s;
    default:
      return 10s;
  }
}

std::string toml() {
  // Restarts are never refused: the kills come from outside at ~2 a second
  // over 4 slots, which the default crash-loop limit (10 a minute) would
  // rightly call a crash loop. Backoff stays short so slots come back.
  return "name = \"chaos\"\n"
         "[worker]\n"
         "command = [\"" +
         example_server() +
         "\", \"--fd\", \"{fd:http}\", \"--quiet\"]\n"
         "count = " +
         std::to_string(kWorkers) +
         "\n"
         "ready = \"notify\"\n"
         "ready_timeout = \"10s\"\n"
         "heartbeat_timeout = \"1s\"\n"
         "drain_timeout = \"5s\"\n"
         "[restart]\n"
         "backoff_initial = \"10ms\"\n"
         "backoff_max = \"200ms\"\n"
         "min_uptime = \"1s\"\n"
         "max_restarts = 10000\n"
         "window = \"60s\"\n"
         "[[socket]]\n"
         "name = \"http\"\n"
         "listen = \"127.0.0.1:0\"\n";
}

json latency_json(const LatencySummary& s) {
  return {{"calls", s.calls},
          {"unanswered", s.unanswered},
          {"p50_ms", s.p50_ms},
          {"p99_ms", s.p99_ms},
          {"max_ms", s.max_ms}};
}

json tally_json(const ChaosTally& t) {
  json by_kind;
  json attempted;
  for (int k = 0; k < 5; ++k) {
    by_kind[std::string(kind_name(static_cast<ChaosKind>(k)))] = t.by_kind[k];
    attempted[std::string(kind_name(static_cast<ChaosKind>(k)))] = t.attempted[k];
  }
  return {{"kills", t.kills},
          {"attempted", attempted},
          {"performed", by_kind},
          {"kills_missed", t.missed},
          {"reloads_done", t.reloads_done},
          {"reloads_refused_under_way", t.reloads_refused},
          {"reloads_aborted", t.reloads_aborted}};
}

// Failures that no kill before them (within its window) explains.
int64_t unexplained(const std::vector<SteadyTime>& failures,
                    const std::vector<PerformedAction>& actions) {
  int64_t n = 0;
  for (const auto& t : failures) {
    bool explained = false;
    for (const auto& a : actions) {
      if (is_kill(a.kind) && a.done && a.at <= t && t <= a.at + failure_window(a.kind)) {
        explained = true;
        break;
      }
    }
    n += explained ? 0 : 1;
  }
  return n;
}

// The two phases, on a corral whose log is being drained.
void run_phases(uint16_t port, pid_t corral_pid, const std::string& socket, json& figures) {
  const auto seconds = env_int("CORRAL_CHAOS_SECONDS", 12);
  const auto calm_seconds = env_int("CORRAL_CHAOS_CALM_SECONDS", 3);
  const auto seed = figures["seed"].get<uint64_t>();
  ASSERT_TRUE(await_serving(socket, kWorkers, 30s));
  StatusProbe probe(socket, 20ms);

  // 1. Reloads and scales alone, under the same load: they cost nothing.
  {
    LoadClient keep(port, kKeepAliveConnections, true);
    LoadClient fresh(port, kFreshConnections, false);
    ASSERT_TRUE(keep.await_progress(50) && fresh.await_progress(50));
    ChaosConfig calm;
    calm.weights[0] = calm.weights[1] = calm.weights[2] = 0;
    ChaosSchedule schedule(seed, calm);
    ChaosDriver driver(corral_pid, socket);
    driver.run(schedule, std::chrono::seconds(calm_seconds));
    const ChaosTally tally = driver.tally();
    ASSERT_TRUE(await_serving(socket, kWorkers, 60s));
    const LoadResult k = keep.stop(), f = fresh.stop();
    figures["calm"] = {{"seconds", calm_seconds},
                       {"actions", tally_json(tally)},
                       {"ok", k.ok + f.ok},
                       {"failed", k.failed + f.failed}};
    EXPECT_GT(tally.reloads_done + tally.scales_done, 0);
    EXPECT_EQ(k.failed + f.failed, 0)
        << "reloads and scales lost requests: " << ::testing::PrintToString(k.failures)
        << ::testing::PrintToString(f.failures);
  }

  // 2. Everything, kills included.
  LoadClient keep(port, kKeepAliveConnections, true);
  LoadClient fresh(port, kFreshConnections, false);
  ASSERT_TRUE(keep.await_progress(50) && fresh.await_progress(50));
  ChaosSchedule schedule(seed, {});
  ChaosDriver driver(corral_pid, socket);
  driver.run(schedule, std::chrono::seconds(seconds));
  const ChaosTally tally = driver.tally();

  // Every slot serves again: 4 ready workers, none left stopped.
  const auto end = Clock::now();
  const bool recovered = await_serving(socket, kWorkers, 60s) &&
                         eventually(
                             [&] {
                               for (pid_t w : workers_of(corral_pid)) {
                                 if (process_state(w) == 'T') return false;
                               }
                               return true;
                             },
                             10s) &&
                         await_serving(socket, kWorkers, 10s);
  const double recovery_s = std::chrono::duration<double>(Clock::now() - end).count();
  EXPECT_TRUE(recovered);
  EXPECT_TRUE(keep.await_progress(100) && fresh.await_progress(100)) << "load does not flow";

  const LatencySummary latency = probe.stop();
  const LoadResult k = keep.stop(), f = fresh.stop();
  std::vector<SteadyTime> failure_times = k.failure_times;
  failure_times.insert(failure_times.end(), f.failure_times.begin(), f.failure_times.end());
  const int64_t failed = k.failed + f.failed;
  const int64_t bound = static_cast<int64_t>(tally.kills) * kConnections;
  const int64_t without_kill = unexplained(failure_times, driver.actions());

  figures["seconds"] = seconds;
  figures["actions"] = tally_json(tally);
  figures["requests_ok"] = k.ok + f.ok;
  figures["requests_failed"] = failed;
  figures["failed_keep_alive"] = k.failed;
  figures["failed_fresh_connection"] = f.failed;
  figures["failed_bound"] = bound;
  figures["failed_per_kill"] = tally.kills > 0 ? static_cast<double>(failed) / tally.kills : 0.0;
  figures["failed_without_kill"] = without_kill;
  figures["status"] = latency_json(latency);
  figures["recovery_s"] = recovery_s;
  figures["corral_alive"] = pid_alive(corral_pid);

  EXPECT_GT(tally.kills, 0);
  for (int kind = 0; kind < 5; ++kind) {
    // A kill may miss a worker that exited just before (a race, rare); a
    // kind that never works is a broken driver.
    if (tally.attempted[kind] >= 3) {
      EXPECT_GT(tally.by_kind[kind], 0)
          << "never performed: " << kind_name(static_cast<ChaosKind>(kind));
    }
  }
  EXPECT_LE(failed, bound) << "more failures than connections on killed workers; first: "
                           << ::testing::PrintToString(k.failures)
                           << ::testing::PrintToString(f.failures);
  EXPECT_EQ(without_kill, 0) << "failures with no kill before them";
  EXPECT_EQ(latency.unanswered, 0u) << "status went unanswered";
  EXPECT_GT(latency.calls, 10u);
  EXPECT_LT(latency.p99_ms, kStatusP99BoundMs);
  EXPECT_TRUE(pid_alive(corral_pid));
}

TEST(Chaos, UnderLoadCorralAnswersRecoversAndLosesOnlyKilledRequests) {
  TempDir dir;
  Corral corral({"run", "-c", dir.write("chaos.toml", toml())});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  json figures = {{"seed", env_int("CORRAL_CHAOS_SEED", 7)},
                  {"workers", kWorkers},
                  {"connections", kConnections}};
  {
    OutputDrain drain(corral.process);
    run_phases(corral.port, corral.process.pid(),
               corral.process.runtime_dir() + "/corral/chaos.sock", figures);
  }
  publish("chaos", "CORRAL_CHAOS_REPORT", figures);
  if (HasFailure()) print_log_tail(corral.process);

  // And after all that, a clean stop.
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(30s), 0);
}

}  // namespace
}  // namespace corral::testing
