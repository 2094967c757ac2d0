// A process's resource figures from /proc, and what a supervisor may leave
// behind: zombie children, shared-memory segments, socket files.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace corral::testing {

struct ProcFigures {
  int fds = 0;       // entries of /proc/PID/fd
  long rss_kib = 0;  // VmRSS
  int threads = 0;   // Threads
};
std::optional<ProcFigures> proc_figures(pid_t pid);
nlohmann::json to_json(const ProcFigures& f);

// Children of `parent` in state Z (exited, not reaped).
std::vector<pid_t> zombie_children(pid_t parent);
// /dev/shm entries whose name starts with `prefix`.
std::vector<std::string> shm_segments(const std::string& prefix);
// Socket files under `dir`, recursively.
std::vector<std::string> socket_files(const std::string& dir);

}  // namespace corral::testing
