#include "supervisor/rolling_reload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(RollingReload, OneAtATimeEachOldWorkerDrainsOnceItsReplacementIsReady) {
  RollingReload plan({0, 1, 2}, 1);
  ReloadSteps s = plan.begin();
  EXPECT_THAT(s.start, ElementsAre(0));
  EXPECT_FALSE(s.finished);
  EXPECT_TRUE(plan.replacing(0));
  EXPECT_FALSE(plan.replacing(1));

  s = plan.on_ready(0);
  EXPECT_THAT(s.retire, ElementsAre(0));
  EXPECT_THAT(s.start, ElementsAre(1));
  s = plan.on_ready(1);
  EXPECT_THAT(s.retire, ElementsAre(1));
  EXPECT_THAT(s.start, ElementsAre(2));
  s = plan.on_ready(2);
  EXPECT_THAT(s.retire, ElementsAre(2));
  EXPECT_THAT(s.start, IsEmpty());
  EXPECT_TRUE(s.finished);
  EXPECT_FALSE(s.error);
  EXPECT_EQ(plan.replaced(), 3);
  EXPECT_TRUE(plan.finished());
}

TEST(RollingReload, TheNextBatchWaitsForTheWholeCurrentOne) {
  RollingReload plan({0, 1, 2, 3, 4}, 2);
  EXPECT_THAT(plan.begin().start, ElementsAre(0, 1));
  ReloadSteps s = plan.on_ready(1);
  EXPECT_THAT(s.retire, ElementsAre(1));
  EXPECT_THAT(s.start, IsEmpty()) << "worker 0's replacement is not ready yet";
  s = plan.on_ready(0);
  EXPECT_THAT(s.retire, ElementsAre(0));
  EXPECT_THAT(s.start, ElementsAre(2, 3));
  plan.on_ready(2);
  s = plan.on_ready(3);
  EXPECT_THAT(s.start, ElementsAre(4)) << "a short last batch";
  s = plan.on_ready(4);
  EXPECT_TRUE(s.finished);
  EXPECT_EQ(plan.replaced(), 5);
}

TEST(RollingReload, AFailureRollsBackItsBatchAndStartsNothingMore) {
  RollingReload plan({0, 1, 2, 3}, 2);
  plan.begin();
  plan.on_ready(0);  // replaced for good
  ReloadSteps s = plan.on_failed(1, "worker 1's replacement exited with code 1");
  EXPECT_THAT(s.roll_back, ElementsAre(1));
  EXPECT_THAT(s.start, IsEmpty());
  EXPECT_THAT(s.retire, IsEmpty());
  EXPECT_TRUE(s.finished);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(*s.error, "worker 1's replacement exited with code 1");
  EXPECT_EQ(plan.replaced(), 1);
  // Later news of the plan's workers changes nothing.
  EXPECT_TRUE(plan.on_ready(1).retire.empty());
  EXPECT_TRUE(plan.on_failed(2, "x").roll_back.empty());
}

TEST(RollingReload, AFailureRollsBackTheRestOfTheBatchStillStarting) {
  RollingReload plan({0, 1, 2}, 3);
  plan.begin();
  ReloadSteps s = plan.on_failed(2, "not ready within 5s");
  EXPECT_THAT(s.roll_back, ElementsAre(0, 1, 2));
  EXPECT_TRUE(s.finished);
}

TEST(RollingReload, NewsAboutWorkersOutsideTheCurrentBatchIsIgnored) {
  RollingReload plan({0, 1}, 1);
  plan.begin();
  EXPECT_TRUE(plan.on_ready(1).retire.empty()) << "1 has not started";
  EXPECT_TRUE(plan.on_failed(7, "x").roll_back.empty());
  EXPECT_FALSE(plan.finished());
}

TEST(RollingReload, AWorkerScaledAwayIsSkipped) {
  RollingReload plan({0, 1, 2}, 1);
  plan.begin();
  EXPECT_TRUE(plan.on_gone(2).start.empty()) << "a pending one just leaves the plan";
  ReloadSteps s = plan.on_gone(0);  // the one being replaced
  EXPECT_THAT(s.retire, IsEmpty());
  EXPECT_THAT(s.start, ElementsAre(1));
  s = plan.on_ready(1);
  EXPECT_TRUE(s.finished);
  EXPECT_EQ(plan.replaced(), 1);
  EXPECT_EQ(plan.total(), 1);
}

TEST(RollingReload, NothingToReplaceFinishesAtOnce) {
  RollingReload plan({}, 1);
  ReloadSteps s = plan.begin();
  EXPECT_TRUE(s.finished);
  EXPECT_FALSE(s.error);
}

TEST(RollingReload, CancelRollsBackWhatIsStarting) {
  RollingReload plan({0, 1}, 1);
  plan.begin();
  ReloadSteps s = plan.cancel("the service is stopping");
  EXPECT_THAT(s.roll_back, ElementsAre(0));
  ASSERT_TRUE(s.error);
  EXPECT_TRUE(plan.finished());
  EXPECT_FALSE(plan.cancel("again").finished) << "only once";
}

TEST(RollingReload, ABatchBelowOneMeansOne) {
  RollingReload plan({0, 1}, 0);
  EXPECT_THAT(plan.begin().start, ElementsAre(0));
}

}  // namespace
}  // namespace corral::supervisor
