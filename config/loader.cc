// TOML -> Config. Every key is checked against the schema below; every
// problem is reported with the position of the node responsible, all of
// them at once and in file order, so one run of `corral check` shows them
// (the mechanics are in toml_reader.h).

#include "config/loader.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "base/unique_fd.h"
#include "config/duration.h"
#include "config/privileges.h"
#include "config/signals.h"
#include "config/suggest.h"
#include "config/toml_reader.h"

namespace corral::config {
namespace {

using namespace std::string_view_literals;

constexpr int kMaxBacklog = 65535;
// The restart tracker keeps one timestamp per allowed restart and slot.
constexpr int kMaxRestartsLimit = 10'000;

// The schema. Unsupported keys are those DESIGN.md lists for later versions.
constexpr std::array kRootKeys = {"name"sv,  "worker"sv,    "restart"sv, "socket"sv, "reload"sv,
                                  "admin"sv, "autoscale"sv, "metrics"sv, "hook"sv};
constexpr std::array kWorkerKeys = {
    "command"sv,       "count"sv,     "cwd"sv,           "env"sv,    "stop_signal"sv,
    "drain_timeout"sv, "ready"sv,     "ready_timeout"sv, "output"sv, "heartbeat_timeout"sv,
    "hang_signal"sv,   "max_memory"sv,    "user"sv,          "group"sv,  "umask"sv,
    "no_new_privs"sv,  "rlimits"sv};
constexpr std::array kRestartKeys = {"policy"sv,     "backoff_initial"sv, "backoff_max"sv,
                                     "min_uptime"sv, "max_restarts"sv,    "window"sv};
constexpr std::array kSocketKeys = {"name"sv, "listen"sv, "mode"sv, "backlog"sv};
constexpr std::array kAdminKeys = {"socket"sv};
constexpr std::array kReloadKeys = {"batch"sv};
constexpr std::array kAutoscaleKeys = {"min"sv, "max"sv, "interval"sv, "rule"sv};
constexpr std::array kRuleKeys = {"metric"sv, "above"sv,  "below"sv,   "for"sv,
                                  "add"sv,    "remove"sv, "cooldown"sv};
constexpr std::array kMetricsKeys = {"listen"sv, "min_ready"sv};
constexpr std::array kHookKeys = {"on"sv, "command"sv, "timeout"sv};
constexpr std::array<std::string_view, 0> kNone = {};

constexpr Section kRoot = {"", kRootKeys, kNone};
constexpr Section kWorker = {"[worker]", kWorkerKeys, kNone};
constexpr Section kRestart = {"[restart]", kRestartKeys, kNone};
constexpr Section kSocket = {"[[socket]]", kSocketKeys, kNone};
constexpr Section kAdmin = {"[admin]", kAdminKeys, kNone};
constexpr Section kReload = {"[reload]", kReloadKeys, kNone};
constexpr Section kAutoscale = {"[autoscale]", kAutoscaleKeys, kNone};
constexpr Section kRule = {"[[autoscale.rule]]", kRuleKeys, kNone};
constexpr Section kMetrics = {"[metrics]", kMetricsKeys, kNone};
constexpr Section kHook = {"[[hook]]", kHookKeys, kNone};

constexpr std::array<const Section*, 10> kAllSections = {&kRoot,    &kWorker, &kRestart,   &kSocket,
                                                         &kAdmin,   &kReload, &kAutoscale, &kRule,
                                                         &kMetrics, &kHook};

// An argv (`[worker] command`, `[[hook]] command`): a non-empty array of
// strings without NULs whose first element is not empty. Returns false
// after reporting a problem (an absent key is no problem).
bool read_argv(TableReader& r, std::vector<std::string>& out) {
  const toml::node* node = r.table().get("command");
  if (node == nullptr) return true;
  const std::string what = r.what("command");
  const auto* array = node->as_array();
  if (array == nullptr) {
    r.wrong_type(*node, "command", "an array of strings like [\"./server\", \"--port\", \"8080\"]");
    return false;
  }
  if (array->empty()) {
    r.fail(*node, fmt::format("{} must not be empty", what));
    return false;
  }
  std::vector<std::string> command;
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& arg = *array->get(i);
    const auto* s = arg.as_string();
    if (s == nullptr) {
      r.fail(arg, fmt::format("{}[{}] must be a string, not {}", what, i, describe(arg)));
      ok = false;
    } else if (s->get().find('\0') != std::string::npos) {
      r.fail(arg, fmt::format("{}[{}] contains a NUL character", what, i));
      ok = false;
    } else {
      command.push_back(s->get());
    }
  }
  if (ok && command[0].empty()) {
    r.fail(*array->get(0), fmt::format("{}[0], the program to run, must not be empty", what));
    ok = false;
  }
  if (ok) out = std::move(command);
  return ok;
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

// What corral itself sets in a worker's environment (docs/configuration.md).
bool is_reserved_variable(std::string_view name) {
  for (std::string_view reserved : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                                    "WATCHDOG_USEC", "WATCHDOG_PID"}) {
    if (name == reserved) return true;
  }
  return name.substr(0, 7) == "CORRAL_";
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
    if (k.empty() || k.find('=') != std::string_view::npos ||
        k.find('\0') != std::string_view::npos) {
      r.diag().add(key.source(),
                   fmt::format("[worker] env key '{}' is not a valid variable name", k));
      continue;
    }
    if (is_reserved_variable(k)) {
      // Two values for one name would leave the worker guessing which wins.
      r.diag().add(key.source(), fmt::format("[worker] env: {} is set by corral for each worker; "
                                             "remove it here",
                                             k));
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

// stop_signal and hang_signal: a name ("SIGTERM", "TERM") or a number.
void read_signal(TableReader& r, const char* key, int& out) {
  const toml::node* node = r.table().get(key);
  if (node == nullptr) return;
  std::string text;
  if (const auto* s = node->as_string()) {
    text = s->get();
  } else if (const auto* i = node->as_integer()) {
    text = std::to_string(i->get());
  } else {
    r.wrong_type(*node, key, "a signal name like \"SIGTERM\"");
    return;
  }
  auto signal = parse_signal(text);
  if (!signal) {
    r.fail(*node, fmt::format("[worker] {}: {}", key, signal.error().message));
    return;
  }
  out = *signal;
}

void read_ready(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("ready");
  if (node == nullptr) return;
  constexpr std::string_view kExpected =
      "\"started\", \"notify\" or \"delay:DURATION\" (e.g. \"delay:2s\")";
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
    w.ready = ReadyMode::kNotify;
    w.ready_delay = Duration{0};
  } else {
    r.wrong_type(*node, "ready", kExpected);
  }
}

// A size string ("512MiB"); nullopt after reporting a bad one. Bare numbers
// are refused as for durations: units are never guessed.
std::optional<uint64_t> read_size(TableReader& r, const toml::node& node, std::string_view key) {
  const auto* s = node.as_string();
  if (s == nullptr) {
    r.wrong_type(node, key, "a size string like \"512MiB\"");
    return std::nullopt;
  }
  auto bytes = parse_size(s->get());
  if (!bytes) {
    r.fail(node, fmt::format("{}: {}", r.what(key), bytes.error().message));
    return std::nullopt;
  }
  return *bytes;
}

void read_max_memory(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("max_memory");
  if (node == nullptr) return;
  const auto bytes = read_size(r, *node, "max_memory");
  if (!bytes) return;
  if (*bytes < kMinMaxMemory) {
    r.fail(*node, fmt::format("[worker] max_memory must be at least {}, not {}",
                              format_size(kMinMaxMemory), format_size(*bytes)));
    return;
  }
  w.max_memory = *bytes;
}

// --- [worker] privileges ----------------------------------------------------

// user and group: names (or ids) that must exist here, and that corral can
// switch to: as root any, otherwise only its own.
void read_identity(TableReader& r, WorkerConfig& w) {
  bool ok = true;
  for (const char* key : {"user", "group"}) {
    const toml::node* node = r.table().get(key);
    if (node == nullptr) continue;
    auto text = r.read_string(key);
    if (!text) {
      ok = false;
      continue;
    }
    std::optional<Error> problem;
    if (text->empty()) {
      problem = Error{"must not be empty"};
    } else if (key[0] == 'u') {
      if (auto user = lookup_user(*text); !user) problem = user.error();
    } else if (auto group = lookup_group(*text); !group) {
      problem = group.error();
    }
    if (problem) {
      r.fail(*node, fmt::format("[worker] {}: {}", key, problem->message));
      ok = false;
      continue;
    }
    (key[0] == 'u' ? w.user : w.group) = *text;
  }
  if (!ok) return;
  auto credentials = resolve_credentials(w);
  const toml::node* at = r.table().get(w.user.empty() ? "group" : "user");
  if (!credentials) {
    if (at != nullptr) r.fail(*at, fmt::format("[worker] {}", credentials.error().message));
    return;
  }
  if (!*credentials) return;
  if (auto refusal = credentials_refusal(**credentials, ::geteuid(), ::getegid())) {
    r.fail(*at, fmt::format("[worker] {} '{}': {}", w.user.empty() ? "group" : "user",
                            w.user.empty() ? w.group : w.user, *refusal));
  }
}

// rlimits = { nofile = 65536, core = 0, stack = "8MiB", cpu = "unlimited" }
void read_rlimits(TableReader& r, WorkerConfig& w) {
  const toml::node* node = r.table().get("rlimits");
  if (node == nullptr) return;
  const auto* table = node->as_table();
  if (table == nullptr) {
    r.wrong_type(*node, "rlimits", "a table like { nofile = 65536, core = 0 }");
    return;
  }
  for (auto&& [key, value] : *table) {
    const std::string_view k = key.str();
    const RlimitInfo* info = find_rlimit(k);
    if (info == nullptr) {
      r.diag().add(key.source(), fmt::format("[worker] rlimits: unknown limit '{}'; known: {}", k,
                                             rlimit_names()));
      continue;
    }
    const std::string what = fmt::format("[worker] rlimits.{}", k);
    if (const auto* i = value.as_integer()) {
      if (i->get() < 0 || (info->resource == RLIMIT_NOFILE && i->get() < 1)) {
        r.fail(value, fmt::format("{} must be at least {}, not {}", what,
                                  info->resource == RLIMIT_NOFILE ? 1 : 0, i->get()));
        continue;
      }
      w.rlimits[std::string(k)] = static_cast<uint64_t>(i->get());
      continue;
    }
    const auto* s = value.as_string();
    if (s != nullptr && s->get() == "unlimited") {
      if (!info->may_be_unlimited) {
        r.fail(value, fmt::format("{} cannot be \"unlimited\": the kernel caps open files at "
                                  "fs.nr_open; give a number",
                                  what));
        continue;
      }
      w.rlimits[std::string(k)] = std::nullopt;
      continue;
    }
    if (s != nullptr && info->bytes) {
      auto bytes = parse_size(s->get());
      if (bytes) {
        w.rlimits[std::string(k)] = *bytes;
      } else {
        r.fail(value, fmt::format("{}: {}", what, bytes.error().message));
      }
      continue;
    }
    r.fail(value, fmt::format("{} must be {}, not {}", what,
                              info->bytes ? "a number of bytes, a size like \"8MiB\" or "
                                            "\"unlimited\""
                              : info->may_be_unlimited ? "a number or \"unlimited\""
                                                       : "a number",
                              describe(value)));
  }
}

void read_privileges(TableReader& r, WorkerConfig& w) {
  read_identity(r, w);
  if (const toml::node* node = r.table().get("umask")) {
    if (const auto* s = node->as_string()) {
      if (auto mask = parse_umask(s->get())) {
        w.umask = *mask;
      } else {
        r.fail(*node, fmt::format("[worker] umask must be octal digits from \"0000\" to "
                                  "\"0777\", like \"0027\", not {}",
                                  describe(*node)));
      }
    } else {
      r.wrong_type(*node, "umask",
                   node->is_integer() ? "a string of octal digits like \"0027\" (an integer "
                                        "cannot say whether it is octal)"
                                      : "a string of octal digits like \"0027\"");
    }
  }
  if (const toml::node* node = r.table().get("no_new_privs")) {
    if (const auto* b = node->as_boolean()) {
      w.no_new_privs = b->get();
    } else {
      r.wrong_type(*node, "no_new_privs", "true or false");
    }
  }
  read_rlimits(r, w);
}

void read_worker(TableReader& r, WorkerConfig& w) {
  r.check_keys(kAllSections);
  read_argv(r, w.command);
  read_count(r, w);
  if (auto cwd = r.read_string("cwd")) w.cwd = *cwd;
  read_env(r, w);
  read_signal(r, "stop_signal", w.stop_signal);
  read_signal(r, "hang_signal", w.hang_signal);
  if (auto d = r.read_duration("drain_timeout")) w.drain_timeout = *d;
  read_ready(r, w);
  if (auto d = r.read_duration("ready_timeout")) w.ready_timeout = *d;
  if (auto d = r.read_duration("heartbeat_timeout")) w.heartbeat_timeout = *d;
  if (auto o =
          r.read_choice<OutputMode>("output", "\"capture\" or \"inherit\"", parse_output_mode)) {
    w.output = *o;
  }
  read_max_memory(r, w);
  read_privileges(r, w);
}

void read_restart(TableReader& r, RestartConfig& c) {
  r.check_keys(kAllSections);
  if (auto p = r.read_choice<RestartPolicy>("policy", "\"always\", \"on-failure\" or \"never\"",
                                            parse_restart_policy)) {
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
    r.fail(r.table(),
           fmt::format("[[socket]] '{}' needs a listen address, e.g. listen = \":8080\"", s.name));
    ok = false;
  }
  if (auto m =
          r.read_choice<SocketMode>("mode", "\"shared\" or \"reuseport\"", parse_socket_mode)) {
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
             table
                 ? std::string("socket must be an array of tables: write [[socket]], not [socket]")
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
    auto first =
        std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.first == s.name; });
    if (first != seen.end()) {
      diag.add(at->source(), fmt::format("socket name '{}' is used twice (first at {})", s.name,
                                         diag.where(first->second->source())));
      continue;
    }
    seen.emplace_back(s.name, at);
    sockets.push_back(std::move(s));
  }
}

