#include "supervisor/notify_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace corral::supervisor {
namespace {

// sd_notify messages are short; systemd itself caps them at a few KiB.
constexpr size_t kMaxDatagram = 4096;
// Per readable event: a flood from one worker must not hold the loop.
constexpr int kMaxPerTurn = 64;
constexpr int kMaxFdsPerMessage = 16;

void close_passed_fds(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        ::close(fd);
      }
    }
  }
}

pid_t sender_pid(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
        c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      return cred.pid;
    }
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<NotifySocket>> NotifySocket::create(uv_loop_t* loop, const std::string& path,
                                                           Handler handler) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return Error{fmt::format("notify socket path too long: {}", path)};
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error{fmt::format("cannot create the notify socket: {}", std::strerror(errno))};
  ::unlink(path.c_str());  // ours by name (it carries our pid): a leftover
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Error{fmt::format("cannot bind the notify socket {}: {}", path, std::strerror(errno))};
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  // Workers may run as another user ([worker] user); the directory, not
  // the socket's mode, keeps strangers out.
  ::chmod(path.c_str(), 0666);

  auto socket = std::make_unique<NotifySocket>(std::move(fd), path, std::move(handler));
  if (int rc = uv_poll_init(loop, socket->poll_.get(), socket->fd_.get()); rc != 0) {
    return Error{fmt::format("cannot watch the notify socket: {}", uv_strerror(rc))};
  }
  socket->poll_.get()->data = socket.get();
  uv_poll_start(socket->poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    if (status == 0) static_cast<NotifySocket*>(h->data)->read_datagrams();
  });
  return socket;
}

NotifySocket::NotifySocket(UniqueFd fd, std::string path, Handler handler)
    : fd_(std::move(fd)), path_(std::move(path)), handler_(std::move(handler)) {}

NotifySocket::~NotifySocket() {
  poll_.close();
  fd_.reset();
  ::unlink(path_.c_str());
}

void NotifySocket::read_datagrams() {
  for (int i = 0; i < kMaxPerTurn; ++i) {
    char data[kMaxDatagram];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) return;  // EAGAIN: drained
    close_passed_fds(msg);
    if ((msg.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(n) > sizeof data) continue;
    const pid_t pid = sender_pid(msg);
    if (pid <= 0) continue;
    handler_(pid, parse_notify_message(std::string_view(data, static_cast<size_t>(n))));
  }
}

}  // namespace corral::supervisor
