// A bounded HTTP load client for tests that must show "no failed request":
// a few threads send GET / to 127.0.0.1:port back to back until stopped,
// and count every request that did not get a complete 200 response (refused
// or reset connection, empty reply, timeout, other status).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace corral::testing {

struct LoadResult {
  int64_t ok = 0;
  int64_t failed = 0;
  std::vector<std::string> failures;  // the first few, for the test's message
  // When each failure was seen (the first kMaxFailureTimes), for tests that
  // relate failures to the faults they caused.
  std::vector<std::chrono::steady_clock::time_point> failure_times;
};

class LoadClient {
 public:
  static constexpr size_t kMaxFailureTimes = 100'000;

  // `keep_alive`: reuse each connection until the server says
  // Connection: close; otherwise one connection per request.
  LoadClient(uint16_t port, int connections, bool keep_alive);
  ~LoadClient();  // stops and joins
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  int64_t ok() const { return ok_.load(); }
  // Waits until `n` more requests succeeded (false after 10 s): load is
  // flowing before and after an event under test.
  bool await_progress(int64_t n);
  LoadResult stop();

 private:
  void run();
  void fail(std::string why);

  uint16_t port_;
  bool keep_alive_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> failed_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::chrono::steady_clock::time_point> failure_times_;
  std::vector<std::thread> threads_;
};

}  // namespace corral::testing
