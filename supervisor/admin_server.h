// The admin socket: a unix stream socket in corral's private runtime
// directory, mode 0600, answering one JSON request per line (see
// ipc/admin_protocol.h, docs/admin-protocol.md). Runs on the loop; a slow,
// silent, hostile or foreign client never blocks it: requests are capped,
// idle clients time out, replies to a client that does not read are capped.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "ipc/admin_protocol.h"
#include "supervisor/uv_handle.h"

namespace corral::supervisor {

// Only corral's own user, or root, may steer the service.
bool admin_peer_allowed(uid_t peer, uid_t self);

// How many admin connections may be open at once: half the descriptors
// corral may open (its soft RLIMIT_NOFILE), at most 1024 and at least 16,
// so that clients can never take the descriptors its workers need.
size_t admin_client_limit(rlim_t soft_nofile);

class AdminServer {
 public:
  // Sends the reply line (without '\n') to the client that asked, if it is
  // still connected. May be called at once or later (a reload answers when
  // it is over); exactly once per request. Safe after the server is gone.
  using Respond = std::function<void(std::string)>;
  using Handler = std::function<void(const ipc::admin::Request&, Respond)>;

  // Binds `path` (replacing a stale socket file; refusing one a live
  // process listens on) and starts accepting.
  static Result<std::unique_ptr<AdminServer>> start(uv_loop_t* loop, const std::string& path,
                                                    Handler handler);
  AdminServer(uv_loop_t* loop, std::string path, Handler handler);  // use start()
  ~AdminServer();  // closes every client and removes the socket file
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  const std::string& path() const { return path_; }
  // Told about a peer refused for its uid, so that it can be logged.
  void on_refused(std::function<void(pid_t, uid_t)> f) { on_refused_ = std::move(f); }
  // Told about trouble worth a log line (accept failing, the connection
  // limit reached); each kind at most once per kWarningInterval.
  void on_warning(std::function<void(const std::string&)> f) { on_warning_ = std::move(f); }
  size_t max_clients() const { return max_clients_; }

  // A request must arrive whole within this time of the connection's start
  // or of the previous reply: a client trickling bytes cannot hold a
  // connection for ever.
  static constexpr std::chrono::milliseconds kIdleTimeout{10'000};
  static constexpr size_t kMaxPendingReplyBytes = 4 * 1024 * 1024;
  static constexpr std::chrono::milliseconds kWarningInterval{10'000};

 private:
  struct Client {
    AdminServer* server = nullptr;
    uint64_t id = 0;
    char read_buffer[16 * 1024];  // libuv reads into it; lines gather in `buffer`
    UvHandle<uv_pipe_t> pipe;
    UvHandle<uv_timer_t> idle;
    std::string buffer;
    bool closing = false;
    // A request is being answered later: further lines wait (replies come
    // in order) and the idle timeout is off (the client is waiting on us).
    bool awaiting = false;
    bool paused = false;          // reading stopped while awaiting
    uint64_t last_active_ms = 0;  // loop time of its accept, last request or reply
  };
  enum class Warning { kAccept, kLimit, kCount };

  void on_connection(int status);
  // At the limit: closes the connection idle the longest, unless every
  // one waits for an answer. Returns whether there is room now.
  bool make_room();
  void warn(Warning kind, const std::string& message);
  void arm_idle_timer(Client& client);
  void start_reading(Client& client);
  void on_read(Client& client, ssize_t nread, const uv_buf_t* buf);
  void process_lines(Client& client);
  void handle_line(Client& client, std::string_view line);
  void respond(uint64_t client_id, std::string line);
  void send(Client& client, std::string line);
  void send_final(Client& client, std::string line);  // then close
  void close_client(Client& client);
  void sweep_closed();

  uv_loop_t* loop_;
  std::string path_;
  Handler handler_;
  std::function<void(pid_t, uid_t)> on_refused_;
  std::function<void(const std::string&)> on_warning_;
  size_t max_clients_ = 1024;
  uint64_t last_warning_ms_[static_cast<size_t>(Warning::kCount)] = {};
  uint64_t suppressed_[static_cast<size_t>(Warning::kCount)] = {};
  UvHandle<uv_pipe_t> server_;
  // Closed clients are erased on the next loop turn, never from inside
  // their own callbacks.
  UvHandle<uv_timer_t> sweeper_;
  std::map<uint64_t, std::unique_ptr<Client>> clients_;
  uint64_t next_id_ = 1;
  bool bound_ = false;
  // Responders hold a weak reference: a late reply after the server is
  // gone is dropped.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace corral::supervisor
