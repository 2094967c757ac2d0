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

}  // namespace corral::ipc
