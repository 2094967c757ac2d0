// corral's own descriptor limit. Each worker costs corral a few descriptors
// (output pipes, pidfd) and admin clients take more, so the common soft
// RLIMIT_NOFILE of 1024 would cap a service at a few hundred workers long
// before kMaxWorkers. corral raises its soft limit to the hard one at start,
// as long-running servers commonly do, and hands its workers the limit it
// was started with: a program that still uses select(2) breaks above 1024
// descriptors, and a worker's limit is the operator's choice
// (`[worker] rlimits`), not a side effect of corral's needs.
#pragma once

#include <sys/resource.h>

#include <optional>

namespace corral::supervisor {

struct DescriptorLimits {
  rlimit started_with{};  // what workers get back
  rlimit now{};           // corral's own, after the raise
};

// Raises the soft RLIMIT_NOFILE to the hard limit. nullopt when nothing
// changed (already equal, or getrlimit/setrlimit refused).
std::optional<DescriptorLimits> raise_descriptor_limit();

}  // namespace corral::supervisor
