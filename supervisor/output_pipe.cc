#include "supervisor/output_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace corral::supervisor {
namespace {
constexpr size_t kReadChunk = 16 * 1024;
// Drained at exit: a worker can leave at most a pipe's capacity (64 KiB by
// default) unread, so this bound is not reached in practice; it keeps a
// descendant that keeps writing from holding the loop.
constexpr int kMaxDrainReads = 64;
}  // namespace

Result<std::unique_ptr<OutputPipe>> OutputPipe::create(uv_loop_t* loop, LineHandler on_line,
                                                       ClosedHandler on_closed) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error{fmt::format("cannot create a pipe: {}", std::strerror(errno))};
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  auto pipe =
      std::make_unique<OutputPipe>(std::move(read_end), std::move(write_end), std::move(on_line));
  if (int rc = uv_poll_init(loop, pipe->poll_.get(), pipe->read_end_.get()); rc != 0) {
    return Error{fmt::format("cannot watch a pipe: {}", uv_strerror(rc))};
  }
  pipe->poll_.get()->data = pipe.get();
  pipe->on_closed_ = std::move(on_closed);
  uv_timer_init(loop, pipe->closed_timer_.get());
  pipe->closed_timer_.get()->data = pipe.get();
  uv_poll_start(pipe->poll_.get(), UV_READABLE | UV_DISCONNECT,
                [](uv_poll_t* handle, int status, int) {
                  auto* self = static_cast<OutputPipe*>(handle->data);
                  if (status >= 0 && self->read_once()) return;
                  self->drain_and_close();
                  // A worker's own end closes as it exits, moments before
                  // corral reaps it (which destroys this pipe): only a
                  // close that outlives the grace is the worker's doing.
                  if (self->on_closed_) {
                    uv_timer_start(
                        self->closed_timer_.get(),
                        [](uv_timer_t* t) { static_cast<OutputPipe*>(t->data)->on_closed_(); },
                        static_cast<uint64_t>(kClosedGrace.count()), 0);
                  }
                });
  return pipe;
}

OutputPipe::OutputPipe(UniqueFd read_end, UniqueFd write_end, LineHandler on_line)
    : read_end_(std::move(read_end)),
      write_end_(std::move(write_end)),
      on_line_(std::move(on_line)) {}

OutputPipe::~OutputPipe() {
  poll_.close();
  closed_timer_.close();
}

void OutputPipe::emit_line(std::string_view line, bool continued) {
  if (!continued) {
    on_line_(line);
    return;
  }
  // A line over the cap arrives in pieces; mark the cut so a reader knows.
  std::string marked(line);
  marked += " [...]";
  on_line_(marked);
}

bool OutputPipe::read_once() {
  char buffer[kReadChunk];
  ssize_t n = ::read(read_end_.get(), buffer, sizeof buffer);
  if (n > 0) {
    splitter_.feed(std::string_view(buffer, static_cast<size_t>(n)),
                   [this](std::string_view line, bool continued) { emit_line(line, continued); });
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  return false;
}

void OutputPipe::drain_and_close() {
  if (closed_) return;
  closed_ = true;
  poll_.close();  // before the fd it watches goes away
  for (int i = 0; i < kMaxDrainReads; ++i) {
    char buffer[kReadChunk];
    ssize_t n = ::read(read_end_.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    splitter_.feed(std::string_view(buffer, static_cast<size_t>(n)),
                   [this](std::string_view line, bool continued) { emit_line(line, continued); });
  }
  splitter_.flush([this](std::string_view line, bool continued) { emit_line(line, continued); });
  read_end_.reset();
}

}  // namespace corral::supervisor
