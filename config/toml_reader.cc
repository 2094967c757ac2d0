#include "config/toml_reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "config/duration.h"
#include "config/suggest.h"

namespace corral::config {
namespace {

// Enough for any real file; past this, the rest is likely one mistake
// repeated.
constexpr size_t kMaxReported = 20;

bool contains(std::span<const std::string_view> keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// How a root key is shown in a suggestion: a table by its header ("[worker]",
// "[[socket]]"), a plain key quoted.
std::string root_spelling(std::string_view key, const Section& root,
                          std::span<const Section* const> all_sections) {
  for (const Section* s : all_sections) {
    if (s->title == fmt::format("[{}]", key) || s->title == fmt::format("[[{}]]", key)) {
      return std::string(s->title);
    }
  }
  if (contains(root.unsupported, key)) return fmt::format("[{}]", key);
  return fmt::format("'{}'", key);
}

}  // namespace

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: {
      std::string_view s = node.as_string()->get();
      if (s.size() > 40) return fmt::format("a string \"{}...\"", s.substr(0, 40));
      return fmt::format("a string \"{}\"", s);
    }
    case toml::node_type::integer:
      return fmt::format("an integer {}", node.as_integer()->get());
    case toml::node_type::floating_point:
      return fmt::format("a float {}", node.as_floating_point()->get());
    case toml::node_type::boolean:
      return fmt::format("a boolean {}", node.as_boolean()->get());
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string Diagnostics::where(const toml::source_region& at) const {
  if (at.begin.line == 0) return source_;
  return fmt::format("{}:{}:{}", source_, at.begin.line, at.begin.column);
}

void Diagnostics::add(const toml::source_region& at, std::string message) {
  entries_.push_back({at.begin.line, at.begin.column, std::move(message)});
}

Error Diagnostics::error() const {
  std::vector<const Entry*> sorted;
  for (const Entry& e : entries_) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    const auto key = [](const Entry* e) {
      return std::pair(e->line == 0 ? UINT32_MAX : e->line, e->column);
    };
    return key(a) < key(b);
  });
  std::string text;
  for (size_t i = 0; i < sorted.size() && i < kMaxReported; ++i) {
    const Entry& e = *sorted[i];
    if (i > 0) text += '\n';
    text += e.line == 0 ? fmt::format("{}: {}", source_, e.message)
                        : fmt::format("{}:{}:{}: {}", source_, e.line, e.column, e.message);
  }
  if (sorted.size() > kMaxReported) {
    text += fmt::format("\n({} more errors)", sorted.size() - kMaxReported);
  }
  return Error{std::move(text)};
}

std::string TableReader::what(std::string_view key) const {
  return section_.title.empty() ? std::string(key) : fmt::format("{} {}", section_.title, key);
}

void TableReader::fail(const toml::node& at, std::string message) {
  diag_.add(at.source(), std::move(message));
}

void TableReader::wrong_type(const toml::node& node, std::string_view key,
                             std::string_view expected) {
  fail(node, fmt::format("{} must be {}, not {}", what(key), expected, describe(node)));
}

void TableReader::check_keys(std::span<const Section* const> all_sections) {
  const bool root = section_.title.empty();
  const auto spell = [&](std::string_view k) {
    return root ? root_spelling(k, section_, all_sections) : fmt::format("'{}'", k);
  };
  for (auto&& [key, node] : table_) {
    const std::string_view k = key.str();
    if (contains(section_.keys, k)) continue;
    if (contains(section_.unsupported, k)) {
      diag_.add(key.source(),
                fmt::format("{} is not supported in this version", root ? spell(k) : what(k)));
      continue;
    }

    std::string message;
    if (root && node.is_table()) {
      message = fmt::format("unknown table [{}]", k);
    } else if (root && node.is_array_of_tables()) {
      message = fmt::format("unknown table [[{}]]", k);
    } else if (root) {
      message = fmt::format("unknown key '{}'", k);
    } else {
      message = fmt::format("unknown key '{}' in {}", k, section_.title);
    }

    // A key of another table, written in the wrong one: say where it goes
    // (the first such table: "command" belongs in [worker] before [[hook]]).
    const Section* home = nullptr;
    for (const Section* other : all_sections) {
      if (home == nullptr && other != &section_ && !other->title.empty() &&
          contains(other->keys, k)) {
        home = other;
      }
    }
    if (home != nullptr) {
      diag_.add(key.source(), fmt::format("{}; it belongs in {}", message, home->title));
      continue;
    }

    std::vector<std::string_view> candidates(section_.keys.begin(), section_.keys.end());
    candidates.insert(candidates.end(), section_.unsupported.begin(), section_.unsupported.end());
    if (auto near = closest_match(k, candidates)) {
      diag_.add(key.source(), fmt::format("{}; did you mean {}?", message, spell(*near)));
      continue;
    }
    std::string known;
    for (std::string_view c : section_.keys) {
      known += known.empty() ? "" : ", ";
      known += root ? spell(c) : std::string(c);
    }
    diag_.add(key.source(), root ? fmt::format("{}; the file may contain {}", message, known)
                                 : fmt::format("{}; its keys are {}", message, known));
  }
}

std::optional<std::string> TableReader::read_string(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  wrong_type(*node, key, "a string");
  return std::nullopt;
}

std::optional<int> TableReader::read_int(std::string_view key, int64_t min, int64_t max) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    wrong_type(*node, key, "an integer");
    return std::nullopt;
  }
  return check_range(*node, key, i->get(), min, max);
}

std::optional<int> TableReader::check_range(const toml::node& node, std::string_view key,
                                            int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return static_cast<int>(value);
  fail(node, fmt::format("{} must be from {} to {}, not {}", what(key), min, max, value));
  return std::nullopt;
}

std::optional<Duration> TableReader::read_duration(std::string_view key) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* s = node->as_string();
  if (s == nullptr) {
    wrong_type(*node, key, "a duration string like \"30s\"");
    return std::nullopt;
  }
  auto d = parse_duration(s->get());
  if (!d) {
    fail(*node, fmt::format("{}: {}", what(key), d.error().message));
    return std::nullopt;
  }
  return *d;
}

}  // namespace corral::config
