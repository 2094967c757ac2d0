#include <sched.h>

#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/logging.h"
#include "config/loader.h"
#include "supervisor/listen_sockets.h"
#include "supervisor/supervisor.h"

namespace corral::cli {
namespace {

// CPUs this process may run on (respects taskset and cpusets), not merely
// the machine's count.
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

}  // namespace

int run_command(const RunOptions& options) {
  auto log = make_logger("corral", options.log_level);
  if (!log) {
    fmt::print(stderr, "corral: {}\n", log.error().message);
    return kExitUsage;
  }

  config::Config base;
  if (options.config_file) {
    auto loaded = config::load_file(*options.config_file);
    if (!loaded) {
      fmt::print(stderr, "corral: {}\n", loaded.error().message);
      return kExitConfig;
    }
    base = std::move(*loaded);
  }
  config::Overrides flags;
  flags.workers = options.workers;
  flags.listen = options.listen;
  flags.name = options.name;
  flags.command = options.command;
  auto config = config::apply_overrides(std::move(base), flags);
  if (!config) {
    fmt::print(stderr, "corral: {}\n", config.error().message);
    return kExitConfig;
  }
  if (auto ok = config::check_command(*config); !ok) {
    fmt::print(stderr, "corral: {}\n", ok.error().message);
    return kExitConfig;
  }

  const int workers = config->worker.count.value_or(usable_cpus());
  auto sockets = supervisor::ListenSockets::bind_all(config->sockets, workers);
  if (!sockets) {
    (*log)->error("{}", sockets.error().message);
    return kExitFailure;
  }
  supervisor::Supervisor supervisor(std::move(*config), std::move(*sockets), workers, *log);
  return supervisor.run();
}

}  // namespace corral::cli
