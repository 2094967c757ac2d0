// A listening address as users write it: "host:port", "[v6]:port", ":port"
// (all interfaces), or "unix:/path".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::config {

struct Address {
  enum class Kind { kTcp4, kTcp6, kUnix };
  Kind kind = Kind::kTcp4;
  std::string host;  // numeric IPv4/IPv6 literal; "0.0.0.0" for ":port"
  uint16_t port = 0;  // 0 = ephemeral
  std::string path;  // for kUnix

  // Round-trips through parse_address.
  std::string to_string() const;
};

Result<Address> parse_address(std::string_view text);

}  // namespace corral::config
