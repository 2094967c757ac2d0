#include "supervisor/scale_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using ::testing::HasSubstr;
using Kind = ScaleRequest::Kind;

TEST(ScalePolicy, ToNPinsTheCount) {
  auto r = resolve_scale({Kind::kTo, 5}, 2, 2, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->desired, 5);
  EXPECT_TRUE(r->pinned);
}

TEST(ScalePolicy, ByKAddsAndRemovesFromTheCurrentCount) {
  EXPECT_EQ(resolve_scale({Kind::kBy, 3}, 2, 2, 100)->desired, 5);
  EXPECT_EQ(resolve_scale({Kind::kBy, -1}, 2, 2, 100)->desired, 1);
  EXPECT_TRUE(resolve_scale({Kind::kBy, -1}, 2, 2, 100)->pinned);
}

TEST(ScalePolicy, AutoReturnsToTheConfiguredCountUnpinned) {
  auto r = resolve_scale({Kind::kAuto, 0}, 7, 4, 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->desired, 4);
  EXPECT_FALSE(r->pinned);
  EXPECT_EQ(resolve_scale({Kind::kAuto, 0}, 7, 400, 100)->desired, 100) << "capped";
}

TEST(ScalePolicy, NeverBelowOneWorker) {
  auto r = resolve_scale({Kind::kBy, -2}, 2, 2, 100);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("at least 1 must stay"));
  EXPECT_FALSE(resolve_scale({Kind::kTo, 0}, 2, 2, 100));
  EXPECT_FALSE(resolve_scale({Kind::kTo, -3}, 2, 2, 100));
}

TEST(ScalePolicy, NeverAboveTheMaximum) {
  auto r = resolve_scale({Kind::kTo, 101}, 2, 2, 100);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("from 1 to 100"));
  EXPECT_FALSE(resolve_scale({Kind::kBy, 99}, 2, 2, 100));
  EXPECT_TRUE(resolve_scale({Kind::kBy, 98}, 2, 2, 100));
  // No overflow on absurd deltas.
  EXPECT_FALSE(resolve_scale({Kind::kBy, 2147483647}, 2, 2, 100));
  EXPECT_FALSE(resolve_scale({Kind::kBy, -2147483647 - 1}, 2, 2, 100));
}

TEST(ScalePolicy, ByZeroIsRefused) {
  EXPECT_FALSE(resolve_scale({Kind::kBy, 0}, 2, 2, 100));
}

}  // namespace
}  // namespace corral::supervisor
