// TOML -> Config. Every key is checked against the schema below; every
// problem is reported with the position of the node responsible, all of
// them at once and in file order, so one run of `corral check` shows them.

#include "config/loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <span>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/unique_fd.h"
#include "config/duration.h"
#include "config/signals.h"
#include "config/suggest.h"

namespace corral::config {
namespace {

using namespace std::string_view_literals;

constexpr int kMaxWorkers = 4096;
constexpr int kMaxBacklog = 65535;
// The restart tracker keeps one timestamp per allowed restart and slot.
constexpr int kMaxRestartsLimit = 10'000;
constexpr size_t kMaxReported = 20;

// One table of the schema: the keys this version reads, and the ones the
// design names but this version does not implement yet (refused, never
// silently ignored: a user relying on them must know).
struct Section {
  std::string_view title;  // as messages name it: "[worker]"; "" for the root
  std::span<const std::string_view> keys;
  std::span<const std::string_view> unsupported;
};

constexpr std::array kRootKeys = {"name"sv, "worker"sv, "restart"sv, "socket"sv};
constexpr std::array kRootUnsupported = {"autoscale"sv, "admin"sv, "metrics"sv};
constexpr std::array kWorkerKeys = {"command"sv,       "count"sv, "cwd"sv,
                                    "env"sv,           "stop_signal"sv, "drain_timeout"sv,
                                    "ready"sv,         "ready_timeout"sv, "output"sv};
constexpr std::array kWorkerUnsupported = {"user"sv, "heartbeat_timeout"sv, "max_memory"sv};
constexpr std::array kRestartKeys = {"policy"sv,     "backoff_initial"sv, "backoff_max"sv,
                                     "min_uptime"sv, "max_restarts"sv,    "window"sv};
constexpr std::array kSocketKeys = {"name"sv, "listen"sv, "mode"sv, "backlog"sv};
constexpr std::array<std::string_view, 0> kNone = {};

constexpr Section kRoot = {"", kRootKeys, kRootUnsupported};
constexpr Section kWorker = {"[worker]", kWorkerKeys, kWorkerUnsupported};
constexpr Section kRestart = {"[restart]", kRestartKeys, kNone};
constexpr Section kSocket = {"[[socket]]", kSocketKeys, kNone};

bool contains(std::span<const std::string_view> keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// "a string \"lots\"", "an integer 5": what the user wrote, for type errors.
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

// Collects diagnostics while the whole file is read.
class Diagnostics {
 public:
  explicit Diagnostics(const std::string& source) : source_(source) {}

  // "web.toml:12:3", or just the file when the node has no position (a
  // table that only exists because of a dotted key).
  std::string where(const toml::source_region& at) const {
    if (at.begin.line == 0) return source_;
    return fmt::format("{}:{}:{}", source_, at.begin.line, at.begin.column);
  }

  void add(const toml::source_region& at, std::string message) {
    entries_.push_back({at.begin.line, at.begin.column, std::move(message)});
  }

  bool empty() const { return entries_.empty(); }

  Error error() {
    // Positionless diagnostics last; the rest in file order.
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      const auto key = [](const Entry& e) {
        return std::pair(e.line == 0 ? UINT32_MAX : e.line, e.column);
      };
      return key(a) < key(b);
    });
    std::string text;
    for (size_t i = 0; i < entries_.size() && i < kMaxReported; ++i) {
      if (i > 0) text += '\n';
      text += entries_[i].line == 0
                  ? fmt::format("{}: {}", source_, entries_[i].message)
                  : fmt::format("{}:{}:{}: {}", source_, entries_[i].line, entries_[i].column,
                                entries_[i].message);
    }
    if (entries_.size() > kMaxReported) {
      text += fmt::format("\n({} more errors)", entries_.size() - kMaxReported);
    }
    return Error{std::move(text)};
  }

 private:
  struct Entry {
    toml::source_index line;
    toml::source_index column;
    std::string message;
  };
  const std::string& source_;
  std::vector<Entry> entries_;
};

// Reads the typed values out of one table, reporting into `diag`. Each
// read_* returns nullopt after reporting a problem; the caller keeps the
// default and carries on, so later problems are reported too.
class TableReader {
 public:
  TableReader(Diagnostics& diag, const toml::table& table, const Section& section)
      : diag_(diag), table_(table), section_(section) {}

  const toml::table& table() const { return table_; }
  Diagnostics& diag() { return diag_; }

  // "[worker] count", "name".
  std::string what(std::string_view key) const {
    return section_.title.empty() ? std::string(key) : fmt::format("{} {}", section_.title, key);
  }

  void fail(const toml::node& at, std::string message) { diag_.add(at.source(), std::move(message)); }

