// `corral reload` and `corral restart ID`: ask for a rolling replacement
// (of every worker, or of one) and wait for the supervisor's verdict, which
// comes only once the last replacement is ready or the reload was aborted.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace corral::cli {
namespace {

// Rolling replacements wait for each new worker to be ready (up to its
// ready_timeout), one batch after the other: minutes for a large service.
constexpr std::chrono::minutes kDefaultTimeout{10};

std::optional<std::chrono::milliseconds> timeout_option(std::string_view verb,
                                                        const std::string& text) {
  if (text.empty()) return kDefaultTimeout;
  auto parsed = parse_positive_duration(text);
  if (!parsed) {
    fmt::print(stderr, "corral: {}: --timeout: {}\n", verb, parsed.error().message);
    return std::nullopt;
  }
  return *parsed;
}

std::string seconds_text(const nlohmann::json& reply) {
  const auto it = reply.find("duration_s");
  return it != reply.end() && it->is_number() ? fmt::format("{:.2f}s", it->get<double>()) : "?";
}

}  // namespace

int reload_command(const ClientOptions& options, const std::string& timeout, bool json) {
  const auto wait = timeout_option("reload", timeout);
  if (!wait) return kExitUsage;
  int code = 0;
  auto reply = admin_command(client_socket_path(options.name, options.socket), "reload",
                             {{"cmd", "reload"}}, *wait, json, &code);
  if (!reply || json) return code;
  const auto replaced = reply->find("replaced");
  const std::string count =
      replaced == reply->end() || !replaced->is_number_integer() ? "the workers"
      : *replaced == 1                                           ? "1 worker"
                       : fmt::format("{} workers", replaced->get<long long>());
  fmt::print("{}: reloaded {} in {}\n", service_name(*reply, options.name), count,
             seconds_text(*reply));
  return kExitOk;
}

int restart_command(const ClientOptions& options, const std::string& id, const std::string& timeout,
                    bool json) {
  int worker = -1;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), worker);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size() || worker < 0 ||
      id[0] == '+') {
    fmt::print(stderr,
               "corral: restart: '{}' is not a worker id (the ID column of corral status)\n", id);
    return kExitUsage;
  }
  const auto wait = timeout_option("restart", timeout);
  if (!wait) return kExitUsage;
  int code = 0;
  auto reply = admin_command(client_socket_path(options.name, options.socket), "restart",
                             {{"cmd", "restart"}, {"id", worker}}, *wait, json, &code);
  if (!reply || json) return code;
  fmt::print("{}: restarted worker {} in {}\n", service_name(*reply, options.name), worker,
             seconds_text(*reply));
  return kExitOk;
}

}  // namespace corral::cli
