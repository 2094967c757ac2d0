#include "config/signals.h"

#include <csignal>

#include <gtest/gtest.h>

namespace corral::config {
namespace {

int signal(std::string_view text) {
  auto s = parse_signal(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : -1;
}

TEST(ParseSignal, NamesWithAndWithoutPrefix) {
  EXPECT_EQ(signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(signal("TERM"), SIGTERM);
  EXPECT_EQ(signal("sigterm"), SIGTERM);
  EXPECT_EQ(signal("int"), SIGINT);
  EXPECT_EQ(signal("SIGQUIT"), SIGQUIT);
  EXPECT_EQ(signal("USR2"), SIGUSR2);
  EXPECT_EQ(signal("SIGWINCH"), SIGWINCH);
}

TEST(ParseSignal, Numbers) {
  EXPECT_EQ(signal("15"), 15);
  EXPECT_EQ(signal("9"), 9);
  EXPECT_EQ(signal(std::to_string(SIGRTMAX)), SIGRTMAX);
}

TEST(ParseSignal, Errors) {
  const std::string range = "(1 to " + std::to_string(SIGRTMAX) + ")";
  EXPECT_EQ(parse_signal("0").error().message, "signal number 0 is out of range " + range);
  EXPECT_EQ(parse_signal("99999999999").error().message,
            "signal number 99999999999 is out of range " + range);
  EXPECT_EQ(parse_signal("SIGFOO").error().message,
            "unknown signal 'SIGFOO'; write a name like \"SIGTERM\" or a number");
  EXPECT_EQ(parse_signal("SIG").error().message,
            "unknown signal 'SIG'; write a name like \"SIGTERM\" or a number");
  EXPECT_FALSE(parse_signal("").ok());
  EXPECT_FALSE(parse_signal("-15").ok());
}

TEST(SignalName, KnownAndUnknown) {
  EXPECT_STREQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_STREQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_STREQ(signal_name(SIGABRT), "SIGABRT");  // not its alias SIGIOT
  EXPECT_STREQ(signal_name(SIGCHLD), "SIGCHLD");  // not SIGCLD
  EXPECT_STREQ(signal_name(0), "");
  EXPECT_STREQ(signal_name(SIGRTMIN + 1), "");
}

TEST(SignalName, RoundTripsThroughParse) {
  for (int s = 1; s < 32; ++s) {
    if (*signal_name(s) == '\0') continue;
    EXPECT_EQ(signal(signal_name(s)), s) << signal_name(s);
  }
}

}  // namespace
}  // namespace corral::config
