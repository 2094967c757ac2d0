#include "supervisor/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace corral::supervisor {
namespace {

// A write request and the bytes it sends live together until libuv is done
// with them, whatever happens to the client meanwhile.
struct Write {
  uv_write_t req{};
  std::string data;
};

bool someone_listens(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

bool admin_peer_allowed(uid_t peer, uid_t self) { return peer == self || peer == 0; }

size_t admin_client_limit(rlim_t soft_nofile) {
  constexpr size_t kCeiling = 1024, kFloor = 16;
  if (soft_nofile == RLIM_INFINITY || soft_nofile / 2 >= kCeiling) return kCeiling;
  return std::max(kFloor, static_cast<size_t>(soft_nofile / 2));
}

AdminServer::AdminServer(uv_loop_t* loop, std::string path, Handler handler)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)) {}

Result<std::unique_ptr<AdminServer>> AdminServer::start(uv_loop_t* loop, const std::string& path,
                                                        Handler handler) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Error{fmt::format("admin socket path too long: {}", path)};
  }
  struct stat st {};
  // lstat, bind and unlink never follow a symlink at the path itself: one
  // planted there is refused and left alone, and so is what it points to.
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Error{
          fmt::format("cannot create the admin socket {}: the path is a symbolic link "
                      "(refusing to follow or remove it)",
                      path)};
    }
    if (!S_ISSOCK(st.st_mode)) {
      return Error{fmt::format(
          "cannot create the admin socket {}: the path exists and is not a socket", path)};
    }
    if (someone_listens(path)) {
      return Error{
          fmt::format("another corral is already running with admin socket {} "
                      "(use another --name, or stop it)",
                      path)};
    }
    ::unlink(path.c_str());  // left by a corral that died
  }
  auto server = std::make_unique<AdminServer>(loop, path, std::move(handler));
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0)
    server->max_clients_ = admin_client_limit(nofile.rlim_cur);
  uv_pipe_init(loop, server->server_.get(), 0);
  server->server_.get()->data = server.get();
  uv_timer_init(loop, server->sweeper_.get());
  server->sweeper_.get()->data = server.get();
  // Created owner-only from the start: no window in which others connect.
  const mode_t old_umask = ::umask(0177);
  const int rc = uv_pipe_bind(server->server_.get(), path.c_str());
  ::umask(old_umask);
  if (rc != 0)
    return Error{fmt::format("cannot bind the admin socket {}: {}", path, uv_strerror(rc))};
  server->bound_ = true;
  if (int l = uv_listen(reinterpret_cast<uv_stream_t*>(server->server_.get()), 128,
                        [](uv_stream_t* s, int status) {
                          static_cast<AdminServer*>(s->data)->on_connection(status);
                        });
      l != 0) {
    return Error{fmt::format("cannot listen on the admin socket {}: {}", path, uv_strerror(l))};
  }
  return server;
}

AdminServer::~AdminServer() {
  clients_.clear();  // their handles close through UvHandle
  server_.close();
  sweeper_.close();
  if (bound_) ::unlink(path_.c_str());
}

void AdminServer::on_connection(int status) {
  if (status != 0) {
    // Out of descriptors (EMFILE): libuv has already accepted and closed
    // the pending connections with its reserve descriptor, so clients see
    // the connection close rather than hang, and the loop does not spin.
    warn(Warning::kAccept,
         fmt::format("admin socket: cannot accept a connection: {}", uv_strerror(status)));
    return;
  }
  auto owned = std::make_unique<Client>();
  Client& c = *owned;
  c.server = this;
  c.id = next_id_++;
  c.last_active_ms = uv_now(loop_);
  uv_pipe_init(loop_, c.pipe.get(), 0);
  uv_timer_init(loop_, c.idle.get());
  c.pipe.get()->data = &c;
  c.idle.get()->data = &c;
  auto* stream = reinterpret_cast<uv_stream_t*>(c.pipe.get());
  if (uv_accept(reinterpret_cast<uv_stream_t*>(server_.get()), stream) != 0) return;
  const bool room = make_room();
  clients_.emplace(c.id, std::move(owned));
  if (!room) {
    send_final(c,
               ipc::admin::error_reply(fmt::format(
                   "too many admin connections ({}), each waiting for an answer", max_clients_)));
    return;
  }

  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(c.pipe.get()), &fd);
  ucred peer{};
  socklen_t len = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
      !admin_peer_allowed(peer.uid, ::geteuid())) {
    if (on_refused_) on_refused_(peer.pid, peer.uid);
    send_final(c, ipc::admin::error_reply(
                      fmt::format("permission denied: uid {} may not use this socket", peer.uid)));
    return;
  }

  arm_idle_timer(c);
  start_reading(c);
}

bool AdminServer::make_room() {
  size_t open = 0;
  Client* idlest = nullptr;
  for (auto& [id, client] : clients_) {
    if (client->closing) continue;
    ++open;
    if (!client->awaiting &&
        (idlest == nullptr || client->last_active_ms < idlest->last_active_ms)) {
      idlest = client.get();
    }
  }
  if (open < max_clients_) return true;
  // The newcomer is most likely a person's `corral status`; the connection
  // idle the longest is most likely a forgotten or hostile one.
  warn(Warning::kLimit, fmt::format("admin socket: {} connections open, the limit; closing the "
                                    "one idle the longest for each new one",
                                    max_clients_));
  if (idlest == nullptr) return false;
  send_final(*idlest, ipc::admin::error_reply(fmt::format(
                          "too many admin connections ({}): closing this one, idle the longest",
                          max_clients_)));
  return true;
}

