// The worker lifecycle as a table: every (state, event) pair that matters.
#include "supervisor/worker_lifecycle.h"

#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using S = WorkerState;
using E = Event;
using A = Action;

RestartDecision restart_after(int ms) {
  RestartDecision d;
  d.kind = RestartDecision::Kind::kRestart;
  d.delay = std::chrono::milliseconds(ms);
  return d;
}
RestartDecision give_up() {
  RestartDecision d;
  d.kind = RestartDecision::Kind::kGiveUp;
  return d;
}
RestartDecision stop() { return RestartDecision{}; }

struct Row {
  S from;
  E event;
  RestartDecision decision;
  S to;
  A action;
};

TEST(WorkerLifecycle, Table) {
  const Row rows[] = {
      {S::kStarting, E::kReady, {}, S::kReady, A::kNone},
      {S::kReady, E::kReady, {}, S::kReady, A::kNone},
      // A worker that exits on its own: the restart policy decides.
      {S::kReady, E::kExited, restart_after(0), S::kStarting, A::kSpawn},
      {S::kReady, E::kExited, restart_after(200), S::kBackoff, A::kScheduleSpawn},
      {S::kStarting, E::kExited, restart_after(100), S::kBackoff, A::kScheduleSpawn},
      {S::kReady, E::kExited, give_up(), S::kFailed, A::kReportGiveUp},
      {S::kReady, E::kExited, stop(), S::kStopped, A::kNone},
      // A worker corral asked to stop is not restarted, whatever the policy.
      {S::kStopping, E::kExited, restart_after(0), S::kStopped, A::kNone},
      {S::kDraining, E::kExited, restart_after(0), S::kStopped, A::kNone},
      {S::kBackoff, E::kBackoffElapsed, {}, S::kStarting, A::kSpawn},
      {S::kReady, E::kBackoffElapsed, {}, S::kReady, A::kNone},
      {S::kStarting, E::kStop, {}, S::kStopping, A::kSendStopSignal},
      {S::kReady, E::kStop, {}, S::kStopping, A::kSendStopSignal},
      {S::kDraining, E::kStop, {}, S::kStopping, A::kNone},
      {S::kBackoff, E::kStop, {}, S::kStopped, A::kCancelTimer},
      {S::kFailed, E::kStop, {}, S::kFailed, A::kNone},
      {S::kStopped, E::kStop, {}, S::kStopped, A::kNone},
      {S::kStopping, E::kDrainTimeout, {}, S::kStopping, A::kKill},
      {S::kDraining, E::kDrainTimeout, {}, S::kDraining, A::kKill},
      {S::kReady, E::kDrainTimeout, {}, S::kReady, A::kNone},
      {S::kStopped, E::kExited, restart_after(0), S::kStopped, A::kNone},
  };
  for (const auto& row : rows) {
    const Step step = next(row.from, row.event, row.decision);
    EXPECT_EQ(step.state, row.to) << to_string(row.from) << " + event " << static_cast<int>(row.event);
    EXPECT_EQ(step.action, row.action)
        << to_string(row.from) << " + event " << static_cast<int>(row.event);
  }
}

TEST(WorkerLifecycle, OnlyLiveStatesHaveAProcess) {
  EXPECT_TRUE(has_process(S::kStarting));
  EXPECT_TRUE(has_process(S::kReady));
  EXPECT_TRUE(has_process(S::kDraining));
  EXPECT_TRUE(has_process(S::kStopping));
  EXPECT_FALSE(has_process(S::kBackoff));
  EXPECT_FALSE(has_process(S::kFailed));
  EXPECT_FALSE(has_process(S::kStopped));
}

TEST(WorkerLifecycle, StateNamesMatchTheAdminProtocol) {
  EXPECT_EQ(to_string(S::kStarting), "starting");
  EXPECT_EQ(to_string(S::kReady), "ready");
  EXPECT_EQ(to_string(S::kDraining), "draining");
  EXPECT_EQ(to_string(S::kStopping), "stopping");
  EXPECT_EQ(to_string(S::kBackoff), "backoff");
  EXPECT_EQ(to_string(S::kFailed), "failed");
  EXPECT_EQ(to_string(S::kStopped), "stopped");
}

}  // namespace
}  // namespace corral::supervisor
