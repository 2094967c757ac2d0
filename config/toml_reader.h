// Internal to config/: reading a parsed TOML document against a schema of
// tables and keys, collecting every problem with its position. The schema
// itself, and what each key means, live in loader.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "base/result.h"
#include "config/config.h"

namespace corral::config {

// One table of the schema: the keys this version reads, and the ones the
// design names but this version does not implement yet (refused, never
// silently ignored: a user relying on them must know).
struct Section {
  std::string_view title;  // as messages name it: "[worker]"; "" for the root
  std::span<const std::string_view> keys;
  std::span<const std::string_view> unsupported;  // at the root: tables
};

// "a string \"lots\"", "an integer 5": what the user wrote, for type errors.
std::string describe(const toml::node& node);

// Problems found in one document, reported together in file order.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  // "web.toml:12:3", or just the file when the node has no position (a
  // table that only exists because of a dotted key).
  std::string where(const toml::source_region& at) const;

  void add(const toml::source_region& at, std::string message);
  bool empty() const { return entries_.empty(); }

  // One line per problem, "web.toml:12:3: message", in file order (those
  // without a position last), at most 20 of them.
  Error error() const;

 private:
  struct Entry {
    toml::source_index line;  // 0 = no position
    toml::source_index column;
    std::string message;
  };
  std::string source_;
  std::vector<Entry> entries_;
};

// Reads the typed values out of one table of `section`, reporting into
// `diag`. Each read_* returns nullopt both for an absent key and after
// reporting a bad one; the caller keeps the default and carries on, so
// later problems are reported too.
class TableReader {
 public:
  TableReader(Diagnostics& diag, const toml::table& table, const Section& section)
      : diag_(diag), table_(table), section_(section) {}

  const toml::table& table() const { return table_; }
  Diagnostics& diag() { return diag_; }

  // How messages name a key: "[worker] count", or "name" at the root.
  std::string what(std::string_view key) const;

  void fail(const toml::node& at, std::string message);
  // "<what> must be <expected>, not <describe(node)>".
  void wrong_type(const toml::node& node, std::string_view key, std::string_view expected);

  // Reports each key that is not in the section: unsupported ones as such,
  // a key of another section by where it belongs, else with a did-you-mean
  // among the section's keys, or the list of them.
  void check_keys(std::span<const Section* const> all_sections);

  std::optional<std::string> read_string(std::string_view key);
  std::optional<int> read_int(std::string_view key, int64_t min, int64_t max);
  // Reports `value` outside [min, max] as a problem of `node`.
  std::optional<int> check_range(const toml::node& node, std::string_view key, int64_t value,
                                 int64_t min, int64_t max);
  std::optional<Duration> read_duration(std::string_view key);

  // A string that `parse` maps to a T; `choices` describes the accepted ones.
  template <typename T, typename Parse>
  std::optional<T> read_choice(std::string_view key, std::string_view choices, Parse parse) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* s = node->as_string()) {
      if (std::optional<T> v = parse(s->get())) return v;
    }
    wrong_type(*node, key, choices);
    return std::nullopt;
  }

 private:
  Diagnostics& diag_;
  const toml::table& table_;
  const Section& section_;
};

}  // namespace corral::config
