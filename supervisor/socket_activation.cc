#include "supervisor/socket_activation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace corral::supervisor {
namespace {

// The first fd systemd passes (SD_LISTEN_FDS_START).
constexpr int kFirstFd = 3;
// More sockets than any service declares; guards the fd arithmetic.
constexpr long kMaxFds = 1024;

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<std::string> env(const char* key) {
  const char* value = std::getenv(key);
  return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
}

int int_option(int fd, int option, bool* ok) {
  int value = 0;
  socklen_t len = sizeof value;
  *ok = ::getsockopt(fd, SOL_SOCKET, option, &value, &len) == 0;
  return value;
}

}  // namespace

Result<std::vector<InheritedSocket>> parse_listen_env(const std::optional<std::string>& listen_pid,
                                                      const std::optional<std::string>& listen_fds,
                                                      const std::optional<std::string>& fdnames,
                                                      pid_t self) {
  std::vector<InheritedSocket> sockets;
  if (!listen_pid) return sockets;
  const auto pid = parse_number<long>(*listen_pid);
  if (!pid) return Error{fmt::format("systemd's LISTEN_PID is not a pid: '{}'", *listen_pid)};
  if (*pid != self) return sockets;  // for another process (an exec'ing wrapper's)
  if (!listen_fds) return sockets;
  const auto count = parse_number<long>(*listen_fds);
  if (!count || *count < 0 || *count > kMaxFds) {
    return Error{fmt::format("systemd's LISTEN_FDS is not a socket count: '{}'", *listen_fds)};
  }
  if (*count == 0) return sockets;
  std::vector<std::string> names;
  if (fdnames) {
    names = split(*fdnames, ':');
    if (static_cast<long>(names.size()) != *count) {
      return Error{
          fmt::format("systemd's LISTEN_FDNAMES '{}' names {} socket{}, LISTEN_FDS says {}",
                      *fdnames, names.size(), names.size() == 1 ? "" : "s", *count)};
    }
  } else {
    names.assign(static_cast<size_t>(*count), "unknown");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const int fd = kFirstFd + static_cast<int>(i);
    if (names[i].empty()) {
      return Error{fmt::format("systemd's LISTEN_FDNAMES '{}' has an empty name (fd {})",
                               fdnames.value_or(""), fd)};
    }
    sockets.push_back({fd, names[i]});
  }
  return sockets;
}

Result<std::vector<InheritedSocket>> take_inherited_sockets() {
  auto sockets =
      parse_listen_env(env("LISTEN_PID"), env("LISTEN_FDS"), env("LISTEN_FDNAMES"), ::getpid());
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!sockets) return sockets;
  for (const auto& s : *sockets) {
    const int flags = ::fcntl(s.fd, F_GETFD);
    if (flags < 0 || ::fcntl(s.fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
      return Error{
          fmt::format("socket '{}' from systemd (fd {}): {}", s.name, s.fd, std::strerror(errno))};
    }
  }
  return sockets;
}

Result<config::Address> inspect_listening_socket(int fd, const std::string& name) {
  const auto fail = [&](const std::string& why) {
    return Error{fmt::format("socket '{}' from systemd (fd {}) {}", name, fd, why)};
  };
  bool ok = false;
  const int type = int_option(fd, SO_TYPE, &ok);
  if (!ok) return fail(fmt::format("is not a socket: {}", std::strerror(errno)));
  if (type != SOCK_STREAM) return fail("is not a stream socket (use ListenStream=)");
  const int accepting = int_option(fd, SO_ACCEPTCONN, &ok);
  if (!ok || accepting == 0) return fail("is not listening");
  const int domain = int_option(fd, SO_DOMAIN, &ok);

  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return fail(fmt::format("has no address: {}", std::strerror(errno)));
  }
  config::Address address;
  char host[INET6_ADDRSTRLEN] = {};
  if (domain == AF_INET && storage.ss_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(&storage);
    address.kind = config::Address::Kind::kTcp4;
    ::inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
    address.host = host;
    address.port = ntohs(in4->sin_port);
  } else if (domain == AF_INET6 && storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    address.kind = config::Address::Kind::kTcp6;
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    address.host = host;
    address.port = ntohs(in6->sin6_port);
  } else if (domain == AF_UNIX && storage.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
    address.kind = config::Address::Kind::kUnix;
    address.host.clear();
    const size_t path_len = len > offsetof(sockaddr_un, sun_path)
                                ? static_cast<size_t>(len) - offsetof(sockaddr_un, sun_path)
                                : 0;
    if (path_len > 0 && un->sun_path[0] == '\0') {
      address.path = "@" + std::string(un->sun_path + 1, path_len - 1);
    } else {
      address.path = std::string(un->sun_path, strnlen(un->sun_path, path_len));
    }
  } else {
    return fail(fmt::format("has address family {}; corral serves TCP and unix sockets", domain));
  }
  return address;
}

Status check_inherited_names(const std::vector<InheritedSocket>& inherited,
                             const std::vector<std::string>& declared) {
  std::vector<std::string> unknown;
  for (const auto& s : inherited) {
    bool found = false;
    for (const auto& name : declared) found = found || name == s.name;
    if (!found) unknown.push_back(fmt::format("'{}' (fd {})", s.name, s.fd));
  }
  if (unknown.empty()) {
    for (size_t i = 0; i < inherited.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (inherited[j].name == inherited[i].name) {
          return Error{fmt::format(
              "systemd passed two sockets named '{}' (fds {} and {}); give each its own "
              "FileDescriptorName= (one .socket unit per name)",
              inherited[i].name, inherited[j].fd, inherited[i].fd)};
        }
      }
    }
    return Ok{};
  }
  std::vector<std::string> passed;
  for (const auto& s : inherited) passed.push_back(s.name);
  return Error{fmt::format(
      "systemd passed socket{} {} that the configuration does not declare (systemd passed: {}; "
      "[[socket]] names: {}); name each socket in the .socket unit with FileDescriptorName= "
      "after a [[socket]] name",
      unknown.size() == 1 ? "" : "s", fmt::join(unknown, ", "), fmt::join(passed, ", "),
      declared.empty() ? std::string("none") : fmt::format("{}", fmt::join(declared, ", ")))};
}

bool address_differs(const config::Address& configured, const config::Address& actual) {
  if (configured.kind != actual.kind) return true;
  if (configured.kind == config::Address::Kind::kUnix) return configured.path != actual.path;
  if (configured.host != actual.host) return true;
  return configured.port != 0 && configured.port != actual.port;
}

}  // namespace corral::supervisor
