#include "config/duration.h"

#include <gtest/gtest.h>

namespace corral::config {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

ms duration(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << (d.ok() ? "" : d.error().message);
  return d.ok() ? *d : ms{-1};
}

std::string duration_error(std::string_view text) {
  auto d = parse_duration(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->count() : 0) << "ms";
  return d.ok() ? "" : d.error().message;
}

uint64_t bytes_of(std::string_view text) {
  auto s = parse_size(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : 0;
}

std::string size_error(std::string_view text) {
  auto s = parse_size(text);
  EXPECT_FALSE(s.ok()) << text << " parsed as " << (s.ok() ? *s : 0);
  return s.ok() ? "" : s.error().message;
}

TEST(ParseDuration, EachUnit) {
  EXPECT_EQ(duration("100ms"), 100ms);
  EXPECT_EQ(duration("30s"), 30s);
  EXPECT_EQ(duration("5m"), 5min);
  EXPECT_EQ(duration("1h"), 1h);
}

TEST(ParseDuration, CombinedUnitsLargestFirst) {
  EXPECT_EQ(duration("1m30s"), 90s);
  EXPECT_EQ(duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(duration("2h500ms"), 2h + 500ms);
  EXPECT_EQ(duration("1m 30s"), 90s);
  EXPECT_EQ(duration("30 s"), 30s);
}

TEST(ParseDuration, Fractions) {
  EXPECT_EQ(duration("1.5s"), 1500ms);
  EXPECT_EQ(duration("0.25m"), 15s);
  EXPECT_EQ(duration(".5s"), 500ms);
}

TEST(ParseDuration, Zero) {
  EXPECT_EQ(duration("0"), 0ms);
  EXPECT_EQ(duration("000"), 0ms);
  EXPECT_EQ(duration("0s"), 0ms);
  EXPECT_EQ(duration("0ms"), 0ms);
}

TEST(ParseDuration, BareNumberNeedsAUnit) {
  EXPECT_EQ(duration_error("5"), "duration '5' needs a unit (ms, s, m, h)");
  EXPECT_EQ(duration_error("1m30"), "duration '1m30' needs a unit (ms, s, m, h)");
}

TEST(ParseDuration, Errors) {
  EXPECT_EQ(duration_error(""), "empty duration: write it with a unit, e.g. \"30s\"");
  EXPECT_EQ(duration_error("-1s"), "duration '-1s' is negative");
  EXPECT_EQ(duration_error("5x"), "duration '5x' has an unknown unit 'x' (use ms, s, m, h)");
  EXPECT_EQ(duration_error("5sec"), "duration '5sec' has an unknown unit 'sec' (use ms, s, m, h)");
  EXPECT_EQ(duration_error("1d"), "duration '1d' has an unknown unit 'd' (use ms, s, m, h)");
  EXPECT_EQ(duration_error("s"),
            "duration 's' is not a duration: write a number and a unit, e.g. \"1m30s\"");
  EXPECT_EQ(duration_error("30s1m"),
            "duration '30s1m' must list units from largest to smallest, each once");
  EXPECT_EQ(duration_error("1s1s"),
            "duration '1s1s' must list units from largest to smallest, each once");
  EXPECT_EQ(duration_error("0.5ms"), "duration '0.5ms' is finer than a millisecond");
  EXPECT_EQ(duration_error("1.0000001s"), "duration '1.0000001s' has more than 6 decimals");
  EXPECT_EQ(duration_error("5s!"), "duration '5s!' has an unexpected '!'");
  EXPECT_EQ(duration_error("99999999999999999999h"),
            "duration '99999999999999999999h' is too large");
  // Fits in uint64 milliseconds, not in int64 microseconds.
  EXPECT_EQ(duration_error("3000000000h"), "duration '3000000000h' is too large");
}

TEST(ParseDuration, TwoDotsIsAnError) {
  EXPECT_EQ(duration_error("2."), "duration '2.' needs a unit (ms, s, m, h)");
  EXPECT_EQ(duration_error("1.2.3s"), "duration '1.2.3s' has an unexpected '.'");
}

TEST(FormatDuration, ShortestForm) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(100ms), "100ms");
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(25h + 1ms), "25h1ms");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
}

TEST(FormatDuration, RoundTrips) {
  for (ms d : {0ms, 1ms, 999ms, 1000ms, 59999ms, ms{3'600'000 * 49 + 61'001}}) {
    EXPECT_EQ(duration(format_duration(d)), d) << format_duration(d);
  }
}

TEST(ParseSize, BinaryAndDecimalUnits) {
  EXPECT_EQ(bytes_of("0B"), 0u);
  EXPECT_EQ(bytes_of("512B"), 512u);
  EXPECT_EQ(bytes_of("1KiB"), 1024u);
  EXPECT_EQ(bytes_of("512MiB"), 512u * 1024 * 1024);
  EXPECT_EQ(bytes_of("2GiB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(bytes_of("1TiB"), 1ull << 40);
  EXPECT_EQ(bytes_of("1KB"), 1000u);
  EXPECT_EQ(bytes_of("1kB"), 1000u);
  EXPECT_EQ(bytes_of("3MB"), 3'000'000u);
  EXPECT_EQ(bytes_of("2GB"), 2'000'000'000u);
  EXPECT_EQ(bytes_of("1.5GiB"), 1536ull * 1024 * 1024);
  EXPECT_EQ(bytes_of("512 MiB"), 512u * 1024 * 1024);
}

TEST(ParseSize, Errors) {
  EXPECT_EQ(size_error("512"),
            "size '512' needs a unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)");
  EXPECT_EQ(size_error("0"), "size '0' needs a unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)");
  EXPECT_EQ(size_error("5Mb"),
            "size '5Mb' has an unknown unit 'Mb' (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)");
  EXPECT_EQ(size_error(""), "empty size: write it with a unit, e.g. \"512MiB\"");
  EXPECT_EQ(size_error("-1MiB"), "size '-1MiB' is negative");
  EXPECT_EQ(size_error("MiB"),
            "size 'MiB' is not a size: write a number and a unit, e.g. \"512MiB\"");
  EXPECT_EQ(size_error("0.1KiB"), "size '0.1KiB' is not a whole number of bytes");
  EXPECT_EQ(size_error("1MiB2KiB"), "size '1MiB2KiB' has an unexpected '2'");
  EXPECT_EQ(size_error("20000000TiB"), "size '20000000TiB' is too large");
}

TEST(FormatSize, ShortestExactUnit) {
  EXPECT_EQ(format_size(0), "0B");
  EXPECT_EQ(format_size(1), "1B");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(512ull * 1024 * 1024), "512MiB");
  EXPECT_EQ(format_size(1536ull * 1024 * 1024), "1536MiB");
  EXPECT_EQ(format_size(1000), "1KB");
  EXPECT_EQ(format_size(1001), "1001B");
}

TEST(FormatSize, RoundTrips) {
  for (uint64_t b : {0ull, 1ull, 1000ull, 1023ull, 1024ull, 3ull << 30, 5ull << 40, 123456789ull}) {
    EXPECT_EQ(bytes_of(format_size(b)), b) << format_size(b);
  }
}

}  // namespace
}  // namespace corral::config
