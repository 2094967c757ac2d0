#include "supervisor/autoscale_policy.h"

#include <cmath>
#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Metric = config::AutoscaleRule::Metric;
using Direction = config::AutoscaleRule::Direction;
using Rule = config::AutoscaleRule;

// The fake clock: plain arithmetic on an arbitrary origin.
const TimePoint kT0 = TimePoint{} + 1000h;
constexpr double kMiB = 1024.0 * 1024.0;

Rule above(Metric m, double threshold, config::Duration hold = 30s, int add = 1,
           config::Duration cooldown = 30s) {
  return Rule{m, Direction::kAbove, threshold, hold, add, cooldown};
}

Rule below(Metric m, double threshold, config::Duration hold = 5min, int remove = 1,
           config::Duration cooldown = 2min) {
  return Rule{m, Direction::kBelow, threshold, hold, remove, cooldown};
}

config::AutoscaleConfig make(std::vector<Rule> rules, int min = 1,
                             std::optional<int> max = std::nullopt) {
  config::AutoscaleConfig c;
  c.min = min;
  c.max = max;
  c.rules = std::move(rules);
  return c;
}

LoadSample cpu_at(TimePoint at, double cpu, int workers = 4) {
  LoadSample s;
  s.at = at;
  s.workers = workers;
  s.cpu_percent = cpu;
  s.rss_bytes = 100 * kMiB;
  return s;
}

constexpr Limits kRoomy{64};

// Feeds a constant cpu reading every `interval` from `from` for `span`
// (both ends included) and returns the first decision with its time.
struct Fired {
  TimePoint at;
  Autoscaler::Decision decision;
};
std::optional<Fired> feed(Autoscaler& a, TimePoint from, config::Duration span, double cpu,
                          int current, config::Duration interval = 5s, Limits limits = kRoomy) {
  for (TimePoint t = from; t <= from + span; t += interval) {
    if (auto d = a.on_sample(cpu_at(t, cpu, current), current, limits)) return Fired{t, *d};
  }
  return std::nullopt;
}

// --- Thresholds and windows ------------------------------------------------

TEST(Autoscaler, AboveRuleFiresOnceItsConditionHeldForItsWindow) {
  Autoscaler a(make({above(Metric::kCpu, 75, 30s, 2)}));
  auto fired = feed(a, kT0, 2min, 82.1, 4);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at, kT0 + 30s) << "samples at 0, 5, ... 30 s: held 30 s at the 7th";
  EXPECT_EQ(fired->decision.desired, 6);
  EXPECT_EQ(fired->decision.rule, 0);
  EXPECT_EQ(fired->decision.reason, "cpu 82.1% above 75% for 30s (rule 1): 4 -> 6 workers");
}

TEST(Autoscaler, ThresholdsAreStrict) {
  Autoscaler up(make({above(Metric::kCpu, 75, 0s)}));
  EXPECT_FALSE(up.on_sample(cpu_at(kT0, 75), 4, kRoomy));
  EXPECT_TRUE(up.on_sample(cpu_at(kT0 + 5s, 75.01), 4, kRoomy));
  Autoscaler down(make({below(Metric::kCpu, 20, 0s)}));
  EXPECT_FALSE(down.on_sample(cpu_at(kT0, 20), 4, kRoomy));
  EXPECT_TRUE(down.on_sample(cpu_at(kT0 + 5s, 19.9), 4, kRoomy));
}

TEST(Autoscaler, ZeroWindowFiresOnTheFirstSample) {
  Autoscaler a(make({above(Metric::kCpu, 50, 0s)}));
  auto d = a.on_sample(cpu_at(kT0, 60), 2, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, "cpu 60.0% above 50% for 0s (rule 1): 2 -> 3 workers");
}

TEST(Autoscaler, OneSampleOutsideTheConditionStartsTheWindowOver) {
  Autoscaler a(make({above(Metric::kCpu, 75, 30s)}));
  EXPECT_FALSE(feed(a, kT0, 25s, 90, 4));                       // 0 .. 25 s: held 25 s
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 30s, 70), 4, kRoomy));  // a dip
  EXPECT_FALSE(a.rule_states()[0].holding_since);
  auto fired = feed(a, kT0 + 35s, 1min, 90, 4);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at, kT0 + 65s) << "30 s from the first sample after the dip";
}

