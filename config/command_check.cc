// check_command: refuse, before anything starts, a command that exec would
// refuse in every worker. It resolves the program the way the launcher
// does (supervisor/process_launcher.cc): a name with a '/' relative to the
// worker's cwd, any other name through corral's own PATH.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "config/loader.h"

namespace corral::config {
namespace {

// The launcher's fallback when PATH is unset.
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// 0 if `path` is an executable regular file, else the errno exec would give
// (EISDIR and EACCES for other non-regular files, as the kernel does).
int executable_error(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

Status check_directory(const std::string& cwd) {
  struct stat st {};
  if (::stat(cwd.c_str(), &st) != 0) {
    return Error{fmt::format("[worker] cwd '{}' cannot be used: {}", cwd, std::strerror(errno))};
  }
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("[worker] cwd '{}' is not a directory", cwd)};
  return Ok{};
}

// `program` as the launcher resolves it: with a '/', relative to `cwd` (or
// corral's cwd); otherwise through `search_path`. `what` prefixes messages.
Status check_program(const std::string& program, const std::string& cwd,
                     std::string_view search_path, std::string_view what) {
  if (program.find('/') != std::string::npos) {
    const bool relative = program[0] != '/';
    const std::string path = relative && !cwd.empty() ? cwd + "/" + program : program;
    const int error = executable_error(path);
    if (error == 0) return Ok{};
    const std::string in_cwd =
        relative && !cwd.empty() ? fmt::format(" in cwd '{}'", cwd) : std::string();
    if (error == ENOENT || error == ENOTDIR) {
      return Error{fmt::format("{}command '{}' not found{} ({})", what, program, in_cwd,
                               std::strerror(error))};
    }
    return Error{fmt::format("{}command '{}'{} is not executable ({})", what, program, in_cwd,
                             std::strerror(error))};
  }

  // As execvp: the first executable match wins; if there is none, a match
  // that exec would refuse is worth naming rather than "not found".
  std::string refused;
  int refused_error = 0;
  size_t start = 0;
  while (start <= search_path.size()) {
    size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    // An empty PATH entry means the current directory.
    const std::string_view dir = end > start ? search_path.substr(start, end - start) : ".";
    const std::string candidate = fmt::format("{}/{}", dir, program);
    const int error = executable_error(candidate);
    if (error == 0) return Ok{};
    if (error != ENOENT && error != ENOTDIR && refused.empty()) {
      refused = candidate;
      refused_error = error;
    }
    start = end + 1;
  }
  if (!refused.empty()) {
    return Error{fmt::format("{}command '{}' found in PATH as {}, which is not executable ({})",
                             what, program, refused, std::strerror(refused_error))};
  }
  return Error{fmt::format("{}command '{}' not found in PATH", what, program)};
}

}  // namespace

Status check_command(const Config& config) {
  const char* path_env = std::getenv("PATH");
  return check_command(config, path_env != nullptr ? path_env : kDefaultPath);
}

Status check_command(const Config& config, std::string_view search_path) {
  const WorkerConfig& w = config.worker;
  if (w.command.empty() || w.command[0].empty()) return Error{"no command to run"};
  if (!w.cwd.empty()) {
    if (auto ok = check_directory(w.cwd); !ok) return ok;
  }
  if (auto ok = check_program(w.command[0], w.cwd, search_path, ""); !ok) return ok;
  for (const HookConfig& hook : config.hooks) {
    if (hook.command.empty() || hook.command[0].empty()) return Error{"[[hook]] has no command"};
    if (auto ok = check_program(hook.command[0], "", search_path, "[[hook]] "); !ok) return ok;
  }
  return Ok{};
}

}  // namespace corral::config
