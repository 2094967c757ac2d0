// Socket activation: corral started by systemd-socket-activate (systemd's
// own tool, which listens, waits for the first connection and execs its
// command with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES as systemd does) serves
// the socket it was given instead of binding its own, passes it on to its
// workers, and refuses a socket whose name it does not know.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <set>

#include "harness.h"

namespace corral::testing {
namespace {

std::string activator() { return find_program("systemd-socket-activate"); }

// A port free right now on 127.0.0.1 (systemd-socket-activate needs one
// given; the kernel picks it, so concurrent tests do not collide).
uint16_t free_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) return 0;
  socklen_t len = sizeof in;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&in), &len);
  return ntohs(in.sin_port);
}

std::string info_pid(const std::string& body) {
  const auto pos = body.find("\"pid\":");
  if (pos == std::string::npos) return "";
  return body.substr(pos + 6, body.find_first_of(",}", pos) - pos - 6);
}

std::string unique_name(const std::string& what) {
  return "sa-" + what + "-" + std::to_string(::getpid());
}

TEST(SocketActivation, ServesTheTcpSocketSystemdPassed) {
  if (activator().empty()) GTEST_SKIP() << "systemd-socket-activate is not installed";
  const uint16_t port = free_port();
  ASSERT_NE(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  // The configuration asks for another port: systemd's address wins.
  Process corral({activator(), "-l", address, "--fdname=http", corral_binary(), "run", "--name",
                  unique_name("tcp"), "--workers", "2", "--listen", "http=127.0.0.1:1", "--",
                  example_server(), "--fd", "{fd:http}"});
  ASSERT_TRUE(corral.wait_for_line("Listening on " + address)) << corral.output();

  // systemd-socket-activate starts corral at the first connection, which
  // waits in the socket's queue until a worker accepts it.
  UniqueFd first = send_request(port, "/info", 10s);
  ASSERT_TRUE(first) << corral.output();
  ASSERT_TRUE(corral.find_line(R"(socket 'http': systemd passed 127\.0\.0\.1:)" +
                               std::to_string(port) +
                               R"(, the configuration says 127\.0\.0\.1:1; serving systemd's)"))
      << corral.output();
  ASSERT_TRUE(corral.find_line(R"(starting 2 workers on http=127\.0\.0\.1:)" +
                               std::to_string(port) + R"( \(shared, from systemd\))"))
      << corral.output();
  auto response = read_response(first);
  ASSERT_TRUE(response) << corral.output();
  EXPECT_EQ(response->status, 200);

  // Both workers hold the very socket systemd-socket-activate bound (now
  // corral's fd 3: it exec'd into corral), with LISTEN_* rewritten for each.
  // (Read once each runs the server: before its exec, /proc shows corral's
  // environment.)
  std::set<std::string> worker_pids;
  for (int id = 0; id < 2; ++id) {
    auto listening = corral.find_or_wait(R"(\[w)" + std::to_string(id) +
                                         R"( (\d+)\] example_server pid=\d+ listening)");
    ASSERT_TRUE(listening) << corral.output();
    worker_pids.insert((*listening)[1]);
  }
  const std::string inherited = fd_target(corral.pid(), 3);
  EXPECT_EQ(tcp_port_of_socket(inherited), port);
  for (const std::string& pid : worker_pids) {
    const pid_t w = std::stoi(pid);
    EXPECT_EQ(fd_target(w, 3), inherited);
    EXPECT_EQ(environ_value(w, "LISTEN_PID"), std::to_string(w));
    EXPECT_EQ(environ_value(w, "LISTEN_FDS"), "1");
    EXPECT_EQ(environ_value(w, "LISTEN_FDNAMES"), "http");
  }
  for (int i = 0; i < 8; ++i) {
    auto r = http_get(port, "/info");
    ASSERT_TRUE(r) << corral.output();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(worker_pids.count(info_pid(r->body))) << r->body;
  }
  EXPECT_EQ(tcp_listeners_on_port(1), 0);  // corral bound nothing itself

  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(15s), 0) << corral.output();
}

TEST(SocketActivation, ServesAUnixSocketAndLeavesItsFileToSystemd) {
  if (activator().empty()) GTEST_SKIP() << "systemd-socket-activate is not installed";
  TempDir dir;
  const std::string path = dir.file("http.sock");
  Process corral({activator(), "-l", path, "--fdname=http", corral_binary(), "run", "--name",
                  unique_name("unix"), "--workers", "1", "--listen", "http=unix:" + path, "--",
                  example_server(), "--fd", "{fd:http}"});
  ASSERT_TRUE(corral.wait_for_line("Listening on " + path)) << corral.output();
  UniqueFd first = send_request_unix(path, "/", 10s);
  ASSERT_TRUE(first) << corral.output();
  ASSERT_TRUE(
      corral.find_line("starting 1 worker on http=unix:" + path + R"( \(shared, from systemd\))"))
      << corral.output();
  EXPECT_EQ(corral.count_lines("serving systemd's"), 0) << corral.output();
  auto response = read_response(first);
  ASSERT_TRUE(response) << corral.output();
  EXPECT_EQ(response->status, 200);
  auto again = http_get_unix(path, "/");
  ASSERT_TRUE(again) << corral.output();
  EXPECT_EQ(again->status, 200);

  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(15s), 0) << corral.output();
  // The file is systemd's (it created it and unlinks it with its unit).
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << "corral removed a socket file it did not create";
}

TEST(SocketActivation, AnUndeclaredSocketNameIsAnErrorNamingBothLists) {
  if (activator().empty()) GTEST_SKIP() << "systemd-socket-activate is not installed";
  const uint16_t port = free_port();
  ASSERT_NE(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  Process corral({activator(), "-l", address, "--fdname=web", corral_binary(), "run", "--name",
                  unique_name("undeclared"), "--workers", "1", "--listen", "http=127.0.0.1:0", "--",
                  example_server(), "--fd", "{fd:http}"});
  ASSERT_TRUE(corral.wait_for_line("Listening on " + address)) << corral.output();
  // The connection starts corral, which refuses the socket and exits; it
  // may reset the connection before the request is even sent.
  UniqueFd first = send_request(port, "/", 10s);
  EXPECT_EQ(corral.wait_exit(10s), 1) << corral.output();
  EXPECT_TRUE(corral.find_line(R"(systemd passed socket 'web' \(fd 3\) that the configuration )"
                               R"(does not declare \(systemd passed: web; \[\[socket\]\] names: )"
                               R"(http\); .*FileDescriptorName=)",
                               0s))
      << corral.output();
  EXPECT_EQ(corral.count_lines("starting"), 0) << corral.output();
}

}  // namespace
}  // namespace corral::testing
