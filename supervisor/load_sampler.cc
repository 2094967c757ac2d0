#include "supervisor/load_sampler.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

// Reads a small /proc file whole into `buffer`; the bytes read, or -1.
ssize_t read_small(const char* path, char* buffer, size_t size) {
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return -1;
  size_t used = 0;
  while (used + 1 < size) {
    const ssize_t n = ::read(fd.get(), buffer + used, size - 1 - used);
    if (n < 0) return -1;
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  buffer[used] = '\0';
  return static_cast<ssize_t>(used);
}

// utime, stime (clock ticks) and rss (pages) from /proc/PID/stat.
bool read_stat(pid_t pid, unsigned long long* ticks, unsigned long long* rss_pages) {
  char path[64];
  char buffer[1024];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const ssize_t n = read_small(path, buffer, sizeof buffer);
  if (n <= 0) return false;
  // The command name is in parentheses and may contain anything, ") "
  // included: fields start after the last ')'.
  std::string_view line(buffer, static_cast<size_t>(n));
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos) return false;
  std::string_view rest = line.substr(close + 1);
  unsigned long long utime = 0, stime = 0, rss = 0;
  // Field 3 (state) is the first after ')'; utime 14, stime 15, rss 24.
  int index = 2;
  size_t pos = 0;
  while (pos < rest.size() && index < 24) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    size_t end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    ++index;
    const std::string_view field = rest.substr(pos, end - pos);
    unsigned long long* target = index == 14 ? &utime : index == 15 ? &stime : index == 24 ? &rss : nullptr;
    if (target != nullptr &&
        std::from_chars(field.data(), field.data() + field.size(), *target).ec != std::errc()) {
      return false;
    }
    pos = end;
  }
  if (index < 24) return false;
  *ticks = utime + stime;
  *rss_pages = rss;
  return true;
}

void children_of(pid_t pid, std::vector<pid_t>* out) {
  char path[80];
  char buffer[4096];
  std::snprintf(path, sizeof path, "/proc/%d/task/%d/children", static_cast<int>(pid), static_cast<int>(pid));
  const ssize_t n = read_small(path, buffer, sizeof buffer);
  if (n <= 0) return;
  const char* p = buffer;
  const char* end = buffer + n;
  while (p < end) {
    while (p < end && *p == ' ') ++p;
    int child = 0;
    auto [next, ec] = std::from_chars(p, end, child);
    if (ec != std::errc() || next == p) break;
    out->push_back(static_cast<pid_t>(child));
    p = next;
  }
}

}  // namespace

std::optional<TreeUsage> read_tree_usage(pid_t pid, int max_processes) {
  static const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  TreeUsage usage;
  std::vector<pid_t> pending{pid};
  unsigned long long ticks_total = 0;
  while (!pending.empty() && usage.processes < max_processes) {
    const pid_t p = pending.back();
    pending.pop_back();
    unsigned long long ticks = 0, rss = 0;
    if (!read_stat(p, &ticks, &rss)) {
      if (p == pid) return std::nullopt;
      continue;  // a child that just exited
    }
    ticks_total += ticks;
    usage.rss_bytes += rss * page;
    ++usage.processes;
    children_of(p, &pending);
  }
  usage.cpu_seconds = static_cast<double>(ticks_total) / ticks_per_second;
  return usage;
}

std::optional<MachineMemory> read_machine_memory() {
  char buffer[4096];
  if (read_small("/proc/meminfo", buffer, sizeof buffer) <= 0) return std::nullopt;
  MachineMemory m;
  auto value_of = [&](const char* key) -> std::optional<uint64_t> {
    const char* at = std::strstr(buffer, key);
    if (at == nullptr) return std::nullopt;
    at += std::strlen(key);
    while (*at == ' ') ++at;
    uint64_t kib = 0;
    if (std::from_chars(at, at + std::strlen(at), kib).ec != std::errc()) return std::nullopt;
    return kib * 1024;
  };
  auto total = value_of("MemTotal:");
  auto available = value_of("MemAvailable:");
  if (!total || !available) return std::nullopt;
  m.total_bytes = *total;
  m.available_bytes = *available;
  return m;
}

double cpu_percent(double cpu_seconds_before, double cpu_seconds_now, double wall_seconds) {
  if (wall_seconds <= 0) return 0;
  const double used = cpu_seconds_now - cpu_seconds_before;
  return used <= 0 ? 0 : used / wall_seconds * 100.0;
}

}  // namespace corral::supervisor
