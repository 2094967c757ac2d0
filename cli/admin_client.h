// The client side of the admin socket: one request, one reply.
#pragma once

#include <chrono>
#include <string>

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

}  // namespace corral::cli