TEST(Autoscaler, BelowRuleUsesItsOwnLongerWindow) {
  Autoscaler a(make({above(Metric::kCpu, 75), below(Metric::kCpu, 20, 5min)}));
  auto fired = feed(a, kT0, 10min, 10, 4);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at, kT0 + 5min);
  EXPECT_EQ(fired->decision.desired, 3);
  EXPECT_EQ(fired->decision.rule, 1);
  EXPECT_EQ(fired->decision.reason, "cpu 10.0% below 20% for 5m (rule 2): 4 -> 3 workers");
}

TEST(Autoscaler, ReasonRoundsTheHeldTimeToSeconds) {
  Autoscaler a(make({above(Metric::kCpu, 75, 30s)}));
  auto fired = feed(a, kT0, 1min, 80, 4, 7s);  // 0, 7, ... 35 s
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->at, kT0 + 35s);
  EXPECT_THAT(fired->decision.reason, HasSubstr("for 35s (rule 1)"));
}

// --- Cooldowns and settling -------------------------------------------------

TEST(Autoscaler, CooldownDelaysTheNextEventInTheSameDirection) {
  Autoscaler a(make({above(Metric::kCpu, 75, 10s, 1, 1min)}));
  auto first = feed(a, kT0, 1min, 90, 4);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at, kT0 + 10s);
  // The window starts over at the next sample (15 s) and has held 10 s at
  // 25 s, but the cooldown runs until 1m10s.
  auto second = feed(a, kT0 + 15s, 5min, 90, 5);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->at, kT0 + 70s);
  EXPECT_EQ(second->decision.desired, 6);
  EXPECT_EQ(a.last_scale_up(), kT0 + 70s);
  EXPECT_EQ(a.last_scale_down(), std::nullopt);
}

TEST(Autoscaler, WindowsStartOverAfterEveryEvent) {
  // No cooldown at all: only the windows space the events.
  Autoscaler a(make({above(Metric::kCpu, 75, 30s, 1, 0s)}));
  std::vector<TimePoint> events;
  int current = 2;
  for (TimePoint t = kT0; t <= kT0 + 3min; t += 5s) {
    if (auto d = a.on_sample(cpu_at(t, 90, current), current, kRoomy)) {
      events.push_back(t);
      current = d->desired;
    }
  }
  // 30 s held, then the window restarts at the next sample: every 35 s.
  EXPECT_EQ(events,
            (std::vector<TimePoint>{kT0 + 30s, kT0 + 65s, kT0 + 100s, kT0 + 135s, kT0 + 170s}));
}

TEST(Autoscaler, AnEventRestartsTheWindowsOfOtherRulesToo) {
  Autoscaler a(
      make({above(Metric::kCpu, 75, 10s, 1, 0s), above(Metric::kMemory, 200 * kMiB, 40s, 1, 0s)}));
  LoadSample s = cpu_at(kT0, 50);
  s.rss_bytes = 300 * kMiB;  // the memory rule holds from 0 s
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  s.at = kT0 + 20s;
  s.cpu_percent = 90;  // the cpu rule holds from 20 s
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  s.at = kT0 + 30s;
  auto d = a.on_sample(s, 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 0);
  // The memory rule had held 30 s of its 40: it starts over too.
  EXPECT_FALSE(a.rule_states()[0].holding_since);
  EXPECT_FALSE(a.rule_states()[1].holding_since);
  s.cpu_percent = 50;
  for (TimePoint t = kT0 + 35s; t < kT0 + 75s; t += 5s) {
    s.at = t;
    EXPECT_FALSE(a.on_sample(s, 5, kRoomy));
  }
  s.at = kT0 + 75s;
  d = a.on_sample(s, 5, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 1);
}

TEST(Autoscaler, EqualStepsGoToTheFirstRuleListed) {
  Autoscaler a(make({above(Metric::kMemory, 200 * kMiB, 0s), above(Metric::kCpu, 75, 0s)}));
  LoadSample s = cpu_at(kT0, 90);
  s.rss_bytes = 300 * kMiB;
  auto d = a.on_sample(s, 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 0);
}

