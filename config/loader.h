// Turns a TOML file, and/or the `corral run` flags, into a validated Config.
// Errors name the file, line and column, and suggest a known key when an
// unknown one is close to it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace corral::config {

// Values given on the command line; they override or replace the file's.
struct Overrides {
  std::optional<std::string> workers;          // "N" or "auto"
  std::vector<std::string> listen;             // "[NAME=]ADDR", repeated
  std::optional<std::string> name;
  std::vector<std::string> command;            // after `--`; replaces file's
};

// Parses TOML text; `source` names it in error messages.
Result<Config> load_toml(const std::string& text, const std::string& source);
Result<Config> load_file(const std::string& path);

// Applies flags on top of `base` (a file's config, or defaults) and validates
// the result: a command is required, socket names unique, placeholders refer
// to known sockets.
Result<Config> apply_overrides(Config base, const Overrides& flags);

// Checks that run before anything starts: the command resolves (PATH lookup
// as execvp does, relative to cwd) to an executable file.
Status check_command(const Config& config);

// The effective configuration as TOML, for `corral check`.
std::string to_toml(const Config& config);

}  // namespace corral::config
