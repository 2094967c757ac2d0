#include "supervisor/line_splitter.h"

#include <algorithm>
#include <cstdint>

namespace corral::supervisor {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kCutMarker = " [...]";
// Small enough caps are raised so that one UTF-8 character always fits.
constexpr size_t kMinLine = 4;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The character that starts `s`: its length in bytes, and whether it may be
// shown as is. Invalid UTF-8 (overlong, surrogate, past U+10FFFF, truncated,
// stray byte) is reported one byte at a time.
struct Char {
  size_t length;
  bool printable;
};

Char next_char(std::string_view s) {
  constexpr Char kInvalid = {1, false};
  const auto lead = static_cast<unsigned char>(s[0]);
  if (lead < 0x80) return {1, (lead >= 0x20 && lead != 0x7F) || lead == '\t'};
  // The lead byte gives the length; `smallest` is the least code point that
  // needs it (anything below is an overlong form).
  size_t length = 0;
  uint32_t smallest = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    smallest = 0x10000;
  } else {
    return kInvalid;
  }
  if (s.size() < length) return kInvalid;
  uint32_t code = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if (!is_continuation(s[i])) return kInvalid;
    code = code << 6 | (static_cast<unsigned char>(s[i]) & 0x3F);
  }
  if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return kInvalid;
  // C1 controls: some terminals act on them (U+009B is a CSI).
  return {length, code > 0x9F};
}

// Where to cut `s` to keep at most `n` bytes without splitting a UTF-8
// character. Falls back to `n` on bytes that are no valid character anyway.
size_t char_boundary(std::string_view s, size_t n) {
  if (n >= s.size()) return s.size();
  size_t cut = n;
  while (cut > 0 && n - cut < 3 && is_continuation(s[cut])) --cut;
  if (cut == 0 || is_continuation(s[cut])) return n;
  return cut;
}

// Bytes of a pending line that are surely content: a trailing '\r' may yet
// turn out to be half of a CRLF.
size_t known_content(const std::string& pending) {
  return pending.size() - (!pending.empty() && pending.back() == '\r' ? 1 : 0);
}

std::string_view without_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

LineSplitter::LineSplitter(size_t max_line) : max_line_(std::max(max_line, kMinLine)) {}

void LineSplitter::feed(std::string_view chunk, const Emit& emit) {
  while (!chunk.empty()) {
    const size_t newline = chunk.find('\n');
    if (newline == std::string_view::npos) {
      take(chunk, /*ends_line=*/false, emit);
      return;
    }
    take(chunk.substr(0, newline), /*ends_line=*/true, emit);
    chunk.remove_prefix(newline + 1);
  }
}

void LineSplitter::flush(const Emit& emit) {
  if (pending_.empty()) return;
  emit_piece(without_cr(pending_), /*continued=*/false, emit);
  pending_.clear();
}

void LineSplitter::take(std::string_view part, bool ends_line, const Emit& emit) {
  // The common case, a whole short line inside one chunk, is emitted
  // straight from the chunk without copying.
  if (pending_.empty() && ends_line && without_cr(part).size() <= max_line_) {
    emit_piece(without_cr(part), /*continued=*/false, emit);
    return;
  }
  // Appending at most max_line at a time keeps pending_ under
  // 2 x max_line + 1 bytes however long the line is.
  while (!part.empty()) {
    const size_t n = std::min(part.size(), max_line_);
    pending_.append(part.data(), n);
    part.remove_prefix(n);
    while (known_content(pending_) > max_line_) {
      const size_t cut = char_boundary(pending_, max_line_);
      emit_piece(std::string_view(pending_).substr(0, cut), /*continued=*/true, emit);
      pending_.erase(0, cut);
    }
  }
  if (ends_line) {
    emit_piece(without_cr(pending_), /*continued=*/false, emit);
    pending_.clear();
  }
}

void LineSplitter::emit_piece(std::string_view piece, bool continued, const Emit& emit) {
  size_t clean = 0;
  while (clean < piece.size()) {
    const Char c = next_char(piece.substr(clean));
    if (!c.printable) break;
    clean += c.length;
  }
  if (clean == piece.size()) {
    emit(piece, continued);
    return;
  }
  scratch_.assign(piece.substr(0, clean));
  for (size_t i = clean; i < piece.size();) {
    const Char c = next_char(piece.substr(i));
    if (c.printable) {
      scratch_.append(piece.substr(i, c.length));
    } else {
      scratch_.append(kReplacement);
    }
    i += c.length;
  }
  emit(scratch_, continued);
}

RecentLines::RecentLines(size_t max_lines, size_t max_line)
    : max_lines_(max_lines), max_line_(std::max(max_line, kMinLine)) {}

void RecentLines::push(std::string_view line) {
  if (max_lines_ == 0) return;
  std::string* slot;
  if (ring_.size() < max_lines_) {
    slot = &ring_.emplace_back();
  } else {
    slot = &ring_[oldest_];  // assigning over it reuses its capacity
    oldest_ = (oldest_ + 1) % max_lines_;
  }
  if (line.size() <= max_line_) {
    slot->assign(line);
    return;
  }
  slot->assign(line.substr(0, char_boundary(line, max_line_)));
  slot->append(kCutMarker);
}

std::vector<std::string> RecentLines::lines() const {
  std::vector<std::string> out;
  out.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(oldest_ + i) % ring_.size()]);
  return out;
}

void RecentLines::clear() {
  ring_.clear();
  oldest_ = 0;
}

}  // namespace corral::supervisor
