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

int run_command(const RunOptions& options);
int check_command(const std::string& file);

}  // namespace corral::cli
