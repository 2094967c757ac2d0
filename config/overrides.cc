// apply_overrides: the `corral run` flags on top of a file's configuration,
// then the checks that need the final set of sockets and the final command.

#include <algorithm>

#include <fmt/format.h>

#include "config/loader.h"
#include "config/placeholders.h"

namespace corral::config {
namespace {

Status apply_workers(const std::string& flag, WorkerConfig& worker) {
  if (flag == "auto") {
    worker.count = std::nullopt;
    return Ok{};
  }
  int n = 0;
  bool ok = !flag.empty() && flag.size() <= 4;
  for (char c : flag) {
    if (c < '0' || c > '9') ok = false;
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok || n < 1 || n > kMaxWorkers) {
    return Error{fmt::format("--workers must be a number from 1 to {} or \"auto\", not '{}'",
                             kMaxWorkers, flag)};
  }
  worker.count = n;
  return Ok{};
}

// "[NAME=]ADDR". The part before '=' is a name only if it could be one, so
// "unix:/tmp/a=b.sock" stays an address.
Status apply_listen(const std::vector<std::string>& flags, std::vector<SocketConfig>& sockets) {
  std::vector<std::string> given;
  for (const std::string& flag : flags) {
    std::string name = "http";
    std::string_view address_text = flag;
    if (const size_t eq = flag.find('='); eq != std::string::npos) {
      const std::string_view prefix = std::string_view(flag).substr(0, eq);
      if (is_valid_socket_name(prefix)) {
        name = std::string(prefix);
        address_text.remove_prefix(eq + 1);
      } else if (prefix.find_first_of(":/[") == std::string_view::npos) {
        return Error{
            fmt::format("--listen '{}': socket name '{}' may use only letters, digits, "
                        "'_' and '-' (at most 64)",
                        flag, prefix)};
      }
    }
    if (std::find(given.begin(), given.end(), name) != given.end()) {
      return Error{fmt::format("--listen given twice for socket '{}'", name)};
    }
    given.push_back(name);
    auto address = parse_address(address_text);
    if (!address) return Error{fmt::format("--listen '{}': {}", flag, address.error().message)};

    auto existing = std::find_if(sockets.begin(), sockets.end(),
                                 [&](const SocketConfig& s) { return s.name == name; });
    if (existing != sockets.end()) {
      existing->listen = *address;
    } else {
      SocketConfig s;
      s.name = name;
      s.listen = *address;
      sockets.push_back(std::move(s));
    }
  }
  return Ok{};
}

// Checks across sockets that a flag may have broken, or that need them all.
Status check_sockets(const std::vector<SocketConfig>& sockets) {
  for (size_t i = 0; i < sockets.size(); ++i) {
    const SocketConfig& s = sockets[i];
    if (s.mode == SocketMode::kReuseport && s.listen.kind == Address::Kind::kUnix) {
      return Error{
          fmt::format("socket '{}': mode \"reuseport\" needs a TCP address; a unix "
                      "socket can only be \"shared\"",
                      s.name)};
    }
    for (size_t j = 0; j < i; ++j) {
      const SocketConfig& t = sockets[j];
      if (t.name == s.name) return Error{fmt::format("socket name '{}' is used twice", s.name)};
      // Port 0 asks for a fresh ephemeral port each time: no conflict.
      const bool ephemeral = s.listen.kind != Address::Kind::kUnix && s.listen.port == 0;
      if (!ephemeral && t.listen == s.listen) {
        return Error{fmt::format("sockets '{}' and '{}' both listen on {}", t.name, s.name,
                                 s.listen.to_string())};
      }
    }
  }
  return Ok{};
}

// One command argument or environment value; `what` names it in errors.
Status check_placeholders(std::string_view text, const std::string& what,
                          const std::vector<SocketConfig>& sockets,
                          const std::vector<std::string>& names) {
  if (auto ok = validate_placeholders(text, names); !ok) {
    return Error{fmt::format("{}: {}", what, ok.error().message)};
  }
  for (const std::string& name : port_placeholder_names(text)) {
    auto s = std::find_if(sockets.begin(), sockets.end(),
                          [&](const SocketConfig& c) { return c.name == name; });
    if (s != sockets.end() && s->listen.kind == Address::Kind::kUnix) {
      return Error{
          fmt::format("{}: placeholder '{{port:{}}}': socket '{}' is a unix socket and "
                      "has no port",
                      what, name, name)};
    }
  }
  return Ok{};
}

}  // namespace

Result<Config> apply_overrides(Config base, const Overrides& flags) {
  Config c = std::move(base);
  if (flags.workers) {
    if (auto ok = apply_workers(*flags.workers, c.worker); !ok) return ok.error();
  }
  if (auto ok = apply_listen(flags.listen, c.sockets); !ok) return ok.error();
  if (flags.name) {
    if (!is_valid_service_name(*flags.name)) {
      return Error{
          fmt::format("--name '{}' may use only letters, digits, '_', '.' and '-' "
                      "(at most 64)",
                      *flags.name)};
    }
    c.name = *flags.name;
  }
  const bool command_from_flags = !flags.command.empty();
  if (command_from_flags) c.worker.command = flags.command;

  if (c.worker.command.empty()) {
    return Error{"no command: give one after `--` or set [worker] command"};
  }
  if (c.worker.command[0].empty()) return Error{"the command's program name is empty"};
  if (auto ok = check_sockets(c.sockets); !ok) return ok.error();
  if (c.metrics) {
    const Address& m = c.metrics->listen;
    const bool ephemeral = m.kind != Address::Kind::kUnix && m.port == 0;
    for (const SocketConfig& s : c.sockets) {
      if (!ephemeral && s.listen == m) {
        return Error{
            fmt::format("[metrics] and socket '{}' both listen on {}", s.name, m.to_string())};
      }
    }
  }

  // Where the command and environment came from, for the messages below.
  const std::string file = c.source.empty() ? "" : c.source + ": ";
  std::vector<std::string> names;
  for (const SocketConfig& s : c.sockets) names.push_back(s.name);
  for (size_t i = 0; i < c.worker.command.size(); ++i) {
    const std::string what = command_from_flags
                                 ? fmt::format("command argument {} ('{}')", i, c.worker.command[i])
                                 : fmt::format("{}[worker] command[{}]", file, i);
    if (auto ok = check_placeholders(c.worker.command[i], what, c.sockets, names); !ok) {
      return ok.error();
    }
  }
  for (const auto& [key, value] : c.worker.env) {
    const std::string what = fmt::format("{}[worker] env.{}", file, key);
    if (auto ok = check_placeholders(value, what, c.sockets, names); !ok) return ok.error();
  }
  return c;
}

}  // namespace corral::config
