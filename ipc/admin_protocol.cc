#include "ipc/admin_protocol.h"

#include <fmt/format.h>

namespace corral::ipc::admin {

Result<Request> parse_request(std::string_view line) {
  if (line.size() > kMaxRequestBytes) {
    return Error{fmt::format("request larger than {} bytes", kMaxRequestBytes)};
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // No exceptions out of here: a hostile line is a value, not a crash.
  nlohmann::json body = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Error{"malformed request: not one JSON object (or not UTF-8)"};
  if (!body.is_object()) return Error{"malformed request: expected a JSON object"};
  auto cmd = body.find("cmd");
  if (cmd == body.end() || !cmd->is_string()) {
    return Error{"malformed request: \"cmd\" must be a string"};
  }
  Request request;
  request.cmd = cmd->get<std::string>();
  request.body = std::move(body);
  return request;
}

std::string ok_reply(nlohmann::json fields) {
  nlohmann::json reply = {{"ok", true}};
  for (auto& [key, value] : fields.items()) reply[key] = std::move(value);
  // Replace rather than throw on strings from workers that are not UTF-8.
  return reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_reply(std::string_view message) {
  nlohmann::json reply = {{"ok", false}, {"error", std::string(message)}};
  return reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace corral::ipc::admin