TEST(Autoscaler, CooldownsAreKeptPerDirection) {
  Autoscaler a(
      make({above(Metric::kCpu, 75, 0s, 1, 10min), below(Metric::kCpu, 20, 0s, 1, 10min)}));
  ASSERT_TRUE(a.on_sample(cpu_at(kT0, 90), 4, kRoomy));  // up at 0
  // A down is not held back by the up's cooldown.
  auto d = a.on_sample(cpu_at(kT0 + 5s, 10, 5), 5, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 4);
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 10s, 10), 4, kRoomy)) << "down cooling";
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 15s, 90), 4, kRoomy)) << "up cooling";
  EXPECT_TRUE(a.on_sample(cpu_at(kT0 + 10min, 90), 4, kRoomy));
}

TEST(Autoscaler, RestartWindowsKeepsCooldowns) {
  Autoscaler a(make({above(Metric::kCpu, 75, 10s, 1, 1min)}));
  EXPECT_FALSE(a.on_sample(cpu_at(kT0, 90), 4, kRoomy));
  a.restart_windows();  // e.g. `corral scale auto`
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 10s, 90), 4, kRoomy));
  EXPECT_TRUE(a.on_sample(cpu_at(kT0 + 20s, 90), 4, kRoomy));
}

// --- Step sizes and conflicts ------------------------------------------------

TEST(Autoscaler, LargestStepUpAndSmallestStepDownAmongThoseThatFire) {
  Autoscaler up(make({above(Metric::kCpu, 50, 0s, 1), above(Metric::kCpu, 80, 0s, 3),
                      above(Metric::kCpu, 70, 0s, 2)}));
  auto d = up.on_sample(cpu_at(kT0, 90), 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 7);
  EXPECT_EQ(d->rule, 1);

  Autoscaler down(make({below(Metric::kCpu, 30, 0s, 3), below(Metric::kCpu, 20, 0s, 2)}));
  d = down.on_sample(cpu_at(kT0, 10, 8), 8, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 6);
  EXPECT_EQ(d->rule, 1);
}

TEST(Autoscaler, UpWinsOverDown) {
  // cpu is high, memory low: both rules fire.
  Autoscaler a(make({below(Metric::kMemory, 500 * kMiB, 0s), above(Metric::kCpu, 75, 0s)}));
  auto d = a.on_sample(cpu_at(kT0, 90), 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 5);
  EXPECT_EQ(d->rule, 1);
}

TEST(Autoscaler, NoScaleDownWhileAnUpConditionHoldsEvenBeforeItsWindow) {
  // Memory per worker is high (not yet for 10 min) while cpu is idle.
  Autoscaler a(make({above(Metric::kMemory, 50 * kMiB, 10min), below(Metric::kCpu, 20, 0s)}));
  EXPECT_FALSE(feed(a, kT0, 5min, 10, 4)) << "rss 100MiB > 50MiB: the down rule is vetoed";
  LoadSample s = cpu_at(kT0 + 5min + 5s, 10);
  s.rss_bytes = 40 * kMiB;
  auto d = a.on_sample(s, 4, kRoomy);
  ASSERT_TRUE(d) << "the up condition no longer holds";
  EXPECT_EQ(d->desired, 3);
}

// --- Limits ---------------------------------------------------------------

TEST(Autoscaler, UpIsCappedAtMax) {
  Autoscaler a(make({above(Metric::kCpu, 75, 0s, 4, 0s)}, 1, 8));
  auto d = a.on_sample(cpu_at(kT0, 90, 6), 6, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 8);
  EXPECT_EQ(d->reason, "cpu 90.0% above 75% for 0s (rule 1): 6 -> 8 workers (capped at max 8)");
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 5s, 90, 8), 8, kRoomy)) << "at max: nothing to do";
}

TEST(Autoscaler, MaxAboveWhatTheMachineHoldsIsCapped) {
  Autoscaler a(make({above(Metric::kCpu, 75, 0s, 4, 0s)}, 1, 16));
  EXPECT_EQ(a.upper(Limits{6}), 6);
  auto d = a.on_sample(cpu_at(kT0, 90, 4), 4, Limits{6});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 6);
  EXPECT_EQ(d->reason,
            "cpu 90.0% above 75% for 0s (rule 1): 4 -> 6 workers (max 16 capped to 6 by what the "
            "machine holds)");
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 5s, 90, 6), 6, Limits{6}));
}

