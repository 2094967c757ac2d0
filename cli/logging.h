// corral's own log (the supervisor's lines and the workers' captured
// output), on stderr and optionally in a rotated file. Formats
// (docs/cli.md, "Log format"):
// - text: "2024-05-01 12:00:00.123456 info  message", coloured on a terminal;
// - json: one object per line, {"ts":"2024-05-01T10:00:00.123456Z",
//   "level":"info","msg":"..."}, escaped for any message (invalid UTF-8
//   becomes U+FFFD);
// - journal: "<6>message", the syslog priority prefix of sd-daemon(3) and no
//   timestamp, for stderr connected to systemd's journal.
// Everything here runs on the loop's thread: the sinks are single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "base/result.h"

namespace corral::cli {

enum class LogFormat { kText, kJson, kJournal };

// The `corral run` flags, as typed.
struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "auto";  // auto, text, json, journal
  std::string file;             // --log-file; empty: stderr only
  std::string max_size = "10MiB";
  int max_files = 5;
};

// Validated flags: what make_logger needs.
struct LogSettings {
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kText;  // on stderr; "auto" already resolved
  std::string file;
  uint64_t max_size = 10 * 1024 * 1024;
  int max_files = 5;
};

// Whether fd 2 is the stream JOURNAL_STREAM ("DEVICE:INODE", set by
// systemd for a service whose stderr it connected to the journal) names:
// the check systemd.exec(5) documents, so a variable inherited by a program
// whose stderr was redirected elsewhere does not count.
bool stderr_is_journal();

// Checks the flags (a usage error, exit 2, when wrong) and resolves "auto":
// journal when stderr_is_journal(), else text.
Result<LogSettings> parse_log_options(const LogOptions& options);

// The logger. Fails (exit 1) only when the log file cannot be opened. A log
// write that fails later (a full disk, a deleted directory) never stops
// corral: the line still reaches the other sink, and the failure is reported
// on stderr at most once a minute with the number of failed writes; the
// first line written to the file after a reported failure is reported too
// ("the log is written again").
// The file gets text lines (json with format json), never journal prefixes;
// it is rotated at max_size: web.log -> web.1.log -> ... -> web.<max_files>.log.
Result<std::shared_ptr<spdlog::logger>> make_logger(const std::string& name,
                                                    const LogSettings& settings);

}  // namespace corral::cli
