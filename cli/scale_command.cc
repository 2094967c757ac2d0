// `corral scale N | +K | -K | auto`: sets or changes the desired number of
// workers (pinned until `corral scale auto`). The argument is checked here,
// so that a typo is a usage error before anything reaches the supervisor.
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/result.h"
#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace corral::cli {
namespace {

// Digits only, no sign, no space, into an int.
bool parse_count(std::string_view digits, int* out) {
  if (digits.empty()) return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  return ec == std::errc() && end == digits.data() + digits.size() && *out >= 0;
}

// The request for `target`, or why it is not one.
Result<nlohmann::json> scale_request(std::string_view target) {
  const auto usage = [target](std::string_view why) {
    return Error{fmt::format("'{}' {}: give N (at least 1), +K, -K or auto", target, why)};
  };
  if (target == "auto") return nlohmann::json{{"cmd", "scale"}, {"auto", true}};
  if (target.empty()) return usage("is not a worker count");
  const bool sign = target[0] == '+' || target[0] == '-';
  const std::string_view digits = sign ? target.substr(1) : target;
  if (digits.find_first_not_of("0123456789") != std::string_view::npos || digits.empty()) {
    return usage("is not a worker count");
  }
  int value = 0;
  if (!parse_count(digits, &value)) return usage("is too large");
  if (!sign) {
    if (value == 0) return usage("would stop every worker (use corral stop for that)");
    return nlohmann::json{{"cmd", "scale"}, {"workers", value}};
  }
  if (value == 0) return usage("changes nothing");
  return nlohmann::json{{"cmd", "scale"}, {"delta", target[0] == '-' ? -value : value}};
}

}  // namespace

int scale_command(const ClientOptions& options, const std::string& target, bool json) {
  auto request = scale_request(target);
  if (!request) {
    fmt::print(stderr, "corral: scale: {}\n", request.error().message);
    return kExitUsage;
  }
  int code = 0;
  auto reply = admin_command(client_socket_path(options.name, options.socket), "scale", *request,
                             std::chrono::seconds(10), json, &code);
  if (!reply || json) return code;
  const nlohmann::json none;
  const bool pinned = reply->value("pinned", none) == true;
  fmt::print("{}: {} -> {} workers ({})\n", service_name(*reply, options.name),
             reply->value("previous", none).dump(), reply->value("desired", none).dump(),
             pinned ? "pinned until 'corral scale auto'" : "not pinned: the configuration decides");
  return kExitOk;
}

}  // namespace corral::cli
