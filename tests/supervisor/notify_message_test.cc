#include "supervisor/notify_message.h"

#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

TEST(NotifyMessage, ReadsTheKeysCorralActsOn) {
  auto m = parse_notify_message("READY=1\nSTATUS=serving 3 clients\nWATCHDOG=1\n");
  EXPECT_TRUE(m.ready);
  EXPECT_TRUE(m.watchdog);
  EXPECT_FALSE(m.stopping);
  ASSERT_TRUE(m.status);
  EXPECT_EQ(*m.status, "serving 3 clients");
  EXPECT_TRUE(parse_notify_message("STOPPING=1").stopping);
  EXPECT_TRUE(parse_notify_message("RELOADING=1").reloading);
}

TEST(NotifyMessage, OnlyOneMeansYes) {
  EXPECT_FALSE(parse_notify_message("READY=0").ready);
  EXPECT_FALSE(parse_notify_message("READY=yes").ready);
  EXPECT_FALSE(parse_notify_message("READY").ready);
  EXPECT_FALSE(parse_notify_message("ready=1").ready);
}

TEST(NotifyMessage, SkipsUnknownAndMalformedLines) {
  auto m = parse_notify_message("MAINPID=12\ngarbage\n\n=\nFDSTORE=1\nWATCHDOG=1");
  EXPECT_TRUE(m.watchdog);
  EXPECT_FALSE(m.ready);
  EXPECT_FALSE(m.status);
}

TEST(NotifyMessage, StatusIsOnePrintableBoundedLine) {
  std::string hostile = "STATUS=a\x1b[31mred\x7f";
  hostile += std::string(1000, 'x');
  auto m = parse_notify_message(hostile);
  ASSERT_TRUE(m.status);
  EXPECT_EQ(m.status->size(), kMaxStatusLength);
  EXPECT_EQ(m.status->substr(0, 9), "a?[31mred");
  EXPECT_EQ(m.status->find('\x1b'), std::string::npos);
}

TEST(NotifyMessage, BinaryNoiseDoesNotBreakParsing) {
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 131) % 256);
  noise += "\nREADY=1\n";
  EXPECT_TRUE(parse_notify_message(noise).ready);
}

}  // namespace
}  // namespace corral::supervisor
