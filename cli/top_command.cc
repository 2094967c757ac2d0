// `corral top`: the status table refreshed in place, with the events seen
// between refreshes. One thread: poll() waits on the keyboard and on a
// self-pipe fed by the signal handlers, with the refresh interval as its
// timeout.
//
// On a terminal it draws on the alternate screen with the cursor hidden and
// reads keys in raw mode; every way out (q, Ctrl-C, SIGINT/SIGTERM/SIGHUP,
// the supervisor going away, an error) restores the terminal before
// anything is printed. When stdout is not a terminal it prints one plain
// snapshot per interval instead, with the events that are new since the
// previous one, and never touches the terminal's modes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/status_table.h"
#include "cli/top_events.h"
#include "config/duration.h"

namespace corral::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kMinInterval{100};
constexpr std::chrono::seconds kRequestTimeout{5};
constexpr size_t kEventsKept = 200;

// Signals arrive as one byte each on this pipe (async-signal-safe).
int g_signal_pipe[2] = {-1, -1};

void on_signal(int signum) {
  const int saved = errno;
  const char byte = static_cast<char>(signum);
  ssize_t unused = ::write(g_signal_pipe[1], &byte, 1);
  (void)unused;
  errno = saved;
}

void write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal is gone; nothing sensible to do
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// The signals top handles, through the self-pipe, for as long as it lives;
// the previous dispositions come back at the end.
class SignalPipe {
 public:
  SignalPipe() {
    if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction action {};
    action.sa_handler = on_signal;
    ::sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) {
      ::sigaction(kSignals[i], &action, &previous_[i]);
    }
  }
  ~SignalPipe() {
    for (size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &previous_[i], nullptr);
    for (int& fd : g_signal_pipe) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  int fd() const { return g_signal_pipe[0]; }

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
  struct sigaction previous_[std::size(kSignals)]{};
};

