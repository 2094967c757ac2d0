// The socket-activation variables (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES),
// as corral and systemd both set them, read as a pure function so tests
// need not change the environment.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace corral::worker {

struct ListenEnv {
  const char* listen_pid = nullptr;  // nullptr = unset
  const char* listen_fds = nullptr;
  const char* listen_fdnames = nullptr;
};

ListenEnv listen_env_from_environment();

// The fd number of the socket called `name` (3 + its index), or a negative
// corral_result: CORRAL_E_NOENT (no sockets, or none of that name),
// CORRAL_E_LISTEN_PID (meant for another process), CORRAL_E_INVAL
// (malformed, or names and count disagree). Does not check the fd is open.
int find_listen_fd(const ListenEnv& env, pid_t self, std::string_view name);

}  // namespace corral::worker
