#include "http_request.h"

#include <cstring>

namespace example {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Applies the tokens of a Connection header ("close", "keep-alive", others).
void apply_connection(std::string_view value, Request* r) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (iequals(token, "close")) r->keep_alive = false;
    else if (iequals(token, "keep-alive") && r->minor_version == 0) r->keep_alive = true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

ParseStatus parse_request(std::string_view buf, size_t* scanned, Request* out) {
  // Find the blank line ending the head, resuming where the last call stopped.
  size_t from = *scanned > 3 ? *scanned - 3 : 0;
  size_t end = buf.find("\r\n\r\n", from);
  if (end == std::string_view::npos) {
    *scanned = buf.size();
    return buf.size() > kMaxHeadSize ? ParseStatus::kTooLarge : ParseStatus::kIncomplete;
  }
  if (end + 4 > kMaxHeadSize) return ParseStatus::kTooLarge;
  *scanned = 0;

  Request r;
  r.head_size = end + 4;
  std::string_view head = buf.substr(0, end + 2);  // every line ends in CRLF

  // Request line: METHOD SP TARGET SP HTTP/1.x
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return ParseStatus::kBad;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return ParseStatus::kBad;
  r.method = line.substr(0, sp1);
  for (char c : r.method) {
    if (!is_token_char(c)) return ParseStatus::kBad;
  }
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/") return ParseStatus::kBad;
  if (version[5] != '1' || version[6] != '.') return ParseStatus::kBadVersion;
  if (version[7] < '0' || version[7] > '9') return ParseStatus::kBad;
  r.minor_version = version[7] - '0';
  r.keep_alive = r.minor_version >= 1;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string_view::npos) r.query = target.substr(q + 1);
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return ParseStatus::kBad;
  }

  // Header fields: only Connection, Content-Length and Transfer-Encoding matter.
  std::optional<uint64_t> length;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') return ParseStatus::kBad;  // obs-fold
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return ParseStatus::kBad;
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_token_char(c)) return ParseStatus::kBad;
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      apply_connection(value, &r);
    } else if (iequals(name, "content-length")) {
      auto n = parse_decimal(value);
      if (!n || (length && *length != *n)) return ParseStatus::kBad;
      length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return ParseStatus::kUnsupported;
    }
  }
  r.content_length = length.value_or(0);
  *out = r;
  return ParseStatus::kOk;
}

std::optional<int64_t> query_int(std::string_view query, std::string_view key, int64_t fallback,
                                int64_t max) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) {
      auto v = parse_decimal(pair.substr(eq + 1));
      if (!v) return std::nullopt;
      return static_cast<int64_t>(*v > static_cast<uint64_t>(max) ? max : *v);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

}  // namespace example
