#include "supervisor/line_splitter.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace corral::supervisor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

struct Piece {
  std::string text;
  bool continued;
  friend bool operator==(const Piece&, const Piece&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Piece& p) {
    return os << '"' << p.text << '"' << (p.continued ? " (continued)" : "");
  }
};

// Collects what a splitter emits.
struct Sink {
  std::vector<Piece> pieces;
  LineSplitter::Emit emit() {
    return [this](std::string_view line, bool continued) {
      pieces.push_back({std::string(line), continued});
    };
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const Piece& p : pieces) out.push_back(p.text);
    return out;
  }
};

std::vector<Piece> split(const std::vector<std::string>& chunks, size_t max_line = 16 * 1024,
                         bool flush = false) {
  LineSplitter splitter(max_line);
  Sink sink;
  for (const std::string& chunk : chunks) splitter.feed(chunk, sink.emit());
  if (flush) splitter.flush(sink.emit());
  return sink.pieces;
}

std::vector<std::string> split_texts(const std::vector<std::string>& chunks, bool flush = false) {
  std::vector<std::string> out;
  for (const Piece& p : split(chunks, 16 * 1024, flush)) out.push_back(p.text);
  return out;
}

Piece whole(std::string text) { return {std::move(text), false}; }
Piece part(std::string text) { return {std::move(text), true}; }

// What the splitter promises about every piece: printable UTF-8 and tabs,
// checked here independently of its own decoder.
bool printable_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
      ++i;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return false;
    uint32_t cp = c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    if (cp >= 0x80 && cp <= 0x9F) return false;
    i += n;
  }
  return true;
}

TEST(LineSplitterTest, OneLine) {
  EXPECT_THAT(split({"hello\n"}), ElementsAre(whole("hello")));
}

