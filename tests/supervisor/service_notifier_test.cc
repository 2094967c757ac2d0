// ServiceNotifier against a real datagram socket standing in for systemd's
// NOTIFY_SOCKET: what each call sends, and silence without one.
#include "supervisor/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

using namespace std::chrono_literals;
using ::testing::MatchesRegex;

// A bound datagram socket that NOTIFY_SOCKET points at for the test's
// duration (an abstract name: nothing on disk); the variables are restored
// at the end.
class FakeSystemd {
 public:
  FakeSystemd() {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    name_ = "corral-notify-test-" + std::to_string(::getpid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name_.data(), name_.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    ::setenv("NOTIFY_SOCKET", ("@" + name_).c_str(), 1);
  }
  ~FakeSystemd() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
  }

  // The next datagram, or nullopt when none comes within a second.
  std::optional<std::string> next() {
    timeval tv{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // Whether a datagram is waiting right now (sd_notify's send is
  // synchronous: what was sent is already queued).
  bool pending() {
    char c;
    return ::recv(fd_.get(), &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
  }

 private:
  UniqueFd fd_;
  std::string name_;
};

uint64_t monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000u +
         static_cast<uint64_t>(now.tv_nsec) / 1000u;
}

TEST(ServiceNotifier, SendsEachMessageAsSystemdExpects) {
  FakeSystemd systemd;
  ServiceNotifier notifier;
  ASSERT_TRUE(notifier.enabled());

  EXPECT_TRUE(notifier.ready("4 workers ready"));
  EXPECT_EQ(systemd.next(), "READY=1\nSTATUS=4 workers ready");

  EXPECT_TRUE(notifier.status("3 of 4 workers ready"));
  EXPECT_EQ(systemd.next(), "STATUS=3 of 4 workers ready");

  const uint64_t before = monotonic_usec();
  EXPECT_TRUE(notifier.reloading());
  const uint64_t after = monotonic_usec();
  auto reloading = systemd.next();
  ASSERT_TRUE(reloading);
  ASSERT_THAT(*reloading, MatchesRegex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"));
  const uint64_t stamp = std::stoull(reloading->substr(reloading->find('=', 12) + 1));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);

  EXPECT_TRUE(notifier.watchdog());
  EXPECT_EQ(systemd.next(), "WATCHDOG=1");
  EXPECT_TRUE(notifier.stopping());
  EXPECT_EQ(systemd.next(), "STOPPING=1");
  EXPECT_TRUE(notifier.mainpid(1234));
  EXPECT_EQ(systemd.next(), "MAINPID=1234");
}

TEST(ServiceNotifier, StatusIsSentOnlyWhenItChanges) {
  FakeSystemd systemd;
  ServiceNotifier notifier;
  EXPECT_TRUE(notifier.ready("2 workers ready"));
  EXPECT_EQ(systemd.next(), "READY=1\nSTATUS=2 workers ready");
  EXPECT_FALSE(notifier.status("2 workers ready"));  // what READY=1 said
  EXPECT_FALSE(systemd.pending());
  EXPECT_TRUE(notifier.status("1 of 2 workers ready"));
  EXPECT_FALSE(notifier.status("1 of 2 workers ready"));
  EXPECT_EQ(systemd.next(), "STATUS=1 of 2 workers ready");
  EXPECT_FALSE(systemd.pending());
}

TEST(ServiceNotifier, StatusStaysOneLine) {
  FakeSystemd systemd;
  ServiceNotifier notifier;
  EXPECT_TRUE(notifier.status("two\nlines\tand\x1b[31m colour"));
  EXPECT_EQ(systemd.next(), "STATUS=two lines and [31m colour");
}

TEST(ServiceNotifier, WatchdogIntervalIsHalfOfWatchdogUsecForThisProcess) {
  FakeSystemd systemd;
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::optional(15000ms));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::optional(15000ms));
  ::setenv("WATCHDOG_PID", "1", 1);  // another process's watchdog
  EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::nullopt);
  ::unsetenv("WATCHDOG_PID");
  ::setenv("WATCHDOG_USEC", "0", 1);
  EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::nullopt);
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(ServiceNotifier().watchdog_interval(), std::nullopt);
}

TEST(ServiceNotifier, WithoutNotifySocketEverythingIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "30000000", 1);  // meaningless without a manager
  ServiceNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_EQ(notifier.watchdog_interval(), std::nullopt);
  EXPECT_FALSE(notifier.ready("ready"));
  EXPECT_FALSE(notifier.status("x"));
  EXPECT_FALSE(notifier.reloading());
  EXPECT_FALSE(notifier.watchdog());
  EXPECT_FALSE(notifier.stopping());
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace corral::supervisor
