// What a worker running as another user ([worker] user/group) still needs
// from corral, and the launch settings of [worker] privileges.
//
// corral creates the shared-memory segment (mode 0600) and the
// NOTIFY_SOCKET as itself. A worker dropped to another user can reach
// neither, so before each launch with new credentials corral grants that
// user, and no other, access:
// - the segment is chowned to the worker's uid (mode stays 0600; corral,
//   being root, keeps its access);
// - the notify socket lives in its own directory, /run/corral-NAME.PID
//   (mode 0710, group = the worker's gid; the socket 0620, same group),
//   because corral's private runtime directory is 0700 and must stay so for
//   the admin socket. Only the worker's group (and root) can traverse it;
//   datagrams are still attributed by the kernel-reported sender pid.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "config/config.h"
#include "config/privileges.h"
#include "supervisor/process_launcher.h"

namespace corral::supervisor {

// Fills spec's credentials (left empty when they are corral's own),
// umask, rlimits and no_new_privs from the configuration. Resolves user and
// group names here, in the parent.
Status set_privileges(const config::WorkerConfig& worker, LaunchSpec& spec);

// True when a worker with `c` runs as another uid or gid than corral.
bool is_other_identity(const std::optional<config::Credentials>& c);

class WorkerAccess {
 public:
  // With `separate_dir` (corral is root and the configuration drops
  // privileges), creates /run/corral-NAME.PID (or under /tmp without /run)
  // for the notify socket, after removing such directories of dead corrals.
  static Result<WorkerAccess> create(const std::string& service, bool separate_dir);
  WorkerAccess(WorkerAccess&&) noexcept;
  WorkerAccess& operator=(WorkerAccess&&) = delete;
  WorkerAccess(const WorkerAccess&) = delete;
  ~WorkerAccess();  // removes the directory (the socket's owner removes the socket)

  // Empty without a separate directory: the notify socket goes in corral's
  // private runtime directory.
  const std::string& notify_dir() const { return dir_; }
  void set_notify_socket(std::string path) { socket_ = std::move(path); }
  void set_shm(std::string name) { shm_ = std::move(name); }

  // Lets a worker with `c` reach the segment and the notify socket; a no-op
  // when it already can. The error says what it will not reach.
  Status grant(const config::Credentials& c);

 private:
  WorkerAccess() = default;
  std::string dir_;
  std::string socket_;
  std::string shm_;
  std::optional<config::Credentials> granted_;
};

}  // namespace corral::supervisor
