// What the chaos and soak runs share: their knobs from the environment (the
// bench scripts run the same tests longer), publishing their figures, and
// keeping corral's log pipe drained while the test is busy elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace corral::testing {

// Whether this build runs under AddressSanitizer: its processes are several
// times slower to fork and start, and its RSS includes the quarantine.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// The integer in environment variable `name`, or `fallback` when unset or
// not a number.
int64_t env_int(const char* name, int64_t fallback);

// Prints `figures` as one line ("<tag>: {...}") and, when environment
// variable `path_var` names a file, writes them there as JSON.
void publish(const std::string& tag, const char* path_var, const nlohmann::json& figures);

// Prints the last `n` lines of a Process's output read so far: what corral
// logged before a failed assertion.
void print_log_tail(const Process& process, size_t n = 80);

// Reads a Process's output on a thread of its own until destroyed, so a
// corral logging thousands of restarts never blocks on a full pipe. The
// Process must not be used by anyone else meanwhile (pid() aside).
class OutputDrain {
 public:
  explicit OutputDrain(Process& process);
  ~OutputDrain();
  OutputDrain(const OutputDrain&) = delete;
  OutputDrain& operator=(const OutputDrain&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace corral::testing
