#include "supervisor/process_tree.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace corral::supervisor {

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // The command name sits in parentheses and may itself hold ") ": the
  // fields after it start at the last one.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 4 > line.size()) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  ProcStat stat;
  if (!(rest >> stat.state >> stat.ppid)) return std::nullopt;
  return stat;
}

std::optional<ProcUsage> read_proc_usage(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return std::nullopt;
  // Fields from the 3rd (state) on; utime and stime are the 14th and 15th,
  // rss (pages) the 24th.
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0, rss_pages = 0;
  for (int index = 3; index <= 24 && rest >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
    if (index == 24) rss_pages = std::stoull(field);
  }
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  static const long page = ::sysconf(_SC_PAGESIZE);
  ProcUsage usage;
  usage.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  usage.rss_bytes = rss_pages * static_cast<uint64_t>(page);
  return usage;
}

std::string read_wchan(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/wchan");
  std::string wchan;
  std::getline(file, wchan);
  return wchan.empty() ? "?" : wchan;
}

}  // namespace corral::supervisor
