#include "config/suggest.h"

#include <array>

#include <gtest/gtest.h>

namespace corral::config {
namespace {

using namespace std::string_view_literals;

TEST(EditDistance, CountsEachKindOfTypo) {
  EXPECT_EQ(edit_distance("drain_timeout", "drain_timeout"), 0u);
  EXPECT_EQ(edit_distance("drain_timout", "drain_timeout"), 1u);    // missing
  EXPECT_EQ(edit_distance("drain_timeoutt", "drain_timeout"), 1u);  // extra
  EXPECT_EQ(edit_distance("drain_timeoot", "drain_timeout"), 1u);   // changed
  EXPECT_EQ(edit_distance("nmae", "name"), 1u);                     // swapped
  EXPECT_EQ(edit_distance("Count", "count"), 0u);                   // case
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ClosestMatch, PicksTheNearestWithinTheLimit) {
  constexpr std::array keys = {"command"sv, "count"sv, "cwd"sv, "env"sv, "drain_timeout"sv};
  EXPECT_EQ(closest_match("comand", keys), "command");
  EXPECT_EQ(closest_match("cuont", keys), "count");
  EXPECT_EQ(closest_match("drain-timeout", keys), "drain_timeout");
  EXPECT_EQ(closest_match("draintimout", keys), "drain_timeout");
  EXPECT_EQ(closest_match("cmd", keys), "cwd");
  EXPECT_EQ(closest_match("environment", keys), std::nullopt);
  EXPECT_EQ(closest_match("xyz", keys), std::nullopt);
  EXPECT_EQ(closest_match("anything", std::span<const std::string_view>{}), std::nullopt);
}

}  // namespace
}  // namespace corral::config
