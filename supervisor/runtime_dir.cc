#include "supervisor/runtime_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace corral::supervisor {

std::string default_runtime_dir(const std::string& xdg_runtime_dir, unsigned uid) {
  if (!xdg_runtime_dir.empty()) return xdg_runtime_dir + "/corral";
  if (uid == 0) return "/run/corral";
  return fmt::format("/tmp/corral-{}", uid);
}

Result<std::string> ensure_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{fmt::format("cannot create {}: {}", path, std::strerror(errno))};
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return Error{fmt::format("cannot inspect {}: {}", path, std::strerror(errno))};
  }
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("{} is not a directory", path)};
  if (st.st_uid != ::geteuid()) {
    return Error{fmt::format("{} belongs to uid {}, not to us (uid {})", path, st.st_uid, ::geteuid())};
  }
  if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), 0700) != 0) {
    return Error{fmt::format("cannot make {} private: {}", path, std::strerror(errno))};
  }
  return path;
}

}  // namespace corral::supervisor
