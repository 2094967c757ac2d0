// Admin requests come from any local process of the same user: any line
// must give a request or an error for the client, and the replies built
// from either must be one JSON object the client can read.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz/entries.h"
#include "fuzz/fuzz_check.h"
#include "ipc/admin_protocol.h"

namespace corral::fuzz {
namespace {

// A reply is one line holding one JSON object with a boolean "ok".
nlohmann::json parse_reply(const std::string& reply) {
  FUZZ_CHECK(reply.find('\n') == std::string::npos, "reply spans lines: " + reply);
  nlohmann::json j = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(j.is_object(), "reply is not a JSON object: " + reply);
  FUZZ_CHECK(j.contains("ok") && j["ok"].is_boolean(), "reply without \"ok\": " + reply);
  return j;
}

}  // namespace

int fuzz_admin(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  Result<ipc::admin::Request> request = ipc::admin::parse_request(line);
  if (!request.ok()) {
    const std::string& message = request.error().message;
    FUZZ_CHECK(!message.empty(), std::string("empty error"));
    nlohmann::json reply = parse_reply(ipc::admin::error_reply(message));
    FUZZ_CHECK(reply["ok"] == false && reply["error"] == message, reply.dump());
    return 0;
  }
  const nlohmann::json& body = request->body;
  FUZZ_CHECK(body.is_object(), body.dump());
  FUZZ_CHECK(body.contains("cmd") && body["cmd"].is_string() && body["cmd"] == request->cmd,
             "cmd differs from the body's: " + request->cmd);
  // The parsed body serialises and reads back to itself (what a reply
  // quoting the request's arguments relies on).
  const std::string dumped = body.dump();
  Result<ipc::admin::Request> again = ipc::admin::parse_request(dumped);
  FUZZ_CHECK(again.ok(), "dump does not parse: " + dumped);
  FUZZ_CHECK(again->body == body && again->cmd == request->cmd,
             "dump reads back different: " + dumped);
  // Replies naming the command (the supervisor's "unknown command 'x'")
  // are valid replies, and carry it intact.
  nlohmann::json ok = parse_reply(ipc::admin::ok_reply({{"cmd", request->cmd}}));
  FUZZ_CHECK(ok["ok"] == true && ok["cmd"] == request->cmd, ok.dump());
  parse_reply(ipc::admin::error_reply("unknown command '" + request->cmd + "'"));
  return 0;
}

}  // namespace corral::fuzz
