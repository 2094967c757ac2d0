#include "config/placeholders.h"

#include <algorithm>

#include <fmt/format.h>

namespace corral::config {
namespace {

constexpr std::string_view kId = "{id}";
constexpr std::string_view kFd = "{fd:";
constexpr std::string_view kPort = "{port:";

enum class Kind { kNone, kId, kFd, kPort, kUnclosed };

// One placeholder found at the start of a string.
struct Token {
  Kind kind = Kind::kNone;
  std::string_view name;  // for kFd and kPort
  size_t length = 0;      // of the whole placeholder, braces included
};

// What stands at the front of `s` (which starts with '{').
Token scan(std::string_view s) {
  if (s.substr(0, kId.size()) == kId) return {Kind::kId, {}, kId.size()};
  Kind kind = Kind::kNone;
  size_t prefix = 0;
  if (s.substr(0, kFd.size()) == kFd) {
    kind = Kind::kFd;
    prefix = kFd.size();
  } else if (s.substr(0, kPort.size()) == kPort) {
    kind = Kind::kPort;
    prefix = kPort.size();
  } else {
    return {};
  }
  const size_t close = s.find('}', prefix);
  if (close == std::string_view::npos) return {Kind::kUnclosed, s.substr(0, prefix), s.size()};
  return {kind, s.substr(prefix, close - prefix), close + 1};
}

// Calls `visit(token, position)` for each placeholder in `text`.
template <typename Visit>
void for_each_placeholder(std::string_view text, Visit visit) {
  size_t i = text.find('{');
  while (i != std::string_view::npos) {
    const Token t = scan(text.substr(i));
    if (t.kind == Kind::kNone) {
      i = text.find('{', i + 1);
      continue;
    }
    if (!visit(t, i)) return;
    i = text.find('{', i + t.length);
  }
}

std::string known_list(const std::vector<std::string>& names) {
  if (names.empty()) return "there are no sockets (add one with --listen or [[socket]])";
  std::string out = "sockets: ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

Status validate_placeholders(std::string_view text, const std::vector<std::string>& socket_names) {
  std::string error;
  for_each_placeholder(text, [&](const Token& t, size_t at) {
    const std::string_view whole = text.substr(at, t.length);
    if (t.kind == Kind::kUnclosed) {
      error = fmt::format("placeholder '{}' has no closing '}}'; write {}NAME}}", whole, t.name);
    } else if (t.kind != Kind::kId &&
               std::find(socket_names.begin(), socket_names.end(), t.name) == socket_names.end()) {
      error = t.name.empty() ? fmt::format("placeholder '{}' needs a socket name", whole)
                             : fmt::format("placeholder '{}' names no socket; {}", whole,
                                           known_list(socket_names));
    }
    return error.empty();
  });
  if (!error.empty()) return Error{std::move(error)};
  return Ok{};
}

std::vector<std::string> port_placeholder_names(std::string_view text) {
  std::vector<std::string> names;
  for_each_placeholder(text, [&](const Token& t, size_t) {
    if (t.kind == Kind::kPort) names.emplace_back(t.name);
    return true;
  });
  return names;
}

std::string expand_placeholders(std::string_view text, const PlaceholderValues& values) {
  std::string out;
  out.reserve(text.size() + 8);
  size_t copied = 0;  // text[0, copied) is already in `out`
  for_each_placeholder(text, [&](const Token& t, size_t at) {
    std::string value;
    bool known = false;
    if (t.kind == Kind::kId) {
      value = std::to_string(values.worker_id);
      known = true;
    } else if (t.kind == Kind::kFd) {
      if (auto it = values.fds.find(t.name); it != values.fds.end()) {
        value = std::to_string(it->second);
        known = true;
      }
    } else if (t.kind == Kind::kPort) {
      if (auto it = values.ports.find(t.name); it != values.ports.end()) {
        value = std::to_string(it->second);
        known = true;
      }
    }
    if (known) {
      out.append(text.substr(copied, at - copied));
      out += value;
      copied = at + t.length;
    }
    return true;
  });
  out.append(text.substr(copied));
  return out;
}

}  // namespace corral::config
