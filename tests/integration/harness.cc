#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace corral::testing {

std::string corral_binary() { return CORRAL_BINARY; }
std::string example_server() { return EXAMPLE_SERVER; }
std::string source_dir() { return CORRAL_SOURCE_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "corral-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, int mode) const {
  const std::string path = file(name);
  std::ofstream(path) << content;
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  return path;
}

Process::Process(std::vector<std::string> argv, std::vector<std::string> env) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::vector<std::string> full_env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).substr(0, 16) != "XDG_RUNTIME_DIR=") full_env.emplace_back(*e);
  }
  // Each process gets a runtime directory of its own: corrals of parallel
  // tests, all named "corral", must not meet on one admin socket.
  const bool own_runtime_dir = std::none_of(env.begin(), env.end(), [](const std::string& e) {
    return e.rfind("XDG_RUNTIME_DIR=", 0) == 0;
  });
  if (own_runtime_dir) full_env.push_back("XDG_RUNTIME_DIR=" + runtime_dir_.path());
  for (auto& e : env) full_env.push_back(e);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : full_env) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Own group: the test can kill corral's whole tree, and a Ctrl-C of
    // the test runner does not reach it twice.
    ::setpgid(0, 0);
    ::dup2(write_end.get(), 1);
    ::dup2(write_end.get(), 2);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  out_ = std::move(read_end);
}

Process::~Process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void Process::signal(int signum) const { ::kill(pid_, signum); }

bool Process::read_some(Millis timeout) {
  if (!out_) return false;
  pollfd p{out_.get(), POLLIN, 0};
  int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (rc <= 0) return true;  // timeout: not EOF
  char buffer[8192];
  ssize_t n = ::read(out_.get(), buffer, sizeof buffer);
  if (n <= 0) {
    if (!partial_.empty()) lines_.push_back(std::move(partial_));
    partial_.clear();
    out_.reset();
    return false;
  }
  partial_.append(buffer, static_cast<size_t>(n));
  size_t pos;
  while ((pos = partial_.find('\n')) != std::string::npos) {
    lines_.push_back(partial_.substr(0, pos));
    partial_.erase(0, pos + 1);
  }
  return true;
}

std::optional<std::smatch> Process::wait_for_line(const std::string& regex, Millis timeout) {
  const std::regex re(regex);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (scanned_ < lines_.size()) {
      std::smatch m;
      const std::string& line = lines_[scanned_++];
      if (std::regex_search(line, m, re)) return m;
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    if (!read_some(left) && scanned_ >= lines_.size()) return std::nullopt;
  }
}

std::optional<std::smatch> Process::find_line(const std::string& regex, Millis timeout) {
  const std::regex re(regex);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t checked = 0;
  for (;;) {
    for (; checked < lines_.size(); ++checked) {
      std::smatch m;
      if (std::regex_search(lines_[checked], m, re)) return m;
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    if (!read_some(left) && checked >= lines_.size()) return std::nullopt;
  }
}

std::optional<std::vector<std::string>> Process::find_or_wait(const std::string& regex,
                                                              Millis timeout) {
  const auto groups = [](const std::smatch& m) {
    std::vector<std::string> out;
    for (const auto& g : m) out.push_back(g.str());
    return out;
  };
  const std::regex re(regex);
  for (const auto& line : lines_) {
    std::smatch m;
    if (std::regex_search(line, m, re)) return groups(m);
  }
  auto m = wait_for_line(regex, timeout);
  if (!m) return std::nullopt;
  return groups(*m);
}

int Process::count_lines(const std::string& regex) const {
  const std::regex re(regex);
  int n = 0;
  for (const auto& line : lines_) n += std::regex_search(line, re) ? 1 : 0;
  return n;
}

std::optional<int> Process::wait_exit(Millis timeout) {
  if (exit_code_) return exit_code_;
  // A pidfd turns "the child exited" into an event to poll on, alongside
  // its output.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      while (read_some(50ms)) {
      }
      return exit_code_;
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return std::nullopt;
    if (out_) {
      pollfd p[2] = {{out_.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
      ::poll(p, 2, static_cast<int>(left.count()));
      if (p[0].revents != 0) read_some(0ms);
    } else {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    }
  }
}

std::string Process::output() const {
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all + partial_;
}

Corral::Corral(std::vector<std::string> args, std::vector<std::string> env)
    : process([&] {
        args.insert(args.begin(), corral_binary());
        return args;
      }(), std::move(env)) {
  // The line comes with or without a TCP socket: wait for it either way, so
  // that a test of a service with no TCP socket does not sit out the timeout.
  auto m = process.wait_for_line(R"(starting \d+ workers? on (.*): )", 10s);
  if (!m) return;
  std::smatch tcp;
  const std::string sockets = (*m)[1];
  if (std::regex_search(sockets, tcp, std::regex(R"(=[^ ]*:(\d+) \()"))) {
    port = static_cast<uint16_t>(std::stoi(tcp[1]));
  }
}

namespace {

// Connects a new stream socket to `addr` and sends one GET with
// `Connection: close`; an empty fd on any failure.
UniqueFd send_request_to(const sockaddr* addr, socklen_t len, const std::string& host,
                         const std::string& path, Millis timeout) {
  UniqueFd fd(::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return UniqueFd();
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), addr, len) != 0) return UniqueFd();
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return UniqueFd();
  return fd;
}

}  // namespace

UniqueFd send_request(uint16_t port, const std::string& path, Millis timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return send_request_to(reinterpret_cast<sockaddr*>(&addr), sizeof addr, "127.0.0.1", path,
                         timeout);
}

