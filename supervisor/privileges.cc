#include "supervisor/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

std::string base_dir() {
  struct stat st {};
  return ::stat("/run", &st) == 0 && S_ISDIR(st.st_mode) ? "/run" : "/tmp";
}

// Removes `dir`'s entries (a socket) and the directory itself.
void remove_dir(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name != "." && name != "..") ::unlink((dir + "/" + std::string(name)).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

// Directories "corral-NAME.PID" of corrals that died without cleaning up
// (SIGKILL). Only those owned by us (root), never a symlink.
void remove_stale_dirs(const std::string& base, const std::string& service) {
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return;
  const std::string prefix = "corral-" + service + ".";
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.substr(0, prefix.size()) != prefix) continue;
    const std::string_view digits = name.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(std::string(digits)));
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    const std::string path = base + "/" + std::string(name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid()) {
      remove_dir(path);
    }
  }
  ::closedir(d);
}

}  // namespace

Status set_privileges(const config::WorkerConfig& worker, LaunchSpec& spec) {
  auto credentials = config::resolve_credentials(worker);
  if (!credentials) return credentials.error();
  if (is_other_identity(*credentials)) spec.credentials = std::move(*credentials);
  spec.umask = worker.umask;
  spec.rlimits = launch_limits(worker);
  spec.no_new_privs = worker.no_new_privs;
  return Ok{};
}

bool is_other_identity(const std::optional<config::Credentials>& c) {
  if (!c) return false;
  if (c->uid != ::geteuid() || c->gid != ::getegid()) return true;
  // Same ids, but root dropping its supplementary groups is a change too.
  return ::geteuid() == 0;
}

Result<WorkerAccess> WorkerAccess::create(const std::string& service, bool separate_dir) {
  WorkerAccess access;
  if (!separate_dir) return access;
  const std::string base = base_dir();
  remove_stale_dirs(base, service);
  const std::string dir = fmt::format("{}/corral-{}.{}", base, service, ::getpid());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{fmt::format("cannot create {}: {}", dir, std::strerror(errno))};
  }
  // Our pid is in the name: one that exists is a leftover of a dead
  // process with our pid, or a trap. Only our own plain directory will do.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    return Error{fmt::format("{} exists and is not a directory of ours", dir)};
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Error{fmt::format("cannot chmod {}: {}", dir, std::strerror(errno))};
  }
  access.dir_ = dir;
  return access;
}

WorkerAccess::WorkerAccess(WorkerAccess&& other) noexcept
    : dir_(std::move(other.dir_)),
      socket_(std::move(other.socket_)),
      shm_(std::move(other.shm_)),
      granted_(std::move(other.granted_)) {
  other.dir_.clear();
}

WorkerAccess::~WorkerAccess() {
  if (!dir_.empty()) remove_dir(dir_);
}

Status WorkerAccess::grant(const config::Credentials& c) {
  if (granted_ && granted_->uid == c.uid && granted_->gid == c.gid) return Ok{};
  std::string problems;
  const auto problem = [&](std::string what) {
    problems += (problems.empty() ? "" : "; ") + what;
  };
  if (!shm_.empty()) {
    // The segment keeps mode 0600: its owner becomes the workers' user.
    UniqueFd fd(::shm_open(shm_.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0));
    if (!fd || ::fchown(fd.get(), c.uid, c.gid) != 0) {
      problem(fmt::format("the shared memory {} ({})", shm_, std::strerror(errno)));
    }
  }
  if (!socket_.empty()) {
    if (dir_.empty()) {
      problem(fmt::format("NOTIFY_SOCKET {}: it is in corral's private directory because the "
                          "configuration corral started with kept workers as corral's user; "
                          "restart corral to change that",
                          socket_));
    } else if (::chown(dir_.c_str(), ::geteuid(), c.gid) != 0 || ::chmod(dir_.c_str(), 0710) != 0 ||
               ::chown(socket_.c_str(), ::geteuid(), c.gid) != 0 ||
               ::chmod(socket_.c_str(), 0620) != 0) {
      problem(fmt::format("NOTIFY_SOCKET {} ({})", socket_, std::strerror(errno)));
    }
  }
  if (!problems.empty()) {
    return Error{fmt::format("workers running as uid {} gid {} cannot reach {}", c.uid, c.gid,
                             problems)};
  }
  granted_ = c;
  return Ok{};
}

}  // namespace corral::supervisor
