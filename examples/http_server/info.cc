#include "info.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace example {
namespace {

nlohmann::json env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? nlohmann::json(v) : nlohmann::json(nullptr);
}

// fds 3 .. 3+LISTEN_FDS-1 when the socket-activation variables are ours.
bool is_listen_fd(int fd) {
  const char* n = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  if (n == nullptr || pid == nullptr || std::atoll(pid) != static_cast<long long>(getpid())) return false;
  return fd >= 3 && fd < 3 + std::atoi(n);
}

nlohmann::json role(int fd, const std::map<int, std::string>& own_fds) {
  if (auto it = own_fds.find(fd); it != own_fds.end()) return it->second;
  if (fd <= 2) return "stdio";
  if (is_listen_fd(fd)) return "listen_fds";
  return nullptr;
}

// [{"fd":0,"target":"/dev/null","cloexec":false,"role":"stdio"}, ...] from
// /proc/self/fd, leaving out the descriptor used to list the directory.
nlohmann::json open_fds(const std::map<int, std::string>& own_fds) {
  nlohmann::json fds = nlohmann::json::array();
  int dir_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return fds;
  DIR* dir = fdopendir(dir_fd);  // owns dir_fd from here on
  if (dir == nullptr) {
    close(dir_fd);
    return fds;
  }
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dir_fd) continue;
    char target[4096];
    ssize_t n = readlinkat(dir_fd, e->d_name, target, sizeof target - 1);
    int flags = fcntl(fd, F_GETFD);
    fds.push_back({{"fd", fd},
                   {"target", n >= 0 ? std::string(target, static_cast<size_t>(n)) : std::string("?")},
                   {"cloexec", flags >= 0 && (flags & FD_CLOEXEC) != 0},
                   {"role", role(fd, own_fds)}});
  }
  closedir(dir);
  return fds;
}

}  // namespace

std::string build_info_json(const std::vector<std::string>& argv, int listen_fd,
                          const std::map<int, std::string>& own_fds,
                          const std::optional<SupervisorLink::Status>& corral) {
  nlohmann::json j;
  j["pid"] = getpid();
  j["ppid"] = getppid();
  j["CORRAL_WORKER_ID"] = env_or_null("CORRAL_WORKER_ID");
  j["argv"] = argv;
  j["LISTEN_FDS"] = env_or_null("LISTEN_FDS");
  j["LISTEN_PID"] = env_or_null("LISTEN_PID");
  j["LISTEN_FDNAMES"] = env_or_null("LISTEN_FDNAMES");
  j["CORRAL_SHM"] = env_or_null("CORRAL_SHM");
  j["CORRAL_SLOT"] = env_or_null("CORRAL_SLOT");
  j["NOTIFY_SOCKET"] = env_or_null("NOTIFY_SOCKET");
  j["WATCHDOG_USEC"] = env_or_null("WATCHDOG_USEC");
  j["listen_fd"] = listen_fd >= 0 ? nlohmann::json(listen_fd) : nlohmann::json(nullptr);
  j["fds"] = open_fds(own_fds);
  j["corral"] = corral ? nlohmann::json{{"supervisor_alive", corral->supervisor_alive},
                                        {"drain_requested", corral->drain_requested}}
                       : nlohmann::json(nullptr);
  // Replace rather than throw on bytes that are not UTF-8 (argv, link targets).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace example
