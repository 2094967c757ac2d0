#include "cli/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "config/duration.h"

namespace corral::cli {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%d %H:%M:%S.%f %-5l %v";
constexpr const char* kColorTextPattern = "%Y-%m-%d %H:%M:%S.%f %^%-5l%$ %v";
constexpr uint64_t kMinFileSize = 1024;
constexpr int kMaxFiles = 1000;
// Failed log writes are reported at most this often.
constexpr auto kErrorReportInterval = std::chrono::minutes(1);

// sd-daemon(3): the priority journald assigns to a line that starts <N>.
char syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return '2';
    case spdlog::level::err:
      return '3';
    case spdlog::level::warn:
      return '4';
    case spdlog::level::info:
      return '6';
    default:  // trace, debug
      return '7';
  }
}

const char* level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// "<6>message". journald splits the stream at newlines, so each line of a
// multi-line message gets the prefix too; a line without one would be
// stored as info whatever the message's level.
class JournalFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const char prefix[] = {'<', syslog_priority(msg.level), '>'};
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    append(dest, std::string_view(prefix, sizeof prefix));
    size_t start = 0;
    for (size_t nl = payload.find('\n'); nl != std::string_view::npos;
         nl = payload.find('\n', start)) {
      append(dest, payload.substr(start, nl + 1 - start));
      append(dest, std::string_view(prefix, sizeof prefix));
      start = nl + 1;
    }
    append(dest, payload.substr(start));
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JournalFormatter>();
  }
};