  void wrong_type(const toml::node& node, std::string_view key, std::string_view expected) {
    fail(node, fmt::format("{} must be {}, not {}", what(key), expected, describe(node)));
  }

  // Reports keys that are not in the section, with a suggestion.
  void check_keys(std::span<const Section* const> all_sections);

  std::optional<std::string> read_string(std::string_view key) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* s = node->as_string()) return s->get();
    wrong_type(*node, key, "a string");
    return std::nullopt;
  }

  // An integer from `min` to `max`.
  std::optional<int> read_int(std::string_view key, int64_t min, int64_t max) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    const auto* i = node->as_integer();
    if (i == nullptr) {
      wrong_type(*node, key, "an integer");
      return std::nullopt;
    }
    return check_range(*node, key, i->get(), min, max);
  }

  std::optional<int> check_range(const toml::node& node, std::string_view key, int64_t value,
                                 int64_t min, int64_t max) {
    if (value >= min && value <= max) return static_cast<int>(value);
    fail(node, fmt::format("{} must be from {} to {}, not {}", what(key), min, max, value));
    return std::nullopt;
  }

  std::optional<Duration> read_duration(std::string_view key) {
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

  // A string among `choices`, mapped by `parse`.
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

// How a top-level name is shown in a suggestion: tables in brackets.
std::string root_spelling(std::string_view key) {
  if (key == "socket") return "[[socket]]";
  if (key == "name") return "'name'";
  return fmt::format("[{}]", key);
}

void TableReader::check_keys(std::span<const Section* const> all_sections) {
  const bool root = section_.title.empty();
  for (auto&& [key, node] : table_) {
    const std::string_view k = key.str();
    if (contains(section_.keys, k)) continue;
    if (contains(section_.unsupported, k)) {
      diag_.add(key.source(), root ? fmt::format("[{}] is not supported in this version", k)
                                   : fmt::format("{} is not supported in this version", what(k)));
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

    // A key of another table, written in the wrong one: say where it goes.
    const Section* home = nullptr;
    for (const Section* other : all_sections) {
      if (other != &section_ && !other->title.empty() && contains(other->keys, k)) home = other;
    }
    if (home != nullptr) {
      diag_.add(key.source(), fmt::format("{}; it belongs in {}", message, home->title));
      continue;
    }

    std::vector<std::string_view> candidates(section_.keys.begin(), section_.keys.end());
    candidates.insert(candidates.end(), section_.unsupported.begin(), section_.unsupported.end());
    if (auto near = closest_match(k, candidates)) {
      const std::string shown = root ? root_spelling(*near) : fmt::format("'{}'", *near);
      diag_.add(key.source(), fmt::format("{}; did you mean {}?", message, shown));
      continue;
    }
    std::string known;
    for (std::string_view c : section_.keys) {
      known += known.empty() ? "" : ", ";
      known += root ? root_spelling(c) : std::string(c);
    }
    diag_.add(key.source(), root ? fmt::format("{}; the file may contain {}", message, known)
                                 : fmt::format("{}; its keys are {}", message, known));
  }
}

constexpr std::array<const Section*, 4> kAllSections = {&kRoot, &kWorker, &kRestart, &kSocket};

void read_command(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("command");
  if (node == nullptr) return;
  const auto* array = node->as_array();
  if (array == nullptr) {
    r.wrong_type(*node, "command", "an array of strings like [\"./server\", \"--port\", \"8080\"]");
    return;
  }
  if (array->empty()) {
    r.fail(*node, "[worker] command must not be empty");
    return;
  }
  std::vector<std::string> command;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& arg = *array->get(i);
    const auto* s = arg.as_string();
    if (s == nullptr) {
      r.fail(arg, fmt::format("[worker] command[{}] must be a string, not {}", i, describe(arg)));
      ok = false;
    } else if (s->get().find('\0') != std::string::npos) {
      r.fail(arg, fmt::format("[worker] command[{}] contains a NUL character", i));
      ok = false;
    } else {
      command.push_back(s->get());
    }
  }
  if (ok && command[0].empty()) {
    r.fail(*array->get(0), "[worker] command[0], the program to run, must not be empty");
    ok = false;
  }
  if (ok) w.command = std::move(command);
}

void read_count(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("count");
  if (node == nullptr) return;
  if (const auto* s = node->as_string(); s != nullptr && s->get() == "auto") {
    w.count = std::nullopt;
  } else if (const auto* i = node->as_integer()) {
    if (auto n = r.check_range(*node, "count", i->get(), 1, kMaxWorkers)) w.count = *n;
  } else {
    r.wrong_type(*node, "count", "an integer or \"auto\"");
  }
}

void read_env(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("env");
  if (node == nullptr) return;
  const auto* table = node->as_table();
  if (table == nullptr) {
    r.wrong_type(*node, "env", "a table of strings like { APP_ENV = \"production\" }");
    return;
  }
  for (auto&& [key, value] : *table) {
    const std::string_view k = key.str();
    if (k.empty() || k.find('=') != std::string_view::npos || k.find('\0') != std::string_view::npos) {
      r.diag().add(key.source(),
                   fmt::format("[worker] env key '{}' is not a valid variable name", k));
      continue;
    }
    const auto* s = value.as_string();
    if (s == nullptr) {
      const bool scalar = value.is_integer() || value.is_floating_point() || value.is_boolean();
      r.fail(value, fmt::format("[worker] env.{} must be a string, not {}{}", k, describe(value),
                                scalar ? " (put it in quotes)" : ""));
      continue;
    }
    if (s->get().find('\0') != std::string::npos) {
      r.fail(value, fmt::format("[worker] env.{} contains a NUL character", k));
      continue;
    }
    w.env[std::string(k)] = s->get();
  }
}

void read_stop_signal(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("stop_signal");
  if (node == nullptr) return;
  std::string text;
  if (const auto* s = node->as_string()) {
    text = s->get();
  } else if (const auto* i = node->as_integer()) {
    text = std::to_string(i->get());
  } else {
    r.wrong_type(*node, "stop_signal", "a signal name like \"SIGTERM\"");
    return;
  }
  auto signal = parse_signal(text);
  if (!signal) {
    r.fail(*node, fmt::format("[worker] stop_signal: {}", signal.error().message));
    return;
  }
  w.stop_signal = *signal;
}

void read_ready(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("ready");
  if (node == nullptr) return;
  constexpr std::string_view kExpected = "\"started\" or \"delay:DURATION\" (e.g. \"delay:2s\")";
  const auto* s = node->as_string();
  if (s == nullptr) {
    r.wrong_type(*node, "ready", kExpected);
    return;
  }
  const std::string_view text = s->get();
  constexpr std::string_view kDelay = "delay:";
  if (text == "started") {
    w.ready = ReadyMode::kStarted;
    w.ready_delay = Duration{0};
  } else if (text.substr(0, kDelay.size()) == kDelay) {
    auto d = parse_duration(text.substr(kDelay.size()));
    if (!d) {
      r.fail(*node, fmt::format("[worker] ready: {}", d.error().message));
      return;
    }
    w.ready = ReadyMode::kDelay;
    w.ready_delay = *d;
  } else if (text == "notify") {
    r.fail(*node,
           "[worker] ready = \"notify\" is not available in this version; use \"started\" or "
           "\"delay:DURATION\"");
  } else {
    r.wrong_type(*node, "ready", kExpected);
  }
}

void read_worker(TableReader& r, WorkerConfig& w) {
  r.check_keys(kAllSections);
  read_command(r, w);
  read_count(r, w);
  if (auto cwd = r.read_string("cwd")) w.cwd = *cwd;
  read_env(r, w);
  read_stop_signal(r, w);
  if (auto d = r.read_duration("drain_timeout")) w.drain_timeout = *d;
  read_ready(r, w);
  if (auto d = r.read_duration("ready_timeout")) w.ready_timeout = *d;
  if (auto o = r.read_choice<OutputMode>("output", "\"capture\" or \"inherit\"",
                                         parse_output_mode)) {
    w.output = *o;
  }
}

void read_restart(TableReader& r, RestartConfig& c) {
  r.check_keys(kAllSections);
  if (auto p = r.read_choice<RestartPolicy>(
          "policy", "\"always\", \"on-failure\" or \"never\"", parse_restart_policy)) {
    c.policy = *p;
  }
  const auto initial = r.read_duration("backoff_initial");
  const auto max = r.read_duration("backoff_max");
  if (initial) c.backoff_initial = *initial;
  if (max) c.backoff_max = *max;
  if (auto d = r.read_duration("min_uptime")) c.min_uptime = *d;
  if (auto n = r.read_int("max_restarts", 0, kMaxRestartsLimit)) c.max_restarts = *n;
  if (auto d = r.read_duration("window")) c.window = *d;

  // Only compare values that were read (or defaulted) without error.
  const bool initial_ok = initial || r.table().get("backoff_initial") == nullptr;
  const bool max_ok = max || r.table().get("backoff_max") == nullptr;
  if (initial_ok && max_ok && c.backoff_initial > c.backoff_max) {
    const toml::node* at = r.table().get(initial ? "backoff_initial" : "backoff_max");
    r.fail(*at, fmt::format("[restart] backoff_initial ({}) must not exceed backoff_max ({})",
                            format_duration(c.backoff_initial), format_duration(c.backoff_max)));
  }
}

// Reads one [[socket]]; false if it had errors.
bool read_socket(TableReader& r, SocketConfig& s) {
  r.check_keys(kAllSections);
  bool ok = true;
  if (const toml::node* node = r.table().get("name")) {
    auto name = r.read_string("name");
    if (name && !is_valid_socket_name(*name)) {
      r.fail(*node, fmt::format("[[socket]] name '{}' may use only letters, digits, '_' and '-' "
                                "(at most 64)",
                                *name));
      ok = false;
    } else if (name) {
      s.name = *name;
    } else {
      ok = false;
    }
  }
  if (const toml::node* node = r.table().get("listen")) {
    if (auto text = r.read_string("listen")) {
      auto address = parse_address(*text);
      if (address) {
        s.listen = *address;
      } else {
        r.fail(*node, fmt::format("[[socket]] listen: {}", address.error().message));
        ok = false;
      }
    } else {
      ok = false;
    }
  } else {
    r.fail(r.table(), fmt::format("[[socket]] '{}' needs a listen address, e.g. listen = \":8080\"",
                                  s.name));
    ok = false;
  }
  if (auto m = r.read_choice<SocketMode>("mode", "\"shared\" or \"reuseport\"",
                                         parse_socket_mode)) {
    s.mode = *m;
    if (s.mode == SocketMode::kReuseport && s.listen.kind == Address::Kind::kUnix) {
      r.fail(*r.table().get("mode"),
             fmt::format("[[socket]] '{}': mode \"reuseport\" needs a TCP address; a unix socket "
                         "can only be \"shared\"",
                         s.name));
      ok = false;
    }
  }
  if (auto b = r.read_int("backlog", 1, kMaxBacklog)) s.backlog = *b;
  return ok;
}

void read_sockets(Diagnostics& diag, const toml::node& node, std::vector<SocketConfig>& sockets) {
  const auto* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    const bool table = node.is_table();
    diag.add(node.source(),
             table ? std::string("socket must be an array of tables: write [[socket]], not [socket]")
                   : fmt::format("socket must be an array of tables ([[socket]]), not {}",
                                 describe(node)));
    return;
  }
  // Where each name was first given, for the duplicate message.
  std::vector<std::pair<std::string, const toml::node*>> seen;
  for (const toml::node& element : *array) {
    const toml::table& table = *element.as_table();
    TableReader r(diag, table, kSocket);
    SocketConfig s;
    if (!read_socket(r, s)) continue;
    const toml::node* at = table.get("name") != nullptr ? table.get("name") : &element;
    auto first = std::find_if(seen.begin(), seen.end(),
                              [&](const auto& e) { return e.first == s.name; });
    if (first != seen.end()) {
      diag.add(at->source(), fmt::format("socket name '{}' is used twice (first at {})", s.name,
                                         diag.where(first->second->source())));
      continue;
    }
    seen.emplace_back(s.name, at);
    sockets.push_back(std::move(s));
  }
}

