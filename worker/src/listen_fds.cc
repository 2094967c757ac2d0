#include "worker/src/listen_fds.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "corral/worker.h"

namespace corral::worker {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START
// More sockets than any configuration has; keeps the walk below bounded.
constexpr long kMaxFds = 4096;

bool parse_long(const char* text, long& out) {
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, out);
  return *text != '\0' && ec == std::errc() && ptr == end;
}

}  // namespace

ListenEnv listen_env_from_environment() {
  return ListenEnv{std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"),
                   std::getenv("LISTEN_FDNAMES")};
}

int find_listen_fd(const ListenEnv& env, pid_t self, std::string_view name) {
  if (env.listen_fds == nullptr || env.listen_pid == nullptr) return CORRAL_E_NOENT;
  long pid = 0;
  long count = 0;
  if (!parse_long(env.listen_pid, pid) || !parse_long(env.listen_fds, count) || count < 0 ||
      count > kMaxFds) {
    return CORRAL_E_INVAL;
  }
  // The variables survive exec into a program the worker started; the
  // sockets, if they were inherited at all, belong to the worker.
  if (pid != self) return CORRAL_E_LISTEN_PID;
  if (count == 0 || env.listen_fdnames == nullptr) return CORRAL_E_NOENT;

  std::string_view names(env.listen_fdnames);
  long index = 0;
  long found = -1;
  for (;;) {
    size_t colon = names.find(':');
    std::string_view entry = names.substr(0, colon);
    if (found < 0 && entry == name) found = index;
    ++index;
    if (colon == std::string_view::npos || index > kMaxFds) break;
    names.remove_prefix(colon + 1);
  }
  if (index != count) return CORRAL_E_INVAL;
  if (found < 0) return CORRAL_E_NOENT;
  return kFirstFd + static_cast<int>(found);
}

}  // namespace corral::worker
