#include "supervisor/process_tree.h"

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

std::string read_wchan(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/wchan");
  std::string wchan;
  std::getline(file, wchan);
  return wchan.empty() ? "?" : wchan;
}

}  // namespace corral::supervisor