// --- [autoscale] -----------------------------------------------------------

using Metric = AutoscaleRule::Metric;
using Direction = AutoscaleRule::Direction;

void read_metric(TableReader& r, AutoscaleRule& rule, bool& ok) {
  const toml::node* node = r.table().get("metric");
  if (node == nullptr) {
    r.fail(r.table(),
           "[[autoscale.rule]] needs a metric: \"cpu\", \"memory\", \"inflight\" "
           "or \"rps\"");
    ok = false;
    return;
  }
  constexpr std::string_view kChoices = "\"cpu\", \"memory\", \"inflight\" or \"rps\"";
  const auto* s = node->as_string();
  if (s == nullptr) {
    r.wrong_type(*node, "metric", kChoices);
    ok = false;
    return;
  }
  if (auto m = parse_metric(s->get())) {
    rule.metric = *m;
    return;
  }
  constexpr std::array kNames = {"cpu"sv, "memory"sv, "inflight"sv, "rps"sv};
  std::string message =
      fmt::format("{} must be {}, not {}", r.what("metric"), kChoices, describe(*node));
  if (auto near = closest_match(s->get(), kNames)) {
    message += fmt::format("; did you mean \"{}\"?", *near);
  }
  r.fail(*node, std::move(message));
  ok = false;
}

