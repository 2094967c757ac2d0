#include "supervisor/metrics_http.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace corral::supervisor {

struct MetricsHttp::Client {
  MetricsHttp* server = nullptr;
  uint64_t id = 0;
  bool is_tcp = true;
  UvHandle<uv_tcp_t> tcp;  // the one of these two that the listener's kind needs
  UvHandle<uv_pipe_t> pipe;
  UvHandle<uv_timer_t> timer;  // request, then response, then linger deadline
  std::array<char, kMaxRequestHeadBytes> head;
  size_t used = 0;
  bool responded = false;
  bool written = false;   // the whole response is with the kernel
  bool peer_done = false; // the client sent end-of-file (it may still read)
  bool closing = false;

  uv_stream_t* stream() const {
    return is_tcp ? reinterpret_cast<uv_stream_t*>(tcp.get())
                  : reinterpret_cast<uv_stream_t*>(pipe.get());
  }
};

namespace {

using config::Address;

// A write request and its bytes live together until libuv is done with
// them, whatever happens to the client or the server meanwhile.
struct Write {
  uv_write_t req{};
  std::string data;
  std::weak_ptr<MetricsHttp*> server;
  uint64_t client_id = 0;
};

const char* reason_phrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kExposition = "text/plain; version=0.0.4; charset=utf-8";

std::string http_response(int code, std::string_view body, bool head_only = false,
                          std::string_view content_type = kTextPlain,
                          std::string_view extra_headers = "") {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "Connection: close\r\n{}\r\n",
      code, reason_phrase(code), content_type, body.size(), extra_headers);
  if (!head_only) out += body;
  return out;
}

// The end of the request head (after its blank line), or npos.
size_t head_end(std::string_view data) {
  const size_t crlf = data.find("\r\n\r\n");
  const size_t lf = data.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf)) return crlf + 4;
  return lf + 2;
}

bool someone_listens(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe && ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

MetricsHttp::MetricsHttp(uv_loop_t* loop, Handlers handlers, Limits limits)
    : loop_(loop), handlers_(std::move(handlers)), limits_(limits), alive_(std::make_shared<MetricsHttp*>(this)) {}

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::start(uv_loop_t* loop, const Address& address,
                                                        Handlers handlers, Limits limits) {
  std::unique_ptr<MetricsHttp> server(new MetricsHttp(loop, std::move(handlers), limits));
  server->bound_ = address;
  uv_timer_init(loop, server->sweeper_.get());
  server->sweeper_.get()->data = server.get();
  if (auto ok = server->listen(); !ok) return ok.error();
  return server;
}

Status MetricsHttp::listen() {
  const std::string where = bound_.to_string();
  auto fail = [&](const char* what, int rc) {
    return Error{fmt::format("cannot {} the metrics listener {}: {}", what, where, uv_strerror(rc))};
  };
  uv_stream_t* listener = nullptr;
  if (bound_.kind == Address::Kind::kUnix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (bound_.path.size() >= sizeof addr.sun_path) {
      return Error{fmt::format("metrics listener: unix socket path too long: {}", bound_.path)};
    }
    std::memcpy(addr.sun_path, bound_.path.c_str(), bound_.path.size() + 1);
    struct stat st {};
    if (::lstat(bound_.path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return Error{fmt::format("cannot listen on {} for metrics: the path exists and is not a socket",
                                 where)};
      }
      if (someone_listens(addr)) {
        return Error{fmt::format(
            "cannot listen on {} for metrics: another process is listening there", where)};
      }
      ::unlink(bound_.path.c_str());  // left by a process that died
    }
    uv_pipe_init(loop_, pipe_.get(), 0);
    pipe_.get()->data = this;
    if (int rc = uv_pipe_bind(pipe_.get(), bound_.path.c_str()); rc != 0) return fail("bind", rc);
    created_unix_path_ = true;
    listener = reinterpret_cast<uv_stream_t*>(pipe_.get());
  } else {
    const bool v6 = bound_.kind == Address::Kind::kTcp6;
    sockaddr_storage storage{};
    int rc = v6 ? uv_ip6_addr(bound_.host.c_str(), bound_.port, reinterpret_cast<sockaddr_in6*>(&storage))
                : uv_ip4_addr(bound_.host.c_str(), bound_.port, reinterpret_cast<sockaddr_in*>(&storage));
    if (rc != 0) return fail("parse the address of", rc);
    uv_tcp_init_ex(loop_, tcp_.get(), v6 ? AF_INET6 : AF_INET);
    tcp_.get()->data = this;
    // "[::]:9464" should not silently also take IPv4's port.
    rc = uv_tcp_bind(tcp_.get(), reinterpret_cast<const sockaddr*>(&storage), v6 ? UV_TCP_IPV6ONLY : 0);
    if (rc != 0) return fail("bind", rc);
    listener = reinterpret_cast<uv_stream_t*>(tcp_.get());
  }
  // libuv may report a bind error only here (EADDRINUSE).
  if (int rc = uv_listen(listener, 128,
                         [](uv_stream_t* s, int status) {
                           if (status == 0) static_cast<MetricsHttp*>(s->data)->on_connection();
                         });
      rc != 0) {
    return fail("listen on", rc);
  }
  if (bound_.kind != Address::Kind::kUnix) {
    sockaddr_storage storage{};
    int len = sizeof storage;
    if (uv_tcp_getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&storage), &len) == 0) {
      bound_.port = storage.ss_family == AF_INET6
                        ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
                        : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
    }
  }
  return Ok{};
}