void read_root(Diagnostics& diag, const toml::table& root, Config& c) {
  TableReader r(diag, root, kRoot);
  r.check_keys(kAllSections);
  if (const toml::node* node = root.get("name")) {
    if (auto name = r.read_string("name")) {
      if (is_valid_service_name(*name)) {
        c.name = *name;
      } else {
        r.fail(*node, fmt::format("name '{}' may use only letters, digits, '_', '.' and '-' "
                                  "(at most 64)",
                                  *name));
      }
    }
  }
  const auto section = [&](std::string_view key, const Section& schema, auto read) {
    const toml::node* node = root.get(key);
    if (node == nullptr) return;
    if (const auto* table = node->as_table()) {
      TableReader sr(diag, *table, schema);
      read(sr);
    } else {
      diag.add(node->source(), fmt::format("{} must be a table ({}), not {}", key, schema.title,
                                           describe(*node)));
    }
  };
  section("worker", kWorker, [&](TableReader& sr) { read_worker(sr, c.worker); });
  section("restart", kRestart, [&](TableReader& sr) { read_restart(sr, c.restart); });
  if (const toml::node* node = root.get("socket")) read_sockets(diag, *node, c.sockets);
}

}  // namespace

Result<Config> load_toml(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(source));
  } catch (const toml::parse_error& e) {
    Diagnostics diag(source);
    diag.add(e.source(), std::string(e.description()));
    return diag.error();
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: {}", source, e.what())};
  }

  Config config;
  config.source = source;
  Diagnostics diag(source);
  try {
    read_root(diag, root, config);
  } catch (const std::exception& e) {  // allocation failure: nothing else throws
    return Error{fmt::format("{}: {}", source, e.what())};
  }
  if (!diag.empty()) return diag.error();
  return config;
}

Result<Config> load_file(const std::string& path) {
  const auto fail = [&] {
    return Error{fmt::format("cannot read {}: {}", path, std::strerror(errno))};
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail();
  std::string text;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail();
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return load_toml(text, path);
}

}  // namespace corral::config
