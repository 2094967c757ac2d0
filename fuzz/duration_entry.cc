// Durations and sizes are read from the configuration file and from flags.
// Whatever the text: a value or an error. A value must be what
// format_duration / format_size print it as, read back (what `corral check`
// relies on), and any in-range value must survive format-then-parse.
#include <chrono>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "config/duration.h"
#include "fuzz/entries.h"
#include "fuzz/fuzz_check.h"

namespace corral::fuzz {
namespace {

using std::chrono::milliseconds;

// The largest duration parse_duration accepts: int64 microseconds.
constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1000;

void round_trip_duration(milliseconds d, const std::string& from) {
  const std::string text = config::format_duration(d);
  auto back = config::parse_duration(text);
  FUZZ_CHECK(back.ok(), from + " -> '" + text + "' does not parse: " + back.error().message);
  FUZZ_CHECK(*back == d,
             from + " -> '" + text + "' reads back as " + std::to_string(back->count()));
}

void round_trip_size(uint64_t bytes, const std::string& from) {
  const std::string text = config::format_size(bytes);
  auto back = config::parse_size(text);
  FUZZ_CHECK(back.ok(), from + " -> '" + text + "' does not parse: " + back.error().message);
  FUZZ_CHECK(*back == bytes, from + " -> '" + text + "' reads back as " + std::to_string(*back));
}

}  // namespace

int fuzz_duration(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string shown = "'" + std::string(text.substr(0, 100)) + "'";

  auto d = config::parse_duration(text);
  if (d.ok()) {
    FUZZ_CHECK(d->count() >= 0 && d->count() <= kMaxMillis,
               shown + " parsed out of range: " + std::to_string(d->count()));
    round_trip_duration(*d, shown);
  } else {
    FUZZ_CHECK(!d.error().message.empty(), shown + ": empty error");
  }
  auto s = config::parse_size(text);
  if (s.ok()) {
    round_trip_size(*s, shown);
  } else {
    FUZZ_CHECK(!s.error().message.empty(), shown + ": empty error");
  }

  // The same bytes as numbers: every value the parsers can return must
  // format to text they read back.
  if (size >= 8) {
    uint64_t n = 0;
    std::memcpy(&n, data, 8);
    round_trip_size(n, "size " + std::to_string(n));
    const auto ms = static_cast<int64_t>(n % (static_cast<uint64_t>(kMaxMillis) + 1));
    round_trip_duration(milliseconds{ms}, "duration " + std::to_string(ms) + "ms");
  }
  return 0;
}

}  // namespace corral::fuzz
