// MetricsHttp on a real libuv loop (run on a thread of the test, standing in
// for the supervisor's) with real TCP and unix sockets: routes and status
// codes, HEAD, malformed, oversized, slow and silent clients, the client
// cap, a client that never reads its response, and binding errors.
#include "supervisor/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Response {
  int status = 0;
  std::string headers;
  std::string body;
  std::string raw;
};

Response parse(const std::string& raw) {
  Response r;
  r.raw = raw;
  const size_t end = raw.find("\r\n\r\n");
  r.headers = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  if (raw.starts_with("HTTP/1.1 ") && raw.size() >= 12) r.status = std::stoi(raw.substr(9, 3));
  return r;
}

UniqueFd connect_tcp(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{15, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  timeval tv{15, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

void send_all(const UniqueFd& fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Everything until the server closes (or the 15 s receive timeout).
std::string read_all(const UniqueFd& fd) {
  std::string out;
  char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) { uv_stop(a->loop); });
  }

  void start(config::Address address = tcp_any(), MetricsHttp::Limits limits = {}) {
    MetricsHttp::Handlers handlers;
    handlers.metrics = [this] {
      ++scrapes_;
      if (throw_.load()) throw std::runtime_error("status unavailable");
      return metrics_body_;
    };
    handlers.ready = [this] {
      return ready_.load() ? ProbeResult{true, "ready: 2 of 2 workers ready"}
                           : ProbeResult{false, "not ready: 0 of 2 workers ready, 1 needed"};
    };
    auto server = MetricsHttp::start(&loop_, address, std::move(handlers), limits);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }

  void TearDown() override {
    uv_async_send(&stop_);
    if (thread_.joinable()) thread_.join();
    server_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);  // the close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  static config::Address tcp_any() {
    config::Address a;
    a.host = "127.0.0.1";
    a.port = 0;
    return a;
  }
  uint16_t port() const { return server_->address().port; }

  Response request(const std::string& raw) {
    UniqueFd fd = connect_tcp(port());
    EXPECT_TRUE(fd.valid());
    send_all(fd, raw);
    return parse(read_all(fd));
  }
  Response get(const std::string& path) { return request("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"); }

  // The number of clients, read while the loop is paused (the map belongs
  // to the loop's thread).
  size_t clients() {
    uv_async_send(&stop_);
    thread_.join();
    const size_t n = server_->clients();
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    return n;
  }

  uv_loop_t loop_{};
  uv_async_t stop_{};
  std::unique_ptr<MetricsHttp> server_;
  std::thread thread_;
  std::string metrics_body_ = "# HELP corral_up x\n# TYPE corral_up gauge\ncorral_up 1\n";
  std::atomic<int> scrapes_{0};
  std::atomic<bool> ready_{true};
  std::atomic<bool> throw_{false};
};

TEST_F(MetricsHttpTest, GetMetrics) {
  start();
  const Response r = get("/metrics");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, metrics_body_);
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"));
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Length: " + std::to_string(metrics_body_.size())));
  EXPECT_THAT(r.headers, HasSubstr("\r\nConnection: close"));
  EXPECT_EQ(scrapes_.load(), 1);
  // Query strings are ignored; HTTP/1.0 is answered too.
  EXPECT_EQ(get("/metrics?name[]=corral_up").status, 200);
  EXPECT_EQ(request("GET /metrics HTTP/1.0\r\n\r\n").status, 200);
  // A bare-LF client.
  EXPECT_EQ(request("GET /metrics HTTP/1.1\n\n").body, metrics_body_);
}

