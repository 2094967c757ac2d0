// corral top's "recent events", derived from two status snapshots.
#include "cli/top_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::cli {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using nlohmann::json;

json worker(int id, json pid, const std::string& state, json last_exit = nullptr,
            double uptime = 10.0) {
  return {{"id", id}, {"pid", pid}, {"state", state}, {"last_exit", last_exit}, {"uptime_s", uptime}};
}

json status(json workers, int desired = 2, bool pinned = false, bool reloading = false,
            const std::string& state = "running") {
  return {{"ok", true},           {"state", state},         {"desired", desired},
          {"pinned", pinned},     {"reloading", reloading}, {"workers", std::move(workers)}};
}

TEST(StatusDiff, TheFirstSnapshotHasNoEvents) {
  StatusDiff diff;
  EXPECT_THAT(diff.update(status({worker(0, 100, "ready"), worker(1, 101, "ready")})), IsEmpty());
}

TEST(StatusDiff, NothingChangedMeansNoEvents) {
  StatusDiff diff;
  const json s = status({worker(0, 100, "ready"), worker(1, 101, "ready")});
  diff.update(s);
  EXPECT_THAT(diff.update(s), IsEmpty());
}

TEST(StatusDiff, ARestartShowsBothPidsAndHowTheOldOneEnded) {
  StatusDiff diff;
  diff.update(status({worker(0, 100, "ready"), worker(1, 101, "ready")}));
  auto events = diff.update(
      status({worker(0, 100, "ready"), worker(1, 202, "starting", "killed by signal 9 (SIGKILL)", 0.1)}));
  ASSERT_EQ(events.size(), 1u) << ::testing::PrintToString(events);
  EXPECT_THAT(events[0], HasSubstr("worker 1 restarted (pid 101 -> 202)"));
  EXPECT_THAT(events[0], HasSubstr("killed by signal 9"));
}

TEST(StatusDiff, ScalingAndPinningAreReported) {
  StatusDiff diff;
  diff.update(status({worker(0, 100, "ready"), worker(1, 101, "ready")}));
  auto events = diff.update(status(
      {worker(0, 100, "ready"), worker(1, 101, "ready"), worker(2, 102, "starting", nullptr, 0.1)}, 3,
      true));
  EXPECT_THAT(events, Contains(HasSubstr("desired workers: 2 -> 3")));
  EXPECT_THAT(events, Contains(HasSubstr("pinned")));
  EXPECT_THAT(events, Contains(HasSubstr("worker 2")));
}

TEST(StatusDiff, AReloadShowsTheReplacementBesideTheOldWorker) {
  StatusDiff diff;
  diff.update(status({worker(0, 100, "ready"), worker(1, 101, "ready")}));
  auto events = diff.update(status(
      {worker(0, 100, "ready"), worker(0, 300, "starting", nullptr, 0.1), worker(1, 101, "ready")}, 2,
      false, true, "reloading"));
  EXPECT_THAT(events, Contains(HasSubstr("reload started")));
  EXPECT_THAT(events, Contains(HasSubstr("replacement pid 300")));
}

TEST(StatusDiff, MissingAndNullFieldsAreTolerated) {
  StatusDiff diff;
  diff.update(json::object());
  diff.update(status({json::object(), worker(1, nullptr, "backoff")}));
  EXPECT_NO_THROW(diff.update(status({{{"id", "x"}, {"pid", "y"}}})));
  EXPECT_NO_THROW(diff.update(json::array()));
}

}  // namespace
}  // namespace corral::cli
