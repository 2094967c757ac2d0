// HTTP/1.x request-head parser: pure, allocation-free, views into the
// caller's buffer. Bodies are not parsed, only measured (Content-Length) so
// the connection can skip them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace example {

struct Request {
  std::string_view method;
  std::string_view path;   // target before '?'
  std::string_view query;  // after '?', may be empty
  int minor_version = 1;   // HTTP/1.<minor>
  bool keep_alive = true;  // from the version and the Connection header
  uint64_t content_length = 0;
  size_t head_size = 0;    // bytes of request line + headers + blank line
};

enum class ParseStatus {
  kIncomplete,   // need more bytes
  kOk,           // *out is filled
  kBad,          // 400
  kTooLarge,     // 431: head larger than kMaxHeadSize
  kUnsupported,  // 501: Transfer-Encoding (chunked request bodies)
  kBadVersion,   // 505
};

inline constexpr size_t kMaxHeadSize = 8192;

// Parses the request head at the start of `buf`. `scanned` carries how far a
// previous call already looked for the end of the head, so a head arriving in
// many small reads is not rescanned from the start; start it at 0 and reset
// it after each kOk.
ParseStatus parse_request(std::string_view buf, size_t* scanned, Request* out);

// The value of `key` in a query string ("ms=50&x=1") as a non-negative
// integer, clamped to `max`; `fallback` when the key is absent; nullopt when
// it is present but not a number.
std::optional<int64_t> query_int(std::string_view query, std::string_view key, int64_t fallback,
                                int64_t max);

}  // namespace example