// The terminal's state while top draws: alternate screen, hidden cursor,
// keys unbuffered and unechoed (Ctrl-C arrives as a key). Restored by the
// destructor, which every return path of top_command passes through.
class TerminalSession {
 public:
  explicit TerminalSession(bool interactive) : interactive_(interactive) {
    if (!interactive_) return;
    if (::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
      raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    write_all("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
  }
  ~TerminalSession() {
    if (!interactive_) return;
    write_all("\x1b[?25h\x1b[?1049l");
    if (raw_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  TerminalSession(const TerminalSession&) = delete;
  TerminalSession& operator=(const TerminalSession&) = delete;

 private:
  bool interactive_;
  bool raw_ = false;
  termios saved_{};
};

struct Size {
  size_t columns = 80;
  size_t rows = 24;
};

Size terminal_size() {
  winsize ws{};
  Size size;
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    size.columns = ws.ws_col;
    size.rows = ws.ws_row;
  }
  return size;
}

std::string clock_text() {
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&t, &local);
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

// The first `width` characters of `text` (UTF-8 aware, escape-free text).
std::string cut(const std::string& text, size_t width) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      if (chars == width) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

class TopView {
 public:
  TopView(std::string interval_text, bool interactive)
      : interval_text_(std::move(interval_text)), interactive_(interactive) {}

  void on_status(const nlohmann::json& status) {
    for (auto& e : diff_.update(status)) add_event(std::move(e));
    status_ = status;
    error_.clear();
  }
  void on_error(const std::string& message) { error_ = text_or_dash(message); }

  // The whole screen, drawn over the previous one without clearing it first
  // (no flicker): each line ends by erasing the rest of itself, and the
  // rest of the screen is erased after the last one.
  void draw() {
    const Size size = terminal_size();
    const bool colour = use_colour();
    std::vector<std::string> lines = head(colour, size.columns);
    const std::string title = "recent events";
    lines.push_back(colour ? fmt::format("\x1b[1m{}\x1b[0m", cut(title, size.columns))
                           : cut(title, size.columns));
    const size_t room = size.rows > lines.size() ? size.rows - lines.size() : 0;
    if (events_.empty() && room > 0) lines.push_back(cut("  (none yet)", size.columns));
    const size_t shown = std::min(room, events_.size());
    for (size_t i = events_.size() - shown; i < events_.size(); ++i) {
      lines.push_back(cut("  " + events_[i], size.columns));
    }
    if (lines.size() > size.rows) lines.resize(size.rows);
    std::string frame = "\x1b[H";
    for (size_t i = 0; i < lines.size(); ++i) {
      frame += lines[i];
      frame += "\x1b[K";
      if (i + 1 < lines.size()) frame += "\r\n";
    }
    frame += "\x1b[J";
    write_all(frame);
  }

  // A snapshot for a pipe or a file: no escape codes, no cutting, and only
  // the events new since the previous one.
  void print() {
    std::string text;
    for (const auto& line : head(false, std::string::npos)) text += line + "\n";
    for (size_t i = printed_events_; i < events_.size(); ++i) text += "event: " + events_[i] + "\n";
    printed_events_ = events_.size();
    text += "\n";
    write_all(text);
  }

 private:
  void add_event(std::string text) {
    events_.push_back(fmt::format("{} {}", clock_text(), text));
    if (events_.size() > kEventsKept) {
      events_.pop_front();
      if (printed_events_ > 0) --printed_events_;
    }
  }

  // Everything above the events: two lines about the service, the table,
  // the totals.
  std::vector<std::string> head(bool colour, size_t width) const {
    std::vector<std::string> lines;
    lines.push_back(cut(status_summary(status_), width));
    if (const std::string a = autoscale_summary(status_); !a.empty()) lines.push_back(cut(a, width));
    const nlohmann::json none;
    const auto flag = [this](const char* key) {
      const auto it = status_.find(key);
      return it == status_.end() ? std::string("?")
             : *it == true       ? std::string("yes")
                                 : std::string("no");
    };
    std::string second =
        fmt::format("desired {}, ready {}; count pinned: {}; reloading: {}   {} every {}{}",
                    text_or_dash(status_.value("desired", none)),
                    text_or_dash(status_.value("ready", none)), flag("pinned"), flag("reloading"),
                    clock_text(), interval_text_, interactive_ ? "; q quits" : "");
    lines.push_back(cut(second, width));
    if (!error_.empty()) lines.push_back(cut("! " + error_, width));
    lines.emplace_back();
    StatusTotals totals;
    for (auto& line : render_table(worker_rows(status_, &totals), colour, width)) {
      lines.push_back(std::move(line));
    }
    lines.push_back(cut(fmt::format("total: cpu {:.1f}%, rss {}, restarts {}", totals.cpu_percent,
                                    bytes_text(totals.rss_bytes), totals.restarts),
                        width));
    lines.emplace_back();
    return lines;
  }

  std::string interval_text_;
  bool interactive_;
  StatusDiff diff_;
  nlohmann::json status_ = nlohmann::json::object();
  std::string error_;
  std::deque<std::string> events_;
  size_t printed_events_ = 0;
};

enum class Fetch { kOk, kRefused, kGone };

Fetch fetch(const std::string& path, nlohmann::json* status, std::string* error) {
  int code = 0;
  auto reply = admin_request(path, {{"cmd", "status"}}, kRequestTimeout, &code);
  if (!reply) {
    *error = reply.error().message;
    return code == kExitUnavailable ? Fetch::kGone : Fetch::kRefused;
  }
  const auto ok = reply->body.find("ok");
  if (ok == reply->body.end() || *ok != true) {
    const auto why = reply->body.find("error");
    *error =
        why != reply->body.end() && why->is_string() ? why->get<std::string>() : "status refused";
    return Fetch::kRefused;
  }
  *status = std::move(reply->body);
  return Fetch::kOk;
}

}  // namespace

int top_command(const ClientOptions& options, const std::string& interval_text) {
  auto interval = parse_positive_duration(interval_text);
  if (!interval) {
    fmt::print(stderr, "corral: top: --interval: {}\n", interval.error().message);
    return kExitUsage;
  }
  if (*interval < kMinInterval) {
    fmt::print(stderr, "corral: top: --interval: at least {}\n",
               config::format_duration(kMinInterval));
    return kExitUsage;
  }
  const std::string path = client_socket_path(options.name, options.socket);

  // The first request before the screen changes: a typo in --name ends
  // with a plain message, not a flash of the alternate screen.
  nlohmann::json status;
  std::string error;
  switch (fetch(path, &status, &error)) {
    case Fetch::kGone:
      fmt::print(stderr, "corral: top: {}\n", error);
      return kExitUnavailable;
    case Fetch::kRefused:
      fmt::print(stderr, "corral: top: {}\n", error);
      return kExitFailure;
    case Fetch::kOk:
      break;
  }

  const bool interactive = ::isatty(STDOUT_FILENO) == 1;
  SignalPipe signals;
  int exit_code = kExitOk;
  std::string farewell;  // printed once the terminal is back to normal
  {
    TerminalSession terminal(interactive);
    TopView view(config::format_duration(*interval), interactive);
    view.on_status(status);
    bool watch_keys = true;
    bool quit = false;
    while (!quit) {
      if (interactive) {
        view.draw();
      } else {
        view.print();
      }
      const auto deadline = Clock::now() + *interval;
      bool refresh_now = false;
      while (!quit && !refresh_now) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {watch_keys ? STDIN_FILENO : -1, POLLIN, 0}};
        const int ready = ::poll(fds, 2, static_cast<int>(left.count()) + 1);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        if (fds[0].revents & POLLIN) {
          char sig[16];
          const ssize_t n = ::read(signals.fd(), sig, sizeof sig);
          for (ssize_t i = 0; i < n; ++i) {
            if (sig[i] == SIGWINCH) {
              if (interactive) view.draw();
            } else {
              quit = true;
            }
          }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
          char keys[64];
          const ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
          if (n <= 0 && !(n < 0 && errno == EINTR)) watch_keys = false;  // EOF: no keyboard
          for (ssize_t i = 0; i < n; ++i) {
            if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 /* Ctrl-C */) quit = true;
            if (keys[i] == 'r' || keys[i] == ' ') refresh_now = true;
          }
        }
      }
      if (quit) break;
      switch (fetch(path, &status, &error)) {
        case Fetch::kOk:
          view.on_status(status);
          break;
        case Fetch::kRefused:
          view.on_error(error);
          break;
        case Fetch::kGone:
          farewell = fmt::format("corral: top: the supervisor went away: {}\n", error);
          exit_code = kExitUnavailable;
          quit = true;
          break;
      }
    }
  }
  if (!farewell.empty()) fmt::print(stderr, "{}", farewell);
  return exit_code;
}

}  // namespace corral::cli
