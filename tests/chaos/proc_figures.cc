#include "proc_figures.h"

#include <filesystem>
#include <fstream>

#include "harness.h"

namespace corral::testing {
namespace fs = std::filesystem;

std::optional<ProcFigures> proc_figures(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  if (!status) return std::nullopt;
  ProcFigures f;
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) f.rss_kib = std::stol(line.substr(6));
    if (line.starts_with("Threads:")) f.threads = std::stoi(line.substr(8));
  }
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir + "/fd", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++f.fds;
  }
  if (ec) return std::nullopt;
  return f;
}

nlohmann::json to_json(const ProcFigures& f) {
  return {{"fds", f.fds}, {"rss_kib", f.rss_kib}, {"threads", f.threads}};
}

std::vector<pid_t> zombie_children(pid_t parent) {
  std::vector<pid_t> out;
  for (pid_t child : children_of(parent)) {
    if (process_state(child) == 'Z') out.push_back(child);
  }
  return out;
}

std::vector<std::string> shm_segments(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/dev/shm", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(prefix)) out.push_back(name);
  }
  return out;
}

std::vector<std::string> socket_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_socket(ec)) out.push_back(it->path().string());
  }
  return out;
}

}  // namespace corral::testing
