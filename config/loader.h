// Turns a TOML file, and/or the `corral run` flags, into a validated Config.
// Errors name the file, line and column, and suggest a known key when an
// unknown one is close to it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace corral::config {

// Values given on the command line; they override or replace the file's.
struct Overrides {
  std::optional<std::string> workers;  // "N" or "auto"
  std::vector<std::string> listen;     // "[NAME=]ADDR", repeated
  std::optional<std::string> name;
  std::vector<std::string> command;  // after `--`; replaces file's
};

// Parses TOML text; `source` names it in error messages and becomes
// Config::source. Keys the design lists but this version does not implement
// are refused, never ignored. [worker] user and group must exist here, and
// be corral's own unless it runs as root. All problems are reported at once,
// one per line, in file order: "web.toml:12:3: unknown key 'drain_timout'
// in [worker]; did you mean 'drain_timeout'?".
Result<Config> load_toml(const std::string& text, const std::string& source);
// Reads `path` and parses it; "cannot read web.toml: No such file or
// directory" when it cannot.
Result<Config> load_file(const std::string& path);

// Applies flags on top of `base` (a file's config, or defaults) and validates
// the result: a command is required, socket names and addresses unique,
// placeholders in the command and env values refer to known sockets (and
// {port:NAME} to a TCP one). `--listen NAME=ADDR` replaces the address of a
// socket of that name and appends a new one otherwise; no NAME means "http".
Result<Config> apply_overrides(Config base, const Overrides& flags);

// Checks that run before anything starts: the worker's cwd is a directory
// and the command resolves, as the launcher resolves it, to an executable
// regular file: a name with a '/' relative to worker.cwd (or corral's cwd),
// any other name through PATH (corral's own; /usr/local/bin:/usr/bin:/bin
// when unset). Errors: "command 'nosuchbin' not found in PATH",
// "command './x' is not executable (Permission denied)". Each [[hook]]
// command is checked the same way (relative to corral's cwd, where hooks
// run): "[[hook]] command 'alert' not found in PATH".
Status check_command(const Config& config);
// The same with an explicit search path instead of $PATH.
Status check_command(const Config& config, std::string_view search_path);

// The effective configuration as TOML, every default written out, for
// `corral check`. load_toml reads it back to an equal Config (given the same
// source name).
std::string to_toml(const Config& config);

}  // namespace corral::config
