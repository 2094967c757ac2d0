// Builds HTTP/1.1 responses into a connection's output buffer. The Date
// header and the "hello" responses are rendered once per second and copied
// per request, so answering `GET /` is one append with no allocation.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace example {

enum class ConnectionHeader {
  kNone,       // HTTP/1.1 keep-alive: implied
  kKeepAlive,  // HTTP/1.0 keep-alive: must be said
  kClose,
};

class Responses {
 public:
  Responses();

  // Re-renders the cached parts when the wall-clock second changed.
  void tick();

  // Appends the prebuilt "200 hello\n" response.
  void append_hello(std::string& out, ConnectionHeader conn, bool head_only) const;

  // Appends a full response with a Content-Length body.
  void append(std::string& out, int status, std::string_view content_type, std::string_view body,
              ConnectionHeader conn, bool head_only = false,
              std::string_view extra_headers = {}) const;

 private:
  time_t second_ = -1;
  std::string date_;                          // "Date: ...\r\n"
  std::string hello_[3];                      // by ConnectionHeader
  size_t hello_head_size_[3] = {0, 0, 0};     // without the body
};

std::string_view status_text(int status);

}  // namespace example
