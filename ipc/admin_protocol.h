// The admin protocol between `corral` clients and the supervisor: one JSON
// object per line in each direction over a unix stream socket. Documented
// for users in docs/admin-protocol.md; this header is its single source in
// code. Requests come from other processes: parsed defensively, bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace corral::ipc::admin {

// Bump when a reply changes incompatibly; clients may send "version" to
// learn it.
inline constexpr int kProtocolVersion = 1;
// A request line longer than this is refused and the connection closed.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

struct Request {
  std::string cmd;
  nlohmann::json body;  // the whole request object, for command arguments
};

// One line without its '\n'. Errors are meant for the client verbatim.
Result<Request> parse_request(std::string_view line);

// Replies, serialised as one line without the trailing '\n'.
std::string ok_reply(nlohmann::json fields = nlohmann::json::object());
std::string error_reply(std::string_view message);

}  // namespace corral::ipc::admin
