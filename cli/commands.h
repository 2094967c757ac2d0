// The sub-commands of the `corral` binary. Each returns the exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/logging.h"

namespace corral::cli {

struct RunOptions {
  std::optional<std::string> config_file;
  std::optional<std::string> workers;
  std::vector<std::string> listen;
  std::optional<std::string> name;
  LogOptions log;  // --log-level, --log-format, --log-file, --log-max-size, --log-max-files
  std::vector<std::string> command;
};

// How a client command finds the supervisor.
struct ClientOptions {
  std::string name = "corral";
  std::string socket;  // overrides the path derived from the name
};

int run_command(const RunOptions& options);
int status_command(const ClientOptions& options, bool json);
int stop_command(const ClientOptions& options);
int check_command(const std::string& file);

// `corral scale N|+K|-K|auto`; `target` as typed, validated here.
int scale_command(const ClientOptions& options, const std::string& target, bool json);
// `corral reload` and `corral restart ID`: wait for the rolling replacement
// to finish, up to `timeout` (a duration, "10m" when empty).
int reload_command(const ClientOptions& options, const std::string& timeout, bool json);
int restart_command(const ClientOptions& options, const std::string& id, const std::string& timeout,
                    bool json);
// `corral top`: a live view until q, Ctrl-C or the supervisor goes away.
int top_command(const ClientOptions& options, const std::string& interval);

}  // namespace corral::cli