// {"ts":"2024-05-01T10:00:00.123456Z","level":"info","msg":"..."}: UTC,
// microseconds. nlohmann escapes quotes, backslashes and control
// characters, and replaces bytes that are not UTF-8 with U+FFFD, so any
// message gives exactly one valid JSON line.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["ts"] = rfc3339(msg.time);
    line["level"] = level_name(msg.level);
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    append(dest, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static std::string rfc3339(spdlog::log_clock::time_point time) {
    using namespace std::chrono;
    const auto us = duration_cast<microseconds>(time.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
    long fraction = static_cast<long>(us % 1'000'000);
    if (fraction < 0) {  // before 1970: floor, not truncation
      seconds -= 1;
      fraction += 1'000'000;
    }
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format, bool color) {
  switch (format) {
    case LogFormat::kJournal:
      return std::make_unique<JournalFormatter>();
    case LogFormat::kJson:
      return std::make_unique<JsonFormatter>();
    case LogFormat::kText:
      break;
  }
  return std::make_unique<spdlog::pattern_formatter>(color ? kColorTextPattern : kTextPattern);
}

// Failed log writes, shared by the error handler and the file sink: a full
// disk would fill the terminal or the journal with spdlog's default report
// (a line per failure, at most once a second), and nobody would learn that
// the log works again.
class WriteFailures {
 public:
  explicit WriteFailures(bool journal) : journal_(journal) {}

  // spdlog's error handler: a report at most once a minute.
  void on_error(const std::string& message) {
    ++failed_;
    const auto now = std::chrono::steady_clock::now();
    if (reported_ && now - last_report_ < kErrorReportInterval) return;
    say(fmt::format("cannot write the log ({} failed write{} so far): {}", failed_,
                    failed_ == 1 ? "" : "s", message));
    reported_ = true;
    unresolved_ = true;
    last_report_ = now;
  }

  // A line reached the file after a reported failure: said once, so at most
  // as often as the failures are.
  void on_written() {
    if (!unresolved_) return;
    unresolved_ = false;
    say(fmt::format("the log is written again ({} failed write{} so far)", failed_,
                    failed_ == 1 ? "" : "s"));
  }

 private:
  void say(const std::string& text) const {
    const std::string line = fmt::format("{}corral: {}\n", journal_ ? "<3>" : "", text);
    // Straight to fd 2: the logger is what failed.
    const ssize_t unused = ::write(STDERR_FILENO, line.data(), line.size());
    (void)unused;
  }

  bool journal_;
  uint64_t failed_ = 0;
  bool reported_ = false;
  bool unresolved_ = false;
  std::chrono::steady_clock::time_point last_report_;
};

// The file sink, telling WriteFailures when a line made it to the file
// (written and flushed: corral flushes every line) after failures.
class WatchedFileSink final : public spdlog::sinks::sink {
 public:
  WatchedFileSink(std::shared_ptr<spdlog::sinks::sink> file,
                  std::shared_ptr<WriteFailures> failures)
      : file_(std::move(file)), failures_(std::move(failures)) {}
  void log(const spdlog::details::log_msg& msg) override {
    logged_ = false;
    file_->log(msg);  // a failure throws on to the logger's error handler
    logged_ = true;
  }
  void flush() override {
    file_->flush();
    if (logged_) failures_->on_written();
    logged_ = false;
  }
  void set_pattern(const std::string& pattern) override { file_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    file_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> file_;
  std::shared_ptr<WriteFailures> failures_;
  bool logged_ = false;
};

}  // namespace

bool stderr_is_journal() {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (value == nullptr) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long dev = std::strtoull(value, &end, 10);
  if (errno != 0 || end == value || *end != ':') return false;
  const char* inode_text = end + 1;
  const unsigned long long inode = std::strtoull(inode_text, &end, 10);
  if (errno != 0 || end == inode_text || *end != '\0') return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == inode;
}

Result<LogSettings> parse_log_options(const LogOptions& options) {
  LogSettings settings;
  settings.level = spdlog::level::from_str(options.level);
  // from_str answers "off" for anything it does not know.
  if (settings.level == spdlog::level::off && options.level != "off") {
    return Error{fmt::format("unknown log level '{}' (trace, debug, info, warn, error, off)",
                             options.level)};
  }
  if (options.format == "auto") {
    settings.format = stderr_is_journal() ? LogFormat::kJournal : LogFormat::kText;
  } else if (options.format == "text") {
    settings.format = LogFormat::kText;
  } else if (options.format == "json") {
    settings.format = LogFormat::kJson;
  } else if (options.format == "journal") {
    settings.format = LogFormat::kJournal;
  } else {
    return Error{
        fmt::format("unknown log format '{}' (auto, text, json, journal)", options.format)};
  }
  settings.file = options.file;
  auto size = config::parse_size(options.max_size);
  if (!size) return Error{fmt::format("--log-max-size: {}", size.error().message)};
  if (*size < kMinFileSize) {
    return Error{fmt::format("--log-max-size must be at least {}, not {}",
                             config::format_size(kMinFileSize), options.max_size)};
  }
  settings.max_size = *size;
  if (options.max_files < 0 || options.max_files > kMaxFiles) {
    return Error{
        fmt::format("--log-max-files must be from 0 to {}, not {}", kMaxFiles, options.max_files)};
  }
  settings.max_files = options.max_files;
  return settings;
}

Result<std::shared_ptr<spdlog::logger>> make_logger(const std::string& name,
                                                    const LogSettings& settings) {
  // Single-threaded sinks: all logging happens on the loop's thread.
  auto err = std::make_shared<spdlog::sinks::stderr_color_sink_st>();
  err->set_formatter(make_formatter(settings.format, true));
  std::vector<spdlog::sink_ptr> sinks{err};
  auto failures = std::make_shared<WriteFailures>(settings.format == LogFormat::kJournal);
  if (!settings.file.empty()) {
    spdlog::file_event_handlers handlers;
    // Workers must not inherit the log file (the launcher closes stray fds
    // too; this covers every other fork).
    handlers.after_open = [](const spdlog::filename_t&, std::FILE* file) {
      ::fcntl(::fileno(file), F_SETFD, FD_CLOEXEC);
    };
    try {
      auto file = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
          settings.file, static_cast<size_t>(settings.max_size),
          static_cast<size_t>(settings.max_files), false, handlers);
      file->set_formatter(make_formatter(
          settings.format == LogFormat::kJson ? LogFormat::kJson : LogFormat::kText, false));
      sinks.push_back(std::make_shared<WatchedFileSink>(std::move(file), failures));
    } catch (const std::exception& e) {
      // spdlog's message ends with strerror's text.
      return Error{fmt::format("cannot open the log file: {}", e.what())};
    }
  }
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  logger->set_level(settings.level);
  logger->flush_on(spdlog::level::trace);
  logger->set_error_handler(
      [failures](const std::string& message) { failures->on_error(message); });
  return logger;
}

}  // namespace corral::cli
