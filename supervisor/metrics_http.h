// The HTTP listener of `[metrics] listen` (docs/metrics.md): GET or HEAD
// /metrics, /health/live and /health/ready; 404 for other paths, 405 for
// other methods. A deliberately tiny HTTP/1.x server on the supervisor's own
// loop (no thread, so the answers come from the very loop they report on):
// one request per connection, answered with `Connection: close`.
//
// Never blocks the loop and bounds what a client can cost (Limits): a
// request head is at most 8 KiB (431 beyond) and must arrive within 5 s
// (408); the response must be taken within 10 s; at most 64 clients at once
// (503 to the next). Handlers run on the loop, synchronously, one request at
// a time; an exception from one is a 500.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "config/address.h"
#include "supervisor/metrics.h"
#include "supervisor/uv_handle.h"

namespace corral::supervisor {

class MetricsHttp {
 public:
  struct Handlers {
    std::function<std::string()> metrics;  // the exposition text
    std::function<ProbeResult()> live;   // null: always 200 "ok"
    std::function<ProbeResult()> ready;  // null: always 200 "ready"
  };

  // Binds `address` (TCP, or unix: a stale socket file is replaced, one a
  // live process listens on is refused) and starts accepting. Errors name
  // the address, as ListenSockets' do.
  // What a client may cost (see above); tests shorten them.
  struct Limits {
    size_t max_clients = 64;
    std::chrono::milliseconds request_timeout{5'000};   // the whole head, from accept; then 408
    std::chrono::milliseconds response_timeout{10'000};  // the client takes the response
    // After the response, the connection is half-closed and waits this
    // long for the client's end-of-file, so that unread bytes of the
    // client's do not turn our close into a reset destroying the response.
    std::chrono::milliseconds linger{1'000};
  };

  static Result<std::unique_ptr<MetricsHttp>> start(uv_loop_t* loop, const config::Address& address,
                                                    Handlers handlers, Limits limits);
  static Result<std::unique_ptr<MetricsHttp>> start(uv_loop_t* loop, const config::Address& address,
                                                    Handlers handlers) {
    return start(loop, address, std::move(handlers), Limits{});
  }
  ~MetricsHttp();  // closes every client; removes the unix socket file it created
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // The address as bound: port 0 resolved to the port the kernel chose.
  const config::Address& address() const { return bound_; }
  size_t clients() const { return clients_.size(); }

  static constexpr size_t kMaxRequestHeadBytes = 8 * 1024;  // 431 beyond

 private:
  struct Client;
  MetricsHttp(uv_loop_t* loop, Handlers handlers, Limits limits);
  Status listen();
  void on_connection();
  void on_read(Client& client, ssize_t nread);
  void respond(Client& client, std::string response);
  void on_written(uint64_t client_id, int status);
  void close_client(Client& client);
  void sweep_closed();
  std::string answer(std::string_view head);

  uv_loop_t* loop_;
  Handlers handlers_;
  Limits limits_;
  config::Address bound_;
  UvHandle<uv_tcp_t> tcp_;   // one of these two listens
  UvHandle<uv_pipe_t> pipe_;
  bool created_unix_path_ = false;
  // Closed clients are erased on a later callback, never inside their own.
  UvHandle<uv_timer_t> sweeper_;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_id_ = 1;
  // Write callbacks hold a weak reference: one that runs after the server
  // is gone does nothing.
  std::shared_ptr<MetricsHttp*> alive_;
};

}  // namespace corral::supervisor
