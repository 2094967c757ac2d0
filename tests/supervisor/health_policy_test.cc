// Readiness and hang verdicts with a fake clock.
#include "supervisor/health_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using namespace std::chrono_literals;
using Kind = HealthVerdict::Kind;
using ::testing::HasSubstr;

const TimePoint kT0 = TimePoint{} + 1000h;

config::WorkerConfig watched(config::ReadyMode ready = config::ReadyMode::kNotify) {
  config::WorkerConfig c;
  c.ready = ready;
  c.ready_timeout = 5s;
  c.heartbeat_timeout = 2s;
  return c;
}

WorkerHealth worker(WorkerState state) {
  WorkerHealth w;
  w.state = state;
  w.started = kT0;
  return w;
}

TEST(HealthPolicy, StartingWorkerHasReadyTimeoutToBecomeReady) {
  auto w = worker(WorkerState::kStarting);
  EXPECT_EQ(judge_health(w, watched(), kT0 + 5s).kind, Kind::kHealthy);
  auto v = judge_health(w, watched(), kT0 + 5001ms);
  EXPECT_EQ(v.kind, Kind::kNotReadyInTime);
  EXPECT_EQ(v.age, 5001ms);
  EXPECT_THAT(v.reason, HasSubstr("ready_timeout 5s"));
}

TEST(HealthPolicy, StartedModeIsNeverLateAndZeroTimeoutIsOff) {
  auto w = worker(WorkerState::kStarting);
  EXPECT_EQ(judge_health(w, watched(config::ReadyMode::kStarted), kT0 + 1h).kind, Kind::kHealthy);
  auto c = watched();
  c.ready_timeout = 0ms;
  EXPECT_EQ(judge_health(w, c, kT0 + 1h).kind, Kind::kHealthy);
}

TEST(HealthPolicy, ALongerReadyDelayWinsOverTheTimeout) {
  auto c = watched(config::ReadyMode::kDelay);
  c.ready_delay = 10s;
  auto w = worker(WorkerState::kStarting);
  EXPECT_EQ(judge_health(w, c, kT0 + 9s).kind, Kind::kHealthy);
  EXPECT_EQ(judge_health(w, c, kT0 + 11s).kind, Kind::kNotReadyInTime);
}

TEST(HealthPolicy, AWorkerThatNeverHeartbeatsIsNotJudgedByHeartbeats) {
  auto w = worker(WorkerState::kReady);
  EXPECT_EQ(judge_health(w, watched(), kT0 + 24h).kind, Kind::kHealthy);
}

TEST(HealthPolicy, StaleHeartbeatIsAHang) {
  auto w = worker(WorkerState::kReady);
  w.last_heartbeat = kT0 + 10s;
  EXPECT_EQ(judge_health(w, watched(), kT0 + 12s).kind, Kind::kHealthy);
  auto v = judge_health(w, watched(), kT0 + 12001ms);
  EXPECT_EQ(v.kind, Kind::kHung);
  EXPECT_EQ(v.age, 2001ms);
  EXPECT_THAT(v.reason, HasSubstr("no heartbeat for 2s1ms"));
}

TEST(HealthPolicy, HeartbeatsAreJudgedOnlyOnceReady) {
  auto w = worker(WorkerState::kDraining);
  w.last_heartbeat = kT0;
  EXPECT_EQ(judge_health(w, watched(), kT0 + 1h).kind, Kind::kHealthy);
  w.state = WorkerState::kStopping;
  EXPECT_EQ(judge_health(w, watched(), kT0 + 1h).kind, Kind::kHealthy);
}

TEST(HealthPolicy, AStoppedProcessIsHungEvenWithoutHeartbeats) {
  auto w = worker(WorkerState::kReady);
  w.stopped_since = kT0 + 1s;
  EXPECT_EQ(judge_health(w, watched(), kT0 + 3s).kind, Kind::kHealthy);
  auto v = judge_health(w, watched(), kT0 + 3500ms);
  EXPECT_EQ(v.kind, Kind::kHung);
  EXPECT_THAT(v.reason, HasSubstr("stopped"));
}

TEST(HealthPolicy, HeartbeatTimeoutZeroTurnsHangDetectionOff) {
  auto c = watched();
  c.heartbeat_timeout = 0ms;
  auto w = worker(WorkerState::kReady);
  w.last_heartbeat = kT0;
  w.stopped_since = kT0;
  EXPECT_EQ(judge_health(w, c, kT0 + 24h).kind, Kind::kHealthy);
}

TEST(HealthPolicy, HeartbeatFromTheFutureIsNotAnAge) {
  auto w = worker(WorkerState::kReady);
  w.last_heartbeat = kT0 + 1h;
  EXPECT_EQ(judge_health(w, watched(), kT0).kind, Kind::kHealthy);
}

TEST(HealthPolicy, CheckIntervalIsATenthOfTheShortestTimeoutWithinBounds) {
  auto c = watched();
  EXPECT_EQ(health_check_interval(c), 200ms);
  c.heartbeat_timeout = 1s;
  EXPECT_EQ(health_check_interval(c), 100ms);
  c.heartbeat_timeout = 10ms;
  EXPECT_EQ(health_check_interval(c), 10ms);
  c.heartbeat_timeout = 1h;
  EXPECT_EQ(health_check_interval(c), 500ms);  // ready_timeout 5s is shorter
  c.ready = config::ReadyMode::kStarted;
  EXPECT_EQ(health_check_interval(c), 1000ms);
}

}  // namespace
}  // namespace corral::supervisor
