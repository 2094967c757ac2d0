// The sub-commands of the `corral` binary. Each returns the exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace corral::cli {

struct RunOptions {
  std::optional<std::string> config_file;
  std::optional<std::string> workers;
  std::vector<std::string> listen;
  std::optional<std::string> name;
  std::string log_level = "info";
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

}  // namespace corral::cli
