// The chaos schedule is pure: same seed, same run; every action within the
// promised pace and bounds.
#include "chaos_schedule.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "chaos_driver.h"

namespace corral::testing {
namespace {

using std::chrono::milliseconds;

std::vector<ChaosAction> take(ChaosSchedule& s, int n) {
  std::vector<ChaosAction> out;
  for (int i = 0; i < n; ++i) out.push_back(s.next());
  return out;
}

TEST(ChaosSchedule, SameSeedSameActions) {
  ChaosSchedule a(42, {}), b(42, {}), c(43, {});
  const auto x = take(a, 200), y = take(b, 200), z = take(c, 200);
  bool differs = false;
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].delay, y[i].delay);
    EXPECT_EQ(x[i].kind, y[i].kind);
    EXPECT_EQ(x[i].pick, y[i].pick);
    EXPECT_EQ(x[i].scale_to, y[i].scale_to);
    differs = differs || x[i].kind != z[i].kind || x[i].delay != z[i].delay;
  }
  EXPECT_TRUE(differs) << "another seed gave the same 200 actions";
}

TEST(ChaosSchedule, PaceAndScaleBounds) {
  ChaosSchedule s(7, {});
  int workers = 4;
  std::set<ChaosKind> kinds;
  std::set<int> targets;
  for (const auto& a : take(s, 2000)) {
    EXPECT_GE(a.delay, milliseconds(100));
    EXPECT_LE(a.delay, milliseconds(500));
    kinds.insert(a.kind);
    if (a.kind == ChaosKind::kScale) {
      EXPECT_NE(a.scale_to, workers) << "a scale that changes nothing";
      EXPECT_GE(a.scale_to, 3);
      EXPECT_LE(a.scale_to, 5);
      workers = a.scale_to;
      targets.insert(a.scale_to);
    }
  }
  EXPECT_EQ(s.workers(), workers) << "the count after the last scale";
  EXPECT_EQ(kinds.size(), 5u) << "every kind of action occurs";
  EXPECT_EQ(targets, (std::set<int>{3, 4, 5}));
  EXPECT_EQ(s.finish().kind, ChaosKind::kScale);
  EXPECT_EQ(s.finish().scale_to, 4);
}

TEST(ChaosSchedule, WeightsSteerTheMix) {
  ChaosConfig only_kills;
  only_kills.weights[3] = only_kills.weights[4] = 0;
  ChaosSchedule s(1, only_kills);
  for (const auto& a : take(s, 500)) EXPECT_TRUE(is_kill(a.kind)) << kind_name(a.kind);

  ChaosConfig fixed;
  fixed.min_workers = fixed.max_workers = 4;  // no room to scale
  ChaosSchedule t(1, fixed);
  for (const auto& a : take(t, 500)) EXPECT_NE(a.kind, ChaosKind::kScale);
}

TEST(LatencySummary, NearestRankPercentiles) {
  std::vector<double> ms;
  for (int i = 100; i >= 1; --i) ms.push_back(i);
  const auto s = summarize(ms, 3);
  EXPECT_EQ(s.calls, 103u);
  EXPECT_EQ(s.unanswered, 3u);
  EXPECT_EQ(s.p50_ms, 50);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.max_ms, 100);
  EXPECT_EQ(summarize({}, 2).calls, 2u);
  EXPECT_EQ(summarize({5}, 0).p99_ms, 5);
}

}  // namespace
}  // namespace corral::testing