MetricsHttp::~MetricsHttp() {
  clients_.clear();  // their handles close through UvHandle
  tcp_.close();
  pipe_.close();
  sweeper_.close();
  if (created_unix_path_) ::unlink(bound_.path.c_str());
}

void MetricsHttp::on_connection() {
  auto owned = std::make_unique<Client>();
  Client& c = *owned;
  c.server = this;
  c.id = next_id_++;
  c.is_tcp = bound_.kind != Address::Kind::kUnix;
  if (c.is_tcp) {
    uv_tcp_init(loop_, c.tcp.get());
  } else {
    uv_pipe_init(loop_, c.pipe.get(), 0);
  }
  c.stream()->data = &c;
  uv_timer_init(loop_, c.timer.get());
  c.timer.get()->data = &c;
  const auto* listener = bound_.kind == Address::Kind::kUnix
                             ? reinterpret_cast<uv_stream_t*>(pipe_.get())
                             : reinterpret_cast<uv_stream_t*>(tcp_.get());
  if (uv_accept(const_cast<uv_stream_t*>(listener), c.stream()) != 0) return;
  clients_.emplace(c.id, std::move(owned));
  if (clients_.size() > limits_.max_clients) {
    std::string reply = http_response(503, "too many connections\n");
    uv_buf_t buf = uv_buf_init(reply.data(), static_cast<unsigned>(reply.size()));
    uv_try_write(c.stream(), &buf, 1);
    close_client(c);
    return;
  }
  uv_timer_start(
      c.timer.get(),
      [](uv_timer_t* t) {
        auto* client = static_cast<Client*>(t->data);
        if (!client->responded) {
          // The request never came whole: say so if the socket takes it now.
          std::string reply = http_response(408, "request not received in time\n");
          uv_buf_t buf = uv_buf_init(reply.data(), static_cast<unsigned>(reply.size()));
          uv_try_write(client->stream(), &buf, 1);
        }
        client->server->close_client(*client);
      },
      static_cast<uint64_t>(limits_.request_timeout.count()), 0);
  uv_read_start(
      c.stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* client = static_cast<Client*>(h->data);
        // After the response, whatever comes is read into the head and dropped.
        const size_t offset = client->responded ? 0 : client->used;
        buf->base = client->head.data() + offset;
        buf->len = client->head.size() - offset;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        auto* client = static_cast<Client*>(s->data);
        client->server->on_read(*client, nread);
      });
}

void MetricsHttp::on_read(Client& client, ssize_t nread) {
  if (client.closing) return;
  if (nread == UV_EOF && client.responded && !client.written) {
    // Half-closed after its request (`printf ... | nc -N`): it still reads.
    client.peer_done = true;
    return;
  }
  if (nread < 0) {  // end-of-file or error: a request cut short gets no answer
    close_client(client);
    return;
  }
  if (client.responded) return;
  client.used += static_cast<size_t>(nread);
  const std::string_view data(client.head.data(), client.used);
  if (const size_t end = head_end(data); end != std::string_view::npos) {
    respond(client, answer(data.substr(0, end)));
  } else if (client.used == client.head.size()) {
    respond(client, http_response(431, fmt::format("request head larger than {} bytes\n",
                                                   kMaxRequestHeadBytes)));
  }
}

