// The status table shared by `corral status` and `corral top`.
#include "cli/status_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::cli {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

TEST(StatusTable, RowsFollowTheTitles) {
  const json status = {{"workers",
                        {{{"id", 0}, {"pid", 41}, {"state", "ready"}, {"uptime_s", 75.0}, {"restarts", 2},
                          {"cpu_percent", 12.5}, {"rss_bytes", 3891200}, {"heartbeat_age_s", 0.4},
                          {"last_exit", "exited with code 3"}}}}};
  StatusTotals totals;
  const auto rows = worker_rows(status, &totals);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "ID");
  EXPECT_EQ(rows[1][0], "0");
  EXPECT_EQ(rows[1][1], "41");
  EXPECT_EQ(rows[1][2], "ready");
  EXPECT_EQ(totals.restarts, 2);
  EXPECT_DOUBLE_EQ(totals.rss_bytes, 3891200);
  const auto lines = render_table(rows, false);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("exited with code 3"));
  EXPECT_EQ(lines[0].find("PID"), lines[1].find("41")) << "aligned columns";
}

TEST(StatusTable, WidthCutsLinesButNotEscapes) {
  const auto lines = render_table({{"ID", "STATE"}, {"0", "ready"}}, true, 4);
  for (const auto& line : lines) {
    std::string visible;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\x1b') {
        while (i < line.size() && line[i] != 'm') ++i;
        continue;
      }
      visible += line[i];
    }
    EXPECT_LE(visible.size(), 4u) << line;
  }
}

TEST(StatusTable, ValuesOfTheWrongTypeShowAsDashesNotCrashes) {
  const json status = {{"name", 7},
                        {"pid", "x"},
                        {"workers",
                         {{{"id", "zero"}, {"pid", nullptr}, {"state", 3}, {"uptime_s", "long"},
                           {"rss_bytes", -5}, {"cpu_percent", "hot"}, {"heartbeat_age_s", 1e300}},
                          json::array(), 42}}};
  StatusTotals totals;
  EXPECT_NO_THROW(worker_rows(status, &totals));
  EXPECT_NO_THROW(status_summary(status));
  EXPECT_NO_THROW(status_summary(json::object()));
  EXPECT_NO_THROW(worker_rows(json::object(), &totals));
}

TEST(StatusTable, SummarySaysPinnedAndReloading) {
  const json status = {{"name", "web"}, {"pid", 4100},   {"state", "reloading"}, {"desired", 2},
                       {"ready", 2},    {"failed", 0},   {"uptime_s", 3600.0},   {"pinned", true},
                       {"reloading", true}};
  const std::string s = status_summary(status);
  EXPECT_THAT(s, HasSubstr("corral 'web' (pid 4100)"));
  EXPECT_THAT(s, HasSubstr("2/2 ready"));
  EXPECT_THAT(s, HasSubstr("pinned"));
  EXPECT_THAT(s, HasSubstr("reloading"));
}

TEST(StatusTable, HumanUnits) {
  EXPECT_EQ(duration_text(4.2), "4.2s");
  EXPECT_THAT(bytes_text(3891200), HasSubstr("MiB"));
  EXPECT_EQ(text_or_dash(nullptr), "-");
}

}  // namespace
}  // namespace corral::cli

namespace corral::cli {
namespace {

TEST(StatusTable, AutoscaleSummaryShowsModeBoundsAndTheLastEvent) {
  const nlohmann::json status = {
      {"autoscale",
       {{"mode", "auto"}, {"min", 1}, {"max", 4}, {"scale_events", 3},
        {"last_scale", {{"ago_s", 12.0}, {"reason", "cpu 82.1% above 75% for 30s (rule 1): 2 -> 4 workers"}}}}}};
  const std::string line = autoscale_summary(status);
  EXPECT_THAT(line, ::testing::HasSubstr("autoscale: auto, 1..4 workers, 3 scale events"));
  EXPECT_THAT(line, ::testing::HasSubstr("2 -> 4 workers"));
  EXPECT_EQ(autoscale_summary({{"autoscale", nullptr}}), "");
  EXPECT_EQ(autoscale_summary(nlohmann::json::array()), "");
}

}  // namespace
}  // namespace corral::cli