// The threshold of `above` or `below` in the metric's unit: a size string
// for memory; a number for the others, or for cpu also "75%".
std::optional<double> read_threshold(TableReader& r, const toml::node& node, std::string_view key,
                                     Metric metric) {
  if (metric == Metric::kMemory) {
    const auto bytes = read_size(r, node, key);
    if (!bytes) return std::nullopt;
    return static_cast<double>(*bytes);
  }
  std::optional<double> value;
  if (const auto* i = node.as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    value = f->get();
  } else if (const auto* s = node.as_string(); s != nullptr && metric == Metric::kCpu &&
                                               s->get().size() > 1 && s->get().back() == '%') {
    // "75%": the metric's own unit, read as the number before the sign.
    const std::string_view text = std::string_view(s->get()).substr(0, s->get().size() - 1);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) value = v;
  }
  if (!value) {
    r.wrong_type(node, key,
                 metric == Metric::kCpu
                     ? "a number (percent of one core, e.g. 75)"
                     : fmt::format("a number ({})", metric == Metric::kRps
                                                        ? "requests per second per worker"
                                                        : "in-flight requests per worker"));
    return std::nullopt;
  }
  if (!std::isfinite(*value) || *value < 0) {
    r.fail(node,
           fmt::format("{} must be a number of at least 0, not {}", r.what(key), describe(node)));
    return std::nullopt;
  }
  return value;
}

