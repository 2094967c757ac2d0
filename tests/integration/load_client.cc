#include "load_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "base/unique_fd.h"

namespace corral::testing {
namespace {

constexpr int kIoTimeoutMs = 5000;

UniqueFd connect_to(uint16_t port, std::string* why) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *why = std::string("connect: ") + std::strerror(errno);
    return UniqueFd();
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one response; empty on failure, with `why` set.
struct Response {
  int status = 0;
  bool close = false;
};
bool read_response(int fd, Response* out, std::string* why) {
  std::string raw;
  char buffer[4096];
  size_t need = std::string::npos;  // total bytes once the head is known
  for (;;) {
    if (need != std::string::npos && raw.size() >= need) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kIoTimeoutMs) <= 0) {
      *why = "no response within 5 s";
      return false;
    }
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      *why = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      *why = raw.empty() ? "connection closed before any response" : "response cut short";
      return false;
    }
    raw.append(buffer, static_cast<size_t>(n));
    if (need == std::string::npos) {
      const auto head_end = raw.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      const std::string head = raw.substr(0, head_end);
      const auto cl = head.find("Content-Length:");
      const size_t body = cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 15, nullptr, 10);
      need = head_end + 4 + body;
      out->status = std::atoi(raw.c_str() + 9);
      out->close = head.find("Connection: close") != std::string::npos;
    }
  }
  return true;
}

}  // namespace

LoadClient::LoadClient(uint16_t port, int connections, bool keep_alive)
    : port_(port), keep_alive_(keep_alive) {
  for (int i = 0; i < connections; ++i) threads_.emplace_back([this] { run(); });
}

LoadClient::~LoadClient() { stop(); }

void LoadClient::fail(std::string why) {
  ++failed_;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (failures_.size() < 10) failures_.push_back(std::move(why));
  if (failure_times_.size() < kMaxFailureTimes) failure_times_.push_back(now);
}

void LoadClient::run() {
  const std::string request = keep_alive_ ? "GET / HTTP/1.1\r\nHost: load\r\n\r\n"
                                          : "GET / HTTP/1.1\r\nHost: load\r\nConnection: close\r\n\r\n";
  UniqueFd conn;
  while (!stop_.load()) {
    std::string why;
    if (!conn) {
      conn = connect_to(port_, &why);
      if (!conn) {
        fail(why);
        continue;
      }
    }
    if (::send(conn.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      fail(std::string("send: ") + std::strerror(errno));
      conn.reset();
      continue;
    }
    Response response;
    if (!read_response(conn.get(), &response, &why)) {
      fail(why);
      conn.reset();
      continue;
    }
    if (response.status != 200) {
      fail("status " + std::to_string(response.status));
    } else {
      ++ok_;
    }
    if (!keep_alive_ || response.close) conn.reset();
  }
}

bool LoadClient::await_progress(int64_t n) {
  const int64_t target = ok_.load() + n;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ok_.load() < target) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

LoadResult LoadClient::stop() {
  stop_.store(true);
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::lock_guard lock(mutex_);
  return {ok_.load(), failed_.load(), failures_, failure_times_};
}

}  // namespace corral::testing
