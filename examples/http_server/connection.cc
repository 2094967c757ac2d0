#include "connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace example {

Connection::Connection() : in_(std::make_unique<char[]>(kInputCapacity)) { out_.reserve(4096); }

void Connection::open(corral::UniqueFd fd, uint32_t generation) {
  fd_ = std::move(fd);
  generation_ = generation;
}

void Connection::close() {
  fd_.reset();
  begin_ = end_ = 0;
  out_.clear();
  out_sent_ = 0;
  readable = writable = hangup = peer_closed = close_after_flush = lingering = waiting = false;
  exit_after_flush.reset();
  deferred = Deferred{};
  body_to_skip = 0;
  scanned = 0;
}

Connection::Io Connection::read() {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (end_ == kInputCapacity && begin_ > 0) {
    std::memmove(in_.get(), in_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  size_t space = kInputCapacity - end_;
  if (space == 0) return Io::kOk;  // caller must parse before reading more
  for (;;) {
    ssize_t n = recv(fd_.get(), in_.get() + end_, space, 0);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      if (static_cast<size_t>(n) < space && !hangup) readable = false;
      return Io::kOk;
    }
    if (n == 0) {
      readable = false;
      return Io::kEof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      readable = false;
      return Io::kAgain;
    }
    return Io::kError;
  }
}

Connection::Io Connection::flush() {
  while (out_sent_ < out_.size()) {
    ssize_t n = send(fd_.get(), out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      if (out_sent_ < out_.size()) {  // the socket buffer is full: wait for EPOLLOUT
        writable = false;
        return Io::kAgain;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      writable = false;
      return Io::kAgain;
    }
    return Io::kError;
  }
  out_.clear();  // keeps capacity
  out_sent_ = 0;
  return Io::kOk;
}

void Connection::consume(size_t n) {
  begin_ += std::min(n, end_ - begin_);
  if (begin_ == end_) begin_ = end_ = 0;
}

bool Connection::skip_body() {
  size_t n = static_cast<size_t>(std::min<uint64_t>(body_to_skip, end_ - begin_));
  consume(n);
  body_to_skip -= n;
  return body_to_skip == 0;
}

}  // namespace example