void AdminServer::warn(Warning kind, const std::string& message) {
  const auto k = static_cast<size_t>(kind);
  const uint64_t now = uv_now(loop_);
  if (last_warning_ms_[k] != 0 &&
      now - last_warning_ms_[k] < static_cast<uint64_t>(kWarningInterval.count())) {
    ++suppressed_[k];
    return;
  }
  last_warning_ms_[k] = now == 0 ? 1 : now;
  std::string text = message;
  if (suppressed_[k] > 0) text += fmt::format(" ({} more since the last report)", suppressed_[k]);
  suppressed_[k] = 0;
  if (on_warning_) on_warning_(text);
}

void AdminServer::arm_idle_timer(Client& client) {
  client.last_active_ms = uv_now(loop_);
  uv_timer_start(
      client.idle.get(),
      [](uv_timer_t* t) {
        auto* c = static_cast<Client*>(t->data);
        c->server->send_final(
            *c, ipc::admin::error_reply(fmt::format("no complete request within {}s; closing",
                                                    kIdleTimeout.count() / 1000)));
      },
      static_cast<uint64_t>(kIdleTimeout.count()), 0);
}

void AdminServer::start_reading(Client& client) {
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(client.pipe.get()),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* c = static_cast<Client*>(h->data);
        buf->base = c->read_buffer;
        buf->len = sizeof c->read_buffer;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* c = static_cast<Client*>(s->data);
        c->server->on_read(*c, nread, buf);
      });
}

void AdminServer::on_read(Client& client, ssize_t nread, const uv_buf_t* buf) {
  if (client.closing) return;
  if (nread < 0) {  // EOF or error: a request cut short gets no reply
    close_client(client);
    return;
  }
  client.buffer.append(buf->base, static_cast<size_t>(nread));
  process_lines(client);
}

void AdminServer::process_lines(Client& client) {
  size_t start = 0;
  while (!client.awaiting) {
    const size_t end = client.buffer.find('\n', start);
    if (end == std::string::npos) break;
    handle_line(client, std::string_view(client.buffer).substr(start, end - start));
    if (client.closing) return;
    start = end + 1;
  }
  client.buffer.erase(0, start);
  if (client.awaiting) {
    // Stop reading until the answer: a client cannot pile up requests
    // behind a slow one.
    client.paused = true;
    uv_timer_stop(client.idle.get());
    uv_read_stop(reinterpret_cast<uv_stream_t*>(client.pipe.get()));
    return;
  }
  if (client.buffer.size() > ipc::admin::kMaxRequestBytes) {
    send_final(client, ipc::admin::error_reply(fmt::format("request larger than {} bytes",
                                                           ipc::admin::kMaxRequestBytes)));
  }
}

void AdminServer::handle_line(Client& client, std::string_view line) {
  // A whole request: the client gets a fresh kIdleTimeout for the next.
  arm_idle_timer(client);
  auto request = ipc::admin::parse_request(line);
  if (!request) {
    send(client, ipc::admin::error_reply(request.error().message));
    return;
  }
  client.awaiting = true;
  std::weak_ptr<int> alive = alive_;
  handler_(*request, [this, alive, id = client.id](std::string reply) {
    if (!alive.expired()) respond(id, std::move(reply));
  });
}

void AdminServer::respond(uint64_t client_id, std::string line) {
  auto it = clients_.find(client_id);
  if (it == clients_.end() || it->second->closing) return;  // it hung up meanwhile
  Client& client = *it->second;
  const bool resume = client.paused;
  client.awaiting = false;
  client.paused = false;
  send(client, std::move(line));
  if (client.closing) return;
  arm_idle_timer(client);
  if (!resume) return;
  // Answered later: take up the connection where it stopped.
  start_reading(client);
  process_lines(client);
}

void AdminServer::send(Client& client, std::string line) {
  auto* stream = reinterpret_cast<uv_stream_t*>(client.pipe.get());
  if (client.closing || stream == nullptr) return;
  if (uv_stream_get_write_queue_size(stream) > kMaxPendingReplyBytes) {
    close_client(client);  // it asks and never reads
    return;
  }
  auto write = std::make_unique<Write>();
  write->data = std::move(line);
  write->data += '\n';
  uv_buf_t buf = uv_buf_init(write->data.data(), static_cast<unsigned>(write->data.size()));
  write->req.data = write.get();
  if (uv_write(&write->req, stream, &buf, 1, [](uv_write_t* req, int) {
        std::unique_ptr<Write> done(static_cast<Write*>(req->data));
      }) == 0) {
    (void)write.release();  // the callback owns it now
  }
}

void AdminServer::send_final(Client& client, std::string line) {
  // Closing cancels queued writes; a short last word fits the empty socket
  // buffer, so it goes out synchronously first.
  line += '\n';
  uv_buf_t buf = uv_buf_init(line.data(), static_cast<unsigned>(line.size()));
  if (!client.closing) uv_try_write(reinterpret_cast<uv_stream_t*>(client.pipe.get()), &buf, 1);
  close_client(client);
}

void AdminServer::close_client(Client& client) {
  if (client.closing) return;
  client.closing = true;
  // Pending writes complete (or are cancelled) before the close callback.
  client.pipe.close();
  client.idle.close();
  uv_timer_start(
      sweeper_.get(), [](uv_timer_t* t) { static_cast<AdminServer*>(t->data)->sweep_closed(); }, 0,
      0);
}

void AdminServer::sweep_closed() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    it = it->second->closing ? clients_.erase(it) : std::next(it);
  }
}

}  // namespace corral::supervisor