TEST(Autoscaler, UnsetMaxIsWhatTheMachineHolds) {
  Autoscaler a(make({above(Metric::kCpu, 75, 0s, 8, 0s)}));
  EXPECT_EQ(a.upper(Limits{4}), 4);
  auto d = a.on_sample(cpu_at(kT0, 90, 2), 2, Limits{4});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 4);
  EXPECT_THAT(d->reason, HasSubstr("(capped at 4, what the machine holds)"));
}

TEST(Autoscaler, MinWinsOverTheMachine) {
  Autoscaler a(make({above(Metric::kCpu, 75)}, 4, 8));
  EXPECT_EQ(a.upper(Limits{2}), 4);
  EXPECT_EQ(a.upper(Limits{0}), 4) << "a limit below 1 counts as 1";
  EXPECT_EQ(a.clamp(1, Limits{2}), 4);
  EXPECT_EQ(a.clamp(6, Limits{2}), 4);
  EXPECT_EQ(a.clamp(6, kRoomy), 6);
  EXPECT_EQ(a.clamp(20, kRoomy), 8);
  EXPECT_EQ(a.lower(), 4);
}

TEST(Autoscaler, DownStopsAtMin) {
  Autoscaler a(make({below(Metric::kCpu, 20, 0s, 3, 0s)}, 2));
  auto d = a.on_sample(cpu_at(kT0, 5, 3), 3, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 2);
  EXPECT_EQ(d->reason, "cpu 5.0% below 20% for 0s (rule 1): 3 -> 2 workers (at min 2)");
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 5s, 5, 2), 2, kRoomy));
}

TEST(Autoscaler, CountOutsideTheConfiguredRangeIsBroughtInsideAtOnce) {
  Autoscaler a(make({above(Metric::kCpu, 75)}, 2, 8));
  LoadSample nothing;  // no data at all: clamps do not need any
  nothing.at = kT0;
  auto d = a.on_sample(nothing, 1, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 2);
  EXPECT_EQ(d->rule, -1);
  EXPECT_EQ(d->reason, "count 1 is below [autoscale] min 2: 1 -> 2 workers");
  EXPECT_EQ(a.last_scale_up(), kT0);

  nothing.at = kT0 + 5s;
  d = a.on_sample(nothing, 12, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 8);
  EXPECT_EQ(d->reason, "count 12 is above [autoscale] max 8: 12 -> 8 workers");
  EXPECT_EQ(a.last_scale_down(), kT0 + 5s);
}

TEST(Autoscaler, TheMachineLimitAloneNeverRemovesWorkers) {
  Autoscaler a(make({above(Metric::kCpu, 75, 0s)}, 1, 16));
  EXPECT_FALSE(a.on_sample(cpu_at(kT0, 50, 10), 10, Limits{6}));
  EXPECT_FALSE(a.on_sample(cpu_at(kT0 + 5s, 90, 10), 10, Limits{6})) << "and adds none past it";
}

// --- Missing data -------------------------------------------------------------

TEST(Autoscaler, MissingFiguresNeverFireARule) {
  Autoscaler a(make({below(Metric::kRps, 5, 0s, 1, 0s), below(Metric::kInflight, 1, 0s, 1, 0s),
                     above(Metric::kRps, 100, 0s)}));
  LoadSample s = cpu_at(kT0, 50);  // workers that publish nothing: inflight, rps unset
  for (int i = 0; i < 100; ++i, s.at += 5s) EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  EXPECT_FALSE(a.rule_states()[0].value);
  EXPECT_FALSE(a.rule_states()[0].holding_since);
  s.inflight = 0.2;  // now they publish
  auto d = a.on_sample(s, 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rule, 1);
  EXPECT_EQ(d->reason, "inflight 0.2 below 1 for 0s (rule 2): 4 -> 3 workers");
}

TEST(Autoscaler, AGapInTheDataStartsTheWindowOver) {
  Autoscaler a(make({above(Metric::kRps, 100, 20s)}));
  LoadSample s = cpu_at(kT0, 50);
  s.rps = 150;
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  s.at += 10s;
  s.rps.reset();  // the worker that published restarted
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  s.rps = 150;
  for (int i = 0; i < 4; ++i) {
    s.at += 5s;
    EXPECT_FALSE(a.on_sample(s, 4, kRoomy)) << i;
  }
  s.at += 5s;
  auto d = a.on_sample(s, 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, "rps 150.0/s above 100/s for 20s (rule 1): 4 -> 5 workers");
}

