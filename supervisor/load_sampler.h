// Reads what the autoscaler and the memory limit judge workers by: CPU time
// and resident memory of a worker together with its own children (servers
// that fork helpers), and what the machine has. Cheap enough to run every
// second over hundreds of workers: a few small reads of /proc per process,
// no allocation per read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace corral::supervisor {

struct TreeUsage {
  double cpu_seconds = 0;  // utime + stime, summed over the tree
  uint64_t rss_bytes = 0;  // resident memory, summed over the tree
  int processes = 0;       // how many were counted
};

// `pid` and its descendants (as /proc/PID/task/PID/children lists them:
// children of the main thread), at most `max_processes` of them. nullopt
// when `pid` itself is gone.
std::optional<TreeUsage> read_tree_usage(pid_t pid, int max_processes = 256);

struct MachineMemory {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;  // MemAvailable: what can be used without swapping
};
std::optional<MachineMemory> read_machine_memory();

// CPU % of one core between two readings of the same tree; never negative
// (a child that exited takes its CPU time with it).
double cpu_percent(double cpu_seconds_before, double cpu_seconds_now, double wall_seconds);

}  // namespace corral::supervisor
