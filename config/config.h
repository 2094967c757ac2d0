// The typed, validated configuration of one supervised service. Built once
// from a TOML file and/or command-line flags (config/loader.h); everything
// downstream trusts it. Every field has its effective default here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/address.h"

namespace corral::config {

using Duration = std::chrono::milliseconds;

enum class RestartPolicy { kAlways, kOnFailure, kNever };
enum class SocketMode { kShared, kReuseport };
enum class ReadyMode { kStarted, kDelay };
enum class OutputMode { kCapture, kInherit };

struct SocketConfig {
  std::string name = "http";
  Address listen;
  SocketMode mode = SocketMode::kShared;
  int backlog = 1024;
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
  OutputMode output = OutputMode::kCapture;
};

struct RestartConfig {
  RestartPolicy policy = RestartPolicy::kAlways;
  Duration backoff_initial{100};
  Duration backoff_max{30'000};
  Duration min_uptime{5'000};
  int max_restarts = 10;
  Duration window{60'000};
};

struct Config {
  std::string name = "corral";
  std::string source;  // file the values came from, "" for flags only
  WorkerConfig worker;
  RestartConfig restart;
  std::vector<SocketConfig> sockets;
};

// Names for printing and parsing.
const char* to_string(RestartPolicy);
const char* to_string(SocketMode);
const char* to_string(OutputMode);

}  // namespace corral::config
