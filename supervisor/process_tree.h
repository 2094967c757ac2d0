// What /proc says of a process, for attributing a notify message to the
// worker whose descendant sent it, and for describing a hung worker.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace corral::supervisor {

struct ProcStat {
  char state = '?';  // R, S, D, T, Z, ...
  pid_t ppid = 0;
};

std::optional<ProcStat> read_proc_stat(pid_t pid);

struct ProcUsage {
  double cpu_seconds = 0;  // utime + stime
  uint64_t rss_bytes = 0;
};
std::optional<ProcUsage> read_proc_usage(pid_t pid);
// The kernel function a sleeping process waits in ("0" when running).
std::string read_wchan(pid_t pid);

}  // namespace corral::supervisor
