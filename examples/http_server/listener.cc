#include "listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace example {
namespace {

using corral::Error;
using corral::Result;
using corral::UniqueFd;

std::string with_errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Describes a bound socket for the start-up line; sets *port for TCP.
std::string describe_socket(int fd, int* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  *port = -1;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "";
  switch (ss.ss_family) {
    case AF_INET: {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
      *port = ntohs(in->sin_port);
      return std::string(host) + ":" + std::to_string(*port);
    }
    case AF_INET6: {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      *port = ntohs(in6->sin6_port);
      // Appended piece by piece: GCC 12 at -O3 mistakes "[" + std::string
      // for an overlapping memcpy (-Wrestrict).
      std::string text = "[";
      text.append(host).append("]:").append(std::to_string(*port));
      return text;
    }
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
      size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
      if (n > 0 && un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, n - 1);
      return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    default:
      return "family " + std::to_string(ss.ss_family);
  }
}

// Takes ownership of an inherited fd after checking it is a listening stream
// socket. It becomes close-on-exec and non-blocking. O_NONBLOCK lands on the
// open file description that the supervisor and sibling workers share; every
// event-driven server (libuv, nginx, gunicorn) does the same, and it is what
// lets a worker that lost the race for a connection get EAGAIN, not block.
Result<Listener> adopt_fd(int fd, const std::string& origin) {
  struct stat st{};
  if (fstat(fd, &st) != 0) return Error{with_errno(origin + ": fd " + std::to_string(fd))};
  if (!S_ISSOCK(st.st_mode)) return Error{origin + ": fd " + std::to_string(fd) + " is not a socket"};
  int accepting = 0;
  socklen_t optlen = sizeof accepting;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &optlen) != 0 || !accepting) {
    return Error{origin + ": fd " + std::to_string(fd) + " is not a listening socket"};
  }
  Listener l;
  l.fd.reset(fd);
  int fd_flags = fcntl(fd, F_GETFD);
  int fl_flags = fcntl(fd, F_GETFL);
  if (fd_flags < 0 || fl_flags < 0 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0 ||
      fcntl(fd, F_SETFL, fl_flags | O_NONBLOCK) != 0) {
    return Error{with_errno(origin + ": fcntl on fd " + std::to_string(fd))};
  }
  l.address = describe_socket(fd, &l.port);
  return l;
}

Result<Listener> bind_port(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Error{"resolving " + host + ": " + gai_strerror(rc)};
  }
  std::string last_error = "no address for " + host;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last_error = with_errno("socket");
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      last_error = with_errno("SO_REUSEPORT");
      continue;
    }
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = with_errno("bind " + host + ":" + service);
      continue;
    }
    if (listen(fd.get(), SOMAXCONN) != 0) {
      last_error = with_errno("listen");
      continue;
    }
    freeaddrinfo(found);
    Listener l;
    l.address = describe_socket(fd.get(), &l.port);
    l.fd = std::move(fd);
    l.bound_here = true;
    return l;
  }
  freeaddrinfo(found);
  return Error{last_error};
}

}  // namespace

Result<Listener> open_listener(const Options& options) {
  if (options.fd) return adopt_fd(*options.fd, "--fd");

  const char* listen_fds = std::getenv("LISTEN_FDS");
  const char* listen_pid = std::getenv("LISTEN_PID");
  if (listen_fds != nullptr && listen_pid != nullptr &&
      std::strtoll(listen_pid, nullptr, 10) == static_cast<long long>(getpid())) {
    if (std::atoi(listen_fds) < 1) return Error{"LISTEN_FDS=" + std::string(listen_fds) + ": no socket"};
    return adopt_fd(3, "LISTEN_FDS");
  }

  if (options.port) return bind_port(options.host, *options.port);
  return Error{"no listening socket: pass --fd N or --port P, or run under socket activation (LISTEN_FDS)"};
}

}  // namespace example
