#include "config/duration.h"

#include <array>
#include <limits>

#include <fmt/format.h>

namespace corral::config {
namespace {

// Six decimals keep every product below in uint64 range (2^40 * 10^6 for
// TiB) without 128-bit arithmetic; nobody needs a finer fraction of a unit.
constexpr int kMaxDecimals = 6;
constexpr uint64_t kPow10[kMaxDecimals + 1] = {1, 10, 100, 1000, 10'000, 100'000, 1'000'000};

// A non-negative decimal number as written: whole part and fraction digits.
struct Number {
  uint64_t whole = 0;
  uint64_t fraction = 0;  // the digits after the point, as an integer
  int decimals = 0;       // how many digits follow the point
};

enum class NumberError { kNone, kMissing, kTooLarge, kTooPrecise };

// Reads a number at the front of `s` and advances `s` past it.
NumberError scan_number(std::string_view& s, Number& out) {
  size_t i = 0;
  bool any_digit = false;
  out = {};
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (out.whole > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return NumberError::kTooLarge;
    }
    out.whole = out.whole * 10 + digit;
    any_digit = true;
    ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (out.decimals == kMaxDecimals) return NumberError::kTooPrecise;
      out.fraction = out.fraction * 10 + static_cast<uint64_t>(s[i] - '0');
      ++out.decimals;
      any_digit = true;
      ++i;
    }
  }
  if (!any_digit) return NumberError::kMissing;
  s.remove_prefix(i);
  return NumberError::kNone;
}

// number * unit, exactly. Sets `inexact` when the fraction leaves a
// remainder below one base unit (ms or byte). Returns false on overflow.
bool scale(const Number& n, uint64_t unit, uint64_t& out, bool& inexact) {
  uint64_t whole = 0;
  if (__builtin_mul_overflow(n.whole, unit, &whole)) return false;
  const uint64_t part = n.fraction * unit;  // < 10^6 * 2^40: no overflow
  inexact = part % kPow10[n.decimals] != 0;
  return !__builtin_add_overflow(whole, part / kPow10[n.decimals], &out);
}

void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
}

// The unit at the front of `s`: the longest run of letters.
std::string_view scan_unit(std::string_view& s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) ++i;
  std::string_view unit = s.substr(0, i);
  s.remove_prefix(i);
  return unit;
}

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// Largest first: parse_duration requires this order in the text.
constexpr std::array<Unit, 4> kDurationUnits = {{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

constexpr uint64_t kKi = 1024;
constexpr std::array<Unit, 10> kSizeUnits = {{
    {"TiB", kKi* kKi* kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"MiB", kKi* kKi},
    {"KiB", kKi},
    {"TB", 1'000'000'000'000},
    {"GB", 1'000'000'000},
    {"MB", 1'000'000},
    {"KB", 1'000},
    {"kB", 1'000},
    {"B", 1},
}};

bool is_zero(std::string_view s) {
  return !s.empty() && s.find_first_not_of('0') == std::string_view::npos;
}

// Whole milliseconds that still fit in int64 microseconds, so consumers may
// convert (WATCHDOG_USEC) without overflow.
constexpr uint64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1000;

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return Error{fmt::format("duration '{}' {}", text, why)};
  };
  if (text.empty()) return Error{"empty duration: write it with a unit, e.g. \"30s\""};
  if (text.front() == '-') return fail("is negative");
  if (is_zero(text)) return std::chrono::milliseconds{0};

  std::string_view rest = text;
  uint64_t total = 0;
  size_t next_unit = 0;  // index into kDurationUnits: units only get smaller
  skip_spaces(rest);
  while (!rest.empty()) {
    Number n;
    switch (scan_number(rest, n)) {
      case NumberError::kNone:
        break;
      case NumberError::kMissing:
        if (next_unit > 0) return fail(fmt::format("has an unexpected '{}'", rest.front()));
        return fail("is not a duration: write a number and a unit, e.g. \"1m30s\"");
      case NumberError::kTooLarge:
        return fail("is too large");
      case NumberError::kTooPrecise:
        return fail(fmt::format("has more than {} decimals", kMaxDecimals));
    }
    skip_spaces(rest);
    const std::string_view unit = scan_unit(rest);
    if (unit.empty()) {
      return fail(rest.empty() ? "needs a unit (ms, s, m, h)"
                               : fmt::format("has an unexpected '{}'", rest.front()));
    }
    size_t u = 0;
    while (u < kDurationUnits.size() && kDurationUnits[u].name != unit) ++u;
    if (u == kDurationUnits.size()) {
      return fail(fmt::format("has an unknown unit '{}' (use ms, s, m, h)", unit));
    }
    if (u < next_unit) return fail("must list units from largest to smallest, each once");
    next_unit = u + 1;
    uint64_t part = 0;
    bool inexact = false;
    if (!scale(n, kDurationUnits[u].factor, part, inexact) ||
        __builtin_add_overflow(total, part, &total) || total > kMaxMillis) {
      return fail("is too large");
    }
    if (inexact) return fail("is finer than a millisecond");
    skip_spaces(rest);
  }
  return std::chrono::milliseconds{static_cast<int64_t>(total)};
}

Result<uint64_t> parse_size(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return Error{fmt::format("size '{}' {}", text, why)};
  };
  constexpr std::string_view kUnitsHint = "(B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)";
  if (text.empty()) return Error{"empty size: write it with a unit, e.g. \"512MiB\""};
  if (text.front() == '-') return fail("is negative");

  std::string_view rest = text;
  skip_spaces(rest);
  Number n;
  switch (scan_number(rest, n)) {
    case NumberError::kNone:
      break;
    case NumberError::kMissing:
      return fail("is not a size: write a number and a unit, e.g. \"512MiB\"");
    case NumberError::kTooLarge:
      return fail("is too large");
    case NumberError::kTooPrecise:
      return fail(fmt::format("has more than {} decimals", kMaxDecimals));
  }
  skip_spaces(rest);
  const std::string_view unit = scan_unit(rest);
  skip_spaces(rest);
  if (unit.empty() && rest.empty()) return fail(fmt::format("needs a unit {}", kUnitsHint));
  if (!rest.empty()) return fail(fmt::format("has an unexpected '{}'", rest.front()));
  for (const Unit& u : kSizeUnits) {
    if (u.name != unit) continue;
    uint64_t bytes = 0;
    bool inexact = false;
    if (!scale(n, u.factor, bytes, inexact)) return fail("is too large");
    if (inexact) return fail("is not a whole number of bytes");
    return bytes;
  }
  return fail(fmt::format("has an unknown unit '{}' {}", unit, kUnitsHint));
}

std::string format_duration(std::chrono::milliseconds d) {
  if (d.count() == 0) return "0s";
  if (d.count() < 0) return "-" + format_duration(-d);
  uint64_t left = static_cast<uint64_t>(d.count());
  std::string out;
  for (const Unit& u : kDurationUnits) {
    if (left >= u.factor) {
      out += fmt::format("{}{}", left / u.factor, u.name);
      left %= u.factor;
    }
  }
  return out;
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0B";
  // Binary units first (the documented ones), then decimal, then bytes: the
  // first unit that divides exactly, so the text reads back to the value.
  for (const Unit& u : kSizeUnits) {
    if (u.name == "kB") continue;  // "KB" says the same
    if (bytes % u.factor == 0) return fmt::format("{}{}", bytes / u.factor, u.name);
  }
  return fmt::format("{}B", bytes);  // unreachable: "B" divides everything
}

}  // namespace corral::config
