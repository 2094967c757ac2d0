#include "supervisor/restart_policy.h"

#include <cmath>
#include <csignal>
#include <limits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/duration.h"

namespace corral::supervisor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Kind = RestartDecision::Kind;
using ms = std::chrono::milliseconds;

// The fake clock: plain arithmetic on an arbitrary origin.
const TimePoint kT0 = TimePoint{} + 1000h;

config::RestartConfig make_config(config::RestartPolicy policy = config::RestartPolicy::kAlways) {
  config::RestartConfig c;  // defaults: 100ms .. 30s, min_uptime 5s, 10 in 60s
  c.policy = policy;
  return c;
}

// A config without the crash-loop limits (see the header: window 0, and
// more early exits than any test makes), to look at the backoff alone.
config::RestartConfig unlimited() {
  config::RestartConfig c = make_config();
  c.window = 0ms;
  c.max_restarts = 1'000'000;
  return c;
}

// A worker that lived `uptime` and ended at `now`.
RestartDecision exit_after(RestartTracker& t, ms uptime, TimePoint now = kT0, double jitter = 0.0,
                           ExitStatus status = ExitStatus::exited(1)) {
  return t.on_exit(status, now - uptime, now, jitter);
}

TEST(RestartDecisionTest, DefaultRestartsNothing) {
  EXPECT_EQ(RestartDecision{}.kind, Kind::kStop);
}

struct PolicyCase {
  config::RestartPolicy policy;
  ExitStatus status;
  Kind expected;
};

TEST(RestartTrackerTest, EachPolicyForCleanAndUncleanExits) {
  using P = config::RestartPolicy;
  const PolicyCase cases[] = {
      {P::kAlways, ExitStatus::exited(0), Kind::kRestart},
      {P::kAlways, ExitStatus::exited(2), Kind::kRestart},
      {P::kAlways, ExitStatus::killed(SIGKILL), Kind::kRestart},
      {P::kOnFailure, ExitStatus::exited(0), Kind::kStop},
      {P::kOnFailure, ExitStatus::exited(2), Kind::kRestart},
      {P::kOnFailure, ExitStatus::killed(SIGTERM), Kind::kRestart},
      {P::kNever, ExitStatus::exited(0), Kind::kStop},
      {P::kNever, ExitStatus::exited(2), Kind::kStop},
      {P::kNever, ExitStatus::killed(SIGSEGV, true), Kind::kStop},
  };
  for (const PolicyCase& c : cases) {
    RestartTracker tracker(make_config(c.policy));
    RestartDecision d = exit_after(tracker, 1h, kT0, 0.0, c.status);
    EXPECT_EQ(d.kind, c.expected) << config::to_string(c.policy) << ", " << c.status.describe();
    EXPECT_THAT(d.reason, HasSubstr(c.status.describe()));
    EXPECT_EQ(tracker.restarts(), c.expected == Kind::kRestart ? 1 : 0);
  }
}

TEST(RestartTrackerTest, StopReasonsNameThePolicy) {
  RestartTracker never(make_config(config::RestartPolicy::kNever));
  EXPECT_EQ(exit_after(never, 1h).reason, "exited with code 1; restart policy is never");
  RestartTracker on_failure(make_config(config::RestartPolicy::kOnFailure));
  EXPECT_EQ(exit_after(on_failure, 1h, kT0, 0.0, ExitStatus::exited(0)).reason,
            "exited with code 0; restart policy is on-failure");
}

TEST(RestartTrackerTest, EarlyExitsBackOffExponentiallyUpToTheCap) {
  RestartTracker tracker(unlimited());
  const std::vector<ms> expected = {100ms,   200ms,   400ms,   800ms,   1600ms, 3200ms,
                                    6400ms,  12800ms, 25600ms, 30000ms, 30000ms, 30000ms};
  TimePoint now = kT0;
  for (ms want : expected) {
    RestartDecision d = exit_after(tracker, 10ms, now);
    ASSERT_EQ(d.kind, Kind::kRestart);
    EXPECT_EQ(d.delay, want);
    now += d.delay + 10ms;
  }
  EXPECT_EQ(tracker.restarts(), static_cast<int>(expected.size()));
}

