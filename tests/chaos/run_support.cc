#include "run_support.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace corral::testing {

int64_t env_int(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long long n = std::strtoll(value, &end, 10);
  return *end == '\0' ? n : fallback;
}

void publish(const std::string& tag, const char* path_var, const nlohmann::json& figures) {
  std::printf("%s: %s\n", tag.c_str(), figures.dump().c_str());
  std::fflush(stdout);
  const char* path = std::getenv(path_var);
  if (path != nullptr && *path != '\0') std::ofstream(path) << figures.dump(1) << "\n";
}

void print_log_tail(const Process& process, size_t n) {
  const auto& lines = process.lines();
  std::printf("--- the last %zu of corral's %zu log lines ---\n", std::min(n, lines.size()),
              lines.size());
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    std::printf("%s\n", lines[i].c_str());
  }
  std::fflush(stdout);
}

OutputDrain::OutputDrain(Process& process)
    : thread_([this, &process] {
        while (!stop_.load()) {
          // A pattern that matches no line: read, keep, wait again.
          if (!process.wait_for_line("(?!)", 100ms) && !pid_alive(process.pid())) break;
        }
      }) {}

OutputDrain::~OutputDrain() {
  stop_.store(true);
  thread_.join();
}

}  // namespace corral::testing