std::string MetricsHttp::answer(std::string_view head) {
  while (head.starts_with("\r\n") || head.starts_with("\n")) head.remove_prefix(head[0] == '\r' ? 2 : 1);
  std::string_view line = head.substr(0, head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  std::string_view parts[3];
  size_t count = 0;
  while (!line.empty() && count < 3) {
    const size_t space = line.find(' ');
    parts[count++] = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  if (count != 3 || !line.empty() || parts[0].empty() || parts[1].empty()) {
    return http_response(400, "malformed request line\n");
  }
  const std::string_view method = parts[0], version = parts[2];
  std::string_view path = parts[1].substr(0, parts[1].find_first_of("?#"));
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return version.starts_with("HTTP/") ? http_response(505, "HTTP/1.0 or HTTP/1.1 only\n")
                                        : http_response(400, "malformed request line\n");
  }
  if (path != "/metrics" && path != "/health/live" && path != "/health/ready") {
    return http_response(404, "not found: corral serves /metrics, /health/live, /health/ready\n");
  }
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return http_response(405, "method not allowed: GET or HEAD\n", false, kTextPlain,
                         "Allow: GET, HEAD\r\n");
  }
  // No exception escapes a libuv callback: a failing handler is a 500.
  try {
    if (path == "/metrics") {
      const std::string body = handlers_.metrics ? handlers_.metrics() : std::string();
      return http_response(200, body, head_only, kExposition);
    }
    const auto& handler = path == "/health/live" ? handlers_.live : handlers_.ready;
    ProbeResult verdict = handler ? handler() : ProbeResult{true, path == "/health/live" ? "ok" : "ready"};
    return http_response(verdict.ok ? 200 : 503, verdict.message + "\n", head_only);
  } catch (const std::exception& e) {
    return http_response(500, fmt::format("internal error: {}\n", e.what()), head_only);
  }
}

void MetricsHttp::respond(Client& client, std::string response) {
  client.responded = true;
  uv_timer_start(
      client.timer.get(),
      [](uv_timer_t* t) {
        auto* c = static_cast<Client*>(t->data);
        c->server->close_client(*c);
      },
      static_cast<uint64_t>(limits_.response_timeout.count()), 0);
  auto write = std::make_unique<Write>();
  write->data = std::move(response);
  write->server = alive_;
  write->client_id = client.id;
  write->req.data = write.get();
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  if (uv_write(&write->req, client.stream(), &buf, 1, [](uv_write_t* req, int status) {
        std::unique_ptr<Write> done(static_cast<Write*>(req->data));
        if (auto server = done->server.lock()) (*server)->on_written(done->client_id, status);
      }) != 0) {
    close_client(client);
    return;
  }
  (void)write.release();  // the callback owns it now
}

void MetricsHttp::on_written(uint64_t client_id, int status) {
  auto it = clients_.find(client_id);
  if (it == clients_.end() || it->second->closing) return;
  Client& client = *it->second;
  client.written = true;
  if (status != 0 || client.peer_done) {
    close_client(client);  // nothing more to wait for: the kernel sends what it has
    return;
  }
  // Half-close, then wait briefly for the client's end-of-file.
  auto* shutdown = new uv_shutdown_t{};
  if (uv_shutdown(shutdown, client.stream(), [](uv_shutdown_t* req, int) { delete req; }) != 0) {
    delete shutdown;
    close_client(client);
    return;
  }
  uv_timer_start(
      client.timer.get(),
      [](uv_timer_t* t) {
        auto* c = static_cast<Client*>(t->data);
        c->server->close_client(*c);
      },
      static_cast<uint64_t>(limits_.linger.count()), 0);
}

void MetricsHttp::close_client(Client& client) {
  if (client.closing) return;
  client.closing = true;
  // Pending writes and the shutdown complete (or are cancelled) before
  // the handles' close callbacks; neither touches the client.
  client.tcp.close();
  client.pipe.close();
  client.timer.close();
  uv_timer_start(
      sweeper_.get(), [](uv_timer_t* t) { static_cast<MetricsHttp*>(t->data)->sweep_closed(); }, 0,
      0);
}

void MetricsHttp::sweep_closed() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    it = it->second->closing ? clients_.erase(it) : std::next(it);
  }
}

}  // namespace corral::supervisor
