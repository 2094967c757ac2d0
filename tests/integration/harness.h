// Test harness for integration tests: runs the real `corral` binary with
// real workers on 127.0.0.1 ephemeral ports, follows its log to await events
// (never fixed sleeps), and cleans up every process it started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"

namespace corral::testing {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Paths baked in by CMake.
std::string corral_binary();
std::string example_server();
std::string source_dir();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes a file (mode 0644 unless given) and returns its path.
  std::string write(const std::string& name, const std::string& content, int mode = 0644) const;

 private:
  std::string path_;
};

// A running child process whose stdout and stderr are merged into one pipe
// that the test reads line by line.
class Process {
 public:
  // Starts argv[0] (a path) with `argv`; `env` entries are added to ours.
  Process(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~Process();  // SIGKILLs the process (and its group) if still running, reaps it
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // corral's runtime directory for this process (admin and notify sockets).
  const std::string& runtime_dir() const { return runtime_dir_.path(); }
  void signal(int signum) const;

  // Reads output until a line matches; returns its match, or nullopt at the
  // timeout or at EOF. Lines read are kept (output()).
  std::optional<std::smatch> wait_for_line(const std::string& regex, Millis timeout = 10s);
  // Like wait_for_line, but searches every line read so far too and moves
  // no cursor: for lines from different streams, whose order is not fixed.
  std::optional<std::smatch> find_line(const std::string& regex, Millis timeout = 10s);
  // For a line whose place among the others is unknown: searches every line
  // read so far, then waits like wait_for_line. Returns the match's groups
  // (0 is the whole match), copied.
  std::optional<std::vector<std::string>> find_or_wait(const std::string& regex,
                                                       Millis timeout = 10s);
  // Counts lines matching `regex` among those read so far.
  int count_lines(const std::string& regex) const;
  // Waits for the process to exit; its exit code (128+sig when signalled),
  // or nullopt at the timeout. Reads the remaining output meanwhile.
  std::optional<int> wait_exit(Millis timeout = 10s);
  std::string output() const;  // everything read so far
  // Complete lines read so far (for scanning a large output without regex).
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  bool read_some(Millis timeout);  // false at EOF
  TempDir runtime_dir_;  // its XDG_RUNTIME_DIR, unless `env` sets another
  pid_t pid_ = -1;
  UniqueFd out_;
  std::string partial_;
  std::vector<std::string> lines_;
  size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

// corral run with the given arguments; waits until it logged its bound
// sockets and returns the port of the first TCP one.
struct Corral {
  explicit Corral(std::vector<std::string> args, std::vector<std::string> env = {});
  Process process;
  uint16_t port = 0;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string headers;
};
// One HTTP/1.1 request on a new connection to 127.0.0.1:port.
std::optional<HttpResponse> http_get(uint16_t port, const std::string& path, Millis timeout = 5s);

// The same in two steps: send now, read the response later.
UniqueFd send_request(uint16_t port, const std::string& path, Millis timeout = 5s);
std::optional<HttpResponse> read_response(const UniqueFd& connection);

// The same over a unix stream socket, and over TCP to [::1]:port.
UniqueFd send_request_unix(const std::string& socket_path, const std::string& path,
                           Millis timeout = 5s);
std::optional<HttpResponse> http_get_unix(const std::string& socket_path, const std::string& path,
                                          Millis timeout = 5s);
UniqueFd send_request6(uint16_t port, const std::string& path, Millis timeout = 5s);
std::optional<HttpResponse> http_get6(uint16_t port, const std::string& path, Millis timeout = 5s);

// One request to a corral's admin socket and its reply object; nullopt if
// the socket cannot be reached or no reply line came within `timeout`.
std::optional<nlohmann::json> admin_call(const std::string& socket_path,
                                         const nlohmann::json& request, Millis timeout = 10s);

// Waits until the corral on `socket_path` has exactly `n` desired workers,
// all ready, and no other process (no replacement starting, nothing
// draining): the quiet state between two operations.
bool await_serving(const std::string& socket_path, int n, Millis timeout = 20s);

// Polls `condition` every few ms until true or the timeout: for facts
// outside any log (a pid gone from /proc).
bool eventually(const std::function<bool()>& condition, Millis timeout = 5s);

bool pid_alive(pid_t pid);
// Waits, through a pidfd (an event, not polling), until `pid` is gone.
bool wait_pid_gone(pid_t pid, Millis timeout = 5s);
// Children of `pid` according to /proc.
std::vector<pid_t> children_of(pid_t pid);
// corral's children other than its guardian process: its workers.
std::vector<pid_t> workers_of(pid_t corral);
// Children, grandchildren, ... of `pid`.
std::vector<pid_t> descendants_of(pid_t pid);

// Facts about a process from /proc; empty/nullopt when it is gone.
std::optional<char> process_state(pid_t pid);  // 'R', 'S', 'Z', ...
std::vector<std::string> cmdline_of(pid_t pid);
std::optional<std::string> environ_value(pid_t pid, const std::string& key);
std::string fd_target(pid_t pid, int fd);  // readlink /proc/PID/fd/FD: "socket:[123]"
long peak_rss_kib(pid_t pid);              // VmHWM, -1 if unknown
// Live processes whose command line contains `needle` (zombies excluded).
std::vector<pid_t> processes_with_cmdline_containing(const std::string& needle);
// Local TCP port of the socket with inode `socket_target` ("socket:[N]"),
// from /proc/net/tcp and tcp6; 0 if not found.
uint16_t tcp_port_of_socket(const std::string& socket_target);

// Listening TCP sockets bound to `port` (in this network namespace).
int tcp_listeners_on_port(uint16_t port);

// `name` resolved through PATH ("" if absent): for skipping tests whose
// third-party program is not installed.
std::string find_program(const std::string& name);
// Whether this host can bind a TCP socket on [::1].
bool ipv6_loopback_available();

}  // namespace corral::testing