TEST(RestartTrackerTest, ManyEarlyExitsStayAtTheCap) {
  RestartTracker tracker(unlimited());
  RestartDecision d;
  for (int i = 0; i < 10'000; ++i) d = exit_after(tracker, 0ms);
  EXPECT_EQ(d.delay, 30s);
}

TEST(RestartTrackerTest, CapAppliesWhenInitialExceedsIt) {
  config::RestartConfig c = unlimited();
  c.backoff_initial = 10s;
  c.backoff_max = 3s;
  RestartTracker tracker(c);
  EXPECT_EQ(exit_after(tracker, 0ms).delay, 3s);
  EXPECT_EQ(exit_after(tracker, 0ms).delay, 3s);
}

TEST(RestartTrackerTest, ZeroBackoffRestartsAtOnce) {
  config::RestartConfig c = unlimited();
  c.backoff_initial = 0ms;
  RestartTracker tracker(c);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(exit_after(tracker, 0ms, kT0, 0.5).delay, 0ms);
}

TEST(RestartTrackerTest, JitterLowersTheDelayByAtMostAQuarter) {
  const double just_below_one = std::nextafter(1.0, 0.0);
  for (double jitter : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, just_below_one}) {
    RestartTracker tracker(unlimited());
    ms nominal = 100ms;
    for (int step = 0; step < 12; ++step) {
      ms delay = exit_after(tracker, 0ms, kT0, jitter).delay;
      EXPECT_LE(delay, nominal) << "jitter " << jitter << " step " << step;
      EXPECT_GE(delay, ms{nominal.count() * 3 / 4}) << "jitter " << jitter << " step " << step;
      nominal = std::min<ms>(nominal * 2, 30s);
    }
  }
}

TEST(RestartTrackerTest, JitterValues) {
  RestartTracker half(unlimited());
  EXPECT_EQ(exit_after(half, 0ms, kT0, 0.5).delay, 87ms);  // 100 x 0.875, rounded down
  RestartTracker high(unlimited());
  EXPECT_EQ(exit_after(high, 0ms, kT0, std::nextafter(1.0, 0.0)).delay, 75ms);
}

TEST(RestartTrackerTest, TheCapIsTrueWhateverTheJitter) {
  for (double jitter : {0.0, 0.3, 0.999}) {
    RestartTracker tracker(unlimited());
    for (int i = 0; i < 20; ++i) {
      ms delay = exit_after(tracker, 0ms, kT0, jitter).delay;
      EXPECT_LE(delay, 30s);
      if (i >= 9) {
        EXPECT_GE(delay, 22500ms);
      }
    }
  }
}

TEST(RestartTrackerTest, EachStepExceedsThePreviousOneEvenWithWorstJitter) {
  RestartTracker highest(unlimited());  // jitter 0: each step at its nominal value
  RestartTracker lowest(unlimited());   // jitter near 1: each step at its lowest
  exit_after(lowest, 0ms, kT0, 0.999);
  for (int i = 0; i < 8; ++i) {  // steps up to 25.6s, below the cap
    ms step = exit_after(highest, 0ms, kT0, 0.0).delay;
    ms next = exit_after(lowest, 0ms, kT0, 0.999).delay;
    EXPECT_GT(next, step) << "step " << i;
  }
}

TEST(RestartTrackerTest, OutOfRangeJitterIsClamped) {
  for (double jitter : {-1.0, 7.0, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity()}) {
    RestartTracker tracker(unlimited());
    ms delay = exit_after(tracker, 0ms, kT0, jitter).delay;
    EXPECT_GE(delay, 75ms) << jitter;
    EXPECT_LE(delay, 100ms) << jitter;
  }
}

