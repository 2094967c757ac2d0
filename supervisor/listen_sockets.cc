#include "supervisor/listen_sockets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace corral::supervisor {
namespace {

using config::Address;

std::string sys_error(const std::string& what, const Address& address) {
  return fmt::format("cannot {} {}: {}", what, address.to_string(), std::strerror(errno));
}

// A unix socket file left by a dead process refuses connections; one of a
// live process accepts them. Only the former may be replaced.
bool unix_path_in_use(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

Result<UniqueFd> bind_one(const config::SocketConfig& sc, uint16_t port, bool reuseport,
                          bool* created_path) {
  const Address& a = sc.listen;
  if (a.kind == Address::Kind::kUnix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (a.path.size() >= sizeof addr.sun_path) {
      return Error{fmt::format("unix socket path too long: {}", a.path)};
    }
    std::memcpy(addr.sun_path, a.path.c_str(), a.path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error{sys_error("create a socket for", a)};
    struct stat st {};
    if (::lstat(a.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return Error{
            fmt::format("cannot listen on {}: the path exists and is not a socket", a.to_string())};
      }
      if (unix_path_in_use(addr)) {
        return Error{
            fmt::format("cannot listen on {}: another process is listening there", a.to_string())};
      }
      ::unlink(a.path.c_str());
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return Error{sys_error("bind", a)};
    }
    *created_path = true;
    if (::listen(fd.get(), sc.backlog) != 0) return Error{sys_error("listen on", a)};
    return fd;
  }

  const bool v6 = a.kind == Address::Kind::kTcp6;
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error{sys_error("create a socket for", a)};
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    ::inet_pton(AF_INET6, a.host.c_str(), &in6->sin6_addr);
    // "[::]:80" should not silently also take IPv4's port 80.
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    len = sizeof *in6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    ::inet_pton(AF_INET, a.host.c_str(), &in4->sin_addr);
    len = sizeof *in4;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    return Error{sys_error("bind", a)};
  }
  if (::listen(fd.get(), sc.backlog) != 0) return Error{sys_error("listen on", a)};
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return 0;
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  }
  return 0;
}

// What the socket `fd` systemd passed for `sc` is bound to, once checked
// that it can stand in for the configured one.
Result<Address> check_inherited(const config::SocketConfig& sc, int fd,
                                std::vector<std::string>& warnings) {
  auto actual = inspect_listening_socket(fd, sc.name);
  if (!actual) return actual.error();
  const bool want_unix = sc.listen.kind == Address::Kind::kUnix;
  if (want_unix != (actual->kind == Address::Kind::kUnix)) {
    return Error{fmt::format(
        "socket '{}': systemd passed {} (fd {}), but the configuration listens on {}; make the "
        ".socket unit's Listen setting and [[socket]] listen the same kind (TCP or unix)",
        sc.name, actual->to_string(), fd, sc.listen.to_string())};
  }
  if (address_differs(sc.listen, *actual)) {
    warnings.push_back(
        fmt::format("socket '{}': systemd passed {}, the configuration says {}; serving systemd's",
                    sc.name, actual->to_string(), sc.listen.to_string()));
  }
  if (sc.mode == config::SocketMode::kReuseport) {
    warnings.push_back(fmt::format(
        "socket '{}': mode \"reuseport\" needs one socket per worker, systemd passed one: every "
        "worker shares it (to get reuseport, let corral bind it: drop it from the .socket unit)",
        sc.name));
  }
  return actual;
}

}  // namespace

