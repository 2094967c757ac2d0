#include "cli/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "cli/exit_codes.h"
#include "config/duration.h"
#include "ipc/admin_protocol.h"
#include "supervisor/runtime_dir.h"
#include "supervisor/supervisor.h"

namespace corral::cli {

std::string client_socket_path(const std::string& name, const std::string& socket_flag) {
  if (!socket_flag.empty()) return socket_flag;
  config::Config config;  // the supervisor's rule, for a default [admin]
  config.name = name;
  const std::string path = supervisor::admin_socket_path(config);
  // A corral started without XDG_RUNTIME_DIR (a system service: /run/corral)
  // is asked from a login shell that has it (root's is /run/user/0): when
  // nothing is at the first place, look where such a corral would be.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return path;
  const std::string fallback = supervisor::default_runtime_dir("", ::geteuid()) + "/" + name + ".sock";
  if (fallback != path && ::lstat(fallback.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return fallback;
  return path;
}

Result<Reply> admin_request(const std::string& path, const nlohmann::json& request,
                            std::chrono::milliseconds timeout, int* exit_code_on_error) {
  *exit_code_on_error = kExitUnavailable;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return Error{fmt::format("socket path too long: {}", path)};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error{fmt::format("cannot create a socket: {}", std::strerror(errno))};
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return Error{
          fmt::format("permission denied on {}: run as the user corral runs as, or root", path)};
    }
    return Error{fmt::format("no corral answers on {} ({}); is it running, under this --name?",
                             path, std::strerror(err))};
  }
  const std::string line = request.dump() + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(line.size())) {
    return Error{fmt::format("cannot send to {}: {}", path, std::strerror(errno))};
  }
  *exit_code_on_error = kExitFailure;
  std::string reply;
  // Capped so that the deadline cannot overflow the clock: a year is forever.
  const auto wait = std::min<std::chrono::milliseconds>(timeout, std::chrono::hours(24 * 365));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (reply.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    const int poll_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    const int ready = left.count() > 0 ? ::poll(&p, 1, poll_ms) : 0;
    if (ready < 0 && errno == EINTR) continue;  // a signal (SIGWINCH under corral top)
    if (ready <= 0) {
      return Error{
          fmt::format("no reply from {} within {}", path, config::format_duration(timeout))};
    }
    char buffer[16 * 1024];
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{fmt::format("{} closed the connection without a reply", path)};
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.size() > 64 * 1024 * 1024) return Error{"reply too large"};
  }
  reply.resize(reply.find('\n'));
  nlohmann::json body = nlohmann::json::parse(reply, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return Error{fmt::format("malformed reply from {}", path)};
  }
  return Reply{std::move(body)};
}

std::optional<nlohmann::json> admin_command(const std::string& path, std::string_view verb,
                                            const nlohmann::json& request,
                                            std::chrono::milliseconds timeout, bool json,
                                            int* exit_code) {
  auto reply = admin_request(path, request, timeout, exit_code);
  if (!reply) {
    fmt::print(stderr, "corral: {}: {}\n", verb, reply.error().message);
    return std::nullopt;
  }
  if (json) fmt::print("{}\n", reply->body.dump());
  const auto ok = reply->body.find("ok");
  if (ok == reply->body.end() || *ok != true) {
    const auto error = reply->body.find("error");
    fmt::print(stderr, "corral: {}: {}\n", verb,
               error != reply->body.end() && error->is_string() ? error->get<std::string>()
                                                                : "refused, without a reason");
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  *exit_code = kExitOk;
  return std::move(reply->body);
}

std::string service_name(const nlohmann::json& reply, const std::string& name_flag) {
  const auto name = reply.find("name");
  return name != reply.end() && name->is_string() ? name->get<std::string>() : name_flag;
}

Result<std::chrono::milliseconds> parse_positive_duration(std::string_view text) {
  auto parsed = config::parse_duration(text);
  if (!parsed) return parsed;
  if (parsed->count() <= 0) return Error{fmt::format("duration '{}' must be more than zero", text)};
  return parsed;
}

}  // namespace corral::cli