// Reads one [[autoscale.rule]]; false if it had errors.
bool read_rule(TableReader& r, AutoscaleRule& rule) {
  r.check_keys(kAllSections);
  bool ok = true;
  read_metric(r, rule, ok);

  const toml::node* above = r.table().get("above");
  const toml::node* below = r.table().get("below");
  if (above != nullptr && below != nullptr) {
    r.fail(*below,
           "[[autoscale.rule]] has both above and below; a rule scales one way: write "
           "one rule for each");
    ok = false;
  } else if (above == nullptr && below == nullptr) {
    r.fail(r.table(), fmt::format("[[autoscale.rule]] {} needs a threshold: above = ... (adds "
                                  "workers) or below = ... (removes them)",
                                  ok ? to_string(rule.metric) : "rule"));
    ok = false;
  } else {
    rule.direction = above != nullptr ? Direction::kAbove : Direction::kBelow;
    const toml::node& node = above != nullptr ? *above : *below;
    const char* key = to_string(rule.direction);
    if (!ok) {
      // Without a metric the threshold's unit is unknown; it is judged once
      // the metric is fixed.
    } else if (auto t = read_threshold(r, node, key, rule.metric)) {
      rule.threshold = *t;
      if (rule.direction == Direction::kBelow && rule.threshold == 0) {
        r.fail(node, "[[autoscale.rule]] below must be greater than 0: nothing is below 0");
        ok = false;
      }
    } else {
      ok = false;
    }
  }

  rule.hold = default_hold(rule.direction);
  rule.cooldown = default_cooldown(rule.direction);
  if (auto d = r.read_duration("for")) {
    rule.hold = *d;
  } else if (r.table().get("for") != nullptr) {
    ok = false;
  }
  if (auto d = r.read_duration("cooldown")) {
    rule.cooldown = *d;
  } else if (r.table().get("cooldown") != nullptr) {
    ok = false;
  }

  const bool up = rule.direction == Direction::kAbove;
  const char* step_key = up ? "add" : "remove";
  const char* wrong_key = up ? "remove" : "add";
  if (const toml::node* wrong = r.table().get(wrong_key);
      wrong != nullptr && (above != nullptr) != (below != nullptr)) {
    r.fail(*wrong, fmt::format("[[autoscale.rule]] {} is for a{} rule; this {} rule {} workers "
                               "with {} = N",
                               wrong_key, up ? " below" : "n above", to_string(rule.direction),
                               up ? "adds" : "removes", step_key));
    ok = false;
  }
  if (auto n = r.read_int(step_key, 1, kMaxWorkers)) {
    rule.step = *n;
  } else if (r.table().get(step_key) != nullptr) {
    ok = false;
  }
  return ok;
}

