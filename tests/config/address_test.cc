#include "config/address.h"

#include <gtest/gtest.h>

namespace corral::config {
namespace {

Address address(std::string_view text) {
  auto a = parse_address(text);
  EXPECT_TRUE(a.ok()) << text << ": " << (a.ok() ? "" : a.error().message);
  return a.ok() ? *a : Address{};
}

std::string address_error(std::string_view text) {
  auto a = parse_address(text);
  EXPECT_FALSE(a.ok()) << text << " parsed as " << (a.ok() ? a->to_string() : "");
  return a.ok() ? "" : a.error().message;
}

TEST(ParseAddress, Ipv4HostAndPort) {
  const Address a = address("127.0.0.1:8080");
  EXPECT_EQ(a.kind, Address::Kind::kTcp4);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
}

TEST(ParseAddress, EmptyHostMeansAllIpv4Interfaces) {
  const Address a = address(":8080");
  EXPECT_EQ(a.kind, Address::Kind::kTcp4);
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.to_string(), "0.0.0.0:8080");
}

TEST(ParseAddress, LocalhostIsLoopback) {
  const Address a = address("localhost:3000");
  EXPECT_EQ(a.kind, Address::Kind::kTcp4);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 3000);
}

TEST(ParseAddress, PortRange) {
  EXPECT_EQ(address(":0").port, 0);
  EXPECT_EQ(address(":65535").port, 65535);
  EXPECT_EQ(address(":00080").port, 80);
  EXPECT_EQ(address_error(":65536"),
            "port '65536' in address ':65536' is not a number from 0 to 65535");
  EXPECT_EQ(address_error(":100000"),
            "port '100000' in address ':100000' is not a number from 0 to 65535");
  EXPECT_EQ(address_error("1.2.3.4:http"),
            "port 'http' in address '1.2.3.4:http' is not a number from 0 to 65535");
  EXPECT_EQ(address_error("1.2.3.4:"),
            "port '' in address '1.2.3.4:' is not a number from 0 to 65535");
  EXPECT_EQ(address_error(":-1"), "port '-1' in address ':-1' is not a number from 0 to 65535");
  EXPECT_EQ(address_error(":+80"), "port '+80' in address ':+80' is not a number from 0 to 65535");
}

TEST(ParseAddress, Ipv6InBrackets) {
  const Address a = address("[::1]:8080");
  EXPECT_EQ(a.kind, Address::Kind::kTcp6);
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 8080);
  EXPECT_EQ(a.to_string(), "[::1]:8080");
  EXPECT_EQ(address("[::]:80").host, "::");
}

TEST(ParseAddress, HostsAreCanonical) {
  EXPECT_EQ(address("[0:0::0001]:1").host, "::1");
  EXPECT_EQ(address("[2001:DB8::1]:1").host, "2001:db8::1");
  EXPECT_EQ(address("[0:0::0001]:1"), address("[::1]:1"));
}

TEST(ParseAddress, UnixPaths) {
  const Address a = address("unix:/run/app.sock");
  EXPECT_EQ(a.kind, Address::Kind::kUnix);
  EXPECT_EQ(a.path, "/run/app.sock");
  EXPECT_EQ(a.to_string(), "unix:/run/app.sock");
  EXPECT_EQ(address("unix:app.sock").path, "app.sock");
}

TEST(ParseAddress, UnixPathLengthIsChecked) {
  const std::string longest = "/" + std::string(106, 'a');  // 107 bytes + NUL = sun_path
  EXPECT_EQ(address("unix:" + longest).path, longest);
  const std::string too_long = longest + "a";
  EXPECT_EQ(address_error("unix:" + too_long),
            "unix socket path in 'unix:" + too_long + "' is 108 bytes long; the limit is 107");
  EXPECT_EQ(address_error("unix:"),
            "address 'unix:' needs a path after 'unix:', e.g. unix:/run/app.sock");
}

TEST(ParseAddress, HostErrors) {
  EXPECT_EQ(address_error("example.com:80"),
            "host 'example.com' in address 'example.com:80' is not a numeric IPv4 address or "
            "'localhost' (names are not resolved)");
  EXPECT_EQ(address_error("256.1.1.1:80"),
            "host '256.1.1.1' in address '256.1.1.1:80' is not a numeric IPv4 address or "
            "'localhost' (names are not resolved)");
  EXPECT_EQ(address_error("::1:80"), "IPv6 address in '::1:80' needs brackets, e.g. [::1]:8080");
  EXPECT_EQ(address_error("[fe80::zz]:80"),
            "'fe80::zz' in address '[fe80::zz]:80' is not a numeric IPv6 address");
  EXPECT_EQ(address_error("[127.0.0.1]:80"),
            "'127.0.0.1' in address '[127.0.0.1]:80' is not a numeric IPv6 address");
  EXPECT_EQ(address_error("[::1]8080"), "address '[::1]8080' needs ':PORT' after ']'");
  EXPECT_EQ(address_error("[::1]"), "address '[::1]' needs ':PORT' after ']'");
  EXPECT_EQ(address_error("[::1:80"), "address '[::1:80' has '[' without ']'; write [v6]:port");
}

TEST(ParseAddress, FormErrors) {
  EXPECT_EQ(address_error(""), "empty address; write host:port, [v6]:port, :port or unix:/path");
  EXPECT_EQ(address_error("8080"),
            "address '8080' needs a port; write host:port, [v6]:port, :port or unix:/path");
}

TEST(AddressToString, RoundTrips) {
  for (std::string_view text : {"0.0.0.0:0", "10.1.2.3:443", "[::]:8080", "[fe80::1]:1",
                                "unix:/tmp/x.sock", "unix:rel/x.sock"}) {
    const Address a = address(text);
    EXPECT_EQ(a.to_string(), text);
    EXPECT_EQ(address(a.to_string()), a);
  }
}

}  // namespace
}  // namespace corral::config
