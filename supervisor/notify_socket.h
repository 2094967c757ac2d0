// The socket behind each worker's NOTIFY_SOCKET: one unix datagram socket
// for all workers, read on the loop. Senders are identified by the kernel
// (SCM_CREDENTIALS), never by what they write; descriptors that arrive are
// closed at once (systemd-notify sends a barrier fd and waits for its close).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "supervisor/notify_message.h"
#include "supervisor/uv_handle.h"

namespace corral::supervisor {

class NotifySocket {
 public:
  using Handler = std::function<void(pid_t sender, const NotifyMessage& message)>;

  // Binds `path` (removing a stale file there) and starts reading.
  static Result<std::unique_ptr<NotifySocket>> create(uv_loop_t* loop, const std::string& path,
                                                      Handler handler);
  NotifySocket(UniqueFd fd, std::string path, Handler handler);  // use create()
  ~NotifySocket();  // stops, closes, removes the file
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }

 private:
  void read_datagrams();

  UniqueFd fd_;
  std::string path_;
  Handler handler_;
  UvHandle<uv_poll_t> poll_;
};

}  // namespace corral::supervisor