TEST(Autoscaler, NoServingWorkerMeansNoData) {
  Autoscaler a(make({below(Metric::kCpu, 20, 0s), above(Metric::kCpu, 75, 0s)}));
  LoadSample s = cpu_at(kT0, 0, 0);  // everything crashed: the zeros are not a reading
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
  s.cpu_percent = NAN;
  s.workers = 4;
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy)) << "not a number is no reading either";
  EXPECT_FALSE(a.rule_states()[0].value);
}

TEST(Autoscaler, FirstRoundWithoutCpuDelta) {
  Autoscaler a(make({below(Metric::kCpu, 20, 0s)}));
  LoadSample s = cpu_at(kT0, 0);
  s.cpu_percent.reset();
  EXPECT_FALSE(a.on_sample(s, 4, kRoomy));
}

// --- Memory -----------------------------------------------------------------------

TEST(Autoscaler, MemoryRuleComparesBytes) {
  Autoscaler a(make({above(Metric::kMemory, 300 * kMiB, 10s, 2)}));
  LoadSample s = cpu_at(kT0, 10);
  s.rss_bytes = 300 * kMiB;  // exactly at the threshold: not above
  EXPECT_FALSE(a.on_sample(s, 3, kRoomy));
  EXPECT_FALSE(a.rule_states()[0].holding_since);
  s.rss_bytes = 310 * kMiB;
  s.at += 5s;
  EXPECT_FALSE(a.on_sample(s, 3, kRoomy));
  s.at += 10s;
  auto d = a.on_sample(s, 3, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, "memory 310.0MiB above 300MiB for 10s (rule 1): 3 -> 5 workers");
}

TEST(Autoscaler, DescribesValuesAndThresholds) {
  EXPECT_EQ(describe_value(Metric::kMemory, 1.5 * 1024 * kMiB), "memory 1.50GiB");
  EXPECT_EQ(describe_value(Metric::kMemory, 2048), "memory 2.0KiB");
  EXPECT_EQ(describe_value(Metric::kMemory, 12), "memory 12B");
  EXPECT_EQ(describe_value(Metric::kCpu, 182.34), "cpu 182.3%");
  EXPECT_EQ(describe_threshold(Metric::kCpu, 62.5), "62.5%");
  EXPECT_EQ(describe_threshold(Metric::kMemory, 1024 * kMiB), "1GiB");
  EXPECT_EQ(describe_threshold(Metric::kInflight, 8), "8");
  EXPECT_EQ(describe_threshold(Metric::kRps, 0.5), "0.5/s");
}

// --- Scale-down that would call for a scale-up ------------------------------------

TEST(Autoscaler, RemovalThatWouldTriggerAnAddIsHeldBack) {
  // 2 workers at 39%: 1 worker would run at 78%, above 75.
  Autoscaler a(make({above(Metric::kCpu, 75), below(Metric::kCpu, 40, 0s, 1, 0s)}));
  EXPECT_FALSE(feed(a, kT0, 1h, 39, 2));
  // 4 workers at 38%: 3 would run at about 51%: fine.
  auto d = a.on_sample(cpu_at(kT0 + 2h, 38, 4), 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 3);
}

TEST(Autoscaler, RemovalIsReducedToWhatTheOthersCanCarry) {
  // 10 workers at 30% = 300% in all; remove 5 would put 60% on each,
  // above 50; 6 workers carry 50% each (not above): remove 4.
  Autoscaler a(make({above(Metric::kCpu, 50), below(Metric::kCpu, 35, 0s, 5, 0s)}));
  auto d = a.on_sample(cpu_at(kT0, 30, 10), 10, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 6);
  EXPECT_EQ(d->reason,
            "cpu 30.0% below 35% for 0s (rule 2): 10 -> 6 workers (4 of 5: the same load on "
            "fewer workers would trigger a scale-up)");
}

TEST(Autoscaler, ProjectionCountsTheWorkersThatServe) {
  // 2 of 4 desired workers serve at 60%: 120% in all, 30% over 4, 40% over 3.
  Autoscaler a(make({above(Metric::kCpu, 75), below(Metric::kCpu, 70, 0s, 2, 0s)}));
  auto d = a.on_sample(cpu_at(kT0, 60, 2), 4, kRoomy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 2) << "120% over 2 workers is 60%: not above 75";
}

