// Workers' stdout and stderr arrive as byte chunks cut anywhere; corral logs
// them line by line. These two pieces hold the only per-stream state, and
// both keep memory bounded however much, or how badly, a worker writes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace corral::supervisor {

// Reassembles lines from chunks. What it emits is safe to put on one log
// line, into a terminal or into JSON: printable UTF-8 and tabs only. Each
// control character (C0 other than tab, DEL, C1) and each byte that is not
// valid UTF-8 (binary output) becomes U+FFFD, so a worker can neither forge
// log lines nor send escape sequences to an operator's terminal.
//
// Line ends are '\n'; a '\r' right before it (CRLF) is dropped. A line of
// more than max_line bytes is emitted in pieces of at most max_line input
// bytes, cut between UTF-8 characters; every piece but the last has
// `continued` set, and the last one always follows (it is never empty).
// Replacement can grow a piece to at most 3 x max_line bytes.
// Memory: at most about 2 x max_line pending bytes.
class LineSplitter {
 public:
  using Emit = std::function<void(std::string_view line, bool continued)>;

  explicit LineSplitter(size_t max_line = 16 * 1024);

  // Emits every line the chunk completes, in order. The view passed to
  // `emit` is valid only during the call.
  void feed(std::string_view chunk, const Emit& emit);

  // At EOF: emits the partial last line, if any, and starts afresh.
  void flush(const Emit& emit);

 private:
  void take(std::string_view part, bool ends_line, const Emit& emit);
  void emit_piece(std::string_view piece, bool continued, const Emit& emit);

  size_t max_line_;
  std::string pending_;  // bytes of the line not yet emitted
  std::string scratch_;  // reused for pieces that need replacements
};

// The last lines of a stream, for "last lines before the crash" reports.
// Fixed ring: pushing onto a full one drops the oldest line.
class RecentLines {
 public:
  // A line longer than max_line keeps its first max_line bytes (cut between
  // UTF-8 characters) followed by " [...]".
  explicit RecentLines(size_t max_lines = 20, size_t max_line = 512);

  void push(std::string_view line);
  std::vector<std::string> lines() const;  // oldest first
  void clear();

 private:
  size_t max_lines_;
  size_t max_line_;
  std::vector<std::string> ring_;  // grows to max_lines_, then wraps
  size_t oldest_ = 0;              // index of the oldest line once full
};

}  // namespace corral::supervisor
