#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/logging.h"
#include "config/loader.h"
#include "supervisor/descriptor_limit.h"
#include "supervisor/listen_sockets.h"
#include "supervisor/socket_activation.h"
#include "supervisor/supervisor.h"

namespace corral::cli {
namespace {

// The file (if any) with the command-line flags on top, validated: at
// startup, and again for each reload.
Result<config::Config> effective_config(const RunOptions& options) {
  config::Config base;
  if (options.config_file) {
    auto loaded = config::load_file(*options.config_file);
    if (!loaded) return loaded.error();
    base = std::move(*loaded);
  }
  config::Overrides flags;
  flags.workers = options.workers;
  flags.listen = options.listen;
  flags.name = options.name;
  flags.command = options.command;
  auto config = config::apply_overrides(std::move(base), flags);
  if (!config) return config.error();
  if (auto ok = config::check_command(*config); !ok) return ok.error();
  return config;
}

}  // namespace

int run_command(const RunOptions& options) {
  auto log_settings = parse_log_options(options.log);
  if (!log_settings) {
    fmt::print(stderr, "corral: {}\n", log_settings.error().message);
    return kExitUsage;
  }
  auto log = make_logger("corral", *log_settings);
  if (!log) {
    fmt::print(stderr, "corral: {}\n", log.error().message);
    return kExitFailure;
  }
  auto config = effective_config(options);
  if (!config) {
    fmt::print(stderr, "corral: {}\n", config.error().message);
    return kExitConfig;
  }

  // Sockets systemd passed (socket activation); the variables are gone from
  // corral's environment from here on.
  auto inherited = supervisor::take_inherited_sockets();
  if (!inherited) {
    (*log)->error("{}", inherited.error().message);
    return kExitFailure;
  }
  const int workers = supervisor::configured_worker_count(*config);
  auto sockets = supervisor::ListenSockets::bind_all(config->sockets, workers, *inherited);
  if (!sockets) {
    (*log)->error("{}", sockets.error().message);
    return kExitFailure;
  }
  for (const auto& warning : sockets->warnings()) (*log)->warn("{}", warning);
  const auto nofile = supervisor::raise_descriptor_limit();
  if (nofile) {
    (*log)->debug("descriptor limit raised from {} to {}; workers get {} back",
                  nofile->started_with.rlim_cur, nofile->now.rlim_cur, nofile->started_with.rlim_cur);
  }
  supervisor::Supervisor supervisor(std::move(*config), std::move(*sockets), workers, *log);
  if (nofile) supervisor.set_worker_nofile(nofile->started_with);
  supervisor.set_config_source([options] { return effective_config(options); });
  return supervisor.run();
}

}  // namespace corral::cli
