// Whose is an orphan? corral is a child subreaper (PR_SET_CHILD_SUBREAPER):
// a process a worker leaves behind (a daemon that double-forked, a child of
// a worker that died) is re-parented to corral instead of init. Its old
// ancestry is gone by then; what it keeps is its environment, where the
// launcher put CORRAL_ORIGIN=<corral pid>:<worker pid>. This header holds
// the pure part: reading that mark and the facts from /proc text, and the
// verdict. supervisor/orphan_tracker.h acts on it.
//
// Why the environment: it is inherited through fork and exec unless a
// program clears it on purpose, it is there from the first instruction
// (no sampling race with a double fork that takes microseconds), and
// /proc/PID/environ shows the strings the process started with even after
// it unsets the variable. The start time guards against pid reuse: a
// process that started before the worker now holding that pid is not its.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace corral::supervisor {

struct Origin {
  pid_t corral = 0;
  pid_t worker = 0;

  bool operator==(const Origin&) const = default;
};

// The last CORRAL_ORIGIN= entry of NUL-separated `environ` (the launcher
// replaces inherited ones, but a program may append its own), if well formed.
std::optional<Origin> parse_origin(std::string_view environ);

// From one /proc/PID/stat line: the process group and the start time (clock
// ticks after boot, field 22). The command name may hold spaces and ')'.
struct StatFacts {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgid = 0;
  uint64_t start_ticks = 0;
};
std::optional<StatFacts> parse_stat(std::string_view line);

enum class OrphanVerdict {
  kNotOurs,   // no mark of this corral (a hook's child, another program): left alone
  kOwned,     // its worker runs: kept while the worker lives
  kOrphaned,  // its worker is gone: stopped now
};

// `worker_start`: the start time of the live worker of ours whose pid is
// origin->worker, nullopt when no worker of ours has that pid.
OrphanVerdict judge_orphan(pid_t pid, uint64_t start_ticks, const std::optional<Origin>& origin,
                           pid_t self, std::optional<uint64_t> worker_start);

}  // namespace corral::supervisor