TEST(LineSplitterTest, ManyLinesInOneChunk) {
  std::string chunk;
  for (int i = 0; i < 10'000; ++i) chunk += "line " + std::to_string(i) + "\n";
  std::vector<std::string> lines = split_texts({chunk});
  ASSERT_EQ(lines.size(), 10'000u);
  for (int i = 0; i < 10'000; ++i) EXPECT_EQ(lines[i], "line " + std::to_string(i));
}

TEST(LineSplitterTest, NothingBeforeTheNewline) {
  EXPECT_THAT(split({"no newline yet"}), IsEmpty());
}

TEST(LineSplitterTest, LinesSplitAcrossChunks) {
  EXPECT_THAT(split_texts({"hel", "lo\nwor", "ld\n", "!", "\n"}),
              ElementsAre("hello", "world", "!"));
}

TEST(LineSplitterTest, EverySplitPointGivesTheSameLines) {
  const std::string text = "first\r\nsecond line\n\nthird\tcol\r\n\xC3\xA9t\xC3\xA9\n";
  const std::vector<std::string> expected = {"first", "second line", "", "third\tcol",
                                             "\xC3\xA9t\xC3\xA9"};
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      EXPECT_EQ(split_texts({text.substr(0, a), text.substr(a, b - a), text.substr(b)}), expected)
          << "cut at " << a << " and " << b;
    }
  }
}

TEST(LineSplitterTest, ByteByByte) {
  std::vector<std::string> chunks;
  for (char c : std::string("ab\r\ncd\n")) chunks.emplace_back(1, c);
  EXPECT_THAT(split_texts(chunks), ElementsAre("ab", "cd"));
}

TEST(LineSplitterTest, EmptyLines) {
  EXPECT_THAT(split({"\n\n", "\n"}), ElementsAre(whole(""), whole(""), whole("")));
  EXPECT_THAT(split({"", "", "a\n"}), ElementsAre(whole("a")));  // empty chunks are harmless
}

TEST(LineSplitterTest, CrlfLosesItsCr) {
  EXPECT_THAT(split_texts({"a\r\nb\r\n\r\n"}), ElementsAre("a", "b", ""));
  EXPECT_THAT(split_texts({"a\r", "\nb\r", "\n"}), ElementsAre("a", "b"));
}

TEST(LineSplitterTest, OnlyOneTrailingCrIsALineEnd) {
  // The first '\r' is content, a control character, so it is replaced.
  EXPECT_THAT(split_texts({"a\r\r\n"}), ElementsAre("a" + std::string(kFffd)));
}

TEST(LineSplitterTest, ACrInsideALineCannotRewriteIt) {
  EXPECT_THAT(split_texts({"progress 10%\rprogress 20%\n"}),
              ElementsAre("progress 10%" + std::string(kFffd) + "progress 20%"));
}

TEST(LineSplitterTest, FlushEmitsThePartialLastLineOnce) {
  LineSplitter splitter;
  Sink sink;
  splitter.feed("done\npartial", sink.emit());
  splitter.flush(sink.emit());
  splitter.flush(sink.emit());
  EXPECT_THAT(sink.pieces, ElementsAre(whole("done"), whole("partial")));
}

TEST(LineSplitterTest, FlushWithNothingPendingEmitsNothing) {
  EXPECT_THAT(split({}, 16, /*flush=*/true), IsEmpty());
  EXPECT_THAT(split({"a\n"}, 16, /*flush=*/true), ElementsAre(whole("a")));
}

TEST(LineSplitterTest, FlushDropsATrailingCr) {
  EXPECT_THAT(split({"last\r"}, 16, /*flush=*/true), ElementsAre(whole("last")));
}

TEST(LineSplitterTest, SplitterIsReusableAfterFlush) {
  LineSplitter splitter;
  Sink sink;
  splitter.feed("one", sink.emit());
  splitter.flush(sink.emit());
  splitter.feed("two\n", sink.emit());
  EXPECT_THAT(sink.texts(), ElementsAre("one", "two"));
}

TEST(LineSplitterTest, LineOfExactlyMaxLineIsOnePiece) {
  EXPECT_THAT(split({"abcdefgh\n"}, 8), ElementsAre(whole("abcdefgh")));
  EXPECT_THAT(split({"abcd", "efgh\n"}, 8), ElementsAre(whole("abcdefgh")));
  EXPECT_THAT(split({"abcdefgh\r\n"}, 8), ElementsAre(whole("abcdefgh")));
  EXPECT_THAT(split({"abcdefgh\r", "\n"}, 8), ElementsAre(whole("abcdefgh")));
}

TEST(LineSplitterTest, OneByteOverMaxLineMakesTwoPieces) {
  EXPECT_THAT(split({"abcdefghi\n"}, 8), ElementsAre(part("abcdefgh"), whole("i")));
  EXPECT_THAT(split({"abcdefgh\rx\n"}, 8),
              ElementsAre(part("abcdefgh"), whole(std::string(kFffd) + "x")));
}

TEST(LineSplitterTest, HugeLineComesOutInBoundedPiecesWhileItArrives) {
  constexpr size_t kMax = 16;
  std::string line;
  for (int i = 0; i < 1000; ++i) line += static_cast<char>('a' + i % 26);
  LineSplitter splitter(kMax);
  Sink sink;
  for (size_t i = 0; i < line.size(); i += 7) splitter.feed(line.substr(i, 7), sink.emit());
  // Memory is bounded: all but a bounded tail went out before the line ended.
  size_t emitted = 0;
  for (const Piece& p : sink.pieces) emitted += p.text.size();
  EXPECT_GE(emitted, line.size() - 2 * kMax - 1);

  splitter.feed("\nnext\n", sink.emit());
  std::string joined;
  ASSERT_GE(sink.pieces.size(), 3u);
  for (size_t i = 0; i + 1 < sink.pieces.size(); ++i) {
    const Piece& p = sink.pieces[i];
    EXPECT_LE(p.text.size(), kMax);
    EXPECT_FALSE(p.text.empty());
    EXPECT_EQ(p.continued, i + 2 < sink.pieces.size()) << i;  // all but the line's last
    joined += p.text;
  }
  EXPECT_EQ(joined, line);
  EXPECT_EQ(sink.pieces.size(), 1000 / kMax + 1 + 1);  // 63 pieces, then "next"
  EXPECT_EQ(sink.pieces.back(), whole("next"));
}

TEST(LineSplitterTest, HugeLineInOneChunk) {
  const std::string line(100'000, 'x');
  std::vector<Piece> pieces = split({line + "\n"}, 1000);
  ASSERT_EQ(pieces.size(), 100u);
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_EQ(pieces[i].text.size(), 1000u);
    EXPECT_EQ(pieces[i].continued, i + 1 < pieces.size());
  }
}

TEST(LineSplitterTest, PiecesAreNotCutInsideACharacter) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  // The cut at 5 bytes would fall inside the euro sign: the piece ends before it.
  EXPECT_THAT(split({"aaaa" + euro + "b\n"}, 5), ElementsAre(part("aaaa"), whole(euro + "b")));
  const std::string emoji = "\xF0\x9F\x98\x80";  // 4 bytes
  EXPECT_THAT(split({emoji + emoji + emoji + "\n"}, 6),
              ElementsAre(part(emoji), part(emoji), whole(emoji)));
}

TEST(LineSplitterTest, TabAndPrintableUtf8PassUntouched) {
  const std::string text = "a\tb \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 ~";
  EXPECT_THAT(split_texts({text + "\n"}), ElementsAre(text));
}

TEST(LineSplitterTest, ControlCharactersAreReplaced) {
  const std::string r(kFffd);
  EXPECT_THAT(split_texts({"a\x1b[31mred\x1b[0m\n"}),
              ElementsAre("a" + r + "[31mred" + r + "[0m"));
  EXPECT_THAT(split_texts({std::string("nul\0byte\n", 9)}), ElementsAre("nul" + r + "byte"));
  EXPECT_THAT(split_texts({"del\x7f\n"}), ElementsAre("del" + r));
  EXPECT_THAT(split_texts({"bell\a back\b ff\f vt\v\n"}),
              ElementsAre("bell" + r + " back" + r + " ff" + r + " vt" + r));
  // A C1 control is one valid character, so one replacement.
  EXPECT_THAT(split_texts({"c1 csi \xC2\x9B" "2J\n"}), ElementsAre("c1 csi " + r + "2J"));
}