TEST(Autoscaler, MemoryIsNotProjected) {
  // RSS per worker does not grow when there are fewer workers.
  Autoscaler a(make({above(Metric::kMemory, 150 * kMiB), below(Metric::kCpu, 20, 0s, 1, 0s)}));
  auto d = a.on_sample(cpu_at(kT0, 10, 2), 2, kRoomy);  // rss 100MiB each
  ASSERT_TRUE(d);
  EXPECT_EQ(d->desired, 1);
}

// --- No oscillation ------------------------------------------------------------------

// A service whose total CPU demand follows `demand(t)` (in % of one core),
// shared evenly by its workers; samples every 5 s for an hour. Returns the
// worker count after each change.
template <typename Demand>
std::vector<int> simulate(Autoscaler& a, int start, Demand demand) {
  std::vector<int> counts = {start};
  int current = start;
  for (TimePoint t = kT0; t <= kT0 + 1h; t += 5s) {
    const double per_worker = demand(t - kT0) / current;
    if (auto d = a.on_sample(cpu_at(t, per_worker, current), current, kRoomy)) {
      current = d->desired;
      counts.push_back(current);
    }
  }
  return counts;
}

// Direction reversals in a sequence of counts: up then down, or down then up.
int reversals(const std::vector<int>& counts) {
  int n = 0;
  int last = 0;
  for (size_t i = 1; i < counts.size(); ++i) {
    const int dir = counts[i] > counts[i - 1] ? 1 : -1;
    if (last != 0 && dir != last) ++n;
    last = dir;
  }
  return n;
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

config::AutoscaleConfig typical(int min = 1, std::optional<int> max = 16) {
  // The documented example: up after 30 s above 75, down after 5 min below 30.
  return make({above(Metric::kCpu, 75, 30s, 1, 1min), below(Metric::kCpu, 30, 5min, 1, 2min)}, min,
              max);
}

TEST(AutoscalerHover, NoiseAroundTheUpThresholdDoesNotFlap) {
  // Per-worker load 75% +- 3 on 4 workers, random at every sample.
  Autoscaler a(typical());
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> noise(-12, 12);
  const auto counts = simulate(a, 4, [&](auto) { return 300 + noise(rng); });
  EXPECT_LE(counts.size() - 1, 2u) << ::testing::PrintToString(counts);
  EXPECT_EQ(reversals(counts), 0) << ::testing::PrintToString(counts);
}

TEST(AutoscalerHover, SlowWaveAroundTheUpThresholdAddsOnceAndStays) {
  // 300% +- 20 in a 4-minute wave: above 75 per worker for 2 minutes at a time.
  Autoscaler a(typical());
  const auto counts =
      simulate(a, 4, [](auto t) { return 300 + 20 * std::sin(2 * M_PI * seconds(t) / 240); });
  EXPECT_EQ(counts, (std::vector<int>{4, 5})) << "5 workers carry 320% at 64% each";
}

TEST(AutoscalerHover, WaveAroundTheDownThresholdRemovesOnceAndStays) {
  // 120% +- 15 on 4 workers (30% each) in a 20-minute wave: below 30 for
  // 10 minutes at a time.
  Autoscaler a(typical());
  const auto counts =
      simulate(a, 4, [](auto t) { return 120 + 15 * std::sin(2 * M_PI * seconds(t) / 1200); });
  EXPECT_EQ(counts, (std::vector<int>{4, 3})) << "3 workers at 35-45% each";
}

TEST(AutoscalerHover, NarrowGapBetweenThresholdsDoesNotFlap) {
  // above 75 / below 60 with 2 workers at 62% +- 6: below 60 for minutes
  // at a time, but 1 worker would run at over 110%.
  Autoscaler a(make({above(Metric::kCpu, 75, 15s), below(Metric::kCpu, 60, 1min, 1, 0s)}));
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> noise(-2, 2);
  const auto counts = simulate(
      a, 2, [&](auto t) { return 124 + 12 * std::sin(2 * M_PI * seconds(t) / 600) + noise(rng); });
  EXPECT_EQ(counts, (std::vector<int>{2}));
}

}  // namespace
}  // namespace corral::supervisor