void read_rules(TableReader& ar, const toml::node& node, std::vector<AutoscaleRule>& rules) {
  const auto* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    ar.fail(node, node.is_table()
                      ? std::string("[autoscale] rule must be an array of tables: write "
                                    "[[autoscale.rule]], not [autoscale.rule]")
                      : fmt::format("[autoscale] rule must be an array of tables "
                                    "([[autoscale.rule]]), not {}",
                                    describe(node)));
    return;
  }
  for (const toml::node& element : *array) {
    TableReader r(ar.diag(), *element.as_table(), kRule);
    AutoscaleRule rule;
    if (read_rule(r, rule)) rules.push_back(rule);
  }
}

void read_autoscale(TableReader& r, AutoscaleConfig& a) {
  r.check_keys(kAllSections);
  const auto min = r.read_int("min", 1, kMaxWorkers);
  if (min) a.min = *min;
  if (const toml::node* node = r.table().get("max")) {
    if (const auto* s = node->as_string(); s != nullptr && s->get() == "auto") {
      a.max = std::nullopt;
    } else if (const auto* i = node->as_integer()) {
      a.max = r.check_range(*node, "max", i->get(), 1, kMaxWorkers);
      if (a.max && a.max < a.min && (min || r.table().get("min") == nullptr)) {
        r.fail(*node,
               fmt::format("[autoscale] max ({}) must not be below min ({})", *a.max, a.min));
      }
    } else {
      r.wrong_type(*node, "max", "an integer or \"auto\"");
    }
  }
  if (const toml::node* node = r.table().get("interval")) {
    if (auto d = r.read_duration("interval")) {
      if (*d < kMinAutoscaleInterval) {
        r.fail(*node, fmt::format("[autoscale] interval must be at least {}, not {}",
                                  format_duration(kMinAutoscaleInterval), format_duration(*d)));
      } else {
        a.interval = *d;
      }
    }
  }
  const toml::node* rules = r.table().get("rule");
  if (rules != nullptr) read_rules(r, *rules, a.rules);
  if (rules == nullptr) {
    r.fail(r.table(),
           "[autoscale] has no rule: add at least one [[autoscale.rule]], e.g. "
           "metric = \"cpu\", above = 75");
  }
}

