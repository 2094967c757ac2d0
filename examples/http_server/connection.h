// One accepted client socket with its input and output buffers and the
// per-connection protocol state. The Server owns these objects, one slot per
// fd number, and reuses a slot (with its buffers' capacity) for the next
// socket that gets the same number: steady-state serving allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace example {

class Connection {
 public:
  static constexpr size_t kInputCapacity = 16 * 1024;
  static constexpr size_t kOutputHighWater = 256 * 1024;  // stop parsing above this

  enum class Io { kOk, kAgain, kEof, kError };

  Connection();

  void open(corral::UniqueFd fd, uint32_t generation);
  // Closes the socket and clears the protocol state; buffers keep their capacity.
  void close();

  bool is_open() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  uint32_t generation() const { return generation_; }

  // Receives into the free end of the input buffer. With edge-triggered
  // epoll a short read means the socket is drained, so it clears `readable`
  // without a second recv() that would only say EAGAIN; unless the peer's
  // FIN has been reported (`hangup`), which no later edge would announce.
  Io read();
  // Sends pending output; a short send clears `writable`.
  Io flush();

  std::string_view unparsed() const { return {in_.get() + begin_, end_ - begin_}; }
  void consume(size_t n);
  bool input_full() const { return begin_ == 0 && end_ == kInputCapacity; }
  // Drops request-body bytes that are buffered; true once the body is gone.
  bool skip_body();
  void drop_input() { begin_ = end_ = 0; }

  std::string& out() { return out_; }
  size_t pending_output() const { return out_.size() - out_sent_; }
  bool has_output() const { return out_sent_ < out_.size(); }

  // Nothing received, owed or pending: safe to close when draining.
  bool idle() const {
    return !has_output() && begin_ == end_ && !waiting && body_to_skip == 0 && !lingering;
  }

  // Readiness as last reported by epoll (edge-triggered) and not yet used up.
  bool readable = false;
  bool writable = false;
  bool hangup = false;           // epoll reported EPOLLRDHUP/EPOLLHUP
  bool peer_closed = false;      // recv() returned 0
  bool close_after_flush = false;  // the last response said Connection: close
  std::optional<int> exit_after_flush;  // GET /exit: _exit() once sent
  bool lingering = false;        // write side shut, discarding input until EOF

  // A deferred response (GET /slow) is owed; later requests wait behind it.
  bool waiting = false;
  struct Deferred {
    int64_t ms = 0;
    bool keep_alive = true;
    int minor_version = 1;
    bool head_only = false;
  } deferred;

  uint64_t body_to_skip = 0;  // request-body bytes still to discard
  size_t scanned = 0;         // parser resume point within unparsed()

 private:
  corral::UniqueFd fd_;
  uint32_t generation_ = 0;
  std::unique_ptr<char[]> in_;
  size_t begin_ = 0, end_ = 0;
  std::string out_;
  size_t out_sent_ = 0;
};

}  // namespace example