TEST_F(MetricsHttpTest, HeadHasTheHeadersOnly) {
  start();
  const Response r = request("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_THAT(r.headers, HasSubstr("\r\nContent-Length: " + std::to_string(metrics_body_.size())));
  EXPECT_EQ(request("HEAD /health/ready HTTP/1.1\r\n\r\n").status, 200);
}

TEST_F(MetricsHttpTest, HealthEndpoints) {
  start();
  Response live = get("/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, "ok\n");
  EXPECT_THAT(live.headers, HasSubstr("\r\nContent-Type: text/plain; charset=utf-8"));
  Response ready = get("/health/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready: 2 of 2 workers ready\n");
  ready_ = false;
  ready = get("/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_THAT(ready.raw, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_EQ(ready.body, "not ready: 0 of 2 workers ready, 1 needed\n");
  EXPECT_EQ(get("/health/live").status, 200);  // alive all the same
}

TEST_F(MetricsHttpTest, NotFoundMethodNotAllowedAndMalformed) {
  start();
  EXPECT_EQ(get("/").status, 404);
  EXPECT_EQ(get("/metricsx").status, 404);
  EXPECT_EQ(get("/health").status, 404);
  const Response post = request("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(post.status, 405);
  EXPECT_THAT(post.headers, HasSubstr("\r\nAllow: GET, HEAD"));
  EXPECT_EQ(request("DELETE /health/ready HTTP/1.1\r\n\r\n").status, 405);
  EXPECT_EQ(request("GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(request("GET /metrics\r\n\r\n").status, 400);
  EXPECT_EQ(request("GET  /metrics HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(request("GET /metrics SMTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(request("GET /metrics HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(request(std::string("\0\1\2\3\r\n\r\n", 8)).status, 400);
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsHttpTest, AFailingHandlerIsA500) {
  start();
  throw_ = true;
  const Response r = get("/metrics");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "internal error: status unavailable\n");
  throw_ = false;
  EXPECT_EQ(get("/metrics").status, 200);
}

TEST_F(MetricsHttpTest, RequestSentByteByByte) {
  start();
  UniqueFd fd = connect_tcp(port());
  for (char c : std::string("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")) {
    send_all(fd, std::string(1, c));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(parse(read_all(fd)).status, 200);
}

TEST_F(MetricsHttpTest, AClientThatHalfClosesAfterItsRequestStillGetsTheResponse) {
  metrics_body_ = std::string(4 * 1024 * 1024, 'm');  // more than one write's worth
  start();
  UniqueFd fd = connect_tcp(port());
  send_all(fd, "GET /metrics HTTP/1.1\r\n\r\n");
  ::shutdown(fd.get(), SHUT_WR);  // as `printf ... | nc -N` does
  std::this_thread::sleep_for(50ms);
  const Response r = parse(read_all(fd));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), metrics_body_.size());
}

TEST_F(MetricsHttpTest, OversizedRequestHeadIs431) {
  start();
  std::string raw = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(MetricsHttp::kMaxRequestHeadBytes, 'a');
  const Response r = request(raw);  // never ends its head
  EXPECT_EQ(r.status, 431) << r.raw.substr(0, 200);
  // Just under the limit is fine.
  std::string fits = "GET /metrics HTTP/1.1\r\nX-Filler: ";
  fits += std::string(MetricsHttp::kMaxRequestHeadBytes - fits.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), MetricsHttp::kMaxRequestHeadBytes);
  EXPECT_EQ(request(fits).status, 200);
  EXPECT_EQ(scrapes_.load(), 1);
}

TEST_F(MetricsHttpTest, SlowClientTimesOutWithoutBlockingOthers) {
  MetricsHttp::Limits limits;
  limits.request_timeout = 500ms;
  start(tcp_any(), limits);
  UniqueFd slow = connect_tcp(port());
  send_all(slow, "GET /metrics HTTP/1.1\r\n");  // and nothing more
  UniqueFd silent = connect_tcp(port());         // says nothing at all
  EXPECT_EQ(get("/health/live").status, 200);    // meanwhile, others are served
  const auto before = std::chrono::steady_clock::now();
  const Response r = parse(read_all(slow));
  EXPECT_EQ(r.status, 408);
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  EXPECT_EQ(parse(read_all(silent)).status, 408);
}

TEST_F(MetricsHttpTest, DefaultRequestTimeoutIsFiveSeconds) {
  start();
  UniqueFd slow = connect_tcp(port());
  send_all(slow, "GET /metrics HT");
  const auto before = std::chrono::steady_clock::now();
  const Response r = parse(read_all(slow));
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(r.status, 408);
  EXPECT_GT(waited, 4s);
  EXPECT_LT(waited, 8s);
}

TEST_F(MetricsHttpTest, ManyClientsAtOnce) {
  start();
  // 64 concurrent scrapes, all answered.
  std::vector<UniqueFd> fds;
  for (int i = 0; i < 64; ++i) {
    fds.push_back(connect_tcp(port()));
    send_all(fds.back(), "GET /metrics HTTP/1.1\r\n\r\n");
  }
  for (auto& fd : fds) EXPECT_EQ(parse(read_all(fd)).body, metrics_body_);
  EXPECT_EQ(scrapes_.load(), 64);
}

TEST_F(MetricsHttpTest, ClientsBeyondTheCapGet503) {
  MetricsHttp::Limits limits;
  limits.max_clients = 8;
  start(tcp_any(), limits);
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connect_tcp(port()));
  // Accepted in order: the ninth is refused at once.
  const Response refused = get("/health/live");
  EXPECT_EQ(refused.status, 503) << refused.raw;
  EXPECT_EQ(refused.body, "too many connections\n");
  idle.clear();  // they hang up: room again
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = get("/health/live").status == 200;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(MetricsHttpTest, AClientThatNeverReadsIsDroppedAndBlocksNobody) {
  MetricsHttp::Limits limits;
  limits.response_timeout = 500ms;
  metrics_body_ = std::string(32 * 1024 * 1024, 'x');  // far beyond the socket buffers
  start(tcp_any(), limits);
  UniqueFd hog = connect_tcp(port());
  send_all(hog, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(get("/health/live").status, 200);  // the loop is not stuck writing
  std::this_thread::sleep_for(1500ms);
  // The server gave up on it: the rest of its response is dropped.
  EXPECT_EQ(clients(), 0u);
}

TEST_F(MetricsHttpTest, UnixSocketAddress) {
  const std::string dir = ::testing::TempDir() + "corral-metrics-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  config::Address a;
  a.kind = config::Address::Kind::kUnix;
  a.path = dir + "/metrics.sock";
  // A stale socket file (nobody listening) is replaced.
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, a.path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  start(a);
  UniqueFd fd = connect_unix(a.path);
  ASSERT_TRUE(fd.valid());
  send_all(fd, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(parse(read_all(fd)).body, metrics_body_);

  // A second listener on the same live path is refused.
  uv_loop_t other;
  uv_loop_init(&other);
  {
    auto second = MetricsHttp::start(&other, a, {});
    ASSERT_FALSE(second.ok());
    EXPECT_THAT(second.error().message, HasSubstr("another process is listening there"));
  }
  uv_run(&other, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&other), 0);

  uv_async_send(&stop_);
  thread_.join();
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(a.path)) << "socket file left behind";
  std::filesystem::remove_all(dir);
}

TEST_F(MetricsHttpTest, PortInUseIsAnErrorNamingTheAddress) {
  start();
  uv_loop_t other;
  uv_loop_init(&other);
  {
    config::Address a = tcp_any();
    a.port = port();
    auto second = MetricsHttp::start(&other, a, {});
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().message,
              "cannot listen on the metrics listener 127.0.0.1:" + std::to_string(port()) +
                  ": address already in use");
  }
  uv_run(&other, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&other), 0);
}

TEST_F(MetricsHttpTest, NoHandlersMeansHealthyAndEmpty) {
  MetricsHttp::Limits limits;
  auto server = MetricsHttp::start(&loop_, tcp_any(), {}, limits);
  ASSERT_TRUE(server.ok());
  server_ = std::move(*server);
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  EXPECT_EQ(get("/health/ready").body, "ready\n");
  EXPECT_EQ(get("/health/live").body, "ok\n");
  EXPECT_EQ(get("/metrics").body, "");
}

}  // namespace
}  // namespace corral::supervisor
