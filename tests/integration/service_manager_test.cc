// corral under a service manager: what it tells systemd over NOTIFY_SOCKET
// (READY, STATUS, WATCHDOG, RELOADING, STOPPING), checked by a fake systemd
// that reads the datagrams.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "harness.h"

namespace corral::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeSystemd {
 public:
  FakeSystemd() {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    name_ = "corral-fake-systemd-" + std::to_string(::getpid()) + "-" + std::to_string(++count_);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name_.data(), name_.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  }
  std::string address() const { return "@" + name_; }
  // The next datagram; nullopt when none comes within `timeout`.
  std::optional<std::string> next(Millis timeout = 10s) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // Skips datagrams until one contains `what`.
  std::optional<std::string> await(const std::string& what, Millis timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = next(std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()) + 1ms);
      if (!m) return std::nullopt;
      if (m->find(what) != std::string::npos) return m;
    }
    return std::nullopt;
  }

 private:
  static inline int count_ = 0;
  UniqueFd fd_;
  std::string name_;
};

std::vector<std::string> two_workers() {
  return {"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", example_server(), "--fd",
          "{fd:http}", "--quiet"};
}

TEST(ServiceManager, ReadyStatusWatchdogReloadingStoppingInOrder) {
  FakeSystemd systemd;
  Corral corral(two_workers(), {"NOTIFY_SOCKET=" + systemd.address(), "WATCHDOG_USEC=400000"});
  auto ready = systemd.await("READY=1");
  ASSERT_TRUE(ready) << corral.process.output();
  EXPECT_THAT(*ready, HasSubstr("STATUS=2/2 workers ready"));
  // Pings at half the watchdog period, from the loop.
  ASSERT_TRUE(systemd.await("WATCHDOG=1", 2s));
  ASSERT_TRUE(systemd.await("WATCHDOG=1", 2s));

  corral.process.signal(SIGHUP);
  auto reloading = systemd.await("RELOADING=1");
  ASSERT_TRUE(reloading) << corral.process.output();
  EXPECT_THAT(*reloading, HasSubstr("MONOTONIC_USEC="));
  auto reloaded = systemd.await("READY=1");
  ASSERT_TRUE(reloaded) << corral.process.output();
  EXPECT_TRUE(corral.process.find_line(R"(reload complete: 2 workers replaced)"));

  corral.process.signal(SIGTERM);
  ASSERT_TRUE(systemd.await("STOPPING=1")) << corral.process.output();
  EXPECT_EQ(corral.process.wait_exit(), 0);
}

TEST(ServiceManager, WorkersGetCorralsNotifySocketNotSystemds) {
  FakeSystemd systemd;
  Corral corral(two_workers(), {"NOTIFY_SOCKET=" + systemd.address(), "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(systemd.await("READY=1")) << corral.process.output();
  const auto workers = workers_of(corral.process.pid());
  ASSERT_FALSE(workers.empty());
  for (pid_t w : workers) {
    auto notify = environ_value(w, "NOTIFY_SOCKET");
    ASSERT_TRUE(notify);
    EXPECT_NE(*notify, systemd.address());
    EXPECT_THAT(*notify, HasSubstr(".notify"));
    EXPECT_FALSE(environ_value(w, "WATCHDOG_USEC")) << "systemd's watchdog is corral's, not the worker's";
  }
}

TEST(ServiceManager, WithoutNotifySocketNothingIsSentAndAllWorks) {
  Corral corral(two_workers());
  ASSERT_TRUE(corral.process.wait_for_line(R"(2/2 workers ready)")) << corral.process.output();
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(), 0);
}

}  // namespace
}  // namespace corral::testing
