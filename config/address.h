// A listening address as users write it: "host:port", "[v6]:port", ":port"
// (all IPv4 interfaces), "localhost:port" (127.0.0.1), or "unix:/path".
// Hosts are numeric literals: names are never resolved, so a config means
// the same thing on every machine and at every start.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace corral::config {

struct Address {
  enum class Kind { kTcp4, kTcp6, kUnix };
  Kind kind = Kind::kTcp4;
  std::string host = "0.0.0.0";  // canonical numeric IPv4/IPv6 literal (inet_ntop)
  uint16_t port = 0;             // 0 = ephemeral
  std::string path;              // for kUnix: as written, relative or absolute

  // "127.0.0.1:8080", "[::1]:8080", "unix:/run/x.sock"; parse_address reads
  // it back to an equal Address.
  std::string to_string() const;

  bool operator==(const Address&) const = default;
};

Result<Address> parse_address(std::string_view text);

}  // namespace corral::config