TEST(RestartTrackerTest, LongLivedWorkerIsReplacedAtOnceAndResetsTheBackoff) {
  RestartTracker tracker(unlimited());
  EXPECT_EQ(exit_after(tracker, 10ms).delay, 100ms);
  EXPECT_EQ(exit_after(tracker, 10ms).delay, 200ms);
  EXPECT_EQ(exit_after(tracker, 10ms).delay, 400ms);

  RestartDecision d = exit_after(tracker, 2h, kT0, 0.9);  // jitter does not apply
  EXPECT_EQ(d.kind, Kind::kRestart);
  EXPECT_EQ(d.delay, 0ms);
  EXPECT_THAT(d.reason, HasSubstr("restarting now"));

  EXPECT_EQ(exit_after(tracker, 10ms).delay, 100ms);  // the sequence starts over
}

TEST(RestartTrackerTest, MinUptimeBoundary) {
  RestartTracker tracker(unlimited());
  EXPECT_EQ(exit_after(tracker, 5000ms - 1ms).delay, 100ms);  // just under: early
  EXPECT_EQ(exit_after(tracker, 5000ms).delay, 0ms);          // exactly min_uptime: long
  EXPECT_EQ(exit_after(tracker, 4999ms).delay, 100ms);
}

TEST(RestartTrackerTest, ExitBeforeStartCountsAsEarly) {
  RestartTracker tracker(unlimited());
  EXPECT_EQ(tracker.on_exit(ExitStatus::exited(1), kT0 + 1s, kT0, 0.0).delay, 100ms);
}

TEST(RestartTrackerTest, EarlyExitReasonSaysWhatHappenedAndWhatComes) {
  RestartTracker tracker(unlimited());
  exit_after(tracker, 10ms);
  RestartDecision d = exit_after(tracker, 10ms, kT0, 0.0, ExitStatus::killed(SIGSEGV, true));
  EXPECT_THAT(d.reason, HasSubstr(ExitStatus::killed(SIGSEGV, true).describe()));
  EXPECT_THAT(d.reason, HasSubstr("early exit 2 in a row"));
  EXPECT_THAT(d.reason, HasSubstr("restarting in " + config::format_duration(200ms)));
}

TEST(RestartTrackerTest, GivesUpExactlyPastTheLimit) {
  RestartTracker tracker(make_config());  // 10 restarts within 60s
  TimePoint now = kT0;
  for (int i = 0; i < 10; ++i) {
    RestartDecision d = exit_after(tracker, 1h, now);  // long-lived: only the limit matters
    ASSERT_EQ(d.kind, Kind::kRestart) << "restart " << i + 1;
    now += 1s;
  }
  EXPECT_EQ(tracker.restarts(), 10);

  RestartDecision d = exit_after(tracker, 1h, now);
  EXPECT_EQ(d.kind, Kind::kGiveUp);
  EXPECT_EQ(d.reason,
            "exited with code 1; 10 restarts within " + config::format_duration(60s) +
                ", giving up");
  EXPECT_EQ(tracker.restarts(), 10);  // a refusal is not a restart
}

TEST(RestartTrackerTest, OldRestartsFallOutOfTheWindow) {
  config::RestartConfig c = make_config();
  c.max_restarts = 3;
  RestartTracker tracker(c);
  // Restarts at 0s, 10s, 20s.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(exit_after(tracker, 1h, kT0 + i * 10s).kind, Kind::kRestart);
  }
  // Within 60s of the first: refused, and the refusal is not remembered.
  EXPECT_EQ(exit_after(tracker, 1h, kT0 + 30s).kind, Kind::kGiveUp);
  EXPECT_EQ(exit_after(tracker, 1h, kT0 + 60s - 1ms).kind, Kind::kGiveUp);
  // Exactly 60s after the first, it no longer counts.
  EXPECT_EQ(exit_after(tracker, 1h, kT0 + 60s).kind, Kind::kRestart);
  // Now 10s, 20s, 60s are inside; 10s leaves at 70s.
  EXPECT_EQ(exit_after(tracker, 1h, kT0 + 65s).kind, Kind::kGiveUp);
  EXPECT_EQ(exit_after(tracker, 1h, kT0 + 70s).kind, Kind::kRestart);
  EXPECT_EQ(tracker.restarts(), 5);
}

TEST(RestartTrackerTest, SteadySlowCrashesNeverGiveUp) {
  config::RestartConfig c = make_config();
  c.max_restarts = 3;
  RestartTracker tracker(c);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(exit_after(tracker, 20s, kT0 + i * 20s).kind, Kind::kRestart) << i;
  }
}