Result<ListenSockets> ListenSockets::bind_all(const std::vector<config::SocketConfig>& sockets,
                                              int slots,
                                              const std::vector<InheritedSocket>& inherited) {
  ListenSockets result;
  // Owned from here on, so that a failure closes every one of them.
  std::vector<UniqueFd> inherited_fds;
  for (const auto& s : inherited) inherited_fds.emplace_back(s.fd);
  std::vector<std::string> declared;
  for (const auto& sc : sockets) declared.push_back(sc.name);
  if (auto ok = check_inherited_names(inherited, declared); !ok) return ok.error();

  for (const auto& sc : sockets) {
    Entry entry;
    entry.config = sc;
    size_t from_systemd = inherited.size();
    for (size_t i = 0; i < inherited.size(); ++i) {
      if (inherited[i].name == sc.name) from_systemd = i;
    }
    if (from_systemd < inherited.size()) {
      auto actual = check_inherited(sc, inherited[from_systemd].fd, result.warnings_);
      if (!actual) return actual.error();
      entry.inherited = true;
      entry.inherited_address = *actual;
      entry.port = actual->kind == Address::Kind::kUnix ? 0 : actual->port;
      entry.shared = std::move(inherited_fds[from_systemd]);
      result.names_.push_back(sc.name);
      result.entries_.push_back(std::move(entry));
      continue;
    }
    const bool reuseport = sc.mode == config::SocketMode::kReuseport;
    if (reuseport && sc.listen.kind == Address::Kind::kUnix) {
      return Error{fmt::format("socket '{}': mode \"reuseport\" needs a TCP address, not {}",
                               sc.name, sc.listen.to_string())};
    }
    entry.port = sc.listen.port;
    if (!reuseport) {
      auto fd = bind_one(sc, sc.listen.port, false, &entry.created_unix_path);
      if (!fd) {
        result.entries_.push_back(std::move(entry));  // so its path is removed
        return fd.error();
      }
      entry.port = bound_port(fd->get());
      entry.shared = std::move(*fd);
    }
    result.names_.push_back(sc.name);
    result.entries_.push_back(std::move(entry));
    if (reuseport) {
      for (int slot = 0; slot < slots; ++slot) {
        auto fd = result.ensure_slot_socket(result.entries_.back(), slot);
        if (!fd) return fd.error();
      }
    }
  }
  return result;
}

ListenSockets::~ListenSockets() {
  for (auto& e : entries_) {
    if (e.created_unix_path) ::unlink(e.config.listen.path.c_str());
  }
}

Result<int> ListenSockets::ensure_slot_socket(Entry& entry, int slot) {
  const auto index = static_cast<size_t>(slot);
  if (entry.per_slot.size() <= index) entry.per_slot.resize(index + 1);
  if (entry.per_slot[index]) return entry.per_slot[index].get();
  bool unused = false;
  auto fd = bind_one(entry.config, entry.port, true, &unused);
  if (!fd) return fd.error();
  // The first bind of port 0 chooses the port every other slot shares.
  if (entry.port == 0) entry.port = bound_port(fd->get());
  entry.per_slot[index] = std::move(*fd);
  return entry.per_slot[index].get();
}

Result<std::vector<int>> ListenSockets::fds_for_slot(int slot) {
  std::vector<int> fds;
  fds.reserve(entries_.size());
  for (auto& e : entries_) {
    if (e.config.mode == config::SocketMode::kShared || e.inherited) {
      fds.push_back(e.shared.get());
    } else {
      auto fd = ensure_slot_socket(e, slot);
      if (!fd) return fd.error();
      fds.push_back(*fd);
    }
  }
  return fds;
}

void ListenSockets::release_slot(int slot) {
  for (auto& e : entries_) {
    if (static_cast<size_t>(slot) < e.per_slot.size())
      e.per_slot[static_cast<size_t>(slot)].reset();
  }
}

uint16_t ListenSockets::port(const std::string& name) const {
  for (const auto& e : entries_) {
    if (e.config.name == name) return e.port;
  }
  return 0;
}

std::string ListenSockets::describe() const {
  if (entries_.empty()) return "no sockets";
  std::string out;
  for (const auto& e : entries_) {
    if (!out.empty()) out += ", ";
    if (e.inherited) {
      out += fmt::format("{}={} (shared, from systemd)", e.config.name,
                         e.inherited_address.to_string());
      continue;
    }
    config::Address shown = e.config.listen;
    if (shown.kind != Address::Kind::kUnix) shown.port = e.port;
    out += fmt::format("{}={} ({})", e.config.name, shown.to_string(),
                       config::to_string(e.config.mode));
  }
  return out;
}

}  // namespace corral::supervisor
