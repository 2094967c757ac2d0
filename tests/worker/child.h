// Runs test code in a forked child: the C API's attachment is once per
// process, so each scenario gets a fresh process. The child reports
// failures on stderr and through its exit status.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#define CHILD_CHECK(cond)                                                           \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      _exit(1);                                                                     \
    }                                                                               \
  } while (0)

namespace corral::worker::testing {

// Forks, runs `body` in the child and _exits with its result (0 = pass).
inline pid_t start_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) _exit(body());
  return pid;
}

inline int wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline int run_in_child(const std::function<int()>& body) { return wait_child(start_child(body)); }

}  // namespace corral::worker::testing