// A worker that dies at once, reaped the moment each backoff ends: how many
// restarts it gets before the slot gives up (or `limit` if it never does).
int restarts_of_an_instant_crash_loop(const config::RestartConfig& c, int limit) {
  RestartTracker tracker(c);
  TimePoint now = kT0;
  for (int i = 0; i < limit; ++i) {
    RestartDecision d = exit_after(tracker, 0ms, now);
    if (d.kind != Kind::kRestart) return i;
    now += d.delay;
  }
  return limit;
}

TEST(RestartTrackerTest, InstantCrashLoopGivesUpWhenBackoffStaysFastEnough) {
  config::RestartConfig c = make_config();
  c.backoff_max = 5s;  // below window / max_restarts = 6s
  EXPECT_EQ(restarts_of_an_instant_crash_loop(c, 1000), 10);
}

TEST(RestartTrackerTest, InstantCrashLoopGivesUpWithTheDefaultsToo) {
  // With the defaults the delays reach 25.6s, so the window alone would
  // never hold ten restarts; consecutive early exits end the loop instead.
  EXPECT_EQ(restarts_of_an_instant_crash_loop(make_config(), 1000), 10);
  RestartTracker tracker(make_config());
  for (int i = 0; i < 10; ++i) ASSERT_EQ(exit_after(tracker, 0ms, kT0 + i * 1h).kind, Kind::kRestart);
  RestartDecision d = exit_after(tracker, 0ms, kT0 + 11h);
  EXPECT_EQ(d.kind, Kind::kGiveUp);
  EXPECT_THAT(d.reason, HasSubstr("11 early exits in a row"));
}

TEST(RestartTrackerTest, AnExitAfterMinUptimeEndsTheEarlyExitStreak) {
  RestartTracker tracker(make_config());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 9; ++i) {
      ASSERT_EQ(exit_after(tracker, 0ms, kT0 + (round * 10 + i) * 1h).kind, Kind::kRestart);
    }
    ASSERT_EQ(exit_after(tracker, 1h, kT0 + (round * 10 + 9) * 1h).kind, Kind::kRestart);
  }
}

TEST(RestartTrackerTest, MaxRestartsZeroGivesUpOnTheFirstExit) {
  config::RestartConfig c = make_config();
  c.max_restarts = 0;
  RestartTracker tracker(c);
  RestartDecision d = exit_after(tracker, 1h, kT0, 0.0, ExitStatus::killed(SIGKILL));
  EXPECT_EQ(d.kind, Kind::kGiveUp);
  EXPECT_THAT(d.reason, HasSubstr("max_restarts is 0"));
  EXPECT_EQ(tracker.restarts(), 0);

  // The policy is asked first: a clean exit under on-failure just stops.
  c.policy = config::RestartPolicy::kOnFailure;
  RestartTracker on_failure(c);
  EXPECT_EQ(exit_after(on_failure, 1h, kT0, 0.0, ExitStatus::exited(0)).kind, Kind::kStop);
}

TEST(RestartTrackerTest, ZeroWindowTurnsTheLimitOff) {
  RestartTracker tracker(unlimited());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(exit_after(tracker, 1h).kind, Kind::kRestart) << i;
  EXPECT_EQ(tracker.restarts(), 1000);
}

TEST(RestartTrackerTest, ResetForgetsHistoryButKeepsTheCount) {
  config::RestartConfig c = make_config();
  c.max_restarts = 2;
  RestartTracker tracker(c);
  EXPECT_EQ(exit_after(tracker, 10ms).delay, 100ms);
  EXPECT_EQ(exit_after(tracker, 10ms).delay, 200ms);
  EXPECT_EQ(exit_after(tracker, 10ms).kind, Kind::kGiveUp);

  tracker.reset();
  RestartDecision d = exit_after(tracker, 10ms);
  EXPECT_EQ(d.kind, Kind::kRestart);
  EXPECT_EQ(d.delay, 100ms);
  EXPECT_EQ(tracker.restarts(), 3);
}

}  // namespace
}  // namespace corral::supervisor
