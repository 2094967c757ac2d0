// The typed, validated configuration of one supervised service. Built once
// from a TOML file and/or command-line flags (config/loader.h); everything
// downstream trusts it. Every field has its effective default here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.h"

namespace corral::config {

using Duration = std::chrono::milliseconds;

// The most workers one service may have (count, --workers, scaling). Half
// the shared memory's slots: during a reload or a scale-down, replacements
// and draining workers need slots of their own beside the desired ones.
inline constexpr int kMaxWorkers = 2048;

enum class RestartPolicy { kAlways, kOnFailure, kNever };
enum class SocketMode { kShared, kReuseport };
enum class ReadyMode { kStarted, kDelay, kNotify };
enum class OutputMode { kCapture, kInherit };

struct SocketConfig {
  std::string name = "http";
  Address listen;
  SocketMode mode = SocketMode::kShared;
  int backlog = 1024;

  bool operator==(const SocketConfig&) const = default;
};

struct WorkerConfig {
  std::vector<std::string> command;  // argv, with {fd:NAME} {port:NAME} {id}
  std::optional<int> count;          // nullopt = "auto": one per CPU
  std::string cwd;                   // empty = corral's own cwd
  std::map<std::string, std::string> env;
  int stop_signal = 15;  // SIGTERM
  Duration drain_timeout{30'000};
  ReadyMode ready = ReadyMode::kStarted;
  Duration ready_delay{0};  // for ReadyMode::kDelay
  Duration ready_timeout{30'000};
  // A ready worker whose last heartbeat (library or sd_notify WATCHDOG=1) is
  // older than this is hung; 0 = off. Judged only once a worker has
  // heartbeated at all.
  Duration heartbeat_timeout{0};
  int hang_signal = 6;  // SIGABRT, as gunicorn: a core dump or a stack trace
  OutputMode output = OutputMode::kCapture;
  // A worker whose resident memory (RSS, its own children included) exceeds
  // this many bytes is replaced gracefully; nullopt = no limit. At least
  // kMinMaxMemory when set.
  std::optional<uint64_t> max_memory;
  // Privileges (docs/configuration.md, "Privileges"). Names as written;
  // config/privileges.h resolves them. Empty: corral's own.
  std::string user;
  std::string group;
  std::optional<unsigned> umask;  // nullopt: inherited from corral
  bool no_new_privs = false;      // PR_SET_NO_NEW_PRIVS before exec
  // Resource limit name ("nofile", "core", ...) -> soft and hard value;
  // nullopt = unlimited. Names are config/privileges.h's.
  std::map<std::string, std::optional<uint64_t>> rlimits;

  bool operator==(const WorkerConfig&) const = default;
};

struct RestartConfig {
  RestartPolicy policy = RestartPolicy::kAlways;
  Duration backoff_initial{100};
  Duration backoff_max{30'000};
  Duration min_uptime{5'000};
  int max_restarts = 10;
  Duration window{60'000};

  bool operator==(const RestartConfig&) const = default;
};

struct ReloadConfig {
  int batch = 1;  // workers replaced at once by a rolling reload

  bool operator==(const ReloadConfig&) const = default;
};

// One [[autoscale.rule]]: "when `metric` stays above (below) `threshold`
// for `hold`, add (remove) `step` workers, then wait `cooldown`". The
// semantics are supervisor/autoscale_policy.h's.
struct AutoscaleRule {
  enum class Metric {
    kCpu,       // average % of one core per serving worker (may exceed 100)
    kMemory,    // average RSS per serving worker, its children included, bytes
    kInflight,  // average in-flight requests per worker (library figures)
    kRps,       // average requests per second per worker (library figures)
  };
  enum class Direction { kAbove, kBelow };  // kAbove adds workers, kBelow removes

  Metric metric = Metric::kCpu;
  Direction direction = Direction::kAbove;
  double threshold = 0;   // in the metric's unit (memory: bytes); finite, >= 0
  Duration hold{15'000};  // `for`: how long the condition must hold
  int step = 1;           // `add` or `remove`: 1..kMaxWorkers
  Duration cooldown{30'000};

  bool operator==(const AutoscaleRule&) const = default;
};

// The defaults of `for` and `cooldown` depend on the direction, after the
// reasoning of Kubernetes' HPA: up quickly, down slowly.
Duration default_hold(AutoscaleRule::Direction direction);      // 15s above, 5m below
Duration default_cooldown(AutoscaleRule::Direction direction);  // 30s above, 2m below

// The smallest sampling interval: /proc is read for every worker each time.
inline constexpr Duration kMinAutoscaleInterval{100};
// The smallest [worker] max_memory: below this, no real program fits.
inline constexpr uint64_t kMinMaxMemory = 1024 * 1024;

struct AutoscaleConfig {
  int min = 1;             // 1..kMaxWorkers
  std::optional<int> max;  // min..kMaxWorkers; nullopt = one per CPU
  Duration interval{5'000};
  std::vector<AutoscaleRule> rules;  // at least one, in file order

  bool operator==(const AutoscaleConfig&) const = default;
};

// [metrics]: Prometheus metrics and health checks over HTTP, served by the
// supervisor's loop (docs/metrics.md).
struct MetricsConfig {
  Address listen;     // TCP ("127.0.0.1:9100") or unix
  int min_ready = 1;  // GET /health/ready answers 200 with at least this many ready workers

  bool operator==(const MetricsConfig&) const = default;
};

// One [[hook]]: a program run with the event as JSON on its stdin.
struct HookConfig {
  enum class Event { kCrash, kHung, kFailed, kScale, kReload, kMemory };
  std::vector<Event> on;             // at least one
  std::vector<std::string> command;  // argv; a bare name is looked up in PATH
  Duration timeout{10'000};          // then SIGKILL

  bool operator==(const HookConfig&) const = default;
};

struct AdminConfig {
  std::string socket;  // empty: <runtime dir>/NAME.sock (docs/admin-protocol.md)

  bool operator==(const AdminConfig&) const = default;
};

struct Config {
  std::string name = "corral";
  std::string source;  // file the values came from, "" for flags only
  WorkerConfig worker;
  RestartConfig restart;
  std::vector<SocketConfig> sockets;
  ReloadConfig reload;
  // Present when the file has an [autoscale] table (or [[autoscale.rule]]
  // entries); then [worker] count is only the starting count.
  std::optional<AutoscaleConfig> autoscale;
  std::optional<MetricsConfig> metrics;
  std::vector<HookConfig> hooks;
  AdminConfig admin;

  bool operator==(const Config&) const = default;
};

// The names used in the TOML file: "on-failure", "reuseport", "capture",
// "delay" (whose duration lives in WorkerConfig::ready_delay).
const char* to_string(RestartPolicy);
const char* to_string(SocketMode);
const char* to_string(ReadyMode);
const char* to_string(OutputMode);
const char* to_string(AutoscaleRule::Metric);     // "cpu", "memory", "inflight", "rps"
const char* to_string(AutoscaleRule::Direction);  // "above", "below"
const char* to_string(HookConfig::Event);  // "crash", "hung", "failed", "scale", "reload", "memory"

// The reverse of to_string; nullopt for any other text.
std::optional<RestartPolicy> parse_restart_policy(std::string_view text);
std::optional<SocketMode> parse_socket_mode(std::string_view text);
std::optional<OutputMode> parse_output_mode(std::string_view text);
std::optional<AutoscaleRule::Metric> parse_metric(std::string_view text);
std::optional<HookConfig::Event> parse_hook_event(std::string_view text);

// Names users choose: the service name becomes part of file and shared
// memory names, a socket name part of {fd:NAME} and LISTEN_FDNAMES.
bool is_valid_service_name(std::string_view name);  // [A-Za-z0-9_.-]{1,64}
bool is_valid_socket_name(std::string_view name);   // [A-Za-z0-9_-]{1,64}

}  // namespace corral::config
