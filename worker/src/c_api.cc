// The C API: each function forwards to the process's one WorkerLink.
//
// That link is the library's only global mutable state, and has to be: the C
// API has no handle for a caller to keep (a worker calls corral_heartbeat()
// from wherever it is), and a process has exactly one slot. It is a
// function-local static, so C++ initialises it once, thread-safely, on the
// first call of any function; afterwards reaching it costs one acquire load
// of the guard. It is never destroyed: threads may still heartbeat while the
// process exits, and the mapping must outlive them (the kernel unmaps it).
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "corral/worker.h"
#include "ipc/monotonic_clock.h"
#include "worker/src/listen_fds.h"
#include "worker/src/worker_link.h"

namespace corral::worker {
namespace {

// Holds a T whose destructor never runs.
template <typename T>
union NoDestructor {
  template <typename... Args>
  explicit NoDestructor(Args&&... args) : value(std::forward<Args>(args)...) {}
  ~NoDestructor() {}
  T value;
};

WorkerLink& link() noexcept {
  static NoDestructor<WorkerLink> instance(WorkerLink::from_environment());
  return instance.value;
}

}  // namespace
}  // namespace corral::worker

using corral::worker::link;

extern "C" {

int corral_attach(void) { return link().status(); }

const char* corral_attach_message(void) { return link().message().c_str(); }

const char* corral_strerror(int code) {
  switch (code) {
    case CORRAL_OK:
      return "ok";
    case CORRAL_NOT_SUPERVISED:
      return "not supervised by corral (CORRAL_SHM unset)";
    case CORRAL_E_ENV:
      return "malformed CORRAL_SHM, CORRAL_SLOT or CORRAL_WORKER_ID";
    case CORRAL_E_OPEN:
      return "cannot open corral's shared memory segment";
    case CORRAL_E_LAYOUT:
      return "corral's shared memory has another layout (corral and libcorral-worker differ)";
    case CORRAL_E_SLOT:
      return "worker slot out of range, not prepared, or taken by another process";
    case CORRAL_E_STATE:
      return "state change backwards";
    case CORRAL_E_NOENT:
      return "no such listening socket or variable";
    case CORRAL_E_LISTEN_PID:
      return "LISTEN_PID names another process";
    case CORRAL_E_INVAL:
      return "invalid argument or malformed LISTEN_FDS/LISTEN_FDNAMES";
    default:
      return "unknown corral_result code";
  }
}

int corral_ready(void) { return link().ready(); }
int corral_draining(void) { return link().draining(); }
int corral_stopped(void) { return link().stopped(); }
int corral_heartbeat(void) { return link().heartbeat(); }
int corral_drain_requested(void) { return link().drain_requested() ? 1 : 0; }

int corral_publish(uint64_t requests_total, uint64_t in_flight) {
  return link().publish(requests_total, in_flight);
}
int corral_request_started(void) { return link().request_started(); }
int corral_request_finished(void) { return link().request_finished(); }

int corral_supervisor_alive(void) {
  return link().supervisor_alive(corral::ipc::monotonic_now_ns()) ? 1 : 0;
}

int corral_listen_fd(const char* name) {
  if (name == nullptr) return CORRAL_E_INVAL;
  int fd = corral::worker::find_listen_fd(corral::worker::listen_env_from_environment(), ::getpid(),
                                          name);
  // A socket the program already closed is as good as absent.
  if (fd >= 0 && ::fcntl(fd, F_GETFD) == -1) return CORRAL_E_NOENT;
  return fd;
}

int corral_worker_id(void) {
  const char* text = std::getenv("CORRAL_WORKER_ID");
  if (text == nullptr) return CORRAL_E_NOENT;
  int id = -1;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, id);
  if (*text == '\0' || ec != std::errc() || ptr != end || id < 0) return CORRAL_E_ENV;
  return id;
}

}  // extern "C"
