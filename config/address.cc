#include "config/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <fmt/format.h>

namespace corral::config {
namespace {

constexpr std::string_view kUnixPrefix = "unix:";
constexpr std::string_view kForms = "host:port, [v6]:port, :port or unix:/path";

// sun_path needs room for the terminating NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;

Result<uint16_t> parse_port(std::string_view port, std::string_view text) {
  uint32_t value = 0;
  bool ok = !port.empty() && port.size() <= 5;
  for (char c : port) {
    if (c < '0' || c > '9') ok = false;
    if (ok) value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!ok || value > 65535) {
    return Error{
        fmt::format("port '{}' in address '{}' is not a number from 0 to 65535", port, text)};
  }
  return static_cast<uint16_t>(value);
}

// The canonical spelling of a numeric literal, so equal addresses compare
// equal ("::0001" and "::1").
template <int kFamily, typename Raw>
bool canonical(const std::string& host, std::string& out) {
  Raw raw{};
  if (::inet_pton(kFamily, host.c_str(), &raw) != 1) return false;
  char buf[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(kFamily, &raw, buf, sizeof buf) == nullptr) return false;
  out = buf;
  return true;
}

Result<Address> parse_unix(std::string_view text) {
  Address a;
  a.kind = Address::Kind::kUnix;
  a.host.clear();
  a.path = std::string(text.substr(kUnixPrefix.size()));
  if (a.path.empty()) {
    return Error{
        fmt::format("address '{}' needs a path after 'unix:', e.g. unix:/run/app.sock", text)};
  }
  if (a.path.find('\0') != std::string::npos) {
    return Error{fmt::format("unix socket path in '{}' contains a NUL byte", text)};
  }
  if (a.path.size() > kMaxUnixPath) {
    return Error{fmt::format("unix socket path in '{}' is {} bytes long; the limit is {}", text,
                             a.path.size(), kMaxUnixPath)};
  }
  return a;
}

Result<Address> parse_bracketed(std::string_view text) {
  const size_t close = text.find(']');
  if (close == std::string_view::npos) {
    return Error{fmt::format("address '{}' has '[' without ']'; write [v6]:port", text)};
  }
  if (close + 1 >= text.size() || text[close + 1] != ':') {
    return Error{fmt::format("address '{}' needs ':PORT' after ']'", text)};
  }
  Address a;
  a.kind = Address::Kind::kTcp6;
  const std::string host(text.substr(1, close - 1));
  if (!canonical<AF_INET6, in6_addr>(host, a.host)) {
    return Error{fmt::format("'{}' in address '{}' is not a numeric IPv6 address", host, text)};
  }
  auto port = parse_port(text.substr(close + 2), text);
  if (!port) return port.error();
  a.port = *port;
  return a;
}

}  // namespace

std::string Address::to_string() const {
  switch (kind) {
    case Kind::kUnix:
      return fmt::format("{}{}", kUnixPrefix, path);
    case Kind::kTcp6:
      return fmt::format("[{}]:{}", host, port);
    case Kind::kTcp4:
      break;
  }
  return fmt::format("{}:{}", host, port);
}

Result<Address> parse_address(std::string_view text) {
  if (text.empty()) return Error{fmt::format("empty address; write {}", kForms)};
  if (text.substr(0, kUnixPrefix.size()) == kUnixPrefix) return parse_unix(text);
  if (text.front() == '[') return parse_bracketed(text);

  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Error{fmt::format("address '{}' needs a port; write {}", text, kForms)};
  }
  const std::string host(text.substr(0, colon));
  if (host.find(':') != std::string::npos) {
    return Error{fmt::format("IPv6 address in '{}' needs brackets, e.g. [::1]:8080", text)};
  }
  Address a;
  a.kind = Address::Kind::kTcp4;
  if (host.empty()) {
    a.host = "0.0.0.0";
  } else if (host == "localhost") {
    a.host = "127.0.0.1";
  } else if (!canonical<AF_INET, in_addr>(host, a.host)) {
    return Error{
        fmt::format("host '{}' in address '{}' is not a numeric IPv4 address or 'localhost' "
                    "(names are not resolved)",
                    host, text)};
  }
  auto port = parse_port(text.substr(colon + 1), text);
  if (!port) return port.error();
  a.port = *port;
  return a;
}

}  // namespace corral::config