// --- [metrics] and [[hook]] ------------------------------------------------

void read_metrics(TableReader& r, MetricsConfig& m) {
  r.check_keys(kAllSections);
  if (const toml::node* node = r.table().get("listen")) {
    if (auto text = r.read_string("listen")) {
      if (auto address = parse_address(*text)) {
        m.listen = *address;
      } else {
        r.fail(*node, fmt::format("[metrics] listen: {}", address.error().message));
      }
    }
  } else {
    r.fail(r.table(), "[metrics] needs a listen address, e.g. listen = \"127.0.0.1:9100\"");
  }
  if (auto n = r.read_int("min_ready", 1, kMaxWorkers)) m.min_ready = *n;
}

using HookEvent = HookConfig::Event;

constexpr std::string_view kHookEventChoices =
    "\"crash\", \"hung\", \"failed\", \"scale\", \"reload\" or \"memory\"";

// `on`: a non-empty array of event names, each at most once.
bool read_hook_events(TableReader& r, HookConfig& h) {
  const toml::node* node = r.table().get("on");
  if (node == nullptr) {
    r.fail(r.table(),
           fmt::format("[[hook]] needs on = [...], the events that run it: {}", kHookEventChoices));
    return false;
  }
  const auto* array = node->as_array();
  if (array == nullptr) {
    r.wrong_type(*node, "on", "an array of event names like [\"crash\", \"failed\"]");
    return false;
  }
  if (array->empty()) {
    r.fail(*node, fmt::format("[[hook]] on must name at least one event: {}", kHookEventChoices));
    return false;
  }
  constexpr std::array kNames = {"crash"sv, "hung"sv,   "failed"sv,
                                 "scale"sv, "reload"sv, "memory"sv};
  bool ok = true;
  std::vector<HookEvent> events;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* s = element.as_string();
    std::optional<HookEvent> event = s != nullptr ? parse_hook_event(s->get()) : std::nullopt;
    if (!event) {
      std::string message = fmt::format("[[hook]] on[{}] must be {}, not {}", i, kHookEventChoices,
                                        describe(element));
      if (s != nullptr) {
        if (auto near = closest_match(s->get(), kNames)) {
          message += fmt::format("; did you mean \"{}\"?", *near);
        }
      }
      r.fail(element, std::move(message));
      ok = false;
    } else if (std::find(events.begin(), events.end(), *event) != events.end()) {
      r.fail(element, fmt::format("[[hook]] on lists \"{}\" twice", to_string(*event)));
      ok = false;
    } else {
      events.push_back(*event);
    }
  }
  if (ok) h.on = std::move(events);
  return ok;
}

