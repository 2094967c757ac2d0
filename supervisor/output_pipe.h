// Reads one worker stream (stdout or stderr) from a pipe and hands it on
// line by line. Memory is bounded by the line cap whatever the worker
// writes; reads happen one buffer per loop turn so a flooding worker cannot
// starve the rest of the loop.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"
#include "supervisor/line_splitter.h"
#include "supervisor/uv_handle.h"

namespace corral::supervisor {

class OutputPipe {
 public:
  using LineHandler = std::function<void(std::string_view line)>;
  // The worker closed its end (every holder did) and is still running
  // kClosedGrace later. Never called once the OutputPipe is destroyed, so a
  // worker that exits (its pipe is closed as it dies) is not reported.
  using ClosedHandler = std::function<void()>;
  static constexpr std::chrono::milliseconds kClosedGrace{500};

  // Creates the pipe; the worker gets write_end().
  static Result<std::unique_ptr<OutputPipe>> create(uv_loop_t* loop, LineHandler on_line,
                                                    ClosedHandler on_closed = {});
  OutputPipe(UniqueFd read_end, UniqueFd write_end, LineHandler on_line);  // use create()
  ~OutputPipe();
  OutputPipe(const OutputPipe&) = delete;
  OutputPipe& operator=(const OutputPipe&) = delete;

  int write_end() const { return write_end_.get(); }
  // Call once the worker is started: corral must not hold the write end, or
  // it would never see EOF.
  void close_write_end() { write_end_.reset(); }
  // The worker exited: read what it left in the pipe, emit the partial last
  // line, and stop watching. Any descendant still holding the pipe gets
  // EPIPE from then on.
  void drain_and_close();

 private:
  // Returns false at EOF or error.
  bool read_once();
  void emit_line(std::string_view line, bool continued);

  UniqueFd read_end_;
  UniqueFd write_end_;
  LineHandler on_line_;
  ClosedHandler on_closed_;
  LineSplitter splitter_;
  UvHandle<uv_poll_t> poll_;
  UvHandle<uv_timer_t> closed_timer_;
  bool closed_ = false;
};

}  // namespace corral::supervisor
