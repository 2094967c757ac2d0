#include "responses.h"

#include <charconv>

namespace example {
namespace {

constexpr std::string_view kHelloBody = "hello\n";

std::string_view connection_line(ConnectionHeader conn) {
  switch (conn) {
    case ConnectionHeader::kNone: return "";
    case ConnectionHeader::kKeepAlive: return "Connection: keep-alive\r\n";
    case ConnectionHeader::kClose: return "Connection: close\r\n";
  }
  return "";
}

}  // namespace

std::string_view status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

Responses::Responses() { tick(); }

void Responses::tick() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  if (now.tv_sec == second_) return;
  second_ = now.tv_sec;
  tm utc{};
  gmtime_r(&second_, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
  date_.assign(buf, n);
  for (int i = 0; i < 3; ++i) {
    std::string& r = hello_[i];
    r.clear();
    append(r, 200, "text/plain", kHelloBody, static_cast<ConnectionHeader>(i));
    hello_head_size_[i] = r.size() - kHelloBody.size();
  }
}

void Responses::append_hello(std::string& out, ConnectionHeader conn, bool head_only) const {
  int i = static_cast<int>(conn);
  out.append(hello_[i].data(), head_only ? hello_head_size_[i] : hello_[i].size());
}

void Responses::append(std::string& out, int status, std::string_view content_type,
                       std::string_view body, ConnectionHeader conn, bool head_only,
                       std::string_view extra_headers) const {
  char num[24];
  auto status_end = std::to_chars(num, num + sizeof num, status).ptr;
  out.append("HTTP/1.1 ").append(num, status_end).append(" ").append(status_text(status)).append("\r\n");
  out.append("Server: example_server\r\n").append(date_);
  out.append("Content-Type: ").append(content_type).append("\r\n");
  auto len_end = std::to_chars(num, num + sizeof num, body.size()).ptr;
  out.append("Content-Length: ").append(num, len_end).append("\r\n");
  out.append(connection_line(conn)).append(extra_headers).append("\r\n");
  if (!head_only) out.append(body);
}

}  // namespace example
