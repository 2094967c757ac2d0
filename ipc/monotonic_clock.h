// The one clock shared memory speaks: CLOCK_MONOTONIC in nanoseconds, the
// same in every process on the machine. clock_gettime is served by the vDSO
// (no system call), which keeps a heartbeat a clock read plus a store.
#pragma once

#include <time.h>

#include <cstdint>

namespace corral::ipc {

inline uint64_t monotonic_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The same clock as the kernel last ticked it: a plain read of the vDSO's
// data page, several times cheaper than monotonic_now_ns() (no TSC read),
// and at most one tick (a few ms) behind it. Workers beat with it; the
// supervisor allows for the lag (kCoarseClockLagNs).
inline uint64_t monotonic_coarse_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// More than any kernel tick (HZ >= 100 gives 10 ms).
inline constexpr uint64_t kCoarseClockLagNs = 50'000'000;

}  // namespace corral::ipc