TEST(LineSplitterTest, InvalidUtf8IsReplaced) {
  const std::string r(kFffd);
  EXPECT_THAT(split_texts({"\xFF\xFE\n"}), ElementsAre(r + r));
  EXPECT_THAT(split_texts({"lone \xC3 lead\n"}), ElementsAre("lone " + r + " lead"));
  EXPECT_THAT(split_texts({"stray \x80\n"}), ElementsAre("stray " + r));
  EXPECT_THAT(split_texts({"overlong \xC0\xAF\n"}), ElementsAre("overlong " + r + r));
  EXPECT_THAT(split_texts({"surrogate \xED\xA0\x80\n"}), ElementsAre("surrogate " + r + r + r));
  EXPECT_THAT(split_texts({"too big \xF4\x90\x80\x80\n"}), ElementsAre("too big " + r + r + r + r));
  EXPECT_THAT(split_texts({"cut \xE2\x82", "\n"}), ElementsAre("cut " + r + r));
}

TEST(LineSplitterTest, RandomBinaryOutputStaysLineForLineAndPrintable) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> chunk_size(1, 700);
  std::string data(200'000, '\0');
  for (char& c : data) c = static_cast<char>(byte(rng));
  const size_t newlines = std::count(data.begin(), data.end(), '\n');

  constexpr size_t kMax = 64;
  LineSplitter splitter(kMax);
  Sink sink;
  for (size_t i = 0; i < data.size();) {
    size_t n = std::min(chunk_size(rng), data.size() - i);
    splitter.feed(std::string_view(data).substr(i, n), sink.emit());
    i += n;
  }
  splitter.flush(sink.emit());

  size_t line_ends = 0;
  for (const Piece& p : sink.pieces) {
    EXPECT_TRUE(printable_utf8(p.text));
    EXPECT_LE(p.text.size(), 3 * kMax);
    if (!p.continued) ++line_ends;
  }
  const bool partial_last = data.back() != '\n';
  EXPECT_EQ(line_ends, newlines + (partial_last ? 1 : 0));
  EXPECT_FALSE(sink.pieces.back().continued);
}

TEST(LineSplitterTest, TinyCapsStillMakeProgress) {
  const std::string emoji = "\xF0\x9F\x98\x80";
  std::vector<Piece> pieces = split({emoji + emoji + "\n"}, 1);  // raised to one character
  EXPECT_THAT(pieces, ElementsAre(part(emoji), whole(emoji)));
}

TEST(RecentLinesTest, KeepsLinesOldestFirst) {
  RecentLines recent(3);
  EXPECT_THAT(recent.lines(), IsEmpty());
  recent.push("a");
  recent.push("b");
  EXPECT_THAT(recent.lines(), ElementsAre("a", "b"));
}

TEST(RecentLinesTest, DropsTheOldestWhenFull) {
  RecentLines recent(3);
  for (std::string s : {"1", "2", "3", "4", "5"}) recent.push(s);
  EXPECT_THAT(recent.lines(), ElementsAre("3", "4", "5"));
}

TEST(RecentLinesTest, WrapsManyTimes) {
  RecentLines recent(7);
  for (int i = 0; i < 100; ++i) recent.push(std::to_string(i));
  EXPECT_THAT(recent.lines(), ElementsAre("93", "94", "95", "96", "97", "98", "99"));
}

TEST(RecentLinesTest, CapsEachLine) {
  RecentLines recent(5, 8);
  recent.push("12345678");
  recent.push("123456789abcdef");
  recent.push("");
  EXPECT_THAT(recent.lines(), ElementsAre("12345678", "12345678 [...]", ""));
}

TEST(RecentLinesTest, CapDoesNotSplitACharacter) {
  RecentLines recent(1, 8);
  recent.push("abcdef\xE2\x82\xAC");  // the euro sign straddles byte 8
  EXPECT_THAT(recent.lines(), ElementsAre("abcdef [...]"));
}

TEST(RecentLinesTest, LongLinesDoNotLeakIntoLaterOnes) {
  RecentLines recent(2, 8);
  recent.push(std::string(100, 'x'));
  recent.push("a");
  recent.push("b");  // overwrites the long one's slot
  EXPECT_THAT(recent.lines(), ElementsAre("a", "b"));
}

TEST(RecentLinesTest, ClearStartsOver) {
  RecentLines recent(2);
  for (std::string s : {"1", "2", "3"}) recent.push(s);
  recent.clear();
  EXPECT_THAT(recent.lines(), IsEmpty());
  recent.push("x");
  recent.push("y");
  recent.push("z");
  EXPECT_THAT(recent.lines(), ElementsAre("y", "z"));
}

TEST(RecentLinesTest, ZeroLinesKeepsNothing) {
  RecentLines recent(0);
  recent.push("a");
  EXPECT_THAT(recent.lines(), IsEmpty());
}

}  // namespace
}  // namespace corral::supervisor