UniqueFd send_request6(uint16_t port, const std::string& path, Millis timeout) {
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(port);
  addr.sin6_addr = in6addr_loopback;
  return send_request_to(reinterpret_cast<sockaddr*>(&addr), sizeof addr, "[::1]", path, timeout);
}

UniqueFd send_request_unix(const std::string& socket_path, const std::string& path,
                           Millis timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return UniqueFd();
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  return send_request_to(reinterpret_cast<sockaddr*>(&addr), sizeof addr, "localhost", path,
                         timeout);
}

std::optional<HttpResponse> read_response(const UniqueFd& connection) {
  if (!connection) return std::nullopt;
  std::string raw;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::recv(connection.get(), buffer, sizeof buffer, 0);
    if (n <= 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  const auto header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  response.status = std::atoi(raw.c_str() + 9);
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  return response;
}

std::optional<HttpResponse> http_get(uint16_t port, const std::string& path, Millis timeout) {
  return read_response(send_request(port, path, timeout));
}

std::optional<HttpResponse> http_get6(uint16_t port, const std::string& path, Millis timeout) {
  return read_response(send_request6(port, path, timeout));
}

std::optional<HttpResponse> http_get_unix(const std::string& socket_path, const std::string& path,
                                          Millis timeout) {
  return read_response(send_request_unix(socket_path, path, timeout));
}

std::optional<nlohmann::json> admin_call(const std::string& socket_path,
                                         const nlohmann::json& request, Millis timeout) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return std::nullopt;
  const std::string line = request.dump() + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    return std::nullopt;
  }
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (reply.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buffer[8192];
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    reply.append(buffer, static_cast<size_t>(n));
  }
  return nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
}

bool await_serving(const std::string& socket_path, int n, Millis timeout) {
  return eventually(
      [&] {
        auto s = admin_call(socket_path, {{"cmd", "status"}}, 2s);
        if (!s || !s->contains("workers") || !(*s)["workers"].is_array()) return false;
        int ready = 0;
        for (const auto& w : (*s)["workers"]) ready += w.value("state", "") == "ready" ? 1 : 0;
        return (*s).value("desired", -1) == n && ready == n &&
               (*s)["workers"].size() == static_cast<size_t>(n);
      },
      timeout);
}

bool eventually(const std::function<bool()>& condition, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

bool pid_alive(pid_t pid) {
  // A zombie has exited; only a live process counts.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return false;
  auto close_paren = content.rfind(')');
  return close_paren != std::string::npos && content.size() > close_paren + 2 &&
         content[close_paren + 2] != 'Z';
}

bool wait_pid_gone(pid_t pid, Millis timeout) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return errno == ESRCH;
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> result;
  std::ifstream file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child;
  while (file >> child) result.push_back(child);
  return result;
}

std::vector<pid_t> workers_of(pid_t corral) {
  std::vector<pid_t> result;
  for (pid_t child : children_of(corral)) {
    std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name != "corral-guardian") result.push_back(child);
  }
  return result;
}

std::vector<pid_t> descendants_of(pid_t pid) {
  std::vector<pid_t> result;
  std::vector<pid_t> queue = children_of(pid);
  while (!queue.empty()) {
    pid_t p = queue.back();
    queue.pop_back();
    result.push_back(p);
    for (pid_t c : children_of(p)) queue.push_back(c);
  }
  return result;
}

std::optional<char> process_state(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return std::nullopt;
  auto close_paren = content.rfind(')');
  if (close_paren == std::string::npos || content.size() <= close_paren + 2) return std::nullopt;
  return content[close_paren + 2];
}

namespace {

// A /proc file of NUL-separated strings.
std::vector<std::string> read_nul_separated(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<std::string> items;
  std::string item;
  while (std::getline(file, item, '\0')) items.push_back(item);
  return items;
}

}  // namespace

std::vector<std::string> cmdline_of(pid_t pid) {
  return read_nul_separated("/proc/" + std::to_string(pid) + "/cmdline");
}

std::optional<std::string> environ_value(pid_t pid, const std::string& key) {
  for (const auto& entry : read_nul_separated("/proc/" + std::to_string(pid) + "/environ")) {
    if (entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
        entry[key.size()] == '=') {
      return entry.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

std::string fd_target(pid_t pid, int fd) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(
      "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec);
  return ec ? std::string() : target.string();
}

long peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

std::vector<pid_t> processes_with_cmdline_containing(const std::string& needle) {
  std::vector<pid_t> result;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    for (const auto& arg : cmdline_of(pid)) {
      if (arg.find(needle) != std::string::npos && pid_alive(pid)) {
        result.push_back(pid);
        break;
      }
    }
  }
  return result;
}

uint16_t tcp_port_of_socket(const std::string& socket_target) {
  // "socket:[12345]" -> "12345"
  const auto open = socket_target.find('[');
  const auto close = socket_target.find(']');
  if (socket_target.rfind("socket:[", 0) != 0 || close == std::string::npos) return 0;
  const std::string inode = socket_target.substr(open + 1, close - open - 1);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // header
    while (std::getline(file, line)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      std::istringstream fields(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, node;
      fields >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> node;
      if (node != inode) continue;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) return 0;
      return static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    }
  }
  return 0;
}

int tcp_listeners_on_port(uint16_t port) {
  int count = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // header
    while (std::getline(file, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state;
      fields >> sl >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) ++count;
    }
  }
  return count;
}

std::string find_program(const std::string& name) {
  const char* path_env = std::getenv("PATH");
  std::istringstream path(path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(path, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool ipv6_loopback_available() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace corral::testing
