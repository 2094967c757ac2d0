// The client side of the admin socket: one request, one reply.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace corral::cli {

struct ClientError {
  int exit_code;  // kExitUnavailable when nothing answers; kExitFailure otherwise
  std::string message;
};

// Where a client looks: --socket PATH, else the default for --name (the
// same rule as the supervisor's, docs/admin-protocol.md).
std::string client_socket_path(const std::string& name, const std::string& socket_flag);

// Sends `request` and returns the reply object (whether "ok" or not).
// Fails when the socket cannot be reached or the reply is not JSON.
struct Reply {
  nlohmann::json body;
};
Result<Reply> admin_request(const std::string& path, const nlohmann::json& request,
                            std::chrono::milliseconds timeout, int* exit_code_on_error);

// One request of a one-shot client command (scale, reload, restart). A
// failure is printed on stderr as "corral: VERB: message"; with `json` the
// reply object, ok or not, is printed on stdout as it came. Returns the
// reply when it is {"ok":true,...}; otherwise nullopt and the exit code
// (kExitUnavailable when nothing answers, kExitFailure otherwise).
std::optional<nlohmann::json> admin_command(const std::string& path, std::string_view verb,
                                            const nlohmann::json& request,
                                            std::chrono::milliseconds timeout, bool json,
                                            int* exit_code);

// The service's name for messages: the reply's "name" when it has one, else
// the --name the client was given.
std::string service_name(const nlohmann::json& reply, const std::string& name_flag);

// A duration option such as --timeout or --interval ("30s", "1m30s",
// "500ms"; docs/configuration.md): more than zero.
Result<std::chrono::milliseconds> parse_positive_duration(std::string_view text);

}  // namespace corral::cli