// Reads one [[hook]]; false if it had errors.
bool read_hook(TableReader& r, HookConfig& h) {
  r.check_keys(kAllSections);
  bool ok = read_hook_events(r, h);
  if (r.table().get("command") == nullptr) {
    r.fail(r.table(), "[[hook]] needs a command, e.g. command = [\"/etc/corral/alert.sh\"]");
    ok = false;
  } else if (!read_argv(r, h.command)) {
    ok = false;
  }
  if (const toml::node* node = r.table().get("timeout")) {
    if (auto d = r.read_duration("timeout")) {
      if (d->count() <= 0) {
        r.fail(*node,
               "[[hook]] timeout must be greater than 0: a hook that may run forever "
               "would hold its place among the hooks running at once");
        ok = false;
      } else {
        h.timeout = *d;
      }
    } else {
      ok = false;
    }
  }
  return ok;
}

void read_hooks(Diagnostics& diag, const toml::node& node, std::vector<HookConfig>& hooks) {
  const auto* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    diag.add(
        node.source(),
        node.is_table()
            ? std::string("hook must be an array of tables: write [[hook]], not [hook]")
            : fmt::format("hook must be an array of tables ([[hook]]), not {}", describe(node)));
    return;
  }
  for (const toml::node& element : *array) {
    TableReader r(diag, *element.as_table(), kHook);
    HookConfig hook;
    if (read_hook(r, hook)) hooks.push_back(std::move(hook));
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
      diag.add(node->source(),
               fmt::format("{} must be a table ({}), not {}", key, schema.title, describe(*node)));
    }
  };
  section("worker", kWorker, [&](TableReader& sr) { read_worker(sr, c.worker); });
  section("restart", kRestart, [&](TableReader& sr) { read_restart(sr, c.restart); });
  section("reload", kReload, [&](TableReader& sr) {
    sr.check_keys(kAllSections);
    if (auto n = sr.read_int("batch", 1, kMaxWorkers)) c.reload.batch = *n;
  });
  section("autoscale", kAutoscale, [&](TableReader& sr) {
    c.autoscale.emplace();
    read_autoscale(sr, *c.autoscale);
  });
  section("admin", kAdmin, [&](TableReader& sr) {
    sr.check_keys(kAllSections);
    if (auto path = sr.read_string("socket")) c.admin.socket = *path;
  });
  section("metrics", kMetrics, [&](TableReader& sr) {
    c.metrics.emplace();
    read_metrics(sr, *c.metrics);
  });
  if (const toml::node* node = root.get("socket")) read_sockets(diag, *node, c.sockets);
  if (const toml::node* node = root.get("hook")) read_hooks(diag, *node, c.hooks);
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
